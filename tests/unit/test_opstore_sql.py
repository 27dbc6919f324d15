"""PostgreSQL parameters by transforming placeholder nodes: `?` and `%` inside literals stay text."""

from __future__ import annotations

import pytest

from access.opstore import OpStore, to_postgres


def test_placeholders_become_psycopg_parameters_and_literals_keep_their_characters() -> None:
    got = to_postgres("SELECT 'what?' AS a, '100%' AS b, x FROM t WHERE y = ? AND z LIKE 'a%?'")
    assert got == "SELECT 'what?' AS a, '100%%' AS b, x FROM t WHERE y = %s AND z LIKE 'a%%?'"
    assert to_postgres("INSERT INTO t (a, b) VALUES (?, ?)") == "INSERT INTO t (a, b) VALUES (%s, %s)"


@pytest.mark.integration
def test_literals_with_question_marks_and_percents_round_trip_through_postgres(pg_url, tmp_path) -> None:
    ops = OpStore(tmp_path / "unused.sqlite", url=pg_url)
    with ops.write() as con:
        con.execute("CREATE TABLE IF NOT EXISTS lit_check (k TEXT, v TEXT)")
        con.execute("INSERT INTO lit_check (k, v) VALUES (?, 'what? 100%')", ("a",))
        row = con.execute("SELECT v, ? AS p FROM lit_check WHERE k = ? AND v LIKE '%?%'", ("x%?", "a")).fetchone()
    assert (row["v"], row["p"]) == ("what? 100%", "x%?")
