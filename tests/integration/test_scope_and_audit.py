"""The scope rewrite on golden SQL pairs, checked for meaning in DuckDB; the audit chain; users CLI."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from access import audit
from access.opstore import OpStore
from queries.scope import Scope, ScopeError, scope_sql
from queries.store import Store, rows
from tests.fixtures.metrics.build import load_golden

# The subtree test is the store's macro in_subtree (queries/analytic/macros.sql), bound to the scope.
SUB = "(SELECT * FROM {t} AS __t WHERE IN_SUBTREE(__t.office_code, $scope_code)) AS {a}"

PAIRS = [  # (input, expected rewrite)
    ("SELECT count(*) FROM cases", "SELECT COUNT(*) FROM " + SUB.format(t="cases", a="cases")),
    (
        "SELECT c.case_no FROM cases AS c WHERE c.case_kind = $kind",
        "SELECT c.case_no FROM " + SUB.format(t="cases", a="c") + " WHERE c.case_kind = $kind",
    ),
    (
        "SELECT o.name, count(c.case_no) FROM offices o LEFT JOIN cases c ON c.office_code = o.office_code GROUP BY o.name",
        "SELECT o.name, COUNT(c.case_no) FROM "
        + SUB.format(t="offices", a="o")
        + " LEFT JOIN "
        + SUB.format(t="cases", a="c")
        + " ON c.office_code = o.office_code GROUP BY o.name",
    ),
    (
        "WITH x AS (SELECT office_code FROM appraisals) SELECT count(*) FROM x",
        "WITH x AS (SELECT office_code FROM " + SUB.format(t="appraisals", a="appraisals") + ") SELECT COUNT(*) FROM x",
    ),
    (
        "SELECT count(*) FROM (SELECT * FROM cases WHERE closed_date IS NULL) AS t",
        "SELECT COUNT(*) FROM (SELECT * FROM " + SUB.format(t="cases", a="cases") + " WHERE closed_date IS NULL) AS t",
    ),
    (
        "SELECT office_code FROM cases UNION SELECT office_code FROM staffing",
        "SELECT office_code FROM "
        + SUB.format(t="cases", a="cases")
        + " UNION SELECT office_code FROM "
        + SUB.format(t="staffing", a="staffing"),
    ),
    ("SELECT * FROM meta", "SELECT * FROM meta"),
]


@pytest.mark.parametrize("text, expected", PAIRS)
def test_scope_rewrite_golden_pairs(text: str, expected: str) -> None:
    assert scope_sql(text, Scope("330000")) == expected


QUERIES = [
    "SELECT office_code, count(*) AS n FROM cases GROUP BY office_code ORDER BY office_code",
    "SELECT o.office_code, count(c.case_no) AS n FROM offices AS o LEFT JOIN cases AS c "
    "ON c.office_code = o.office_code GROUP BY o.office_code ORDER BY o.office_code",
    "WITH a AS (SELECT office_code, total FROM appraisals) SELECT office_code, sum(total) FROM a "
    "GROUP BY office_code ORDER BY 1",
    "SELECT c.case_no FROM cases AS c WHERE c.office_code IN (SELECT office_code FROM offices "
    "WHERE level = 'county') ORDER BY 1",
    "SELECT office_code FROM cases UNION SELECT office_code FROM staffing ORDER BY 1",
    "SELECT count(*) FROM cases AS x JOIN cases AS y ON x.office_code = y.office_code AND x.case_no <> y.case_no",
    "SELECT (SELECT count(*) FROM inspectors) AS i, (SELECT count(*) FROM offices) AS o",
]


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scope")
    full = load_golden(Store(tmp / "full.duckdb"), tmp / "in")
    return full, tmp


@pytest.mark.parametrize("scope", ["130000", "130100", "110000", "120101"])
@pytest.mark.parametrize("query", QUERIES)
def test_rewritten_query_equals_the_query_on_a_store_holding_only_the_subtree(stores, scope: str, query: str) -> None:
    full, tmp = stores
    restricted = tmp / f"only-{scope}" / "db.duckdb"  # with an operational store of its own
    if not restricted.exists():
        restricted.parent.mkdir()
        shutil.copyfile(full.path, restricted)
        keep = (
            "SELECT office_code FROM offices WHERE office_code = $s OR province_code = $s "
            "OR prefecture_code = $s OR parent_code = $s"
        )
        con = duckdb.connect(str(restricted))
        subtree = [r[0] for r in con.execute(keep, {"s": scope}).fetchall()]
        for table in ("cases", "staffing", "inspectors", "offices"):
            con.execute(f"DELETE FROM {table} WHERE office_code NOT IN ({keep})", {"s": scope})
        con.close()
        ops = sqlite3.connect(Store(restricted).ops.path)
        ops.execute("ATTACH ? AS f", (str(full.ops.path),))
        ops.execute(
            f"INSERT INTO appraisals SELECT * FROM f.appraisals WHERE office_code IN "
            f"({', '.join('?' for _ in subtree)})",
            subtree,
        )
        ops.commit()
        ops.close()
    with contextlib.closing(full.reader()) as con:
        text = scope_sql(query, Scope(scope))
        params = {"scope_code": scope} if "$scope_code" in text else {}
        got = rows(con, text, params)
    with contextlib.closing(Store(restricted).reader()) as con:
        assert got == rows(con, query)


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("DELETE FROM cases", "only a SELECT"),
        ("SELECT 1; SELECT 2", "exactly one statement"),
        ("SELECT * FROM read_csv('/etc/passwd')", "reads files"),
        ("SELECT read_text('/etc/passwd')", "reads files"),
        ("SELECT * FROM users", "unknown table"),
        ("SELECT * FROM store.main.cases", "qualified table names"),
        ("INSERT INTO cases SELECT * FROM cases", "only a SELECT"),
        ("COPY cases TO '/tmp/x.csv'", "only a SELECT"),
        ("SELEC * FROM cases", "not valid SQL"),
    ],
)
def test_anything_but_one_read_is_refused(text: str, phrase: str) -> None:
    for scope in (Scope(None), Scope("330000")):
        with pytest.raises(ScopeError, match=phrase):
            scope_sql(text, scope)


def test_audit_chain_detects_an_edited_or_deleted_entry(tmp_path: Path) -> None:
    db = tmp_path / "ipdash.duckdb"
    ops = OpStore(tmp_path / "ipdash-ops.sqlite")
    for i in range(5):
        audit.record(ops, actor="admin", action="test", target=str(i), detail={"i": i})
    cli = [sys.executable, "-m", "ipdash.cli", "audit", "verify", "--db", str(db)]
    ok = subprocess.run(cli, capture_output=True, text=True)
    assert ok.returncode == 0 and "5 entries" in ok.stdout

    con = sqlite3.connect(ops.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    # Someone with direct access to the file removes the guard and edits entry 3.
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    con.commit()
    broken = subprocess.run(cli, capture_output=True, text=True)
    assert broken.returncode == 1 and "entry 3" in broken.stdout and "edited" in broken.stdout

    # Opening the store put the guard back; an attacker removes it again, restores entry 3, deletes 2.
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("UPDATE audit_log SET actor = 'admin' WHERE seq = 3")
    con.execute("DROP TRIGGER audit_no_delete")
    con.execute("DELETE FROM audit_log WHERE seq = 2")
    con.commit()
    con.close()
    verdict = audit.verify(ops)
    assert (verdict.ok, verdict.first_broken) == (False, 3)


def test_users_cli_reads_the_password_from_stdin_and_validates_role_and_scope(stores, tmp_path: Path) -> None:
    full, _ = stores
    db = tmp_path / "ipdash.duckdb"
    shutil.copyfile(full.path, db)

    def users(*args: str, password: str = "a-long-enough-password\n") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "ipdash.cli", "users", *args, "--db", str(db)],
            input=password,
            capture_output=True,
            text=True,
        )

    assert users("add", "zj", "--role", "provincial", "--scope", "110000").returncode == 0
    assert "already exists" in users("add", "zj", "--role", "provincial", "--scope", "110000").stderr
    assert "needs a provincial office" in users("add", "x1", "--role", "provincial", "--scope", "110100").stderr
    assert "not in the office roster" in users("add", "x2", "--role", "prefecture", "--scope", "999999").stderr
    assert "at least 10 characters" in users("add", "x3", "--role", "national_leader", password="short\n").stderr
    listed = users("list", "--json")
    assert '"username": "zj"' in listed.stdout and "password" not in listed.stdout
    stored = (
        sqlite3.connect(tmp_path / "ipdash-ops.sqlite")
        .execute("SELECT password_hash FROM users WHERE username = 'zj'")
        .fetchone()[0]
    )
    assert stored.startswith("$argon2id$") and "a-long-enough-password" not in stored
    assert users("disable", "zj").returncode == 0
    assert users("disable", "nobody").returncode == 2


def test_audit_chain_on_postgresql_detects_an_edited_entry(pg_url) -> None:
    import psycopg

    ops_url = pg_url
    ops = OpStore("unused", url=ops_url)
    for i in range(4):
        audit.record(ops, actor="admin", action="test", target=str(i))
    with psycopg.connect(ops_url, autocommit=True) as con:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            con.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
        con.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_append_only")
        con.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    verdict = audit.verify(ops)
    assert (verdict.ok, verdict.first_broken) == (False, 2)


def test_a_password_hashed_with_older_parameters_still_signs_in_and_is_rehashed(tmp_path: Path) -> None:
    from argon2 import PasswordHasher

    from access.users import add_user, authenticate

    ops = OpStore(tmp_path / "ops.sqlite")
    add_user(ops, username="old", role="national_leader", password="an-old-password", actor="test")
    legacy = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("an-old-password")
    with ops.write() as con:
        con.execute("UPDATE users SET password_hash = ? WHERE username = 'old'", (legacy,))

    def stored() -> str:
        return ops.read("SELECT password_hash FROM users WHERE username = 'old'")[0]["password_hash"]

    assert authenticate(ops, "old", "a-wrong-password") is None
    assert stored() == legacy  # a failed login changes nothing
    assert authenticate(ops, "old", "an-old-password").username == "old"
    assert stored() != legacy and stored().startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert authenticate(ops, "old", "an-old-password").username == "old"  # the new hash verifies


def test_every_table_states_its_scope_or_why_it_is_public() -> None:
    """A table added to the schema fails here until it says who may read it; undeclared tables are
    refused to scoped users meanwhile (fail closed)."""
    from queries.schema import declared_schema
    from queries.scope import PUBLIC, SCOPED

    tables = set(declared_schema())
    assert tables - set(SCOPED) - set(PUBLIC) == set()
    assert set(SCOPED) & set(PUBLIC) == set()
    for name, column in SCOPED.items():
        assert column is None or column in declared_schema()[name], name


def test_an_undeclared_table_is_refused_to_a_scoped_user(monkeypatch) -> None:
    import queries.scope as scope_module

    monkeypatch.delitem(scope_module.SCOPED, "staffing")
    scope_module.scope_sql.cache_clear()
    try:
        assert scope_sql("SELECT * FROM staffing", Scope(None)) == "SELECT * FROM staffing"  # national: as it is
        with pytest.raises(ScopeError, match="no declared scope"):
            scope_sql("SELECT * FROM staffing", Scope("330000"))
    finally:
        scope_module.scope_sql.cache_clear()


EVERY_TABLE = [  # (input, expected rewrite for a provincial scope): one pair per table of the schema
    ("SELECT * FROM cases", "SELECT * FROM " + SUB.format(t="cases", a="cases")),
    ("SELECT * FROM case_facts", "SELECT * FROM " + SUB.format(t="case_facts", a="case_facts")),
    ("SELECT * FROM appraisals", "SELECT * FROM " + SUB.format(t="appraisals", a="appraisals")),
    (
        "SELECT * FROM legacy_appraisals",
        "SELECT * FROM " + SUB.format(t="legacy_appraisals", a="legacy_appraisals"),
    ),
    ("SELECT * FROM staffing", "SELECT * FROM " + SUB.format(t="staffing", a="staffing")),
    ("SELECT * FROM inspectors", "SELECT * FROM " + SUB.format(t="inspectors", a="inspectors")),
    ("SELECT * FROM offices", "SELECT * FROM " + SUB.format(t="offices", a="offices")),
    ("SELECT * FROM draw_samples", "SELECT * FROM " + SUB.format(t="draw_samples", a="draw_samples")),
    (
        "SELECT * FROM legacy_draw_samples",
        "SELECT * FROM " + SUB.format(t="legacy_draw_samples", a="legacy_draw_samples"),
    ),
    ("SELECT * FROM quarantine", "SELECT * FROM (SELECT * FROM quarantine WHERE FALSE) AS quarantine"),
    ("SELECT * FROM ingest_runs", "SELECT * FROM (SELECT * FROM ingest_runs WHERE FALSE) AS ingest_runs"),
    ("SELECT * FROM meta", "SELECT * FROM meta"),
    ("SELECT * FROM time_limit_rules", "SELECT * FROM time_limit_rules"),
    ("SELECT * FROM acceptance_due", "SELECT * FROM acceptance_due"),
    ("SELECT * FROM appraisal_versions", "SELECT * FROM appraisal_versions"),
]


@pytest.mark.parametrize("text, expected", EVERY_TABLE)
def test_a_golden_pair_for_every_table(text: str, expected: str) -> None:
    assert scope_sql(text, Scope("330000")) == expected


def test_the_golden_pairs_cover_every_table() -> None:
    from queries.schema import declared_schema

    covered = {text.split("FROM ")[1] for text, _ in EVERY_TABLE}
    assert covered == set(declared_schema())
