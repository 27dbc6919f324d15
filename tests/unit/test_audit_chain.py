"""An audit log that an insider with write access to the operational database cannot rewrite
unnoticed: keyed chain, anchors outside the database, ingests and exports on record, the CLI's
operator named beside the operating-system account.

Each attack below passed `ipdash audit verify` before the chain was keyed and anchored."""

from __future__ import annotations

import getpass
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from access import audit
from access.opstore import OpStore, default_path
from tests.conftest import INGEST, ipdash_cli


def _unguarded(ops: OpStore) -> sqlite3.Connection:
    """What an insider with the database file does first: remove the append-only guard."""
    con = sqlite3.connect(ops.path)
    con.execute("DROP TRIGGER IF EXISTS audit_no_update")
    con.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    return con


def _rechain(con: sqlite3.Connection, hasher) -> None:
    """Recompute every entry's link and hash with `hasher(prev, fields)`, as a forger would."""
    prev = audit.GENESIS
    rows = con.execute("SELECT seq, at, actor, action, target, detail FROM audit_log ORDER BY seq").fetchall()
    for seq, at, actor, action, target, detail in rows:
        h = hasher(prev, dict(seq=seq, at=at, actor=actor, action=action, target=target, detail=detail))
        con.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, seq))
        prev = h
    con.commit()


