"""`ipdash` command line (SPEC §8): a thin layer over the packages; it parses, calls, prints.

Every command takes `--db` and `--json`. Exit status 0 on success, 2 on bad input (with one
clear message on stderr). With `--json`, stdout carries exactly one JSON object; progress bars
and messages go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

import duckdb

from core import settings
from ipdash import assess_commands, notify_commands, validate, visit_commands
from ipdash.admin_commands import cmd_audit, cmd_users
from ipdash.commands import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    BadInput,
    cmd_demo,
    cmd_ingest,
    cmd_report,
    cmd_scores,
    cmd_sensitivity,
    cmd_serve,
)
from ipdash.inspection_commands import (
    cmd_checklist,
    cmd_draw,
    cmd_plan,
    cmd_rectify,
    cmd_sample_size,
    cmd_supervise,
    cmd_verify_draw,
)


class Parser(argparse.ArgumentParser):
    """argparse with its error as one line (what was wrong, and where to look), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _common(suppress: bool) -> Parser:
    """Options every command takes, before or after the command name.

    The copy attached to each sub-command uses SUPPRESS defaults, so that a value given before the
    command name is not overwritten by the sub-command's default.
    """
    common = Parser(add_help=False)
    default = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    common.add_argument(
        "--db",
        default=default(settings.current().db),
        help="the DuckDB store (default ./data/ipdash.duckdb, or $IPDASH_DB)",
    )
    common.add_argument(
        "--json", action="store_true", default=default(False), help="print one JSON object instead of a summary"
    )
    common.add_argument("--quiet", action="store_true", default=default(False), help="no progress bars")
    common.add_argument(
        "--actor",
        default=default(None),
        help="who is operating, as the audit log should name them (recorded beside the operating-system account)",
    )
    return common


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of entries (0 or more)")
    return int(text)


