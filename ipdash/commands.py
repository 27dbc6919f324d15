"""The `ipdash` commands: each calls the packages below and prints (SPEC §8).

Kept apart from the argument parser (`ipdash.cli`); heavy imports stay inside each command so
that `ipdash --help` and a single command start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ipdash.demo_plans import demo_plan, demo_published_plan, demo_subscriptions, demo_supervisions, demo_visits
from ipdash.validate import check_store, output_file
from queries.statements import duck_sql

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """A user error: reported as one message, exit status 2."""


def cli_actor(args: argparse.Namespace) -> str:
    """Who the audit log names for a command: the operating-system account always, and the operator
    given with --actor when there is one — "os:alice", or "张三 (os:alice)"."""
    import getpass

    try:
        account = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container): the number
        account = f"uid {os.getuid()}"
    operator = (getattr(args, "actor", None) or "").strip()
    return f"{operator[:60]} (os:{account})" if operator else f"os:{account}"


def emit(args: argparse.Namespace, payload: Mapping[str, Any], text: str) -> None:
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, default=str))
    else:
        print(text)


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingest.contract import ContractError
    from ingest.readers import RefusedFile
    from ingest.run import format_summary, ingest
    from queries.store import Store, StoreError

    try:
        summary = ingest(Store(args.db), args.kind, args.files, progress=not args.quiet, actor=cli_actor(args))
    except (RefusedFile, ContractError, StoreError) as exc:
        raise BadInput(f"拒收，未做任何更改 / refused, nothing changed: {exc}") from exc
    except OSError as exc:  # e.g. the rejects file on a full disk
        raise BadInput(f"写入失败 / could not write: {exc}") from exc
    emit(args, summary.as_json(), format_summary(summary))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from ingest.demo import DemoSpec, build_demo
    from queries.store import Store

    if not args.build_only:
        # Build in a child process, then serve from this one. Building uses Polars, whose thread
        # pool does not survive the fork into gunicorn's workers: a server forked from a process
        # that had just built the demo hung on its first figure (seen on a fresh clone).
        build = [
            sys.executable,
            "-m",
            "ipdash.cli",
            "demo",
            "--build-only",
            "--db",
            str(args.db),
            "--cases",
            str(args.cases),
            "--seed",
            str(args.seed),
            *(["--rebuild"] if args.rebuild else []),
            *(["--quiet"] if args.quiet else []),
        ]
        done = subprocess.run(build, stdout=sys.stderr)
        if done.returncode != 0:
            return done.returncode
        return _serve(args)

    store = Store(args.db)
    built = None
    if not store.exists or args.rebuild:
        if store.exists:
            store.path.unlink()
        built = build_demo(store, DemoSpec(cases=args.cases, seed=args.seed), progress=not args.quiet)
    payload = {"db": str(store.path), "built": built is not None, **(built or {})}
    text = (
        f"演示数据已生成 demo data built at {store.path}: " + ", ".join(f"{k} {v}" for k, v in built.items())
        if built
        else f"演示数据已存在 demo data already at {store.path} (use --rebuild to rebuild)"
    )
    text += "\n(合成数据，仅供演示 / synthetic data for demonstration only)"
    logins = _demo_users(store)
    payload["logins"] = logins
    text += "\n演示账号 demo logins (demo only):\n" + "\n".join(
        f"  {u['username']:10s} {u['password']:22s} {u['role']}{' ' + u['scope'] if u['scope'] else ''}" for u in logins
    )
    emit(args, payload, text)
    return EXIT_OK


DEMO_USERS = [
    ("leader", "national_leader", None),
    ("admin", "national_admin", None),
    ("zhejiang", "provincial", "330000"),
    ("hangzhou", "prefecture", "330100"),
    ("inspector", "inspector", None),
]


def office_level(db: str, code: str | None) -> str | None:
    import contextlib

    from queries.store import Store, StoreError, scalar

    if not code:
        return None
    try:
        with contextlib.closing(Store(db).reader()) as con:
            return scalar(con, duck_sql("offices.level"), {"c": code})
    except StoreError as exc:
        raise BadInput(str(exc)) from exc


def _demo_users(store) -> list[dict]:
    """One demo user per role (a provincial and a prefecture office among them), created once. The
    inspector is a roster inspector with archives assigned in the demo plan (`_demo_plan`)."""
    from access.opstore import OpStore, default_path
    from access.users import add_user, get_user

    ops = OpStore(default_path(store.path))
    inspector = demo_plan(store, ops)
    demo_published_plan(store, ops)
    demo_supervisions(store, ops)
    demo_visits(store, ops)
    out = []
    for name, role, scope in DEMO_USERS:
        password = f"{name}-demo-2024"
        scope = inspector if role == "inspector" else scope
        if get_user(ops, name) is None:
            add_user(
                ops,
                username=name,
                role=role,
                password=password,
                scope_code=scope,
                scope_level=office_level(str(store.path), scope) if role != "inspector" else None,
                actor="demo",
            )
        out.append({"username": name, "password": password, "role": role, "scope": scope})
    demo_subscriptions(store, ops)  # after the users: each delivery is computed as its recipient
    return out


def _serve(args: argparse.Namespace) -> int:
    from ipdash.server import serve
    from queries.store import Store

    store = Store(args.db)
    if not store.exists:
        raise BadInput(f"no store at {store.path}; run `ipdash demo` or `ipdash ingest` first")
    if args.workers < 1:
        raise BadInput("--workers must be at least 1")
    from notify.scheduler import minutes_from_env

    try:
        minutes = minutes_from_env()  # checked here, before any worker starts
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    if minutes:
        print(f"ipdash delivers digests, workbooks and alerts every {minutes} minutes in-process", file=sys.stderr)
    print(f"ipdash serving on http://{args.host}:{args.port}/ with {args.workers} worker process(es)", file=sys.stderr)
    serve(db=str(store.path), host=args.host, port=args.port, workers=args.workers, warm_depth=args.warm)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    return _serve(args)


def scores_csv(ranking) -> str:
    """One row per office: every indicator's value, numerator, denominator, score; dimensions; rank."""
    import csv
    import io

    from access.cells import csv_value

    buf = io.StringIO()
    if not ranking.offices:
        return ""
    ids = list(ranking.offices[0]["indicators"])
    dims = list(ranking.offices[0]["dimensions"])
    header = ["office_code", "name", "level", "parent_code"]
    for i in ids:
        header += [f"{i}_value", f"{i}_numerator", f"{i}_denominator", f"{i}_score", f"{i}_status"]
    header += [f"dim_{d}" for d in dims] + ["composite", "rank", "rank_low", "rank_high", "rank_change"]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for o in ranking.offices:
        row = [o["office_code"], o["name"], o["level"], o["parent_code"]]
        for i in ids:
            e = o["indicators"][i]
            row += [e["value"], e["numerator"], e["denominator"], e["score"], e["status"]]
        interval = o["rank_interval"] or [None, None]
        row += [o["dimensions"][d] for d in dims] + [o["composite"], o["rank"], *interval, o["rank_change"]]
        w.writerow(["" if v is None else csv_value(v) for v in row])
    return buf.getvalue()


