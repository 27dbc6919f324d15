"""The inspection commands: `plan`, `draw`, `checklist`, `verify-draw` and `sample-size` (SPEC §4)."""

from __future__ import annotations

import argparse
import json

from ipdash.commands import EXIT_MISMATCH, EXIT_OK, BadInput, cli_actor, emit
from ipdash.validate import output_file


def cmd_sample_size(args: argparse.Namespace) -> int:
    from inspection.sample_size import attribute_sample_size

    try:
        got = attribute_sample_size(
            confidence=args.confidence, tolerable=args.tolerable, expected=args.expected, population=args.population
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    emit(
        args,
        {"n": got.n, "allowed_deviations": got.allowed_deviations, "method": got.method},
        f"样本量 sample size n = {got.n}, 可容忍偏差数 allowed deviations = {got.allowed_deviations} ({got.method})",
    )
    return EXIT_OK


def cmd_verify_draw(args: argparse.Namespace) -> int:
    from pathlib import Path

    from inspection.draw import DrawError
    from inspection.verify import verify

    try:
        try:
            manifest = json.loads(Path(args.manifest).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise BadInput(f"cannot verify: {args.manifest} is not a draw manifest (not JSON: {exc})") from exc
        population = Path(args.population).read_bytes()
        problems = verify(manifest, population)
    except (OSError, ValueError, DrawError) as exc:
        raise BadInput(f"cannot verify: {exc}") from exc
    payload = {
        "ok": not problems,
        "problems": problems,
        "plan_id": manifest.get("plan_id"),
        "sample": len(manifest.get("sample", [])),
    }
    text = (
        "抽取结果核验一致 draw verified: the sample and assignments recompute exactly"
        if not problems
        else "核验不一致 draw does NOT verify:\n  " + "\n  ".join(problems)
    )
    emit(args, payload, text)
    return EXIT_OK if not problems else EXIT_MISMATCH


def _plans_context(args: argparse.Namespace):
    from access.opstore import OpStore, default_path
    from queries.store import Store

    ops = OpStore(default_path(args.db))
    return ops, Store(args.db, ops=ops), cli_actor(args)


def cmd_plan(args: argparse.Namespace) -> int:
    from pathlib import Path

    from inspection.plans import PlanError, create_plan, lock_plan, void_draw
    from queries.store import StoreError

    ops, store, actor = _plans_context(args)
    try:
        if args.action == "create":
            if not Path(args.file).is_file():
                raise BadInput(f"plan create {args.file}: no such file; give the plan's TOML file")
            plan = create_plan(ops, store, Path(args.file).read_text(encoding="utf-8"), actor=actor)
            emit(args, {"plan_id": plan["plan_id"], "plan": plan}, f"已创建抽查计划 plan created: {plan['plan_id']}")
        elif args.action == "lock":
            if args.out_dir and not Path(args.out_dir).is_dir():
                raise BadInput(f"--out-dir {args.out_dir}: no such folder; create it first")
            out = Path(args.out_dir) if args.out_dir else store.path.parent / "plans"
            got = lock_plan(ops, store, args.plan_id, out_dir=out, actor=actor)
            emit(
                args,
                got,
                f"已锁定 locked {got['plan_id']}: {got['population']} archives (复议诉讼未结而不列入 left out "
                f"as still under reconsideration or litigation: {got['excluded_pending_review']}), population "
                f"file {got['population_file']}, SHA-256 {got['population_sha256']}",
            )
        elif args.action == "publish" and args.correct is not None:
            from inspection.results import correct

            got = correct(ops, store, args.plan_id, actor=actor, reason=args.correct)
            emit(
                args,
                got,
                f"已更正 corrected {args.plan_id}: version {got['version']}, replaces the one published {got['replaces']}",
            )
        elif args.action == "publish":
            from inspection.results import publish

            got = publish(ops, store, args.plan_id, actor=actor, partial_reason=args.partial_reason)
            partial = (
                f"; partial: {got['unappraised']} of {got['sampled']} archives not appraised ({got['partial_reason']})"
                if got["partial_reason"]
                else ""
            )
            emit(
                args,
                got,
                f"已公开 published {args.plan_id} ({got['draw_id']}): {len(got['offices'])} offices" + partial,
            )
        elif args.action == "results":
            from inspection.results import draw_results

            got = draw_results(ops, store, args.plan_id)
            emit(
                args,
                got,
                "\n".join(_result_line(o) for o in got["offices"])
                + f"\n{got['appraised']} of {got['sampled']} sampled archives appraised",
            )
        elif args.action == "report":
            from inspection.rectification import list_notices
            from inspection.results import published
            from reports.appraisal_report import write_appraisal_report

            output_file(args.output, "--output")
            snapshot = next((p for p in published(ops) if p["plan_id"] == args.plan_id), None)
            if snapshot is None:
                raise BadInput(f"plan {args.plan_id} is not published; its report is released with its results")
            written = write_appraisal_report(
                snapshot, list_notices(ops, plan_id=args.plan_id), args.output, lang=args.lang
            )
            from access import audit

            audit.record(ops, actor=actor, action="export.appraisal_report", target=args.plan_id, detail=written)
            emit(args, {"output": args.output, **written}, f"评查报告已生成 appraisal report written: {args.output}")
        elif args.action == "void-draw":
            done = void_draw(ops, args.draw_id, reason=args.reason, actor=actor)
            emit(
                args,
                {"draw_id": args.draw_id, "voided": True, **done},
                f"已作废 voided {args.draw_id}"
                + ("; its published results are withdrawn from /public" if done["publication_withdrawn"] else ""),
            )
    except (PlanError, StoreError, OSError) as exc:
        raise BadInput(str(exc)) from exc
    return EXIT_OK


def _result_line(o: dict) -> str:
    head = f"{o['office_code']} {o['name']}: population {o['population']}, {o['appraised']}/{o['sampled']} appraised"
    if not o["appraised"]:
        return head
    return (
        f"{head}, mean {o['mean_score']}, unqualified {o['unqualified']} ({o['unqualified_rate']:.1%}, "
        f"95% CI {o['interval'][0]:.1%}–{o['interval'][1]:.1%}), projected {_projected(o)}"
    )


def _projected(o: dict) -> str:
    if o["projected_unqualified"] is None:
        return f"— ({o['strata_unappraised']} strata not yet appraised)"
    lo, hi = o["projected_interval"]
    return f"{o['projected_unqualified']} ({lo}–{hi}, stratified)"


def cmd_checklist(args: argparse.Namespace) -> int:
    from inspection.checklist import assigned_archives, plan_checklist, write_checklist
    from inspection.plans import PlanError
    from queries.store import StoreError

    output_file(args.output, "--output")
    ops, store, actor = _plans_context(args)
    try:
        draw_id, archives = assigned_archives(ops, store, args.plan_id, args.inspector)
        n = write_checklist(
            args.output,
            draw_id=draw_id,
            inspector_id=args.inspector,
            archives=archives,
            checklist=plan_checklist(ops, args.plan_id),
        )
    except (PlanError, StoreError, OSError) as exc:
        raise BadInput(str(exc)) from exc
    from access import audit

    audit.record(
        ops, actor=actor, action="export.checklist", target=draw_id, detail={"inspector": args.inspector, "archives": n}
    )
    emit(
        args,
        {"output": str(args.output), "draw_id": draw_id, "archives": n},
        f"评查表已生成 checklist written: {args.output} ({n} archives of {draw_id}); fill it in and load it with "
        f"`ipdash ingest appraisals {args.output}`",
    )
    return EXIT_OK


def cmd_draw(args: argparse.Namespace) -> int:
    from pathlib import Path

    from inspection.draw import DrawError
    from inspection.plans import PlanError, run_draw
    from queries.store import StoreError

    if args.out:
        output_file(args.out, "--out")  # before the draw is recorded, not after
    ops, store, actor = _plans_context(args)
    try:
        manifest = run_draw(ops, store, args.plan_id, seed=args.seed, actor=actor)
    except (PlanError, DrawError, StoreError, OSError) as exc:
        raise BadInput(str(exc)) from exc
    out = Path(args.out or f"{manifest['draw_id']}-manifest.json")
    out.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    emit(
        args,
        {
            "draw_id": manifest["draw_id"],
            "manifest": str(out),
            "sample": len(manifest["sample"]),
            "assignments": len(manifest["assignments"]),
            "population_sha256": manifest["population_sha256"],
        },
        f"抽取完成 drawn {manifest['draw_id']}: {len(manifest['sample'])} archives, "
        f"{len(manifest['assignments'])} assignments; manifest {out}",
    )
    return EXIT_OK


def cmd_rectify(args: argparse.Namespace) -> int:
    """Rectification notices (整改): list them, respond, return or accept (issue 18)."""
    from pathlib import Path

    from inspection.rectification import Attachment, RectificationError, act, list_notices

    ops, store, actor = _plans_context(args)
    try:
        if args.action == "list":
            offices = _subtree(store, args.office)
            notices = list_notices(ops, offices=offices, plan_id=args.plan, status=args.status, as_of=args.as_of)
            emit(
                args,
                {"notices": notices},
                "\n".join(_notice_line(n) for n in notices) or "没有整改通知 no rectification notices",
            )
            return EXIT_OK
        attachments = []
        for name in getattr(args, "attach", None) or []:
            try:
                attachments.append(Attachment(Path(name).name, Path(name).read_bytes()))
            except OSError as exc:
                raise BadInput(f"--attach {name}: cannot be read ({exc.strerror})") from exc
        got = act(
            ops,
            args.notice_id,
            args.action,
            actor=actor,
            text=getattr(args, "text", None) or getattr(args, "reason", None),
            attachments=attachments,
            attachment_dir=store.path.parent / "attachments",
        )
    except RectificationError as exc:
        raise BadInput(str(exc)) from exc
    emit(args, got, f"整改通知 notice {got['notice_id']}: {got['status']}")
    return EXIT_OK


def _notice_line(n: dict) -> str:
    what = (
        "return visit of "
        + ", ".join(
            f"{a['case_no']} ({' and '.join(r.replace('_', ' ') for r in a['visit']['reasons'])})"
            for a in n["findings"]
        )
        if n["kind"] == "visit"
        else f"{len(n['findings'])} archives, {n['unqualified']} unqualified, {n['points_lost']:g} points lost"
    )
    return (
        f"{n['notice_id']}  {n['office_code']}  {n['status']}{' (overdue)' if n['overdue'] else ''}  due {n['due_date']}"
        f"{' (Mon–Fri: no official calendar for that year)' if n['due_weekdays_only'] else ''}  {what}"
    )


def cmd_supervise(args: argparse.Namespace) -> int:
    """Supervised cases (督办): mark, list and conclude (issue 18)."""

    from inspection.supervision import SupervisionError, conclude, supervise, supervised
    from metrics.config import default_config

    ops, store, actor = _plans_context(args)
    try:
        if args.action == "list":
            offices = _subtree(store, args.office)
            got = supervised(ops, store, default_config(), offices=offices, as_of=args.as_of, status=args.status)
            lines = [
                f"{r['office_code']} {r['case_no']}  {r['status']}  due {r['due_date']}"
                + (f"  deadline {r['deadline']}" if r["deadline"] else "")
                + (f"  closed {r['closed_date']}" if r["closed_date"] else "")
                + f"  by {r['supervisor']}"
                for r in got
            ]
            emit(args, {"supervised": got}, "\n".join(lines) or "没有督办案件 no supervised cases")
            return EXIT_OK
        if args.action == "add":
            record = supervise(
                ops,
                store,
                office_code=args.office,
                case_no=args.case_no,
                due_date=args.due,
                note=args.note,
                supervisor=args.by,
                actor=actor,
            )
        else:
            record = conclude(
                ops, store, office_code=args.office, case_no=args.case_no, conclusion=args.note, actor=actor
            )
    except SupervisionError as exc:
        raise BadInput(str(exc)) from exc
    emit(args, record, f"督办 supervision {record['office_code']}/{record['case_no']}: due {record['due_date']}")
    return EXIT_OK


def _subtree(store, code: str | None) -> set[str] | None:
    """The offices of `code`'s subtree (None for no --office); BadInput for an office not in the tree."""
    import contextlib

    from queries.statements import duck_sql
    from queries.store import rows

    if not code:
        return None
    with contextlib.closing(store.reader()) as con:
        offices = {c for (c,) in rows(con, duck_sql("offices.subtree"), {"s": code})}
    if not offices:
        raise BadInput(f"--office {code}: no such office in the store's office tree")
    return offices
