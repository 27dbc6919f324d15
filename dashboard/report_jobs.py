"""The workbook download from the dashboard: a background job per user, with progress, shared by
every worker and host.

A report takes seconds at national scale, longer than a callback should block, so it runs in a
thread of the worker that was asked; the page polls its progress and downloads the file when it is
ready. Behind a reverse proxy each poll may reach another worker (or host), so the job's state
lives in the operational store (`report_jobs`) and its file in the `reports/` directory beside the
analytic store, which every worker shares; any worker answers a poll and hands out the file.

- At most one report per user is queued or running, across all workers: a unique index of the
  operational store refuses a second one, whoever tries.
- The running worker writes a heartbeat every few seconds. A job whose heartbeat stopped (its
  worker was restarted or killed) is taken over by the next worker that sees it polled: no job is
  lost, the user only waits longer.
- The scope is the user's own (national users: the nation), decided here on the server; the file
  and the audit entry of the export are written in one step when the job completes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from access import audit, policy
from access.opstore import OpStore
from access.users import User
from metrics.config import Config
from metrics.ranking import TableOf
from operations.annual import annual_workbook
from queries.statements import op_sql, update_sql
from queries.store import Store
from reports.data import ReportError

HEARTBEAT = 3.0  # seconds between a running job's signs of life
STALE = 30.0  # a running job silent this long has lost its worker; the next poll takes it over
ACTIVE = ("queued", "running")
BEIJING = dt.timezone(dt.timedelta(hours=8))  # the download's name carries when it was asked for, Beijing time


@dataclass(frozen=True)
class Job:
    """A report job as the operational store has it."""

    job_id: str
    username: str
    year: int
    lang: str
    scope: str | None
    state: str  # queued, running, done, failed, taken
    progress: float
    stage: str
    file: str | None
    error: str | None
    heartbeat_at: str

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def stale(self, now: dt.datetime) -> bool:
        return self.state in ACTIVE and (now - dt.datetime.fromisoformat(self.heartbeat_at)).total_seconds() > STALE


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ReportJobs:
    """Background report jobs, at most one active per user across every worker and host.

    Args:
        store: the analytic store; the files go to `reports/` beside it.
        ops: the operational store holding the jobs' state.
        config: the indicator configuration.
        table_of: the dashboard's cached indicator tables, when given.
    """

    def __init__(self, store: Store, ops: OpStore, config: Config, table_of: TableOf | None = None) -> None:
        self.store, self.ops, self.config = store, ops, config
        self.table_of = table_of
        self.dir = store.path.parent / "reports"
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    @staticmethod
    def scope_for(user: User) -> str | None:
        """The workbook's scope: the nation for national users, else the user's own office."""
        if not policy.allowed(actor=user, action="report"):
            raise PermissionError("this role cannot export the assessment workbook")
        scope = policy.scope_for(user)
        if scope.national:
            return None
        if user.scope_code and not scope.archives_only:
            return scope.office_code
        raise PermissionError("this user has no office to export")

    def start(self, user: User, *, year: int, lang: str) -> tuple[bool, str]:
        """Start a report for `user`; (False, reason) when one is already active or not allowed."""
        try:
            scope = self.scope_for(user)
        except PermissionError as exc:
            audit.record(self.ops, actor=user.username, action="export.denied", detail={"year": year})
            return False, f"无权导出 · {exc}"
        now = _now()
        job_id = uuid.uuid4().hex
        with self.ops.write() as con:
            active = con.execute(
                op_sql("report_jobs.active"),
                (user.username,),
            ).fetchone()
            if active is not None:
                if (now - dt.datetime.fromisoformat(active["heartbeat_at"])).total_seconds() <= STALE:
                    return False, "报告正在生成中，请稍候 · a report is already being built for you"
                con.execute(
                    op_sql("report_jobs.fail"),
                    ("其生成进程已停止 · its worker stopped", active["job_id"]),
                )
            con.execute(
                op_sql("report_jobs.insert"),
                (
                    job_id,
                    user.username,
                    int(year),
                    "en" if lang == "en" else "zh",
                    scope,
                    now.isoformat(),
                    now.isoformat(),
                    self.worker,
                ),
            )
        self._spawn(job_id, user.username)
        return True, "报告生成中 · building the report"

    def _spawn(self, job_id: str, username: str) -> None:
        threading.Thread(target=self._run, args=(job_id, username), daemon=True, name=f"report-{job_id[:8]}").start()

    def _job(self, job_id: str) -> Job:
        return _as_job(self.ops.read(op_sql("report_jobs.by_id"), (job_id,))[0])

    def _update(self, job_id: str, **values: object) -> None:
        with self.ops.write() as con:
            con.execute(
                update_sql("report_jobs", list(values), ["job_id", "worker"]), (*values.values(), job_id, self.worker)
            )

    def _run(self, job_id: str, username: str) -> None:
        job = self._job(job_id)
        alive = threading.Event()
        last = [0.0]

        def beat() -> None:
            while not alive.wait(HEARTBEAT):
                with contextlib.suppress(Exception):  # a missed beat only risks a takeover
                    self._update(job_id, heartbeat_at=_now().isoformat())

        def progress(fraction: float, stage: str) -> None:
            if time.monotonic() - last[0] >= 0.5 or fraction >= 1:
                last[0] = time.monotonic()
                self._update(job_id, progress=float(fraction), stage=stage, heartbeat_at=_now().isoformat())

        threading.Thread(target=beat, daemon=True).start()
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        out = self.dir / f"{job_id}.xlsx"
        part = out.with_name(out.name + ".part")
        try:
            data, written = annual_workbook(
                self.store,
                self.config,
                part,
                year=job.year,
                scope=job.scope,
                lang=job.lang,
                table_of=self.table_of,
                progress=progress,
            )
            os.chmod(part, 0o600)
            os.replace(part, out)
            with self.ops.write() as con:
                con.execute(
                    op_sql("report_jobs.finish"),
                    (out.name, job_id, self.worker),
                )
                audit.append(
                    con,
                    actor=username,
                    action="export.report",
                    target=data.scope,
                    detail={"year": job.year, "lang": job.lang, "offices": written["offices"], "job": job_id},
                )
        except Exception as exc:
            part.unlink(missing_ok=True)
            message = str(exc) if isinstance(exc, ReportError) else f"{type(exc).__name__}: {exc}"
            with contextlib.suppress(Exception):
                self._update(job_id, state="failed", error=message[:500])
        finally:
            alive.set()

    def status(self, username: str) -> Job | None:
        """The user's latest job not yet handed out; one whose worker stopped is taken over here."""
        found = self.ops.read(
            op_sql("report_jobs.latest_visible"),
            (username,),
        )
        if not found:
            return None
        job = _as_job(found[0])
        if job.stale(_now()):
            with self.ops.write() as con:
                claimed = con.execute(
                    op_sql("report_jobs.requeue"),
                    (self.worker, _now().isoformat(), job.job_id, job.heartbeat_at),
                ).rowcount
            if claimed:
                self._spawn(job.job_id, username)
            job = self._job(job.job_id)
        return job

    def take(self, username: str) -> tuple[str, bytes] | None:
        """(download name, bytes) of the user's finished workbook, once; the file is then removed. The
        name carries the time the report was asked for and the job's first characters, so a second
        download — even one asked for in the same second — never replaces the first."""
        with self.ops.write() as con:
            row = con.execute(
                op_sql("report_jobs.latest_done"),
                (username,),
            ).fetchone()
            if row is None:
                return None
            con.execute(op_sql("report_jobs.take"), (row["job_id"],))
        job = _as_job(row)
        path = self.dir / Path(job.file or "").name
        data = path.read_bytes()
        path.unlink(missing_ok=True)
        made = dt.datetime.fromisoformat(row["created_at"]).astimezone(BEIJING)
        return f"{username}-{job.year}-{job.scope or 'national'}-{made:%Y%m%d-%H%M%S}-{job.job_id[:4]}.xlsx", data

    def forget_failed(self, username: str) -> None:
        """A failed job has been shown to the user: it no longer counts as theirs to poll."""
        with self.ops.write() as con:
            con.execute(op_sql("report_jobs.forget_failed"), (username,))


def _as_job(row) -> Job:
    return Job(
        row["job_id"],
        row["username"],
        int(row["year"]),
        row["lang"],
        row["scope"],
        row["state"],
        float(row["progress"]),
        row["stage"],
        row["file"],
        row["error"],
        row["heartbeat_at"],
    )
