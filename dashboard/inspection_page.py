"""Random-inspection pages (SPEC §4): plans with a population preview, the draw in front of witnesses,
results and publication for administrators; checklist download, upload and online entry for inspectors.

Every action is checked on the server in its callback (administrators only for plans, draws and
publication; an inspector records only the archives assigned to them, as themselves) and written to
the audit log by the functions of `inspection/`. Appraisals from the web go through the same
validated ingest as `ipdash ingest appraisals`, so the same cell-by-cell checks apply; they are
written to the operational store in one transaction with their audit entry, never to the analytic
file.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import tempfile
from pathlib import Path

import dash_ag_grid as dag
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from flask_login import current_user

from access import audit
from access.opstore import OpStore
from dashboard.i18n import num, pct
from ingest.contract import default_contract
from ingest.readers import Limits, RefusedFile
from ingest.run import Assignment, ingest
from inspection.checklist import VETO_LABELS, assigned_archives, write_checklist
from inspection.draw import DrawError, stratum_sizes
from inspection.plans import (
    STRATA_COLUMNS,
    PlanError,
    archives_of_inspector,
    create_plan,
    list_plans,
    lock_plan,
    parse_plan,
    population_items,
    recorded_appraisals,
    run_draw,
    standing_assignments,
    void_draw,
)
from inspection.results import draw_results, publish, standing_draw
from queries.store import Store, StoreError

UPLOAD_LIMITS = Limits()  # rows, unpacked size and compression ratio of one uploaded checklist
FAILURES = (PlanError, DrawError, StoreError, RefusedFile, OSError, ValueError)


def L(zh: str, en: str, lang: str) -> str:
    return en if lang == "en" else zh


def plan_toml(
    *,
    plan_id,
    year,
    scope,
    strata,
    rule,
    ratio,
    minimum,
    maximum,
    confidence,
    tolerable,
    expected,
    per_office,
    cap,
    exclude,
) -> str:
    """The plan form as the TOML `ipdash plan create` reads (json.dumps writes valid TOML strings)."""
    lines = []
    if plan_id:
        lines.append(f"plan_id = {json.dumps(str(plan_id).strip())}")
    lines += [
        f"year = {int(year)}",
        f"scope = {json.dumps(str(scope or '').strip())}",
        f"strata = {json.dumps(list(strata or []))}",
        "",
        "[rule]",
        f"kind = {json.dumps(rule)}",
    ]
    if rule == "ratio":
        lines += [f"ratio = {float(ratio)}", f"min_per_stratum = {int(minimum)}", f"max_per_stratum = {int(maximum)}"]
    else:
        lines += [
            f"confidence = {float(confidence)}",
            f"tolerable = {float(tolerable)}",
            f"expected = {float(expected)}",
        ]
    lines += [
        "",
        "[inspectors]",
        f"per_office = {int(per_office)}",
        f"workload_cap = {int(cap)}",
        f"exclude = {json.dumps(list(exclude or []))}",
    ]
    return "\n".join(lines) + "\n"


def preview(store: Store, text: str) -> dict:
    """Population and sample size per stratum of a plan that is not yet created or locked."""
    plan = parse_plan(text)
    items = population_items(store, plan)
    sizes = stratum_sizes(items, plan["rule"])
    return {"plan": plan, "population": len(items), "sample": sum(s["sample"] for s in sizes.values()), "strata": sizes}


def _number(id_, value, **kw):
    return dcc.Input(id=id_, type="number", value=value, debounce=True, className="num-input", **kw)


def _field(label: str, widget) -> html.Div:
    return html.Div(className="field", children=[html.Label(label), widget])


def plans_page(ops: OpStore, years: list[int], national_code: str, lang: str, admin: bool) -> html.Div:
    plans = list_plans(ops)
    rows = [
        html.Tr(
            [
                html.Td(dcc.Link(p["plan_id"], href=f"/inspection/{p['plan_id']}")),
                html.Td(p["spec"]["year"]),
                html.Td(p["spec"]["scope"]),
                html.Td(p["created_at"][:16].replace("T", " ")),
                html.Td((p["population_sha256"] or "")[:12] or L("未锁定", "not locked", lang), className="mono"),
                html.Td(", ".join(d["draw_id"] + (" ✕" if d["voided_at"] else "") for d in p["draws"]) or "—"),
                html.Td(p["published_at"][:10] if p["published_at"] else "—"),
            ]
        )
        for p in plans
    ]
    table = html.Table(
        className="ranking compact",
        id="plans-table",
        children=[
            html.Thead(
                html.Tr(
                    [
                        html.Th(L(*h, lang))
                        for h in (
                            ("计划", "Plan"),
                            ("年度", "Year"),
                            ("范围", "Scope"),
                            ("创建", "Created"),
                            ("总体 SHA-256", "Population SHA-256"),
                            ("抽取", "Draws"),
                            ("公开", "Published"),
                        )
                    ]
                )
            ),
            html.Tbody(rows),
        ],
    )
    parts = [
        html.H2(L("随机抽查（双随机、一公开）", "Random inspection (double random, one public)", lang)),
        html.Section(
            className="card",
            children=[
                html.H3(L("抽查计划", "Plans", lang)),
                table if rows else html.P(L("暂无计划", "No plans yet", lang)),
            ],
        ),
    ]
    if admin:
        default_year = years[-1] if years else dt.date.today().year - 1
        parts.append(
            html.Section(
                className="card plan-form",
                children=[
                    html.H3(L("新建抽查计划", "New plan", lang)),
                    html.Div(
                        className="fields",
                        children=[
                            _field(
                                L("计划编号（可空）", "Plan id (optional)", lang), dcc.Input(id="plan-id", type="text")
                            ),
                            _field(
                                L("年度", "Year", lang),
                                dcc.Dropdown(
                                    id="plan-year",
                                    value=default_year,
                                    clearable=False,
                                    options=[{"label": str(y), "value": y} for y in years],
                                ),
                            ),
                            _field(
                                L("范围（机构代码）", "Scope (office code)", lang),
                                dcc.Input(id="plan-scope", type="text", value=national_code),
                            ),
                            _field(
                                L("分层", "Strata", lang),
                                dcc.Checklist(
                                    id="plan-strata",
                                    value=["office_code", "case_kind"],
                                    options=sorted(STRATA_COLUMNS),
                                    inline=True,
                                ),
                            ),
                            _field(
                                L("样本量规则", "Sample-size rule", lang),
                                dcc.RadioItems(
                                    id="plan-rule",
                                    value="ratio",
                                    inline=True,
                                    options=[
                                        {"label": L("比例", "Ratio", lang), "value": "ratio"},
                                        {"label": L("统计抽样", "Attribute sampling", lang), "value": "statistical"},
                                    ],
                                ),
                            ),
                            _field(L("比例", "Ratio", lang), _number("plan-ratio", 0.05, min=0, max=1, step="any")),
                            _field(L("每层最少", "Min per stratum", lang), _number("plan-min", 2, min=1, step=1)),
                            _field(L("每层最多", "Max per stratum", lang), _number("plan-max", 20, min=1, step=1)),
                            _field(
                                L("置信度", "Confidence", lang),
                                _number("plan-confidence", 0.95, min=0.5, max=0.999, step="any"),
                            ),
                            _field(
                                L("可容忍偏差率", "Tolerable rate", lang),
                                _number("plan-tolerable", 0.05, min=0, max=0.5, step="any"),
                            ),
                            _field(
                                L("预期偏差率", "Expected rate", lang),
                                _number("plan-expected", 0.0, min=0, max=0.5, step="any"),
                            ),
                            _field(
                                L("每机构评查人员", "Inspectors per office", lang),
                                _number("plan-per-office", 2, min=1, step=1),
                            ),
                            _field(
                                L("每人最多机构数", "Workload cap (offices)", lang),
                                _number("plan-cap", 6, min=1, step=1),
                            ),
                            _field(
                                L("回避规则", "Conflict rules", lang),
                                dcc.Checklist(
                                    id="plan-exclude",
                                    value=["own_office", "own_province"],
                                    inline=True,
                                    options=[
                                        {"label": L("本机构", "own office", lang), "value": "own_office"},
                                        {"label": L("本省", "own province", lang), "value": "own_province"},
                                    ],
                                ),
                            ),
                        ],
                    ),
                    html.Div(
                        className="buttons",
                        children=[
                            html.Button(
                                L("预览总体与样本量", "Preview population and sample", lang),
                                id="plan-preview-button",
                                n_clicks=0,
                                className="button secondary",
                            ),
                            html.Button(
                                L("创建计划", "Create plan", lang),
                                id="plan-create-button",
                                n_clicks=0,
                                className="button",
                            ),
                        ],
                    ),
                    html.Div(id="plan-message", role="status"),
                    html.Div(id="plan-preview"),
                ],
            )
        )
    return html.Div(parts)


def preview_block(got: dict, lang: str) -> html.Div:
    strata = sorted(got["strata"].items(), key=lambda kv: -kv[1]["population"])
    shown = strata[:40]
    return html.Div(
        id="plan-preview-result",
        children=[
            html.P(
                L(
                    f"总体 {got['population']:,} 件，{len(strata)} 层，样本共 {got['sample']:,} 件（尚未锁定，可修改）",
                    f"Population {got['population']:,} archives in {len(strata)} strata; sample {got['sample']:,} "
                    "(not locked: you may still change the plan)",
                    lang,
                ),
                className="count",
            ),
            html.Table(
                className="ranking compact",
                children=[
                    html.Thead(
                        html.Tr(
                            [
                                html.Th(L("层", "Stratum", lang)),
                                html.Th(L("总体", "Population", lang)),
                                html.Th(L("样本", "Sample", lang)),
                            ]
                        )
                    ),
                    html.Tbody(
                        [
                            html.Tr(
                                [
                                    html.Td(k),
                                    html.Td(num(v["population"], lang), className="num"),
                                    html.Td(num(v["sample"], lang), className="num"),
                                ]
                            )
                            for k, v in shown
                        ]
                    ),
                ],
            ),
            *(
                [
                    html.P(
                        L(
                            f"另有 {len(strata) - len(shown)} 层未列出",
                            f"{len(strata) - len(shown)} more strata not listed",
                            lang,
                        ),
                        className="note",
                    )
                ]
                if len(strata) > len(shown)
                else []
            ),
        ],
    )


def plan_page(ops: OpStore, store: Store, plan_id: str, lang: str, admin: bool) -> html.Div:
    plan = next((p for p in list_plans(ops) if p["plan_id"] == plan_id), None)
    if plan is None:
        return html.Div(L("没有这个计划", "No such plan", lang), className="error", id="denied")
    spec = plan["spec"]
    standing = next((d for d in plan["draws"] if not d["voided_at"]), None)
    parts = [
        dcc.Link(L("‹ 全部计划", "‹ All plans", lang), href="/inspection"),
        html.H2(spec.get("title") or f"{L('抽查计划', 'Plan', lang)} {plan_id}", id="plan-title"),
        dcc.Store(id="plan-current", data=plan_id),
        html.Section(
            className="card",
            children=[
                html.H3(L("计划参数", "Parameters", lang)),
                _spec_summary(store, plan_id, spec, lang),
                html.Details(
                    [
                        html.Summary(
                            L("完整参数（记录在抽取清单中）", "All parameters (as recorded in the manifest)", lang)
                        ),
                        html.Pre(json.dumps(spec, ensure_ascii=False, indent=1), className="spec"),
                    ]
                ),
                html.P(
                    [
                        L("锁定：", "Locked: ", lang),
                        html.Span(plan["locked_at"] or L("未锁定", "not locked", lang), id="plan-locked"),
                        *(
                            [" · SHA-256 ", html.Code(plan["population_sha256"], id="plan-population-hash")]
                            if plan["population_sha256"]
                            else []
                        ),
                    ]
                ),
                *(
                    [
                        _confirmed(
                            "plan-lock",
                            L("锁定总体（之后才能输入种子）", "Lock the population (before the seed is known)", lang),
                            L(
                                "锁定后总体不能再改变：将写出总体文件并记录其 SHA-256。确定锁定？",
                                "After locking the population cannot change: its file is written and its SHA-256 "
                                "recorded. Lock now?",
                                lang,
                            ),
                        )
                    ]
                    if admin and not plan["locked_at"]
                    else []
                ),
            ],
        ),
    ]
    draw_parts: list = [html.H3(L("抽取", "Draw", lang))]
    for d in plan["draws"]:
        if d["voided_at"]:
            draw_parts.append(
                html.P(
                    f"{d['draw_id']} · {L('已作废', 'voided', lang)} {d['voided_at'][:16]} "
                    f"({d['voided_by']}): {d['void_reason']}",
                    className="note",
                )
            )
    if standing:
        manifest = standing_draw(ops, plan_id)["manifest"]
        draw_parts += [
            html.P(
                [
                    f"{standing['draw_id']} · {L('种子', 'seed', lang)} ",
                    html.Code(standing["seed"], id="draw-seed"),
                    " · manifest SHA-256 ",
                    html.Code(standing["manifest_sha256"], id="draw-manifest-hash"),
                ]
            ),
            html.P(
                L(
                    f"样本 {len(manifest['sample'])} 件，分配 {len(manifest['assignments'])} 人次",
                    f"{len(manifest['sample'])} archives sampled, {len(manifest['assignments'])} assignments",
                    lang,
                ),
                id="draw-summary",
                className="count",
            ),
            html.Div(
                className="row",
                children=[
                    html.Div(
                        className="half",
                        children=[
                            html.H3(L("抽中案卷", "Sampled archives", lang)),
                            dag.AgGrid(
                                id="draw-sample",
                                rowData=[
                                    {k: s[k] for k in ("office_code", "case_no", "stratum")} for s in manifest["sample"]
                                ],
                                columnDefs=[{"field": c} for c in ("office_code", "case_no", "stratum")],
                                className="ag-theme-alpine",
                                columnSize="responsiveSizeToFit",
                                style={"height": "320px"},
                            ),
                        ],
                    ),
                    html.Div(
                        className="half",
                        children=[
                            html.H3(L("评查人员分配", "Inspector assignments", lang)),
                            dag.AgGrid(
                                id="draw-assignments",
                                rowData=manifest["assignments"],
                                columnDefs=[{"field": c} for c in ("office_code", "inspector_id")],
                                className="ag-theme-alpine",
                                columnSize="responsiveSizeToFit",
                                style={"height": "320px"},
                            ),
                        ],
                    ),
                ],
            ),
            html.Button(
                L("下载抽取清单 (JSON)", "Download the manifest (JSON)", lang),
                id="draw-manifest-button",
                n_clicks=0,
                className="button secondary",
            ),
            dcc.Download(id="draw-manifest-download"),
        ]
        if admin:
            published = bool(plan["published_at"])
            draw_parts.append(
                html.Div(
                    className="buttons",
                    children=[
                        dcc.Input(
                            id="draw-void-reason", type="text", placeholder=L("作废理由", "reason for voiding", lang)
                        ),
                        _confirmed(
                            "draw-void",
                            L("作废本次抽取", "Void this draw", lang),
                            L(
                                "作废后本次抽取及其评查结果不再有效"
                                + ("，已公开的结果将从公开页撤回并注明理由" if published else "")
                                + "；作废记录永久保留。确定作废？",
                                "Voiding ends this draw and its results"
                                + (
                                    ", and withdraws its published results from the public page, with the reason"
                                    if published
                                    else ""
                                )
                                + "; the void stays on record. Void it?",
                                lang,
                            ),
                            secondary=True,
                        ),
                    ],
                )
            )
    elif admin and plan["locked_at"]:
        draw_parts.append(
            html.Div(
                className="buttons witness",
                children=[
                    html.Label(
                        L("当众输入种子", "Seed, typed in before the witnesses", lang), htmlFor="draw-seed-input"
                    ),
                    dcc.Input(id="draw-seed-input", type="text", autoComplete="off"),
                    _confirmed(
                        "draw",
                        L("抽取", "Draw", lang),
                        L(
                            "将用所输入的种子抽取案卷并分配评查人员，结果公开可复核；每个计划只能抽取一次（除非作废）。确定抽取？",
                            "The archives and inspectors are drawn with the seed typed in, verifiably; a plan is drawn once "
                            "unless the draw is voided. Draw now?",
                            lang,
                        ),
                    ),
                ],
            )
        )
    elif not plan["locked_at"]:
        draw_parts.append(html.P(L("锁定后才能抽取", "Lock the plan before drawing", lang), className="note"))
    parts.append(html.Section(className="card", children=draw_parts))
    if standing:
        parts.append(results_block(ops, store, plan_id, plan, lang, admin))
    parts.append(html.Div(id="plan-action-message", role="status"))
    return html.Div(parts)


STRATA_LABELS = {
    "office_code": ("办案机构", "office"),
    "case_kind": ("案件类型", "case kind"),
    "source": ("案件来源", "source"),
    "patent_type": ("专利类型", "patent type"),
}
EXCLUDE_LABELS = {"own_office": ("本机构", "their own office"), "own_province": ("本省", "their own province")}


def _spec_summary(store: Store, plan_id: str, spec: dict, lang: str) -> html.Dl:
    """The plan's parameters in words: year, scope by name, strata, sample-size rule, inspectors."""
    try:
        with contextlib.closing(store.reader()) as con:
            found = con.execute("SELECT name FROM offices WHERE office_code = $s", {"s": spec["scope"]}).fetchall()
    except StoreError:
        found = []
    scope = f"{found[0][0]}（{spec['scope']}）" if found else spec["scope"]
    rule, ins = spec["rule"], spec["inspectors"]
    if rule.get("kind") == "statistical":
        c, t, e = (float(rule.get(k, d)) for k, d in (("confidence", 0.95), ("tolerable", 0.05), ("expected", 0.0)))
        size = L(
            f"属性抽样：置信度 {pct(c, lang)}，可容忍偏差率 {pct(t, lang)}，预期偏差率 {pct(e, lang)}",
            f"attribute sampling: confidence {pct(c, lang)}, tolerable rate {pct(t, lang)}, expected rate "
            f"{pct(e, lang)}",
            lang,
        )
    else:
        size = L(
            f"按比例 {pct(rule['ratio'], lang)}，每层至少 {rule['min_per_stratum']} 件、至多 {rule['max_per_stratum']} 件",
            f"{pct(rule['ratio'], lang)} of each stratum, at least {rule['min_per_stratum']} and at most "
            f"{rule['max_per_stratum']}",
            lang,
        )
    strata = ("、" if lang == "zh" else ", ").join(L(*STRATA_LABELS.get(k, (k, k)), lang) for k in spec["strata"])
    exclude = ("、" if lang == "zh" else ", ").join(
        L(*EXCLUDE_LABELS.get(k, (k, k)), lang) for k in ins.get("exclude", [])
    )
    items = [
        (L("计划编号", "Plan id", lang), plan_id),
        (L("年度", "Year", lang), str(spec["year"])),
        (L("范围", "Scope", lang), scope),
        (L("总体", "Population", lang), L(f"{spec['year']} 年结案的案卷", f"archives closed in {spec['year']}", lang)),
        (L("分层", "Strata", lang), strata),
        (L("样本量", "Sample size", lang), size),
        (
            L("评查人员", "Inspectors", lang),
            L(
                f"每个机构 {ins['per_office']} 人，每人至多 {ins['workload_cap']} 件"
                + (f"，回避{exclude}" if exclude else ""),
                f"{ins['per_office']} per office, at most {ins['workload_cap']} archives each"
                + (f"; never {exclude}" if exclude else ""),
                lang,
            ),
        ),
    ]
    return html.Dl(
        className="spec-summary",
        id="plan-spec-summary",
        children=[x for k, v in items for x in (html.Dt(k), html.Dd(v))],
    )