def cmd_scores(args: argparse.Namespace) -> int:
    import contextlib

    from metrics.config import ConfigError, default_config
    from metrics.ranking import rank_offices
    from queries.store import Store, StoreError

    check_store(args.db, year_=args.year, as_of=args.as_of, offices={"--within": args.within})
    try:
        config = default_config()
        with contextlib.closing(Store(args.db).reader()) as con:
            ranking = rank_offices(
                con,
                config,
                year=args.year,
                level=args.level,
                within=args.within,
                as_of=args.as_of,
                method=args.method,
                runs=args.runs,
                dimension_weights=args.weights,
            )
    except (ConfigError, StoreError, KeyError) as exc:
        raise BadInput(str(exc)) from exc
    fmt = "json" if args.json or args.format == "json" else "csv"
    if fmt == "json":
        print(json.dumps(ranking.as_json(), ensure_ascii=False))
    else:
        sys.stdout.write(scores_csv(ranking))
    audit_export(
        args,
        "export.scores",
        target=args.within or args.level,
        detail={"year": args.year, "level": args.level, "format": fmt, "offices": len(ranking.offices)},
    )
    return EXIT_OK


def audit_export(args: argparse.Namespace, action: str, *, target: str | None, detail: dict) -> None:
    """Every export from the command line is on record, with who ran it (`cli_actor`)."""
    import sqlite3

    from access import audit
    from access.opstore import OpStore, default_path

    try:
        audit.record(OpStore(default_path(args.db)), actor=cli_actor(args), action=action, target=target, detail=detail)
    except (OSError, sqlite3.Error) as exc:
        raise BadInput(f"could not record the export in the audit log ({exc}); nothing was exported") from exc


