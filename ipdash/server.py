"""`ipdash serve`: the dashboard under gunicorn, a production WSGI server with several worker processes.

gunicorn (not waitress) because a worker *process* per core is what this app needs: rankings and
page building are CPU-bound Python, which threads in one process cannot run in parallel. Each
worker builds its own app, warms its own cache in the background (its /readyz answers 503 until
done) and keeps it keyed by the data version, so a new ingest is picked up by every worker without
a restart; each opens its own DuckDB readers; the operational store (SQLite in WAL
mode or PostgreSQL) takes the writes of all workers. Threads within a worker (gthread) keep one
slow request (a report, a first ranking) from blocking the others. Access logs are JSON lines.
"""

from __future__ import annotations

import json
import sys

from gunicorn.app.base import BaseApplication

ACCESS_LOG_FORMAT = json.dumps(
    {
        "time": "%(t)s",
        "remote": "%(h)s",
        "method": "%(m)s",
        "path": "%(U)s",
        "status": "%(s)s",
        "bytes": "%(B)s",
        "ms": "%(M)s",
        "user_agent": "%(a)s",
        "pid": "%(p)s",
    }
)


GIL_SWITCH = 0.001  # seconds a thread may hold the interpreter lock while another waits for it


class Server(BaseApplication):
    """gunicorn running `dashboard.app.create_app(db=...)` in each worker."""

    def __init__(
        self, *, db: str, host: str, port: int, workers: int, threads: int = 4, warm_depth: str = "provinces"
    ) -> None:
        self.db = db
        self.warm_depth = warm_depth
        self.options = {
            "bind": f"{host}:{port}",
            "workers": max(1, workers),
            "worker_class": "gthread",
            "threads": threads,
            "timeout": 300,
            "graceful_timeout": 30,
            "keepalive": 5,
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": "info",
            "access_log_format": ACCESS_LOG_FORMAT,
            "forwarded_allow_ips": "127.0.0.1",  # a reverse proxy on this host may set X-Forwarded-*
            # Not preload_app: Polars' thread pool does not survive fork, so a master that computed
            # anything would hand its workers a deadlock. Each worker builds and warms its own app.
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from dashboard.app import create_app

        # A worker's threads share one interpreter lock. While one thread records an appraisal or
        # recomputes a ranking (tens to hundreds of ms of Python), a cached page waiting in another
        # thread gets the lock only when the busy one is made to hand it over: every 5 ms by default,
        # every GIL_SWITCH here, so that short requests are not held behind long ones.
        sys.setswitchinterval(GIL_SWITCH)
        from notify.scheduler import minutes_from_env, start

        app = create_app(db=self.db, warm=True, warm_depth=self.warm_depth, refresh_in_background=True).server
        minutes = minutes_from_env()
        if minutes:  # deliveries in-process, in every worker: each item still goes out once
            start(self.db, minutes)
        return app


def serve(*, db: str, host: str, port: int, workers: int, warm_depth: str = "provinces") -> None:
    Server(db=db, host=host, port=port, workers=workers, warm_depth=warm_depth).run()