def build_parser() -> Parser:
    common = _common(suppress=True)
    parser = Parser(
        prog="ipdash",
        description="专利行政执法绩效评估与监督 / patent enforcement performance assessment and supervision",
        parents=[_common(suppress=False)],
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", parents=[common], help="load offices, staffing, cases, appraisals or inspectors")
    p.add_argument("kind", choices=["offices", "staffing", "cases", "appraisals", "inspectors"])
    p.add_argument("files", nargs="+", help="CSV (UTF-8/GB18030), XLSX or Parquet files, applied in this order")
    p.set_defaults(func=cmd_ingest)

    serve_opts = Parser(add_help=False)
    serve_opts.add_argument("--host", default="127.0.0.1")
    serve_opts.add_argument("--port", type=validate.port, default=8050)
    serve_opts.add_argument("--workers", type=validate.workers, default=1, help="worker processes (1–64)")
    serve_opts.add_argument(
        "--warm",
        choices=["provinces", "prefectures"],
        default="provinces",
        help="pages each worker computes at start, before /readyz says ready (default: the "
        "national overview and each province; prefectures adds every prefecture's "
        "page and profile)",
    )

    p = sub.add_parser("demo", parents=[common, serve_opts], help="build the demo data set if absent, then serve")
    p.add_argument("--build-only", action="store_true", help="build and exit, do not serve")
    p.add_argument("--rebuild", action="store_true", help="replace an existing store with fresh demo data")
    p.add_argument(
        "--cases",
        type=validate.cases,
        default=275_000,
        help="total cases over the five years (1–10,000,000; default 275,000)",
    )
    p.add_argument("--seed", type=int, default=20240101, help="random seed; the same seed gives the same data")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("scores", parents=[common], help="indicators, scores, ranks and rank intervals")
    p.add_argument("--year", type=validate.year, required=True)
    p.add_argument("--level", choices=["provincial", "prefecture", "county"], default="provincial")
    p.add_argument("--within", type=validate.office_code, help="rank only the offices below this office code")
    p.add_argument("--as-of", type=validate.date, dest="as_of", help="judge open cases at this date (default Dec 31)")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument(
        "--method",
        choices=["minmax", "zscore", "percentile", "target"],
        help="normalisation (default from metrics/scoring.toml)",
    )
    p.add_argument(
        "--weights", type=validate.weights, help="dimension weights, e.g. effort=30,level=20,timeliness=30,quality=20"
    )
    p.add_argument("--runs", type=validate.runs, help="Monte Carlo runs (default from metrics/scoring.toml)")
    p.set_defaults(func=cmd_scores)

    p = sub.add_parser("sensitivity", parents=[common], help="what drives one office's rank")
    p.add_argument("office", type=validate.office_code, help="office code")
    p.add_argument("--year", type=validate.year, required=True)
    p.add_argument("--level", choices=["provincial", "prefecture", "county"], default="provincial")
    p.add_argument("--within", type=validate.office_code, help="rank only the offices below this office code")
    p.add_argument("--as-of", type=validate.date, dest="as_of")
    p.add_argument("--method", choices=["minmax", "zscore", "percentile", "target"])
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("sample-size", parents=[common], help="attribute-sampling sample size")
    p.add_argument("--confidence", type=float, required=True, help="e.g. 0.95")
    p.add_argument("--tolerable", type=float, required=True, help="tolerable deviation rate, e.g. 0.05")
    p.add_argument("--expected", type=float, required=True, help="expected deviation rate, e.g. 0.01")
    p.add_argument("--population", type=int, help="stratum size: the hypergeometric size when smaller")
    p.set_defaults(func=cmd_sample_size)

    p = sub.add_parser("plan", parents=[common], help="random-inspection plans")
    psub = p.add_subparsers(dest="action", required=True)
    q = psub.add_parser("create", parents=[common], help="create a plan from a TOML file")
    q.add_argument("file")
    q = psub.add_parser("lock", parents=[common], help="freeze the population and record its hash")
    q.add_argument("plan_id")
    q.add_argument("--out-dir", help="where the population file goes (default: plans/ beside the store)")
    q = psub.add_parser("results", parents=[common], help="appraisal results of the plan's draw, by office")
    q.add_argument("plan_id")
    q = psub.add_parser(
        "report", parents=[common], help="the released appraisal report of a published plan (Excel workbook)"
    )
    q.add_argument("plan_id")
    q.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
    q.add_argument("--lang", choices=["zh", "en"], default="zh")
    q = psub.add_parser("publish", parents=[common], help="publish the results (shown at /public without login)")
    q.add_argument("plan_id")
    q.add_argument(
        "--partial-reason",
        default=None,
        help="publish although sampled archives are still unappraised, for this reason (recorded, shown)",
    )
    q.add_argument(
        "--correct",
        metavar="REASON",
        help="publish corrected results of a published plan, for this reason: a new dated version naming the one "
        "it replaces (nothing published before changes)",
    )
    q = psub.add_parser("void-draw", parents=[common], help="void a draw so the plan can be drawn again")
    q.add_argument("draw_id")
    q.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("rectify", parents=[common], help="rectification notices that follow a published inspection")
    rsub = p.add_subparsers(dest="action", required=True)
    r = rsub.add_parser("list", parents=[common], help="notices, with their status and due date")
    r.add_argument("--plan", help="only this plan's notices")
    r.add_argument("--office", type=validate.office_code, help="only the notices of this office's subtree")
    r.add_argument(
        "--status", choices=["open", "responded", "returned", "accepted", "overdue"], help="only notices in this state"
    )
    r.add_argument("--as-of", type=validate.date, dest="as_of", help="judge overdue at this date (default today)")
    r = rsub.add_parser("respond", parents=[common], help="the office's response (text and attachments)")
    r.add_argument("notice_id")
    r.add_argument("--text", required=True, help="what the office corrected")
    r.add_argument("--attach", action="append", help="a PDF, PNG, JPEG or Office file (at most 5, 10 MB each)")
    r = rsub.add_parser("return", parents=[common], help="send a response back, with the reason")
    r.add_argument("notice_id")
    r.add_argument("--reason", required=True)
    r = rsub.add_parser("accept", parents=[common], help="accept a response: the notice is closed")
    r.add_argument("notice_id")
    p.set_defaults(func=cmd_rectify)

    p = sub.add_parser("supervise", parents=[common], help="supervised cases (督办): mark, list, conclude")
    ssub = p.add_subparsers(dest="action", required=True)
    r = ssub.add_parser("add", parents=[common], help="mark an open case as supervised")
    r.add_argument("office", type=validate.office_code, help="the case's office")
    r.add_argument("case_no")
    r.add_argument("--due", type=validate.date, required=True, help="when the supervision is due (YYYY-MM-DD)")
    r.add_argument("--note", required=True, help="why the case is supervised")
    r.add_argument("--by", type=validate.office_code, help="the supervising office (default the national office)")
    r = ssub.add_parser("list", parents=[common], help="supervised cases with their status")
    r.add_argument("--office", type=validate.office_code, help="only the cases of this office's subtree")
    r.add_argument("--status", choices=["open", "overdue", "closed_in_time", "closed_late"])
    r.add_argument("--as-of", type=validate.date, dest="as_of", help="judge the status at this date (default today)")
    r = ssub.add_parser("close", parents=[common], help="conclude the supervision of a closed case")
    r.add_argument("office", type=validate.office_code)
    r.add_argument("case_no")
    r.add_argument("--note", required=True, help="the conclusion")
    p.set_defaults(func=cmd_supervise)

    visit_commands.add_parser(sub, common)
    notify_commands.add_parsers(sub, common)
    assess_commands.add_parsers(sub, common)

    p = sub.add_parser("draw", parents=[common], help="draw a locked plan with a seed (SPEC §4.2)")
    p.add_argument("plan_id")
    p.add_argument("--seed", required=True, help="chosen after locking, e.g. 20 digits from a public dice roll")
    p.add_argument("--out", help="manifest file (default <draw_id>-manifest.json)")
    p.set_defaults(func=cmd_draw)

    p = sub.add_parser("checklist", parents=[common], help="pre-filled checklist workbook for one inspector")
    p.add_argument("plan_id")
    p.add_argument("--inspector", required=True)
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_checklist)

    p = sub.add_parser("verify-draw", parents=[common], help="recompute a published draw; exit 1 on any difference")
    p.add_argument("manifest")
    p.add_argument("--population", required=True, help="the population file published at lock time")
    p.set_defaults(func=cmd_verify_draw)

    p = sub.add_parser("report", parents=[common], help="the annual assessment workbook (Excel)")
    p.add_argument("--year", type=validate.year, required=True)
    p.add_argument(
        "--scope", type=validate.office_code, help="an office code: report on its subtree (default: the nation)"
    )
    p.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="labels in Chinese (default) or English")
    p.add_argument("--as-of", type=validate.date, dest="as_of")
    p.add_argument("--with-cases", action="store_true", help="add a sheet with every case of the year in scope")
    p.add_argument("--runs", type=validate.runs, help="Monte Carlo runs (default from metrics/scoring.toml)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("users", parents=[common], help="user management (passwords from a prompt or stdin)")
    usub = p.add_subparsers(dest="action", required=True)
    u = usub.add_parser("add", parents=[common], help="create a user")
    u.add_argument("name")
    u.add_argument(
        "--role", required=True, choices=["national_leader", "national_admin", "provincial", "prefecture", "inspector"]
    )
    u.add_argument(
        "--scope",
        help="the office whose subtree the user sees (provincial/prefecture roles); "
        "for an inspector, their inspector_id in the roster",
    )
    usub.add_parser("list", parents=[common], help="list users")
    for action in ("disable", "enable", "reset-password"):
        usub.add_parser(action, parents=[common]).add_argument("name")
    u = usub.add_parser("set-scope", parents=[common], help="move a provincial or prefecture user to another office")
    u.add_argument("name")
    u.add_argument("--scope", required=True, help="the office whose subtree the user sees from now on")
    u.add_argument("--role", choices=["provincial", "prefecture"], help="with a new role of that office's level")
    p.set_defaults(func=cmd_users)

    p = sub.add_parser("audit", parents=[common], help="the audit log")
    asub = p.add_subparsers(dest="action", required=True)
    v = asub.add_parser("verify", parents=[common], help="check the keyed hash chain; exit 1 when broken")
    v.add_argument("--anchor", help="a file of `ipdash audit anchor`: also check the log still holds that entry")
    v.add_argument(
        "--accept-unkeyed",
        type=_count,
        default=0,
        metavar="N",
        help="accept N entries at the start with the plain hash chain of a log from before keying (default 0)",
    )
    a = asub.add_parser("anchor", parents=[common], help="print the head of the chain, to keep outside the database")
    a.add_argument("--out", help="also write it to this file")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("serve", parents=[common, serve_opts], help="serve the dashboard")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "settings", parents=[common], help="the IPDASH_* settings in force on this host (secrets masked)"
    )
    p.add_argument("--markdown", action="store_true", help="print docs/settings.md: every setting with its help")
    p.set_defaults(func=cmd_settings)
    return parser


