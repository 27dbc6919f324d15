"""Upsert by key: unchanged, updated, stale and in-file duplicates; the office tree rules."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.run import ingest
from queries.store import Store, rows
from tests.conftest import INGEST

HEADER = (
    "case_no,office_code,case_kind,patent_type,source,received_date,accepted_date,closed_date,closing_type,updated_at"
)


def case_line(
    no: str,
    *,
    office: str = "330100",
    closed: str = "2024-05-20",
    closing: str = "mediated",
    updated: str = "2024-05-20 10:00",
    patent: str = "design",
) -> str:
    return f"{no},{office},infringement_dispute,{patent},request,2024-03-01,2024-03-04,{closed},{closing},{updated}"


def write(path: Path, lines: list[str]) -> str:
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def query(store: Store, sql: str) -> list[tuple]:
    with contextlib.closing(store.reader()) as con:
        return rows(con, sql)


def test_reingesting_the_same_file_changes_nothing(tree_store: Store, tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", [case_line("C1"), case_line("C2")])
    first = ingest(tree_store, "cases", [f], progress=False)
    snapshot = query(tree_store, "SELECT * FROM cases ORDER BY case_no")
    second = ingest(tree_store, "cases", [f], progress=False)
    assert (first.counts.loaded, second.counts.loaded, second.counts.unchanged) == (2, 0, 2)
    assert query(tree_store, "SELECT * FROM cases ORDER BY case_no") == snapshot


def test_newer_version_updates_and_older_version_is_rejected(tree_store: Store, tmp_path: Path) -> None:
    ingest(
        tree_store,
        "cases",
        [write(tmp_path / "a.csv", [case_line("C1", closed="", closing="", updated="2024-04-01 09:00")])],
        progress=False,
    )
    newer = ingest(tree_store, "cases", [write(tmp_path / "b.csv", [case_line("C1")])], progress=False)
    assert (newer.counts.updated, newer.counts.loaded) == (1, 0)
    assert query(tree_store, "SELECT closed_date IS NOT NULL, source_row FROM cases") == [(True, 2)]
    older = ingest(
        tree_store,
        "cases",
        [write(tmp_path / "c.csv", [case_line("C1", patent="invention", updated="2024-01-01")])],
        progress=False,
    )
    assert (older.counts.rejected, older.counts.updated) == (1, 0)
    assert query(tree_store, "SELECT patent_type FROM cases") == [("design",)]
    reason = query(tree_store, "SELECT reason FROM quarantine WHERE column_name = 'updated_at'")[0][0]
    assert "older than the stored version" in reason


def test_later_file_wins_when_updated_at_is_equal_or_missing(tree_store: Store, tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", [case_line("C1", updated="")])
    b = write(tmp_path / "b.csv", [case_line("C1", patent="invention", updated="")])
    s = ingest(tree_store, "cases", [a, b], progress=False)
    assert (s.counts.loaded, s.counts.updated, s.counts.read) == (1, 1, 2)
    assert query(tree_store, "SELECT patent_type, count(*) OVER () FROM cases") == [("invention", 1)]


def test_offices_tree_rules(store: Store, tmp_path: Path) -> None:
    ingest(store, "offices", [str(INGEST / "offices.csv")], progress=False)
    f = tmp_path / "more.csv"
    f.write_text(
        "office_code,name,level,parent_code\n"
        "330200,宁波,prefecture,330000\n"  # fine
        "330203,海曙,county,330000\n"  # county directly under a province
        "330204,江东,county,339900\n"  # parent missing
        "339900,不存在的市,prefecture,330001\n"  # its own parent missing: cascades to 330204
        "330100,杭州,county,330000\n"  # would orphan 330102 below it
        "100000,国家,national,330000\n",  # national with a parent
        encoding="utf-8",
    )
    s = ingest(store, "offices", [str(f)], progress=False)
    assert (s.counts.loaded, s.counts.rejected, s.counts.updated) == (1, 5, 0)
    got = dict(query(store, "SELECT row_number, column_name FROM quarantine"))
    assert got == {3: "level", 4: "parent_code", 5: "parent_code", 6: "level", 7: "parent_code"}
    assert query(store, "SELECT level FROM offices WHERE office_code = '330100'") == [("prefecture",)]


# A pool of distinct valid cases; hypothesis picks files made of any of them, repeated, in any order.
POOL = [case_line(f"P{i}", office=("330100", "320100", "330102")[i % 3]) for i in range(12)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.lists(st.integers(0, len(POOL) - 1), min_size=0, max_size=15), min_size=1, max_size=4))
def test_ingest_never_loses_or_duplicates_a_row(tmp_path_factory, files: list[list[int]]) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    store = Store(tmp / "db.duckdb")
    ingest(store, "offices", [str(INGEST / "offices.csv")], progress=False)
    paths = [write(tmp / f"f{i}.csv", [POOL[j] for j in picks]) for i, picks in enumerate(files)]
    s = ingest(store, "cases", paths, progress=False)
    c = s.counts
    assert c.read == sum(len(p) for p in files)
    assert c.read == c.loaded + c.updated + c.unchanged + c.rejected + c.duplicate_in_file
    assert c.rejected == 0 and c.updated == 0
    expected = sorted({f"P{j}" for picks in files for j in picks})
    assert [r[0] for r in query(store, "SELECT case_no FROM cases ORDER BY case_no")] == sorted(expected)
    assert query(store, "SELECT count(*) - count(DISTINCT (office_code, case_no)) FROM cases") == [(0,)]
    assert c.loaded == len(expected)
    # In any other order the same files give the same store.
    again = Store(tmp / "db2.duckdb")
    ingest(again, "offices", [str(INGEST / "offices.csv")], progress=False)
    ingest(again, "cases", list(reversed(paths)), progress=False)
    assert query(again, "SELECT case_no FROM cases ORDER BY 1") == query(store, "SELECT case_no FROM cases ORDER BY 1")
