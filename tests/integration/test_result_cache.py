"""The on-disk result cache of one publish (queries/result_cache.py): hits equal misses, never stale."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import stat

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from metrics.config import default_config
from metrics.indicators import compute_indicators, register_inputs
from queries.result_cache import SWITCH, cache_dir, cached_frame
from queries.store import Store

PROBE = "SELECT value FROM meta WHERE key = 'probe'"


class Counting:
    """A connection that counts the queries run through `sql` (the cached query itself)."""

    def __init__(self, con):
        self.con, self.runs = con, 0

    def sql(self, *a, **k):
        self.runs += 1
        return self.con.sql(*a, **k)

    def execute(self, *a, **k):
        return self.con.execute(*a, **k)


def publish(store: Store, probe: str) -> None:
    with store.writer() as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('probe', $v)", {"v": probe})


def probe(store: Store, **params) -> tuple[str, int]:
    with contextlib.closing(store.reader()) as con:
        counting = Counting(con)
        frame = cached_frame(counting, PROBE + (" AND $n = $n" if params else ""), params)
        return frame.item(), counting.runs


@pytest.fixture(autouse=True)
def cache_on(monkeypatch):
    monkeypatch.delenv(SWITCH, raising=False)


def test_a_hit_is_read_back_without_running_the_query(store):
    publish(store, "a")
    assert probe(store) == ("a", 1)
    assert probe(store) == ("a", 0)
    assert probe(store, n=1) == ("a", 1)  # other parameters, another result
    assert probe(store, n=1) == ("a", 0)
    assert probe(store, n=2) == ("a", 1)


def test_a_new_publish_is_never_answered_from_the_old_one_and_its_directory_goes(store):
    publish(store, "a")
    assert probe(store) == ("a", 1)
    with contextlib.closing(store.reader()) as con:
        old = cache_dir(con)
    publish(store, "b")
    assert probe(store) == ("b", 1)
    with contextlib.closing(store.reader()) as con:
        new = cache_dir(con)
    assert new != old and new.is_dir() and not old.exists()


def test_a_rebuilt_store_with_the_same_version_counter_is_not_confused_with_the_old(store):
    publish(store, "a")
    assert probe(store) == ("a", 1)
    store.path.unlink()
    publish(store, "b")  # data_version is 1 again, the data is not the same
    assert probe(store) == ("b", 1)


def test_a_reader_on_the_previous_publish_keeps_its_own_answers(store):
    publish(store, "a")
    with contextlib.closing(store.reader()) as old:
        publish(store, "b")
        assert cached_frame(old, PROBE, {}).item() == "a"
        assert probe(store) == ("b", 1)
        assert cached_frame(old, PROBE, {}).item() == "a"


def test_registered_inputs_are_part_of_the_key(store):
    publish(store, "a")
    query = "SELECT sum(x) AS s FROM extra"
    with contextlib.closing(store.reader()) as con:
        con.register("extra", pl.DataFrame({"x": [1, 2]}))
        assert cached_frame(con, query, {}, depends=["extra"]).item() == 3
        con.register("extra", pl.DataFrame({"x": [1, 2, 3]}))
        assert cached_frame(con, query, {}, depends=["extra"]).item() == 6
        con.register("extra", pl.DataFrame({"x": [2, 1]}))  # same content, other order: a hit
        counting = Counting(con)
        assert cached_frame(counting, query, {}, depends=["extra"]).item() == 3 and counting.runs == 0


def test_a_torn_file_is_recomputed_and_replaced(store, caplog):
    publish(store, "a")
    probe(store)
    with contextlib.closing(store.reader()) as con:
        (path,) = cache_dir(con).glob("*.parquet")
    path.write_bytes(b"PAR1 torn")
    with caplog.at_level(logging.WARNING, logger="queries.result_cache"):
        assert probe(store) == ("a", 1)
    assert "cannot read" in caplog.text
    assert probe(store) == ("a", 0)


def test_a_cache_that_cannot_be_written_costs_only_speed(store, caplog):
    publish(store, "a")
    blocker = store.path.with_name(store.path.name + ".cache")
    blocker.write_text("not a directory")
    with caplog.at_level(logging.WARNING, logger="queries.result_cache"):
        assert probe(store) == ("a", 1)
        assert probe(store) == ("a", 1)
    assert "cannot write" in caplog.text


def test_switched_off_it_leaves_nothing(store, monkeypatch):
    monkeypatch.setenv(SWITCH, "off")
    publish(store, "a")
    assert probe(store) == ("a", 1)
    assert probe(store) == ("a", 1)
    assert not store.path.with_name(store.path.name + ".cache").exists()


def test_only_the_owner_can_read_the_cache(store):
    publish(store, "a")
    probe(store)
    with contextlib.closing(store.reader()) as con:
        where = cache_dir(con)
    for d in (where, where.parent):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    for f in where.iterdir():
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600


def test_indicators_from_the_cache_equal_those_computed(golden_metrics, monkeypatch):
    config = default_config()
    as_of = dt.date(2024, 12, 31)

    def table():
        with contextlib.closing(golden_metrics.reader()) as con:
            return compute_indicators(con, config, year=2024, as_of=as_of).frame

    monkeypatch.setenv(SWITCH, "off")
    direct = table()
    monkeypatch.delenv(SWITCH)
    first, again = table(), table()
    assert_frame_equal(first, direct)
    assert_frame_equal(again, direct)
    with contextlib.closing(golden_metrics.reader()) as con:
        register_inputs(con, config)
        assert any(cache_dir(con).glob("*.parquet"))


def test_one_publish_keeps_under_its_size_cap_oldest_out(store, monkeypatch):
    import queries.result_cache as rc

    publish(store, "a")
    with contextlib.closing(store.reader()) as con:
        sizes = []
        for n in range(6):
            cached_frame(con, "SELECT range AS x FROM range($n)", {"n": 20_000 + n})
            newest = max(cache_dir(con).glob("*.parquet"), key=lambda f: f.stat().st_mtime_ns)
            sizes.append(newest.stat().st_size)
            os.utime(newest, (n, n))  # written in this order
        monkeypatch.setattr(rc, "MAX_BYTES", sum(sizes[-2:]))
        cached_frame(con, "SELECT range AS x FROM range($n)", {"n": 5})
        left = sorted(cache_dir(con).glob("*.parquet"), key=lambda f: f.stat().st_mtime)
        assert sum(f.stat().st_size for f in left) <= rc.MAX_BYTES
        assert len(left) == 2  # the newest written, and the one just kept
        counting = Counting(con)
        assert cached_frame(counting, "SELECT range AS x FROM range($n)", {"n": 20_005}).height == 20_005
        assert counting.runs == 0  # the newest of the six survived
        assert cached_frame(counting, "SELECT range AS x FROM range($n)", {"n": 20_000}).height == 20_000
        assert counting.runs == 1  # the oldest had gone


def test_the_server_warm_up_leaves_the_national_workbook_nothing_to_compute(tmp_path, monkeypatch):
    import queries.result_cache as rc
    from dashboard.app import create_app
    from reports.data import collect
    from tests.fixtures.metrics.build import load_golden

    golden = load_golden(Store(tmp_path / "db.duckdb"), tmp_path / "in")
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test-secret-not-for-production")
    computed = []
    keep = rc._keep
    monkeypatch.setattr(rc, "_keep", lambda where, path, frame: (computed.append(path), keep(where, path, frame)))
    create_app(db=str(golden.path), ops_path=str(golden.ops.path), warm="sync")
    assert computed  # the warm-up filled the cache
    computed.clear()
    with contextlib.closing(golden.reader()) as con:
        latest = con.execute("SELECT max(year(accepted_date)) FROM cases").fetchall()[0][0]
        data = collect(con, default_config(), year=latest, scope=None)
    assert data.ranking.offices and data.trend.width > 2
    assert computed == []  # a later process only reads them back


def test_a_shared_value_is_computed_once_for_every_process_and_keeps_its_dependencies(store):
    """After an appraisal every worker needs the new ranking: the first computes it under a lock on
    its key, the others (threads here; processes and hosts alike, the lock is a file's) wait and
    read it, with the operational counters the computation noted."""
    import threading
    import time

    from queries import versions
    from queries.result_cache import shared_value

    publish(store, "a")
    computed: list[int] = []

    def compute() -> dict:
        versions.note("appraisals:2024", 7)
        computed.append(1)
        time.sleep(0.2)  # the others arrive while this one computes
        return {"figure": 1.5, "ranks": [1, 2]}

    got: list[tuple[dict, dict]] = []

    def ask() -> None:
        with contextlib.closing(store.reader()) as con, versions.tracking() as deps:
            value = shared_value(
                con, "probe", {"counters": {"appraisals": 3}}, compute=compute, encode=dict, decode=dict
            )
            got.append((value, dict(deps)))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(computed) == 1
    assert got == [({"figure": 1.5, "ranks": [1, 2]}, {"appraisals:2024": 7})] * 4
    with contextlib.closing(store.reader()) as con:
        assert not list(cache_dir(con).glob("*.lock"))  # nothing left behind but the value
        shared_value(con, "probe", {"counters": {"appraisals": 4}}, compute=compute, encode=dict, decode=dict)
    assert len(computed) == 2  # another key (an appraisal since): computed again


def test_a_ranking_comes_back_from_its_stored_form_whole(golden_metrics):
    import json

    from metrics.ranking import Ranking, rank_offices

    with contextlib.closing(golden_metrics.reader()) as con:
        ranking = rank_offices(con, default_config(), year=2024, level="provincial", within=None, runs=50)
    again = Ranking.from_stored(json.loads(json.dumps(ranking.stored())))
    assert again == ranking and again.as_json() == ranking.as_json()