def cmd_settings(args: argparse.Namespace) -> int:
    """Print every setting with the value in force (secrets masked), or their reference as Markdown."""
    if args.markdown:
        print(settings.markdown(), end="")
        return EXIT_OK
    got = settings.current().shown()
    if args.json:
        print(json.dumps(got, ensure_ascii=False, indent=2))
    else:
        width = max(len(k) for k in got)
        for name, value in got.items():
            print(f"{name:<{width}}  {'—' if value is None else value}")
    return EXIT_OK


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


# Commands that need no store, and those that build one when it is absent; every other command only
# reads or adds to an existing store and refuses a --db where there is none.
STORELESS = {"sample-size", "verify-draw", "settings"}
CREATES_STORE = {"ingest", "demo"}
OPERATIONAL_ONLY = {"users", "audit"}  # they read the operational store, which may stand alone


def main(argv: Sequence[str] | None = None) -> int:
    # Every file the product writes (the stores, rejects, population files, uploads, reports, the
    # SQLite operational store with its password hashes) is readable by its owner only.
    os.umask(0o077)
    try:
        settings.current()  # every setting checked before anything else reads one
    except settings.SettingError as exc:
        print(f"ipdash: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        if args.command not in STORELESS:
            validate.require_store(
                args.db, may_create=args.command in CREATES_STORE, operational_only=args.command in OPERATIONAL_ONLY
            )
        return func(args)
    except (BadInput, validate.Invalid) as exc:
        print(f"ipdash: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into `head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (OSError, sqlite3.Error, duckdb.IOException, duckdb.PermissionException) as exc:
        # A read-only folder, a full disk, a store another program holds: one line, never a traceback.
        folder = os.path.dirname(os.path.abspath(args.db))
        print(
            f"ipdash: could not complete the command (is the folder {folder} read-only or full?); "
            f"nothing more was changed: {_one_line(exc)}",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
