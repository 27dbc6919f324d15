"""Every command with every bad input (issue 17, item 8): exit status 2, exactly one line on stderr
naming the argument, no traceback, and nothing changed on disk — no store created where a command
was only asked to read one."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.run import ingest
from ipdash.cli import main
from queries.store import Store
from tests.conftest import INGEST

WEIGHTS = "effort=1,level=1,timeliness=1,quality=1"

# (arguments, a phrase the one line must hold). {db} is the good store, {dir} its folder.
BAD = [
    ("scores --year 1900", "--year"),
    ("scores --year 3000", "--year"),
    ("scores --year abc", "--year"),
    ("scores --year 2019", "no cases accepted or closed in 2019; the store holds 2024–2024"),
    ("scores --year 2024 --as-of 2023-12-31", "--as-of 2023-12-31: outside the year 2024"),
    ("scores --year 2024 --as-of 2025-01-01", "outside the year 2024"),
    ("scores --year 2024 --as-of 2024-13-01", "--as-of"),
    ("scores --year 2024 --weights foo=", "'foo' is not a dimension"),
    ("scores --year 2024 --weights effort=30", "level, timeliness, quality missing"),
    ("scores --year 2024 --weights effort=-1,level=1,timeliness=1,quality=1", "effort=-1"),
    ("scores --year 2024 --weights effort=0,level=0,timeliness=0,quality=0", "all four weights are 0"),
    ("scores --year 2024 --weights effort=nan,level=1,timeliness=1,quality=1", "effort=nan"),
    ("scores --year 2024 --weights effort=inf,level=1,timeliness=1,quality=1", "effort=inf"),
    ("scores --year 2024 --weights effort=1,effort=2,level=1,timeliness=1,quality=1", "given twice"),
    ("scores --year 2024 --weights effort1", "has no '='"),
    ("scores --year 2024 --within 999999", "--within 999999: no such office"),
    ("scores --year 2024 --within abc", "'abc' is not an office code"),
    ("scores --year 2024 --runs 0", "--runs"),
    ("scores --year 2024 --runs -5", "--runs"),
    ("scores --year 2024 --level town", "--level"),
    ("scores --year 2024 --method magic", "--method"),
    ("sensitivity 999999 --year 2024", "office 999999: no such office"),
    ("sensitivity 33 --year 2024", "not an office code"),
    ("sensitivity 330000 --year 1900", "--year"),
    ("report --year 2024 -o missing/dir/r.xlsx", "the folder missing/dir does not exist"),
    ("report --year 2024 -o {dir}", "is a folder"),
    ("report --year 2019 -o {dir}/r.xlsx", "no cases accepted or closed in 2019"),
    ("report --year 2024 --scope 999999 -o {dir}/r.xlsx", "--scope 999999: no such office"),
    ("report --year 2024 --scope abc -o {dir}/r.xlsx", "not an office code"),
    ("report --year 2024 --as-of 2023-01-01 -o {dir}/r.xlsx", "outside the year 2024"),
    ("report --year 2024 --runs 0 -o {dir}/r.xlsx", "--runs"),
    ("demo --build-only --cases 0", "--cases"),
    ("demo --build-only --cases 10000001", "--cases"),
    ("serve --port 99999", "--port"),
    ("serve --port 0", "--port"),
    ("serve --port http", "--port"),
    ("serve --workers 0", "--workers"),
    ("draw nosuchplan --seed 1 --out missing/dir/m.json", "the folder missing/dir does not exist"),
    ("checklist nosuchplan --inspector I -o missing/dir/c.xlsx", "the folder missing/dir does not exist"),
    ("plan lock nosuchplan --out-dir missing/dir", "--out-dir missing/dir: no such folder"),
    ("audit anchor --out missing/dir/a.json", "the folder missing/dir does not exist"),
    ("audit verify --accept-unkeyed -1", "--accept-unkeyed"),
    ("ingest nonsense x.csv", "kind"),
    ("ingest cases missing.csv", "missing.csv: no such file"),
    ("ingest cases {dir}/empty", "is a folder"),
    ("ingest cases {dir}/notes.txt", "unknown column(s) 'not a store'"),
    ("plan create missing.toml", "missing.toml: no such file"),
    ("plan lock nosuchplan", "no plan nosuchplan"),
    ("plan publish nosuchplan", "nosuchplan"),
    ("plan void-draw nosuchdraw --reason x", "reason"),
    ("users add bob --role provincial --scope 999999", "999999 is not in the office roster"),
    ("users add bob --role provincial", "needs --scope"),
    ("users add bob --role emperor", "--role"),
    ("users disable nobody", "no user nobody"),
    ("verify-draw {dir}/notes.txt --population {dir}/notes.txt", "not a draw manifest"),
    ("scores", "the following arguments are required: --year"),
    ("sample-size --confidence 1.5 --tolerable 0.05 --expected 0", "confidence"),
    ("verify-draw missing.json --population missing.csv", "missing.json"),
    ("nosuchcommand", "invalid choice"),
]
# Commands that only read a store: each refuses a --db that is missing, a text file or a folder.
READERS = [
    "scores --year 2024",
    "sensitivity 330000 --year 2024",
    "report --year 2024 -o {dir}/r.xlsx",
    "users list",
    "audit verify",
    "audit anchor",
    "plan results p1",
    "checklist p1 --inspector I -o {dir}/c.xlsx",
    "serve",
]
BAD_DB = [
    ("{dir}/empty/typo.duckdb", "no store there"),
    ("{dir}/notes.txt", "not an ipdash store"),
    ("{dir}", "is a folder"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A small store with 2024's golden cases, a text file and its folder, read-only to the tests."""
    folder = tmp_path_factory.mktemp("cli")
    store = Store(folder / "s.duckdb")
    for kind, name in (("offices", "offices.csv"), ("staffing", "staffing.csv"), ("cases", "cases_gb18030.csv")):
        ingest(store, kind, [str(INGEST / name)], progress=False)
    (folder / "notes.txt").write_text("not a store\n", encoding="utf-8")
    (folder / "empty").mkdir()  # a mistyped --db points here: nothing may be created in it
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    """Every file by content; the SQLite operational store by what it holds (its -wal and -shm
    files come and go with any reader and say nothing about a change)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.name.endswith(("-wal", "-shm")):
            continue
        if p.suffix == ".sqlite":
            con = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
            try:
                out[str(p.relative_to(folder))] = hashlib.sha256("\n".join(con.iterdump()).encode()).hexdigest()
            finally:
                con.close()
            continue
        out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def run(argv: list[str], capsys, cwd: Path) -> tuple[int, list[str]]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own refusals
            code = int(exc.code or 0)
    finally:
        os.chdir(old)
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def check_refusal(world: Path, capsys, args: str, phrase: str, db: str) -> None:
    before = snapshot(world)
    argv = args.format(dir=world).split() + ["--db", db.format(dir=world), "--quiet"]
    code, lines = run(argv, capsys, world)
    assert code == 2, (args, code, lines)
    assert len(lines) == 1, (args, lines)
    assert "Traceback" not in lines[0]
    assert phrase in lines[0], (args, lines[0])
    assert snapshot(world) == before, args


@pytest.mark.parametrize(("args", "phrase"), BAD, ids=[a for a, _ in BAD])
def test_bad_arguments_are_refused_in_one_line(world: Path, capsys, args: str, phrase: str) -> None:
    check_refusal(world, capsys, args, phrase, str(world / "s.duckdb"))


@pytest.mark.parametrize("args", READERS)
@pytest.mark.parametrize(("db", "phrase"), BAD_DB, ids=["missing", "text-file", "folder"])
def test_a_bad_store_path_is_refused_and_nothing_is_created(
    world: Path, capsys, args: str, db: str, phrase: str
) -> None:
    check_refusal(world, capsys, args, phrase, db)


def test_good_arguments_still_work(world: Path, capsys) -> None:
    """The same checks let a correct command through (a guard against refusing everything)."""
    code, lines = run(
        ["scores", "--year", "2024", "--as-of", "2024-06-30", "--weights", WEIGHTS, "--db", str(world / "s.duckdb")],
        capsys,
        world,
    )
    assert code == 0, lines


def _read_only(folder: Path, command: str) -> subprocess.CompletedProcess:
    """Run `command` with `folder` read-only: chmod for an ordinary user; root ignores modes, so
    there a private mount namespace binds the folder read-only (util-linux `unshare`)."""
    ipdash = shutil.which("ipdash", path=str(Path(sys.executable).parent)) or "ipdash"
    if os.geteuid() != 0:
        folder.chmod(0o500)
        try:
            return subprocess.run(
                [ipdash, *command.split()], capture_output=True, text=True, input="pw\npw\n", timeout=120
            )
        finally:
            folder.chmod(0o700)
    script = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && exec {ipdash} {command}"
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, input="pw\npw\n", timeout=120
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        "report --year 2024 -o {out}/r.xlsx",
        "scores --year 2024",
        "users list",
        "users add bob --role national_leader",
        "audit verify",
        "ingest offices {fixtures}/offices.csv",
    ],
)
def test_a_read_only_folder_gets_one_message(world: Path, tmp_path: Path, command: str) -> None:
    folder = tmp_path / "ro"
    shutil.copytree(world, folder)
    before = snapshot(folder)
    cmd = command.format(out=tmp_path, fixtures=INGEST) + f" --db {folder / 's.duckdb'} --quiet"
    done = _read_only(folder, cmd)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, (command, done.stdout[-500:], done.stderr[-2000:])
    assert len(lines) == 1 and "Traceback" not in done.stderr, lines
    assert "read-only" in lines[0] or "could not" in lines[0], lines
    assert snapshot(folder) == before
    assert not (tmp_path / "r.xlsx").exists()  # a workbook whose export could not be recorded is not kept
