"""The workbook download from the dashboard: a background job per user, with progress.

A report takes seconds at national scale, longer than a callback should block, so it runs in a
thread; the page polls its progress and downloads the file when it is ready. A user has at most
one report running: a second request while one runs is refused with a message. The scope is the
user's own (national users: the nation), decided here on the server, and every export is audited.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from access import audit
from access.opstore import OpStore
from access.users import User
from metrics.config import Config
from metrics.ranking import TableOf
from queries.store import Store, scalar
from reports.data import ReportError, collect
from reports.workbook import write_workbook


@dataclass
class Job:
    year: int
    lang: str
    progress: float = 0.0
    stage: str = "queued"
    path: Path | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


class ReportJobs:
    """Background report jobs, at most one running per user."""

    def __init__(self, store: Store, ops: OpStore, config: Config, table_of: TableOf | None = None) -> None:
        self.store, self.ops, self.config = store, ops, config
        self.table_of = table_of            # the dashboard's cached indicator tables, when given
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._dir = Path(tempfile.mkdtemp(prefix="ipdash-reports-"))

    @staticmethod
    def scope_for(user: User) -> str | None:
        if user.national:
            return None
        if user.role in ("provincial", "prefecture") and user.scope_code:
            return user.scope_code
        raise PermissionError("this role cannot export the assessment workbook")

    def start(self, user: User, *, year: int, lang: str) -> tuple[bool, str]:
        """Start a report for `user`; (False, reason) when one is already running or not allowed."""
        try:
            scope = self.scope_for(user)
        except PermissionError as exc:
            audit.record(self.ops, actor=user.username, action="export.denied", detail={"year": year})
            return False, f"无权导出 · {exc}"
        with self._lock:
            current = self._jobs.get(user.username)
            if current is not None and not current.done.is_set():
                return False, "报告正在生成中，请稍候 · a report is already being built for you"
            job = Job(year=year, lang="en" if lang == "en" else "zh")
            self._jobs[user.username] = job
        threading.Thread(target=self._run, args=(user, scope, job), daemon=True).start()
        return True, "报告生成中 · building the report"

    def _run(self, user: User, scope: str | None, job: Job) -> None:
        def progress(fraction: float, stage: str) -> None:
            job.progress, job.stage = fraction, stage

        out = self._dir / f"{user.username}-{job.year}-{scope or 'national'}.xlsx"
        try:
            with contextlib.closing(self.store.reader()) as con:
                progress(0.05, "figures")
                data = collect(con, self.config, year=job.year, scope=scope, table_of=self.table_of)
                progress(0.25, "writing")
                published = scalar(con, "SELECT value FROM meta WHERE key = 'published_at'")
            written = write_workbook(data, self.config, out, lang=job.lang, progress=progress, published_at=published)
            job.path = out
            audit.record(self.ops, actor=user.username, action="export.report", target=data.scope,
                         detail={"year": job.year, "lang": job.lang, "offices": written["offices"]})
        except (ReportError, Exception) as exc:  # noqa: BLE001 - reported to the user, never raised in a thread
            job.error = str(exc) if isinstance(exc, ReportError) else f"{type(exc).__name__}: {exc}"
        finally:
            job.done.set()

    def status(self, username: str) -> Job | None:
        return self._jobs.get(username)

    def take(self, username: str) -> Path | None:
        """The finished file for `username`, once; the job is then forgotten."""
        with self._lock:
            job = self._jobs.get(username)
            if job is None or not job.done.is_set() or job.path is None:
                return None
            del self._jobs[username]
            return job.path
