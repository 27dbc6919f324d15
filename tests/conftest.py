"""Shared fixtures: a fresh store per test and the golden ingest files."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from ingest.run import ingest
from queries.store import Store
from tests import FIXTURES

INGEST = FIXTURES / "ingest"


def ipdash_cli(*args: str, timeout: int = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the `ipdash` command line in a child process (`env`: added to this process's environment)."""
    return subprocess.run(
        [sys.executable, "-m", "ipdash.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env} if env else None,
    )


@pytest.fixture(scope="module")
def golden_metrics(tmp_path_factory) -> Store:
    """A store with the golden metrics data set of tests/fixtures/metrics (one per test module)."""
    from tests.fixtures.metrics.build import load_golden

    tmp = tmp_path_factory.mktemp("golden_metrics")
    return load_golden(Store(tmp / "db.duckdb"), tmp / "in")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data" / "ipdash.duckdb")


@pytest.fixture
def tree_store(store: Store) -> Store:
    """A store with the golden office tree, staffing and inspectors loaded."""
    for kind, name in (("offices", "offices.csv"), ("staffing", "staffing.csv"), ("inspectors", "inspectors.csv")):
        summary = ingest(store, kind, [str(INGEST / name)], progress=False)
        assert summary.counts.rejected == 0, kind
    return store


PG_URL = os.environ.get("IPDASH_TEST_DATABASE_URL")


@contextlib.contextmanager
def fresh_postgres():
    """The URL of a new, empty PostgreSQL database, dropped afterwards; skip (or fail) without a server.

    PostgreSQL runs where $IPDASH_TEST_DATABASE_URL names a server (.ci/run starts one from
    Debian's packages and sets $IPDASH_REQUIRE_POSTGRES=1, so there it can never be skipped).
    """
    if not PG_URL:
        if os.environ.get("IPDASH_REQUIRE_POSTGRES") == "1":
            pytest.fail("IPDASH_REQUIRE_POSTGRES=1 but IPDASH_TEST_DATABASE_URL is not set")
        pytest.skip("no PostgreSQL server: set IPDASH_TEST_DATABASE_URL (CI does)")
    import psycopg

    name = f"ipdash_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def ops_url(request):
    """None for the SQLite operational store, else a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        yield None
    else:
        with fresh_postgres() as url:
            yield url


@pytest.fixture
def pg_url():
    with fresh_postgres() as url:
        yield url


def with_appraisals_of(store: Store, ops):
    """`ops` holding the appraisals, draw samples and data versions of `store`'s own operational
    store (a test's app keeps its users apart, on either backend, and sees the same appraisals)."""
    src = store.ops
    for table in ("appraisals", "draw_samples", "data_versions"):
        got = [dict(r) for r in src.read(f"SELECT * FROM {table}")]
        if not got:
            continue
        names = list(got[0])
        with ops.write() as con:
            con.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
                [tuple(r[n] for n in names) for r in got],
            )
    return ops


# Test tiers: a test's folder is its tier (tests/unit, tests/integration, tests/browser); a test
# that starts processes or builds larger data also carries `slow`. `-m unit` is the quick loop
# (`make check-fast`); CI runs every tier.
TIERS = ("unit", "integration", "slow", "browser")
FOLDER_TIERS = {"unit": pytest.mark.unit, "integration": pytest.mark.integration, "browser": pytest.mark.browser}


def pytest_collection_modifyitems(config, items):
    for item in items:
        tier = FOLDER_TIERS.get(item.path.parent.name)
        if tier is None:
            raise pytest.UsageError(f"{item.path}: a test lives in the folder of its tier ({', '.join(FOLDER_TIERS)})")
        if not item.get_closest_marker(tier.name):
            item.add_marker(tier)


# --- a dashboard over the golden data with one user per office role (access and security tests) --

SITE_PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> Store:
    from tests.fixtures.metrics.build import load_golden

    tmp = tmp_path_factory.mktemp("golden_access")
    return load_golden(Store(tmp / "db.duckdb"), tmp / "in")


@pytest.fixture
def site(golden: Store, tmp_path: Path, monkeypatch, ops_url):
    """(app, ops): the dashboard over the golden store, with users leader, p1 (110000) and pref (130100)."""
    from access.opstore import OpStore
    from access.users import add_user
    from dashboard.app import create_app

    monkeypatch.setenv("IPDASH_SECRET_KEY", "test-secret-not-for-production")
    if ops_url:
        monkeypatch.setenv("IPDASH_DATABASE_URL", ops_url)
    ops = with_appraisals_of(golden, OpStore(tmp_path / "ops.sqlite"))
    for name, role, scope, level in [
        ("leader", "national_leader", None, None),
        ("p1", "provincial", "110000", "provincial"),
        ("pref", "prefecture", "130100", "prefecture"),
    ]:
        add_user(ops, username=name, role=role, password=SITE_PASSWORD, scope_code=scope, scope_level=level)
    app = create_app(db=str(golden.path), ops_path=str(ops.path))
    assert ops.backend == ("postgresql" if ops_url else "sqlite")
    return app, ops