@pytest.fixture
def log(tmp_path: Path, monkeypatch) -> OpStore:
    monkeypatch.setenv("IPDASH_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    ops = OpStore(tmp_path / "ops.sqlite")
    for i in range(6):
        audit.record(ops, actor="admin", action="test", target=str(i), detail={"i": i})
    return ops


def test_entries_are_chained_with_a_key_kept_outside_the_database(log: OpStore, tmp_path: Path) -> None:
    rows = log.read("SELECT hash FROM audit_log ORDER BY seq")
    assert all(r["hash"].startswith(audit.KEYED) for r in rows)
    key_file = tmp_path / "keys" / "audit.key"
    assert key_file.stat().st_mode & 0o077 == 0  # generated owner-only
    assert key_file.read_text().strip() not in log.path.read_bytes().decode("latin-1")
    assert audit.verify(log).ok


def test_an_edit_a_deletion_or_a_reordering_is_named(log: OpStore) -> None:
    con = _unguarded(log)
    con.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    con.commit()
    assert (audit.verify(log).ok, audit.verify(log).first_broken) == (False, 3)
    con.execute("UPDATE audit_log SET actor = 'admin' WHERE seq = 3")
    con.execute("UPDATE audit_log SET seq = 99 WHERE seq = 2")
    con.execute("UPDATE audit_log SET seq = 2 WHERE seq = 4")
    con.execute("UPDATE audit_log SET seq = 4 WHERE seq = 99")
    con.commit()
    assert audit.verify(log).first_broken == 2


@pytest.mark.parametrize("forger", ["plain sha-256", "a guessed key"])
def test_a_log_rewritten_and_rechained_without_the_key_fails(log: OpStore, forger: str) -> None:
    con = _unguarded(log)
    con.execute("DELETE FROM audit_log WHERE seq = 2")
    con.execute("UPDATE audit_log SET seq = seq - 1 WHERE seq > 2")
    con.commit()
    key = None if forger == "plain sha-256" else b"guess"
    _rechain(con, lambda prev, f: audit.entry_hash(prev, **f, key=key))
    verdict = audit.verify(log)
    assert not verdict.ok and verdict.first_broken == 1, verdict


def test_removing_entries_from_the_end_is_caught_by_an_anchor(log: OpStore, tmp_path: Path) -> None:
    kept = audit.anchor(log)
    assert kept["seq"] == 6 and kept["hash"].startswith(audit.KEYED)
    con = _unguarded(log)
    con.execute("DELETE FROM audit_log WHERE seq > 4")
    con.commit()
    assert audit.verify(log).ok  # a shorter chain is still a chain: only the anchor can tell
    verdict = audit.verify(log, anchor=kept)
    assert not verdict.ok and "removed from its end" in (verdict.problem or "")


def test_even_the_key_holder_cannot_rewrite_history_behind_an_anchor(log: OpStore) -> None:
    kept = audit.anchor(log)
    con = _unguarded(log)
    con.execute("DELETE FROM audit_log WHERE seq = 2")
    con.execute("UPDATE audit_log SET seq = seq - 1 WHERE seq > 2")
    con.commit()
    key = audit.audit_key()
    _rechain(con, lambda prev, f: audit.entry_hash(prev, **f, key=key))
    audit.record(log, actor="admin", action="test", target="padding")  # back to 6 entries
    assert audit.verify(log).ok  # with the key, the chain itself can be recomputed …
    verdict = audit.verify(log, anchor=kept)
    assert not verdict.ok and "differs from the anchor" in (verdict.problem or "")  # … not the anchor


def test_a_log_from_before_keying_verifies_only_when_its_unkeyed_prefix_is_accepted(log: OpStore) -> None:
    con = _unguarded(log)
    _rechain(con, lambda prev, f: audit.entry_hash(prev, **f, key=None))  # as written by the old version
    con.close()
    assert not audit.verify(log).ok
    audit.record(log, actor="admin", action="test", target="after the upgrade")
    verdict = audit.verify(log, accept_unkeyed=6)
    assert verdict.ok and verdict.unkeyed == 6 and verdict.entries == 7
    assert not audit.verify(log, accept_unkeyed=5).ok


def test_the_cli_anchors_and_verifies_against_the_anchor(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("IPDASH_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    db = tmp_path / "ipdash.duckdb"
    ops = OpStore(default_path(db))
    for i in range(4):
        audit.record(ops, actor="admin", action="test", target=str(i))
    anchor_file = tmp_path / "elsewhere" / "anchor.json"
    anchor_file.parent.mkdir()
    made = ipdash_cli("audit", "anchor", "--db", str(db), "--out", str(anchor_file))
    assert made.returncode == 0 and "entry 4" in made.stdout
    assert json.loads(anchor_file.read_text())["seq"] == 4
    assert ipdash_cli("audit", "verify", "--db", str(db), "--anchor", str(anchor_file)).returncode == 0
    con = _unguarded(ops)
    con.execute("DELETE FROM audit_log WHERE seq = 4")
    con.commit()
    broken = ipdash_cli("audit", "verify", "--db", str(db), "--anchor", str(anchor_file))
    assert broken.returncode == 1 and "removed from its end" in broken.stdout
    (tmp_path / "bad.json").write_text("[1, 2", encoding="utf-8")
    bad = ipdash_cli("audit", "verify", "--db", str(db), "--anchor", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and "--anchor" in bad.stderr and "Traceback" not in bad.stderr
    no_key = ipdash_cli("audit", "verify", "--db", str(db), env={"IPDASH_AUDIT_KEY_FILE": str(tmp_path / "none")})
    assert no_key.returncode == 1 and "audit key is not available" in no_key.stdout


def test_ingests_are_audited_with_files_hashes_counts_and_the_named_operator(tmp_path: Path) -> None:
    db = tmp_path / "ipdash.duckdb"
    got = ipdash_cli("ingest", "offices", str(INGEST / "offices.csv"), "--db", str(db), "--actor", "张三")
    assert got.returncode == 0, got.stderr
    entries = audit.recent(OpStore(default_path(db)), 5)
    entry = next(e for e in entries if e["action"] == "ingest.offices")
    assert entry["actor"] == f"张三 (os:{getpass.getuser()})"
    detail = json.loads(entry["detail"])
    sha = hashlib.sha256((INGEST / "offices.csv").read_bytes()).hexdigest()
    assert detail["files"] == [{"path": str(INGEST / "offices.csv"), "sha256": sha}]
    assert detail["loaded"] > 0 and entry["target"].startswith("run ")
    plain = ipdash_cli("ingest", "offices", str(INGEST / "offices.csv"), "--db", str(db))
    assert plain.returncode == 0
    assert audit.recent(OpStore(default_path(db)), 1)[0]["actor"] == f"os:{getpass.getuser()}"


def test_draws_publications_and_workbooks_carry_the_anchor(golden_metrics, tmp_path: Path, monkeypatch) -> None:
    import openpyxl

    from inspection.plans import create_plan, lock_plan, run_draw
    from queries.store import Store

    db = tmp_path / "store" / "ipdash.duckdb"
    db.parent.mkdir()
    shutil.copyfile(golden_metrics.path, db)
    ops = OpStore(default_path(db))
    store = Store(db, ops=ops)
    create_plan(ops, store, 'plan_id = "A"\nyear = 2024\nscope = "110000"\n', actor="admin")
    lock_plan(ops, store, "A", out_dir=db.parent / "plans", actor="admin")
    head = audit.anchor(ops)
    manifest = run_draw(ops, store, "A", seed="1", actor="admin")
    assert {k: manifest["audit_anchor"][k] for k in ("seq", "hash")} == {k: head[k] for k in ("seq", "hash")}
    assert audit.verify(ops, anchor=manifest["audit_anchor"]).ok
    out = tmp_path / "report.xlsx"
    got = ipdash_cli("report", "--db", str(db), "--year", "2024", "--output", str(out), "--runs", "20")
    assert got.returncode == 0, got.stderr
    cover = openpyxl.load_workbook(out, read_only=True).worksheets[0]
    texts = [str(c) for row in cover.iter_rows(values_only=True) for c in row if c]
    anchored = next(t for t in texts if t.startswith("#") and audit.KEYED in t)
    seq = int(anchored[1:].split()[0])
    assert audit.verify(ops, anchor={"seq": seq, "hash": anchored.split()[1]}).ok
    assert audit.recent(ops, 1)[0]["action"] == "export.report"


def test_command_line_exports_are_audited(golden_metrics, tmp_path: Path) -> None:
    db = tmp_path / "ipdash.duckdb"
    shutil.copyfile(golden_metrics.path, db)
    got = ipdash_cli("scores", "--db", str(db), "--year", "2024", "--actor", "李四")
    assert got.returncode == 0, got.stderr
    entry = audit.recent(OpStore(default_path(db)), 1)[0]
    assert entry["action"] == "export.scores" and entry["actor"].startswith("李四 (os:")
    assert json.loads(entry["detail"]) == {"year": 2024, "level": "provincial", "format": "csv", "offices": 3}
    got = ipdash_cli("sensitivity", "110100", "--db", str(db), "--year", "2024", "--level", "prefecture")
    assert got.returncode == 0, got.stderr
    assert audit.recent(OpStore(default_path(db)), 1)[0]["action"] == "export.sensitivity"
