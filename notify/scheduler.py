"""`ipdash serve`'s in-process schedule (IPDASH_NOTIFY_MINUTES): every worker of every host runs
`notify.run.run` every N minutes with APScheduler; the claims in the operational store make each
item go out once, however many run it."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from access.opstore import OpStore, default_path
from core import settings
from metrics.config import default_config
from notify.run import run
from queries.store import Store

log = logging.getLogger("ipdash.notify")


def minutes_from_env() -> int | None:
    """IPDASH_NOTIFY_MINUTES as a whole number of minutes (1–1440), None when unset; ValueError
    naming the setting when it is anything else."""
    return settings.current().notify_minutes


def start(db: str, minutes: int) -> BackgroundScheduler:
    """Run the deliveries that are due every `minutes`, in a background thread of this process."""
    ops = OpStore(default_path(db))
    store = Store(db, ops=ops)
    config = default_config()

    def tick() -> None:
        try:
            got = run(ops, store, config)
            if got.sent or got.failed or got.retry:
                log.info("notify: %d sent, %d to retry, %d failed", len(got.sent), len(got.retry), len(got.failed))
        except Exception:  # a failed run is logged; the next one tries again
            log.exception("notify run failed")

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(tick, IntervalTrigger(minutes=minutes), id="notify", max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