def cmd_sensitivity(args: argparse.Namespace) -> int:
    import contextlib

    from metrics.config import default_config
    from metrics.ranking import sensitivity
    from queries.store import Store, StoreError

    check_store(args.db, year_=args.year, as_of=args.as_of, offices={"office": args.office, "--within": args.within})
    try:
        with contextlib.closing(Store(args.db).reader()) as con:
            got = sensitivity(
                con,
                default_config(),
                office_code=args.office,
                year=args.year,
                level=args.level,
                within=args.within,
                as_of=args.as_of,
                method=args.method,
            )
    except (StoreError, KeyError) as exc:
        raise BadInput(str(exc).strip("'\"")) from exc
    lines = [
        f"{got['office_code']} {args.year} {args.level}: rank {got['rank']} of {got['peers']} "
        f"({got['method']}, composite {got['composite']:.1f})"
        if got["composite"] is not None
        else f"{got['office_code']}: no composite (fewer than two scored dimensions)",
        "  去掉该指标后的排名 rank without each indicator:",
    ]
    lines += [f"    {k}: {v}" for k, v in got["without"].items()]
    lines.append("  各标准化方法下的排名 rank under each normalisation:")
    lines += [f"    {k}: {v}" for k, v in got["methods"].items()]
    emit(args, got, "\n".join(lines))
    audit_export(
        args, "export.sensitivity", target=got["office_code"], detail={"year": got["year"], "level": got["level"]}
    )
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from access.opstore import OpStore, default_path
    from metrics.config import default_config
    from operations.annual import annual_workbook
    from queries.store import Store, StoreError
    from reports.data import ReportError

    output_file(args.output, "--output")
    check_store(args.db, year_=args.year, as_of=args.as_of, offices={"--scope": args.scope})
    config = default_config()
    bar = tqdm(total=100, desc="生成报告 building report", unit="%", file=sys.stderr, disable=args.quiet, leave=False)

    def progress(fraction: float, what: str) -> None:
        bar.set_postfix_str(what)
        bar.update(max(0, int(fraction * 100) - bar.n))

    try:
        # DuckDB capped at 200 MB: the national workbook at 5M cases then peaks under 500 MB in all.
        # One Store and one OpStore for every reader of the command: the operational records
        # (appraisals, draw samples) are then read once, not once per Store.
        store = Store(args.db, ops=OpStore(default_path(args.db)), mirror_appraisals=True)
        data, written = annual_workbook(
            store,
            config,
            args.output,
            year=args.year,
            scope=args.scope,
            lang=args.lang,
            as_of=args.as_of,
            runs=args.runs,
            with_cases=args.with_cases,
            progress=progress,
            memory_limit="200MB",
        )
    except (StoreError, ReportError) as exc:
        raise BadInput(str(exc)) from exc
    finally:
        bar.close()
    try:
        audit_export(
            args,
            "export.report",
            target=data.scope,
            detail={
                "year": args.year,
                "file": str(args.output),
                "lang": args.lang,
                **{k: v for k, v in written.items() if k != "sheets"},
            },
        )
    except BadInput:
        Path(args.output).unlink(missing_ok=True)  # an export that is not on record is not handed out
        raise
    emit(
        args,
        {"output": str(args.output), **written},
        f"报告已生成 report written: {args.output} ({written['offices']} offices, sheets: {', '.join(written['sheets'])})",
    )
    return EXIT_OK