def _confirmed(name: str, label: str, message: str, *, secondary: bool = False) -> dcc.ConfirmDialogProvider:
    """A button that asks before it acts: the callback listens to `<name>-confirm.submit_n_clicks`."""
    return dcc.ConfirmDialogProvider(
        id=f"{name}-confirm",
        message=message,
        children=html.Button(
            label, id=f"{name}-button", n_clicks=0, className="button secondary" if secondary else "button"
        ),
    )


def results_block(ops: OpStore, store: Store, plan_id: str, plan: dict, lang: str, admin: bool) -> html.Section:
    res = draw_results(ops, store, plan_id)

    def rate(o: dict) -> str:
        if not o["appraised"]:
            return "—"
        return f"{pct(o['unqualified_rate'], lang)} ({pct(o['interval'][0], lang)}–{pct(o['interval'][1], lang)})"

    rows = [
        html.Tr(
            [
                html.Td(o["office_code"]),
                html.Td(o["name"]),
                html.Td(num(o["population"], lang), className="num"),
                html.Td(f"{o['appraised']}/{o['sampled']}", className="num"),
                html.Td(num(o["mean_score"], lang, 1), className="num"),
                html.Td(f"{o['excellent']} / {o['qualified']} / {o['unqualified']}", className="num"),
                html.Td(rate(o), className="num"),
                html.Td(num(o["projected_unqualified"], lang, 1), className="num"),
            ]
        )
        for o in res["offices"]
    ]
    head = [
        ("机构代码", "Code"),
        ("机构", "Office"),
        ("总体", "Population"),
        ("已评/抽中", "Appraised/sampled"),
        ("平均分", "Mean score"),
        ("优秀/合格/不合格", "Excellent/qualified/unqualified"),
        ("不合格率 (95% 区间)", "Unqualified (95% CI)"),
        ("推算不合格数", "Projected unqualified"),
    ]
    missing = res["unappraised"]
    progress = html.P(
        L(
            f"已评查 {res['appraised']} / {res['sampled']} 件，尚有 {missing} 件未评查",
            f"{res['appraised']} of {res['sampled']} sampled archives appraised; {missing} still pending",
            lang,
        ),
        id="plan-appraisal-progress",
        className="count",
    )
    if plan["published_at"]:
        pub = ops.read("SELECT partial_reason FROM publications WHERE plan_id = ?", (plan_id,))
        reason = pub[0]["partial_reason"] if pub else None
        action: list = [
            html.P(
                L(f"已于 {plan['published_at'][:10]} 公开", f"Published on {plan['published_at'][:10]}", lang)
                + (L(f"（部分公开，理由：{reason}）", f" (partial; reason: {reason})", lang) if reason else ""),
                id="plan-published",
            )
        ]
    elif admin:
        action = [
            html.Div(
                className="buttons",
                children=[
                    dcc.Input(
                        id="plan-publish-reason",
                        type="text",
                        className="wide",  # present always: a callback state
                        style=None if missing else {"display": "none"},
                        placeholder=L(
                            "部分公开的理由（必填）", "why publish before every archive is appraised (required)", lang
                        ),
                    ),
                    _confirmed(
                        "plan-publish",
                        L("公开结果", "Publish the results", lang),
                        L(
                            (f"尚有 {missing} 件抽中案卷未评查，将作为部分结果公开并注明理由。" if missing else "")
                            + "公开后结果无需登录即可查看，且不能修改。确定公开？",
                            (
                                f"{missing} sampled archives are not appraised yet: this publishes a partial result, with the "
                                "reason. "
                                if missing
                                else ""
                            )
                            + "Published results are shown without login and cannot be "
                            "changed. Publish?",
                            lang,
                        ),
                    ),
                ],
            )
        ]
    else:
        action = []
    return html.Section(
        className="card",
        children=[
            html.H3(L("评查结果", "Results", lang)),
            progress,
            html.Table(
                className="ranking compact",
                id="plan-results",
                children=[html.Thead(html.Tr([html.Th(L(*h, lang)) for h in head])), html.Tbody(rows)],
            ),
            *action,
        ],
    )


