"""Alerts and scheduled reports (issue 21), each delivery computed as its recipient.

A two-province world (the golden office tree): open cases accepted 300 days before the run are
overdue; one accepted 10 days before is not near its deadline (3 months) and never listed.

| case | office | handler | in the digest of |
|---|---|---|---|
| Z-1 | 330100 杭州 | 张三 | zj (via 330100), hz |
| Z-2 | 330102 上城区 (under 330100) | 李四 | zj (via 330100), hz |
| Z-3 | 330000 浙江 (its own) | 王五 | zj |
| Z-4 | 330100, accepted 10 days before | 张三 | nobody |
| J-1 | 320100 南京 | 赵六 | js |
| J-2 | 320000 江苏 | 钱七 | js |

The runs are at 08:05 Beijing time a week from today (after the subscriptions were made), so the
slot of a "daily 08:00" schedule is that day's 08:00.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from access import audit
from access.opstore import OpStore, default_path
from access.users import User, add_user, set_disabled, set_scope
from ingest.run import ingest
from metrics.config import default_config
from notify import subscriptions as subs
from notify.run import Mailer, notifications, run
from notify.subscriptions import BEIJING
from queries.store import Store
from tests.conftest import INGEST, ipdash_cli

PASSWORD = "notify-test-password-1"
HEADER = "案号,办案机构代码,案件类型,专利类型,案件来源,收到日期,立案日期,结案日期,结案方式,承办人\n"
DAY = dt.date.today() + dt.timedelta(days=7)
AT = dt.datetime.combine(DAY, dt.time(8, 5), tzinfo=BEIJING)


def case(no: str, office: str, accepted: dt.date, handler: str, closed: dt.date | None = None) -> str:
    done = f"{closed.isoformat()},调解" if closed else ","
    return f"{no},{office},专利侵权纠纷,外观设计,当事人请求,{accepted},{accepted},{done},{handler}"


OLD = DAY - dt.timedelta(days=300)
CASES = [
    case("Z-1", "330100", OLD, "张三"),
    case("Z-2", "330102", OLD, "李四"),
    case("Z-3", "330000", OLD, "王五"),
    case("Z-4", "330100", DAY - dt.timedelta(days=10), "张三"),
    case("J-1", "320100", OLD, "赵六"),
    case("J-2", "320000", OLD, "钱七"),
]


class Inbox:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), keeping what it accepts; `refuse` answers the
    next that many messages with a temporary failure (451), as a server under load does."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.refuse = 0
        inbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                if inbox.refuse:
                    inbox.refuse -= 1
                    return "451 4.3.0 try again later"
                inbox.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 OK"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    try:
        yield box
    finally:
        box.controller.stop()


@pytest.fixture
def world(tmp_path: Path, ops_url) -> tuple[OpStore, Store]:
    """The world on either operational store (SQLite, PostgreSQL)."""
    return build_world(tmp_path, ops_url)


@pytest.fixture
def cli_world(tmp_path: Path) -> tuple[OpStore, Store]:
    """The world on the SQLite store the command line finds beside the analytic store."""
    return build_world(tmp_path, None)


def build_world(tmp_path: Path, ops_url: str | None) -> tuple[OpStore, Store]:
    db = tmp_path / "data" / "ipdash.duckdb"
    ops = OpStore(default_path(db), url=ops_url)
    store = Store(db, ops=ops)
    for kind, name in (("offices", "offices.csv"), ("staffing", "staffing.csv"), ("inspectors", "inspectors.csv")):
        assert ingest(store, kind, [str(INGEST / name)], progress=False).counts.rejected == 0
    (tmp_path / "cases.csv").write_text(HEADER + "\n".join(CASES) + "\n", encoding="utf-8")
    assert ingest(store, "cases", [str(tmp_path / "cases.csv")], progress=False).counts.loaded == len(CASES)
    for name, role, scope, level in (
        ("zj", "provincial", "330000", "provincial"),
        ("js", "provincial", "320000", "provincial"),
        ("hz", "prefecture", "330100", "prefecture"),
        ("old", "prefecture", "330100", "prefecture"),
        ("admin", "national_admin", None, None),
        ("ins", "inspector", "INS001", None),
    ):
        add_user(ops, username=name, role=role, scope_code=scope, scope_level=level, password=PASSWORD)
    return ops, store


def rows_of(message: EmailMessage) -> set[tuple[str, str]]:
    """(case, office code) of every case line of a digest: '  - case | office name | …'."""
    body = message.get_body(("plain",)).get_content()
    out = set()
    for line in body.splitlines():
        if line.startswith("  - "):
            number, office = (part.strip() for part in line[4:].split(" | ")[:2])
            out.add((number, office.split()[0]))
    return out


def digest_for(ops: OpStore, user: str, address: str, schedule: str = "daily 08:00") -> dict:
    return subs.add(ops, username=user, kind="digest", schedule=schedule, channel="email", email=address, actor="t")


def mailer(inbox: Inbox, tmp_path: Path) -> Mailer:
    return Mailer(outbox=tmp_path / "outbox", host="127.0.0.1", port=inbox.port)


def test_each_recipient_reads_only_their_offices_and_a_disabled_user_nothing(world, inbox: Inbox, tmp_path) -> None:
    ops, store = world
    for user in ("zj", "js", "hz", "old"):
        digest_for(ops, user, f"{user}@example.gov.cn")
    set_disabled(ops, "old", actor="t")
    got = run(ops, store, default_config(), at=AT, mailer=mailer(inbox, tmp_path))
    assert len(got.claimed) == 4 and len(got.sent) == 3
    assert [s["user"] for s in got.skipped] == ["old"] and "disabled" in got.skipped[0]["error"]
    assert rows_of(inbox.to("zj@example.gov.cn")[0]) == {("Z-1", "330100"), ("Z-2", "330102"), ("Z-3", "330000")}
    assert rows_of(inbox.to("js@example.gov.cn")[0]) == {("J-1", "320100"), ("J-2", "320000")}
    assert rows_of(inbox.to("hz@example.gov.cn")[0]) == {("Z-1", "330100"), ("Z-2", "330102")}
    assert inbox.to("old@example.gov.cn") == []
    body = inbox.to("zj@example.gov.cn")[0].get_body(("plain",)).get_content()
    # Grouped by the office below the recipient's own, then by handler.
    assert "== 下级机构：杭州市知识产权局 (330100) · 2 ==" in body and " 承办人：李四" in body
    assert "== 下级机构：浙江省知识产权局 (330000) · 1 ==" in body
    assert "超期" in body
    # The same slot is never delivered twice, however often the run comes.
    again = run(ops, store, default_config(), at=AT + dt.timedelta(minutes=5), mailer=mailer(inbox, tmp_path))
    assert again.claimed == [] and again.sent == [] and len(inbox.messages) == 3
    actions = [e["action"] for e in ops.read("SELECT action FROM audit_log ORDER BY seq")]
    assert actions.count("delivery.sent") == 3 and actions.count("delivery.skipped") == 1
    assert audit.verify(ops).ok


def test_a_shrunk_scope_is_the_new_scope_at_the_next_delivery(world, inbox: Inbox, tmp_path) -> None:
    ops, store = world
    digest_for(ops, "zj", "zj@example.gov.cn")
    run(ops, store, default_config(), at=AT, mailer=mailer(inbox, tmp_path))
    set_scope(ops, "zj", "330100", "prefecture", role="prefecture", actor="t")
    run(ops, store, default_config(), at=AT + dt.timedelta(days=1), mailer=mailer(inbox, tmp_path))
    first, second = inbox.to("zj@example.gov.cn")
    assert ("Z-3", "330000") in rows_of(first)
    assert rows_of(second) == {("Z-1", "330100"), ("Z-2", "330102")}


def test_an_alert_fires_once_per_change_of_state(world, tmp_path) -> None:
    """hz watches 330100's subtree at 60%: 330100 has 1 of 2 open cases overdue (50%: ok), 330102
    1 of 1 (100%: over). Run 1 raises 330102; run 2 changes nothing; before run 3 330102's case is
    closed and a second, fresh one of 330100 is accepted — 330102 leaves the watch, 330100 stays
    ok: nothing fires; run 4, after 330102 gets a new overdue case back, fires again."""
    ops, store = world
    subs.add(
        ops,
        username="hz",
        kind="alert",
        schedule=None,
        channel="app",
        email=None,
        actor="t",
        rule="overdue_share",
        threshold=0.6,
    )
    outbox = Mailer(outbox=tmp_path / "outbox")
    first = run(ops, store, default_config(), at=AT, mailer=outbox)
    assert [(a["item"], a["state"]) for a in first.alerts] == [("330102", "over")]
    assert len(first.sent) == 1
    second = run(ops, store, default_config(), at=AT + dt.timedelta(hours=1), mailer=outbox)
    assert second.alerts == [] and second.sent == []
    (tmp_path / "more.csv").write_text(
        HEADER + case("Z-2", "330102", OLD, "李四", closed=DAY) + "\n" + case("Z-5", "330102", DAY, "李四") + "\n",
        encoding="utf-8",
    )
    assert ingest(store, "cases", [str(tmp_path / "more.csv")], progress=False).counts.rejected == 0
    third = run(ops, store, default_config(), at=AT + dt.timedelta(days=1), mailer=outbox)
    assert [(a["item"], a["state"]) for a in third.alerts] == [("330102", "ok")]  # back below: said once
    fourth = run(ops, store, default_config(), at=AT + dt.timedelta(days=1, hours=1), mailer=outbox)
    assert fourth.alerts == []
    listed = notifications(ops, "hz")
    assert len(listed) == 2  # one per change of state, newest first
    assert "330102" in listed[1]["body"] and "100.0%" in listed[1]["body"]
    assert "降至" in listed[0]["body"]


def test_two_schedulers_at_once_deliver_each_item_exactly_once(world, inbox: Inbox, tmp_path, ops_url) -> None:
    ops, store = world
    for user in ("zj", "js", "hz"):
        digest_for(ops, user, f"{user}@example.gov.cn")
    subs.add(
        ops,
        username="js",
        kind="alert",
        schedule=None,
        channel="email",
        email="js-alert@example.gov.cn",
        actor="t",
        rule="overdue_share",
        threshold=0.05,
    )
    db = store.path
    results = []

    def scheduler(k: int) -> None:
        own = OpStore(default_path(db), url=ops_url)  # another worker or host: its own connections
        results.append(run(own, Store(db, ops=own), default_config(), at=AT, mailer=mailer(inbox, tmp_path)))

    threads = [threading.Thread(target=scheduler, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = [s for r in results for s in r.sent]
    assert len(sent) == 4 and len({(s["sub_id"], s["slot"]) for s in sent}) == 4
    assert len(inbox.messages) == 4
    assert [e["action"] for e in ops.read("SELECT action FROM audit_log")].count("delivery.sent") == 4


def test_a_refused_message_is_retried_and_then_reported(world, inbox: Inbox, tmp_path) -> None:
    ops, store = world
    digest_for(ops, "zj", "zj@example.gov.cn")
    inbox.refuse = 1
    first = run(ops, store, default_config(), at=AT, mailer=mailer(inbox, tmp_path))
    assert len(first.retry) == 1 and "451" in first.retry[0]["error"]
    too_soon = run(ops, store, default_config(), at=AT + dt.timedelta(minutes=2), mailer=mailer(inbox, tmp_path))
    assert too_soon.sent == [] and too_soon.retry == []  # the backoff: 5 minutes after the first attempt
    later = run(ops, store, default_config(), at=AT + dt.timedelta(minutes=6), mailer=mailer(inbox, tmp_path))
    assert len(later.sent) == 1 and len(inbox.to("zj@example.gov.cn")) == 1

    digest_for(ops, "js", "js@example.gov.cn")
    inbox.refuse = 100
    at, outcomes = AT + dt.timedelta(days=1), []
    for _ in range(6):
        got = run(ops, store, default_config(), at=at, mailer=mailer(inbox, tmp_path))
        outcomes.append((len(got.retry), len(got.failed)))
        at += dt.timedelta(minutes=45)
    # zj's next day fails like js's: 2 deliveries, 4 attempts each (at +0, +45, +90, +135 minutes)
    assert outcomes[:4] == [(2, 0), (2, 0), (2, 0), (0, 2)] and outcomes[4:] == [(0, 0), (0, 0)]
    reported = [n for n in notifications(ops, "js") if "could not be delivered" in n["subject"]]
    assert len(reported) == 1 and "451" in reported[0]["body"]
    assert [e["action"] for e in ops.read("SELECT action FROM audit_log")].count("delivery.failed") == 2


def test_without_a_server_messages_go_to_the_outbox(world, tmp_path) -> None:
    ops, store = world
    digest_for(ops, "js", "js@example.gov.cn")
    subs.add(
        ops,
        username="js",
        kind="workbook",
        schedule="daily 08:00",
        channel="both",
        email="js@example.gov.cn",
        actor="t",
        report="monitor",
    )
    got = run(ops, store, default_config(), at=AT, mailer=Mailer(outbox=tmp_path / "outbox"))
    assert len(got.sent) == 2
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2 and all(oct(f.stat().st_mode & 0o777) == "0o600" for f in files)
    messages = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]
    digest = next(m for m in messages if not any(True for _ in m.iter_attachments()))
    assert rows_of(digest) == {("J-1", "320100"), ("J-2", "320000")}
    book = next(m for m in messages if any(True for _ in m.iter_attachments()))
    attached = next(book.iter_attachments())
    import io

    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(attached.get_content()), read_only=True).active
    body = list(sheet.iter_rows(values_only=True))[1:]
    assert {r[0] for r in body} == {"J-1", "J-2"}  # the recipient's open cases only
    assert {r[3] for r in body} == {"已超期"}  # a status in words, never its code
    assert [n["subject"] for n in notifications(ops, "js")][0].startswith("[ipdash]")  # both: also in the app


def test_who_may_subscribe_whom(world) -> None:
    ops, _ = world
    zj = User(1, "zj", "provincial", "330000", False, 1)
    admin = User(5, "admin", "national_admin", None, False, 1)
    with pytest.raises(PermissionError):
        subs.add(
            ops, username="js", kind="digest", schedule="daily 08:00", channel="app", email=None, actor="zj", by=zj
        )
    made = subs.add(
        ops, username="js", kind="digest", schedule="daily 08:00", channel="app", email=None, actor="admin", by=admin
    )
    with pytest.raises(PermissionError):
        subs.remove(ops, made["sub_id"], actor="zj", by=zj)
    with pytest.raises(subs.SubscriptionError, match="needs the permission 'monitor'"):
        subs.add(ops, username="ins", kind="digest", schedule="daily 08:00", channel="app", email=None, actor="t")
    refused = [e for e in ops.read("SELECT action FROM audit_log") if e["action"] == "access.denied"]
    assert len(refused) == 2


@pytest.mark.parametrize(
    "args, says",
    [
        (["--kind", "digest", "--schedule", "someday 08:00"], "unknown day someday"),
        (["--kind", "digest", "--schedule", "daily 25:00"], "between 00:00 and 23:59"),
        (["--kind", "digest"], "--schedule: required"),
        (["--kind", "alert", "--rule", "overdue_share", "--schedule", "daily 08:00"], "an alert has none"),
        (["--kind", "alert", "--rule", "overdue_share", "--threshold", "5"], "--threshold"),
        (["--kind", "workbook", "--schedule", "mon 08:00"], "--report"),
        (["--kind", "digest", "--schedule", "mon 08:00", "--channel", "email"], "an e-mail address is needed"),
    ],
)
def test_bad_subscriptions_are_refused_naming_the_argument(cli_world, args: list[str], says: str) -> None:
    ops, store = cli_world
    got = ipdash_cli("subscribe", "add", "zj", *args, "--db", str(store.path))
    assert got.returncode == 2 and says in got.stderr and "Traceback" not in got.stderr, got.stderr


def test_the_command_line_end_to_end(cli_world, tmp_path) -> None:
    ops, store = cli_world
    db = str(store.path)
    made = ipdash_cli("subscribe", "add", "hz", "--kind", "digest", "--schedule", "daily 08:00", "--db", db, "--json")
    assert made.returncode == 0, made.stderr
    listed = ipdash_cli("subscribe", "list", "--db", db)
    assert "hz  digest  daily 08:00  app" in listed.stdout
    at = AT.replace(tzinfo=None).isoformat(timespec="minutes")
    dry = ipdash_cli("notify", "run", "--as-of", at, "--dry-run", "--db", db, "--json")
    assert dry.returncode == 0 and len(json.loads(dry.stdout)["claimed"]) == 1
    assert ops.read("SELECT count(*) AS n FROM deliveries")[0]["n"] == 0  # a dry run records nothing
    done = ipdash_cli("notify", "run", "--as-of", at, "--db", db)
    assert done.returncode == 0 and "已发送 sent: 1" in done.stdout, done.stdout + done.stderr
    assert notifications(ops, "hz")[0]["subject"].startswith("[ipdash] 逾期与临近期限案件")
    sub_id = json.loads(made.stdout)["sub_id"]
    assert ipdash_cli("subscribe", "remove", sub_id, "--db", db).returncode == 0
    gone = ipdash_cli("subscribe", "remove", sub_id, "--db", db)
    assert gone.returncode == 2 and "already removed" in gone.stderr
    bad = ipdash_cli("notify", "run", "--as-of", "tomorrow", "--db", db)
    assert bad.returncode == 2 and "not a date and time" in bad.stderr


def test_serve_runs_the_deliveries_in_process(cli_world, monkeypatch) -> None:
    """IPDASH_NOTIFY_MINUTES: `ipdash serve` starts an APScheduler job every that many minutes that
    delivers what is due (the job run here by hand); a value that is not minutes is refused."""
    from notify.scheduler import minutes_from_env, start

    ops, store = cli_world
    monkeypatch.setenv("IPDASH_NOTIFY_MINUTES", "5")
    assert minutes_from_env() == 5
    subs.add(
        ops,
        username="hz",
        kind="alert",
        schedule=None,
        channel="app",
        email=None,
        actor="t",
        rule="overdue_share",
        threshold=0.6,
    )
    scheduler = start(str(store.path), 5)
    try:
        job = scheduler.get_job("notify")
        assert job.trigger.interval == dt.timedelta(minutes=5)
        job.func()
    finally:
        scheduler.shutdown(wait=False)
    assert len(notifications(ops, "hz")) == 1
    monkeypatch.setenv("IPDASH_NOTIFY_MINUTES", "often")
    refused = ipdash_cli("serve", "--db", str(store.path), env={"IPDASH_NOTIFY_MINUTES": "often"})
    assert refused.returncode == 2 and "IPDASH_NOTIFY_MINUTES='often'" in refused.stderr
