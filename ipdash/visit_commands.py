"""`ipdash visit`: return-visit plans (回访) — create, lock, draw, record, list, figures (issue 18)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ipdash import validate
from ipdash.commands import EXIT_OK, BadInput, emit
from ipdash.inspection_commands import _plans_context, _subtree
from ipdash.validate import output_file


def _pct(rate: dict) -> str:
    if rate["rate"] is None:
        return "—"
    return f"{rate['rate']:.1%} ({rate['k']}/{rate['n']}; 95% {rate['low']:.1%}–{rate['high']:.1%})"


def _figures_line(office: str, f: dict) -> str:
    mean = f["satisfaction"]["mean"]
    return (
        f"{office}  drawn {f['drawn']}, recorded {f['recorded']}; 覆盖 coverage {_pct(f['coverage'])}; "
        f"满意度 satisfaction {'—' if mean is None else f'{mean:.2f}'} (n={f['satisfaction']['n']}); "
        f"履行 fulfilment {_pct(f['fulfilment'])}; notices {f['notices']}"
    )


def cmd_visit(args: argparse.Namespace) -> int:
    from inspection import visits as v
    from queries.store import StoreError

    ops, store, actor = _plans_context(args)
    try:
        if args.action == "create":
            if not Path(args.file).is_file():
                raise BadInput(f"visit create {args.file}: no such file; give the visit plan's TOML file")
            plan = v.create_visit_plan(ops, store, Path(args.file).read_text(encoding="utf-8"), actor=actor)
            emit(
                args,
                {"plan_id": plan["plan_id"], "plan": plan},
                f"已创建回访计划 visit plan created: {plan['plan_id']}",
            )
        elif args.action == "lock":
            if args.out_dir and not Path(args.out_dir).is_dir():
                raise BadInput(f"--out-dir {args.out_dir}: no such folder; create it first")
            out = Path(args.out_dir) if args.out_dir else store.path.parent / "plans"
            got = v.lock_visit_plan(ops, store, args.plan_id, out_dir=out, actor=actor)
            emit(
                args,
                got,
                f"已锁定 locked {got['plan_id']}: {got['population']} concluded cases, population file "
                f"{got['population_file']}, SHA-256 {got['population_sha256']}",
            )
        elif args.action == "draw":
            if args.out:
                output_file(args.out, "--out")
            manifest = v.draw_visit_plan(ops, store, args.plan_id, seed=args.seed, actor=actor)
            out = Path(args.out or f"{args.plan_id}-visit-manifest.json")
            out.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
            emit(
                args,
                {"plan_id": args.plan_id, "manifest": str(out), "visits": len(manifest["assignments"])},
                f"抽取完成 drawn {args.plan_id}: {len(manifest['assignments'])} visits; manifest {out}",
            )
        elif args.action == "record":
            record = v.record_visit(
                ops,
                args.plan_id,
                args.office,
                args.case_no,
                reached=args.reached == "yes",
                satisfaction=args.satisfaction,
                fulfilment=args.fulfilment,
                complaint=args.complaint,
                visited_on=args.date,
                actor=actor,
            )
            emit(
                args,
                record,
                f"已记录回访 visit recorded: {args.case_no}"
                + (f"; 已发整改通知 notice {record['notice_id']} opened" if record["notice_id"] else ""),
            )
        elif args.action == "list":
            listed = v.list_visits(ops, plan_id=args.plan, offices=_subtree(store, args.office), visitor=args.visitor)
            lines = [
                f"{r['plan_id']}  {r['office_code']} {r['case_no']}  visitor {r['visitor_id']}  "
                + (
                    "not recorded"
                    if not r["recorded_at"]
                    else f"{r['visited_on']} reached={'yes' if r['reached'] else 'no'}"
                    + (f" satisfaction={r['satisfaction']}" if r["satisfaction"] is not None else "")
                    + (f" fulfilment={r['fulfilment']}" if r["fulfilment"] else "")
                    + (f" notice {r['notice_id']}" if r["notice_id"] else "")
                )
                for r in listed
            ]
            emit(args, {"visits": listed}, "\n".join(lines) or "没有回访 no visits")
        else:  # figures
            chosen = v.list_visits(ops, plan_id=args.plan, offices=_subtree(store, args.office), year=args.year)
            by = v.figures_by_office(chosen)
            total = v.figures(chosen)
            emit(
                args,
                {"total": total, "offices": by},
                "\n".join([*(_figures_line(o, f) for o, f in by.items()), _figures_line("合计 total", total)]),
            )
    except (v.VisitError, StoreError, OSError) as exc:
        raise BadInput(str(exc)) from exc
    return EXIT_OK


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("visit", parents=[common], help="return visits (回访): plans, draws, records, figures")
    vsub = p.add_subparsers(dest="action", required=True)
    q = vsub.add_parser("create", parents=[common], help="create a visit plan from a TOML file")
    q.add_argument("file")
    q = vsub.add_parser("lock", parents=[common], help="freeze the concluded cases and record their hash")
    q.add_argument("plan_id")
    q.add_argument("--out-dir", help="where the population file goes (default: plans/ beside the store)")
    q = vsub.add_parser("draw", parents=[common], help="draw the cases to visit and their visitors, once")
    q.add_argument("plan_id")
    q.add_argument("--seed", required=True, help="chosen after locking, e.g. 20 digits from a public dice roll")
    q.add_argument("--out", help="manifest file (default <plan_id>-visit-manifest.json)")
    q = vsub.add_parser("record", parents=[common], help="record one visit")
    q.add_argument("plan_id")
    q.add_argument("office", type=validate.office_code, help="the case's office")
    q.add_argument("case_no")
    q.add_argument("--reached", choices=["yes", "no"], required=True, help="whether the party was reached")
    q.add_argument("--satisfaction", type=int, choices=range(1, 6), metavar="1-5", help="for a party reached")
    q.add_argument("--fulfilment", choices=["yes", "partly", "no"], help="for a mediated case: agreement carried out")
    q.add_argument("--complaint", help="what the party complained of, if anything")
    q.add_argument("--date", type=validate.date, required=True, help="the day of the visit (YYYY-MM-DD)")
    q = vsub.add_parser("list", parents=[common], help="visits, recorded or not")
    q.add_argument("--plan", help="only this visit plan's visits")
    q.add_argument("--office", type=validate.office_code, help="only the visits of this office's subtree")
    q.add_argument("--visitor", help="only this visitor's visits")
    q = vsub.add_parser("figures", parents=[common], help="coverage, satisfaction and fulfilment, by office")
    q.add_argument("--plan", help="only this visit plan")
    q.add_argument("--year", type=int, help="only the visit plans of this year")
    q.add_argument("--office", type=validate.office_code, help="only the offices of this office's subtree")
    p.set_defaults(func=cmd_visit)