def inspector_block(ops: OpStore, store: Store, inspector_id: str, lang: str) -> html.Section:
    """Checklist download per standing draw, the workbook upload and the online form."""
    draws = standing_assignments(ops, inspector_id)
    archives = archives_of_inspector(ops, inspector_id)
    checklist = default_contract().checklist
    options = []
    for plan_id, draw_id in draws:
        manifest = standing_draw(ops, plan_id)["manifest"]
        mine = {a["office_code"] for a in manifest["assignments"] if a["inspector_id"] == inspector_id}
        options += [
            {"label": f"{s['office_code']} · {s['case_no']}", "value": f"{draw_id}|{s['office_code']}|{s['case_no']}"}
            for s in manifest["sample"]
            if s["office_code"] in mine
        ]
    return html.Section(
        className="card",
        id="checklist-card",
        children=[
            html.H3(L("评查表", "Checklist", lang)),
            html.P(
                L(f"共分配 {len(archives)} 件案卷", f"{len(archives)} archives assigned to you", lang), className="note"
            ),
            html.Div(
                className="buttons",
                children=[
                    html.Button(
                        L(f"下载评查表 {draw_id}", f"Download checklist {draw_id}", lang),
                        id={"type": "checklist-download-button", "plan": plan_id},
                        n_clicks=0,
                        className="button secondary",
                    )
                    for plan_id, draw_id in draws
                ],
            ),
            dcc.Download(id="checklist-download"),
            html.H3(L("上传填好的评查表", "Upload the filled checklist", lang)),
            dcc.Upload(
                id="checklist-upload",
                className="upload",
                multiple=False,
                max_size=20 * 2**20,
                children=html.Div(L("拖放或点击选择 .xlsx 文件", "Drop or click to choose the .xlsx file", lang)),
            ),
            html.Div(id="checklist-upload-result", role="status"),
            html.H3(L("在线录入", "Enter online", lang)),
            html.Div(
                className="fields",
                children=[
                    _field(
                        L("案卷", "Archive", lang),
                        dcc.Dropdown(
                            id="appraisal-archive", options=options, value=options[0]["value"] if options else None
                        ),
                    ),
                    *[
                        _field(
                            f"{i.zh if lang == 'zh' else i.en} (≤ {i.max:g})",
                            _number({"type": "appraisal-item", "item": i.id}, None, min=0, max=i.max, step="any"),
                        )
                        for i in checklist.items
                    ],
                    _field(
                        L("否决项", "Veto items", lang),
                        dcc.Checklist(
                            id="appraisal-veto",
                            value=[],
                            inline=True,
                            options=[
                                {"label": zh if lang == "zh" else v.replace("_", " "), "value": zh}
                                for v, zh in VETO_LABELS.items()
                            ],
                        ),
                    ),
                    _field(
                        L("评查日期", "Inspection date", lang),
                        dcc.Input(id="appraisal-date", type="text", value=dt.date.today().isoformat()),
                    ),
                ],
            ),
            html.P(id="appraisal-existing", className="note", role="status"),
            html.Button(
                L("提交评查结果", "Submit the appraisal", lang), id="appraisal-submit", n_clicks=0, className="button"
            ),
            dcc.ConfirmDialog(id="appraisal-overwrite"),
            html.Div(id="appraisal-result", role="status"),
        ],
    )


