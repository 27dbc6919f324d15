"""`ipdash assess` and `ipdash assess-score`: offices scored on a published assessment scheme (issue 19)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ipdash.commands import EXIT_OK, BadInput, cli_actor, emit


def _scheme(args: argparse.Namespace):
    from metrics.schemes import SchemeError, default_scheme_path, load_scheme

    try:
        return load_scheme(args.scheme or default_scheme_path())
    except SchemeError as exc:
        raise BadInput(str(exc)) from exc


def _context(args: argparse.Namespace):
    from access.opstore import OpStore, default_path
    from queries.store import Store

    ops = OpStore(default_path(args.db))
    return ops, Store(args.db, ops=ops)


def _line(o: dict, scheme) -> str:
    sections = "  ".join(f"{s}={v['points']:g}{'*' if v['capped'] else ''}" for s, v in o["sections"].items())
    pending = f"  (assessor's score missing: {', '.join(o['pending'])})" if o["pending"] else ""
    interval = f" ({o['rank_interval'][0]}–{o['rank_interval'][1]})" if o.get("rank_interval") else ""
    return f"{o['rank']:>3}{interval}  {o['office_code']} {o['name']}  {o['total']:g}  [{sections}]{pending}"


def cmd_assess(args: argparse.Namespace) -> int:
    from inspection.assessment import AssessmentError, publish, results
    from metrics.config import default_config
    from metrics.schemes import SchemeError

    scheme = _scheme(args)
    if args.level and args.level != scheme.level:
        raise BadInput(f"--level {args.level}: scheme {scheme.id} scores {scheme.level} offices; give its own scheme")
    ops, store = _context(args)
    try:
        if args.publish:
            got = publish(ops, store, default_config(), scheme, year=args.year, actor=cli_actor(args))
        else:
            got = results(ops, store, default_config(), scheme, year=args.year)
    except (AssessmentError, SchemeError) as exc:
        raise BadInput(str(exc)) from exc
    head = (
        f"{scheme.zh} · {scheme.id} {scheme.version} · {args.year}"
        + (f" · 已公布 published {got['published_at'][:10]}" if got["published_at"] else "")
        + "\n(* a section's cap applied)"
    )
    emit(args, got, "\n".join([head, *(_line(o, scheme) for o in got["offices"])]))
    return EXIT_OK


def cmd_assess_score(args: argparse.Namespace) -> int:
    from inspection.assessment import AssessmentError, record_manual
    from inspection.rectification import Attachment

    scheme = _scheme(args)
    ops, store = _context(args)
    files = []
    for name in args.evidence or []:
        try:
            files.append(Attachment(Path(name).name, Path(name).read_bytes()))
        except OSError as exc:
            raise BadInput(f"--evidence {name}: cannot be read ({exc.strerror})") from exc
    role, score = ("self", args.self_score) if args.self_score is not None else ("assessor", args.assessor)
    try:
        got = record_manual(
            ops,
            scheme,
            year=args.year,
            office_code=args.office,
            item_id=args.item,
            score=score,
            role=role,
            actor=cli_actor(args),
            evidence=files,
            evidence_dir=store.path.parent / "evidence",
        )
    except AssessmentError as exc:
        raise BadInput(str(exc)) from exc
    emit(
        args,
        got,
        f"{args.office} {args.item}: 自评 self {got['self'] if got['self'] is not None else '—'}, "
        f"考核 assessor {got['assessor'] if got['assessor'] is not None else '—'}, evidence {len(got['evidence'])}",
    )
    return EXIT_OK


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    from ipdash import validate

    p = sub.add_parser("assess", parents=[common], help="score the offices on an assessment scheme (points tables)")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--level", choices=["provincial", "prefecture", "county"], help="must be the scheme's level")
    p.add_argument("--scheme", help="the scheme's TOML file (default: the shipped example-provincial)")
    p.add_argument("--publish", action="store_true", help="freeze the year's results under this scheme version")
    p.set_defaults(func=cmd_assess)

    p = sub.add_parser("assess-score", parents=[common], help="enter a manual item's self-score or assessor's score")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--office", type=validate.office_code, required=True)
    p.add_argument("--item", required=True, help="a manual item of the scheme")
    p.add_argument("--scheme", help="the scheme's TOML file (default: the shipped example-provincial)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--self", type=float, dest="self_score", help="the office's self-score")
    who.add_argument("--assessor", type=float, help="the assessor's score")
    p.add_argument("--evidence", action="append", help="a PDF, PNG, JPEG or Office file backing the score")
    p.set_defaults(func=cmd_assess_score)