def _ingest_result(summary, lang: str) -> html.Div:
    c = summary.counts
    parts = [
        html.P(
            L(
                f"读取 {c.read} 行：新增 {c.loaded}，更新 {c.updated}，未变 {c.unchanged}，拒收 {c.rejected}",
                f"Read {c.read} rows: {c.loaded} loaded, {c.updated} updated, {c.unchanged} unchanged, "
                f"{c.rejected} rejected",
                lang,
            ),
            className="count",
        )
    ]
    if summary.rejects_file:
        import csv

        with open(summary.rejects_file, encoding="utf-8-sig") as fh:
            got = list(csv.reader(fh))[1:]
        parts.append(
            html.Ul(
                className="rejects", children=[html.Li(f"{r[4] or ('row ' + r[2])} {r[3]}: {r[6]}") for r in got[:50]]
            )
        )
    return html.Div(parts, className="error" if c.rejected else "ok")


def init_inspection(app, *, store: Store, ops: OpStore, viewer) -> None:
    """Register the inspection callbacks on `app` (pages are rendered by the router)."""

    def admin_only() -> str | None:
        user = current_user.user
        if not user.admin:
            audit.record(ops, actor=user.username, action="access.denied", detail={"what": "inspection admin"})
            return "只有管理员可以操作 / administrators only"
        return None

    @app.callback(
        Output("plan-preview", "children"),
        Output("plan-message", "children"),
        Input("plan-preview-button", "n_clicks"),
        Input("plan-create-button", "n_clicks"),
        State("plan-id", "value"),
        State("plan-year", "value"),
        State("plan-scope", "value"),
        State("plan-strata", "value"),
        State("plan-rule", "value"),
        State("plan-ratio", "value"),
        State("plan-min", "value"),
        State("plan-max", "value"),
        State("plan-confidence", "value"),
        State("plan-tolerable", "value"),
        State("plan-expected", "value"),
        State("plan-per-office", "value"),
        State("plan-cap", "value"),
        State("plan-exclude", "value"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    def _plan_form(
        _p,
        _c,
        plan_id,
        year,
        scope,
        strata,
        rule,
        ratio,
        minimum,
        maximum,
        confidence,
        tolerable,
        expected,
        per_office,
        cap,
        exclude,
        lang,
    ):
        lang = lang or "zh"
        refused = admin_only()
        if refused:
            return no_update, html.P(refused, className="error")
        try:
            text = plan_toml(
                plan_id=plan_id,
                year=year,
                scope=scope,
                strata=strata,
                rule=rule,
                ratio=ratio,
                minimum=minimum,
                maximum=maximum,
                confidence=confidence,
                tolerable=tolerable,
                expected=expected,
                per_office=per_office,
                cap=cap,
                exclude=exclude,
            )
            if ctx.triggered_id == "plan-create-button":
                plan = create_plan(ops, store, text, actor=current_user.user.username)
                return no_update, html.P(
                    [L("已创建 ", "Created ", lang), dcc.Link(plan["plan_id"], href=f"/inspection/{plan['plan_id']}")],
                    className="ok",
                    id="plan-created",
                )
            return preview_block(preview(store, text), lang), ""
        except (TypeError, *FAILURES) as exc:
            return no_update, html.P(str(exc), className="error")

    def admin_action(clicks, act) -> tuple:
        """Run `act(username)` (a lock, draw, void or publication) for an administrator; its message
        and a re-render of the page, or the refusal or failure as an error."""
        if not clicks:
            return no_update, no_update
        refused = admin_only()
        if refused:
            return html.P(refused, className="error"), no_update
        try:
            return _reload(act(current_user.user.username))
        except FAILURES as exc:
            return html.P(str(exc), className="error"), no_update

    @app.callback(
        Output("plan-action-message", "children"),
        Output("url", "search", allow_duplicate=True),
        Input("plan-lock-confirm", "submit_n_clicks"),
        State("plan-current", "data"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    def _lock(clicks, plan_id, lang):
        def act(actor):
            got = lock_plan(ops, store, plan_id, out_dir=store.path.parent / "plans", actor=actor)
            return L(
                f"已锁定：{got['population']:,} 件，SHA-256 {got['population_sha256']}",
                f"Locked: {got['population']:,} archives, SHA-256 {got['population_sha256']}",
                lang or "zh",
            )

        return admin_action(clicks, act)

    @app.callback(
        Output("plan-action-message", "children", allow_duplicate=True),
        Output("url", "search", allow_duplicate=True),
        Input("draw-confirm", "submit_n_clicks"),
        State("plan-current", "data"),
        State("draw-seed-input", "value"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    def _draw(clicks, plan_id, seed, lang):
        def act(actor):
            manifest = run_draw(ops, store, plan_id, seed=str(seed or ""), actor=actor)
            return L(f"已抽取 {manifest['draw_id']}", f"Drawn {manifest['draw_id']}", lang or "zh")

        return admin_action(clicks, act)

    @app.callback(
        Output("plan-action-message", "children", allow_duplicate=True),
        Output("url", "search", allow_duplicate=True),
        Input("draw-void-confirm", "submit_n_clicks"),
        State("plan-current", "data"),
        State("draw-void-reason", "value"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    def _void(clicks, plan_id, reason, lang):
        def act(actor):
            draw_id = standing_draw(ops, plan_id)["draw_id"]
            done = void_draw(ops, draw_id, reason=str(reason or ""), actor=actor)
            if done["publication_withdrawn"]:
                return L(
                    f"已作废 {draw_id}，其公开结果已撤回",
                    f"Voided {draw_id}; its published results are withdrawn",
                    lang or "zh",
                )
            return L(f"已作废 {draw_id}", f"Voided {draw_id}", lang or "zh")

        return admin_action(clicks, act)

    @app.callback(
        Output("plan-action-message", "children", allow_duplicate=True),
        Output("url", "search", allow_duplicate=True),
        Input("plan-publish-confirm", "submit_n_clicks"),
        State("plan-current", "data"),
        State("plan-publish-reason", "value"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    def _publish(clicks, plan_id, reason, lang):
        def act(actor):
            got = publish(ops, store, plan_id, actor=actor, partial_reason=reason)
            if got["partial_reason"]:
                return L(
                    f"已部分公开（{got['unappraised']} 件未评查），见公开结果页",
                    f"Published as partial ({got['unappraised']} archives pending): see the public page",
                    lang or "zh",
                )
            return L("已公开，见公开结果页", "Published: see the public page", lang or "zh")

        return admin_action(clicks, act)

    @app.callback(
        Output("draw-manifest-download", "data"),
        Input("draw-manifest-button", "n_clicks"),
        State("plan-current", "data"),
        prevent_initial_call=True,
    )
    def _manifest(clicks, plan_id):
        user = current_user.user
        if not clicks or not user.national:
            return no_update
        draw = standing_draw(ops, plan_id)
        audit.record(ops, actor=user.username, action="export.manifest", target=draw["draw_id"])
        return dict(
            content=json.dumps(draw["manifest"], ensure_ascii=False, indent=1, sort_keys=True),
            filename=f"{draw['draw_id']}-manifest.json",
        )

    @app.callback(
        Output("checklist-download", "data"),
        Input({"type": "checklist-download-button", "plan": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def _checklist(clicks):
        user = current_user.user
        if user.role != "inspector" or not any(clicks or []) or not isinstance(ctx.triggered_id, dict):
            return no_update
        plan_id = ctx.triggered_id["plan"]
        try:
            draw_id, archives = assigned_archives(ops, store, plan_id, user.scope_code or "")
        except FAILURES:
            return no_update
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{draw_id}-{user.scope_code}-checklist.xlsx"
            n = write_checklist(path, draw_id=draw_id, inspector_id=user.scope_code, archives=archives)
            data = dcc.send_bytes(path.read_bytes(), path.name)
        audit.record(
            ops,
            actor=user.username,
            action="export.checklist",
            target=draw_id,
            detail={"inspector": user.scope_code, "archives": n},
        )
        return data

    def _record(path: Path, lang: str):
        user = current_user.user
        if user.role != "inspector":
            return html.P("只有评查人员可以录入 / inspectors only", className="error")
        only = Assignment(user.scope_code or "", frozenset(archives_of_inspector(ops, user.scope_code or "")))
        try:  # one transaction of the operational store with its audit entry; no cache is cleared:
            summary = ingest(
                store,
                "appraisals",
                [str(path)],
                progress=False,
                only=only,  # what read the
                actor=user.username,
                limits=UPLOAD_LIMITS,
            )  # appraisals recomputes by itself
        except FAILURES as exc:
            return html.P(f"{path.name}: {exc}", className="error")
        return _ingest_result(summary, lang)

    @app.callback(
        Output("checklist-upload-result", "children"),
        Input("checklist-upload", "contents"),
        State("checklist-upload", "filename"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    def _upload(contents, filename, lang):
        if not contents:
            return no_update
        try:
            data = base64.b64decode(contents.split(",", 1)[1])
        except (IndexError, ValueError):
            return html.P("无法读取上传的文件 / the upload could not be read", className="error")
        name = Path(filename or "checklist.xlsx").name
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            return _record(path, lang or "zh")

    def existing(archive: str | None) -> dict | None:
        """The stored appraisal of the chosen archive, when this inspector may record it."""
        user = current_user.user
        if user.role != "inspector" or not archive:
            return None
        draw_id, office, case_no = (str(archive).split("|", 2) + ["", ""])[:3]
        return recorded_appraisals(ops, user.scope_code or "").get((draw_id, office, case_no))

    @app.callback(
        Output({"type": "appraisal-item", "item": ALL}, "value"),
        Output("appraisal-veto", "value"),
        Output("appraisal-date", "value"),
        Output("appraisal-existing", "children"),
        Input("appraisal-archive", "value"),
        State({"type": "appraisal-item", "item": ALL}, "id"),
        State("lang", "value"),
    )
    def _load(archive, items, lang):
        """The online form shows what is recorded for the chosen archive (empty when nothing is)."""
        got = existing(archive)
        if got is None:
            return [None] * len(items), [], dt.date.today().isoformat(), ""
        scores = [
            float(got["scores"].get(i["item"])) if got["scores"].get(i["item"]) is not None else None for i in items
        ]
        return (
            scores,
            [VETO_LABELS.get(v, v) for v in got["veto"]],
            got["inspected_at"],
            L(
                f"已于 {got['recorded_at'][:10]} 由 {got['recorded_by']} 录入（{got['total']} 分）；再次提交将修改该结果",
                f"Recorded on {got['recorded_at'][:10]} by {got['recorded_by']} ({got['total']} points); submitting "
                "again changes it",
                lang or "zh",
            ),
        )

    def online_entry(archive, scores, veto, day, lang):
        user = current_user.user
        draw_id, office, case_no = (str(archive).split("|", 2) + ["", ""])[:3]
        checklist = default_contract().checklist
        header = [
            "抽查批次",
            "办案机构代码",
            "案号",
            "评查人员",
            *[i.zh for i in checklist.items],
            "否决项",
            "评查日期",
        ]
        row = [
            draw_id,
            office,
            case_no,
            user.scope_code or "",
            *["" if v is None else v for v in (scores or [])],
            "；".join(veto or []),
            day or "",
        ]
        import csv
        import io

        buf = io.StringIO()
        csv.writer(buf).writerows([header, row])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "online-entry.csv"
            path.write_text(buf.getvalue(), encoding="utf-8")
            return _record(path, lang or "zh")

    @app.callback(
        Output("appraisal-result", "children"),
        Output("appraisal-overwrite", "displayed"),
        Output("appraisal-overwrite", "message"),
        Input("appraisal-submit", "n_clicks"),
        State("appraisal-archive", "value"),
        State({"type": "appraisal-item", "item": ALL}, "value"),
        State("appraisal-veto", "value"),
        State("appraisal-date", "value"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    def _online(clicks, archive, scores, veto, day, lang):
        if not clicks or not archive:
            return no_update, False, no_update
        got = existing(archive)
        if got is not None:  # overwriting a recorded result asks first
            return (
                no_update,
                True,
                L(
                    f"该案卷已有评查结果（{got['total']} 分）。确定用本次录入修改它？修改将记入审计日志。",
                    f"This archive already has a result ({got['total']} points). Replace it with "
                    "what you entered? The change is written to the audit log.",
                    lang or "zh",
                ),
            )
        return online_entry(archive, scores, veto, day, lang), False, no_update

    @app.callback(
        Output("appraisal-result", "children", allow_duplicate=True),
        Input("appraisal-overwrite", "submit_n_clicks"),
        State("appraisal-archive", "value"),
        State({"type": "appraisal-item", "item": ALL}, "value"),
        State("appraisal-veto", "value"),
        State("appraisal-date", "value"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    def _overwrite(clicks, archive, scores, veto, day, lang):
        if not clicks or not archive:
            return no_update
        return online_entry(archive, scores, veto, day, lang)


def _reload(message: str) -> tuple[html.P, str]:
    """The message, and a new query string that makes the router render the page's new state."""
    return html.P(message, className="ok"), f"?done={dt.datetime.now().timestamp():.0f}"
