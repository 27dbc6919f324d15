"""One inspection plan's page: its parameters in words, draws, assignments, results and publication."""

from __future__ import annotations

import contextlib

import dash_ag_grid as dag
from dash import dcc, html

from access.opstore import OpStore
from dashboard import ids
from dashboard.i18n import beijing_day, label, num, pct, t, when
from dashboard.widgets import confirmed, grid_words, office_names, stratum_words
from ingest.contract import default_contract
from inspection.plans import (
    list_plans,
)
from inspection.rectification import DEFAULT_DUE_WORKING_DAYS
from inspection.results import draw_results, standing_draw
from queries.statements import duck_sql, op_sql
from queries.store import Store, StoreError


def plan_page(ops: OpStore, store: Store, plan_id: str, lang: str, admin: bool) -> html.Div:
    plan = next((p for p in list_plans(ops) if p["plan_id"] == plan_id), None)
    if plan is None:
        return html.Div(t("insp.no_such_plan", lang), className="error", id=ids.DENIED)
    spec = plan["spec"]
    standing = next((d for d in plan["draws"] if not d["voided_at"]), None)
    parts = [
        dcc.Link(t("insp.all_plans", lang), href="/inspection"),
        html.H2(spec.get("title") or f"{t('insp.plan', lang)} {plan_id}", id=ids.PLAN_TITLE),
        dcc.Store(id=ids.PLAN_CURRENT, data=plan_id),
        html.Section(
            className="card",
            children=[
                html.H3(t("insp.parameters", lang)),
                _spec_summary(store, plan_id, spec, lang),
                html.P(
                    [
                        t("insp.locked", lang),
                        html.Span(
                            when(plan["locked_at"], lang) if plan["locked_at"] else t("insp.not_locked", lang),
                            id=ids.PLAN_LOCKED,
                        ),
                        *(
                            [" · SHA-256 ", html.Code(plan["population_sha256"], id=ids.PLAN_POPULATION_HASH)]  # type: ignore[list-item]
                            if plan["population_sha256"]
                            else []
                        ),
                    ]
                ),
                *(
                    [
                        confirmed(
                            ids.PLAN_LOCK_CONFIRM,
                            ids.PLAN_LOCK_BUTTON,
                            t("insp.lock_population_before_seed", lang),
                            t("insp.after_locking_population_cannot", lang),
                        )
                    ]
                    if admin and not plan["locked_at"]
                    else []
                ),
            ],
        ),
    ]
    draw_parts: list = [html.H3(t("insp.draw", lang))]
    for d in plan["draws"]:
        if d["voided_at"]:
            draw_parts.append(
                html.P(
                    f"{d['draw_id']} · {t('insp.voided', lang)} {when(d['voided_at'], lang)} "
                    f"({d['voided_by']}): {d['void_reason']}",
                    className="note",
                )
            )
    if standing:
        manifest = standing_draw(ops, plan_id)["manifest"]
        names = office_names(store, {s["office_code"] for s in manifest["sample"]})
        draw_parts += [
            html.P(
                [
                    f"{standing['draw_id']} · {t('insp.seed', lang)} ",
                    html.Code(standing["seed"], id=ids.DRAW_SEED),
                    " · manifest SHA-256 ",
                    html.Code(standing["manifest_sha256"], id=ids.DRAW_MANIFEST_HASH),
                ]
            ),
            html.P(
                t("insp.sampled_assigned", lang).format(
                    sampled=len(manifest["sample"]), assignments=len(manifest["assignments"])
                ),
                id=ids.DRAW_SUMMARY,
                className="count",
            ),
            html.Div(
                className="row",
                children=[
                    html.Div(
                        className="half",
                        children=[
                            html.H3(t("insp.sampled_archives", lang)),
                            dag.AgGrid(
                                id=ids.DRAW_SAMPLE,
                                rowData=[
                                    {
                                        "office_code": s["office_code"],
                                        "office": names.get(s["office_code"], s["office_code"]),
                                        "case_no": s["case_no"],
                                        "stratum": stratum_words(s["stratum"], spec["strata"], names, lang),
                                    }
                                    for s in manifest["sample"]
                                ],
                                columnDefs=[
                                    {
                                        "field": "office_code",
                                        "headerName": t("case.office_code", lang),
                                        "minWidth": 100,
                                    },
                                    {"field": "office", "headerName": t("col.office", lang), "minWidth": 150},
                                    {"field": "case_no", "headerName": t("case.case_no", lang), "minWidth": 180},
                                    {"field": "stratum", "headerName": t("insp.stratum", lang), "minWidth": 200},
                                ],
                                defaultColDef={"sortable": True, "resizable": True, "filter": True},
                                dashGridOptions=grid_words(lang),
                                className="ag-theme-alpine",
                                columnSize="responsiveSizeToFit",
                                style={"height": "320px"},
                            ),
                        ],
                    ),
                    html.Div(
                        className="half",
                        children=[
                            html.H3(t("insp.inspector_assignments", lang)),
                            dag.AgGrid(
                                id=ids.DRAW_ASSIGNMENTS,
                                rowData=[
                                    {**a, "office": names.get(a["office_code"], a["office_code"])}
                                    for a in manifest["assignments"]
                                ],
                                columnDefs=[
                                    {
                                        "field": "office_code",
                                        "headerName": t("case.office_code", lang),
                                        "minWidth": 100,
                                    },
                                    {"field": "office", "headerName": t("col.office", lang), "minWidth": 150},
                                    {
                                        "field": "inspector_id",
                                        "headerName": t("insp.inspector_no", lang),
                                        "minWidth": 120,
                                    },
                                ],
                                defaultColDef={"sortable": True, "resizable": True, "filter": True},
                                dashGridOptions=grid_words(lang),
                                className="ag-theme-alpine",
                                columnSize="responsiveSizeToFit",
                                style={"height": "320px"},
                            ),
                        ],
                    ),
                ],
            ),
            html.Button(
                t("insp.download_manifest_json", lang),
                id=ids.DRAW_MANIFEST_BUTTON,
                n_clicks=0,
                className="button secondary",
            ),
            dcc.Download(id=ids.DRAW_MANIFEST_DOWNLOAD),
        ]
        if admin:
            published = bool(plan["published_at"])
            draw_parts.append(
                html.Div(
                    className="buttons",
                    children=[
                        dcc.Input(id=ids.DRAW_VOID_REASON, type="text", placeholder=t("insp.reason_voiding", lang)),
                        confirmed(
                            ids.DRAW_VOID_CONFIRM,
                            ids.DRAW_VOID_BUTTON,
                            t("insp.void_draw", lang),
                            t("insp.void_ask_published" if published else "insp.void_ask", lang),
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
                    html.Label(t("insp.seed_typed_before_witnesses", lang), htmlFor=ids.DRAW_SEED_INPUT),
                    dcc.Input(id=ids.DRAW_SEED_INPUT, type="text", autoComplete="off"),
                    confirmed(
                        ids.DRAW_CONFIRM,
                        ids.DRAW_BUTTON,
                        t("insp.draw", lang),
                        t("insp.archives_inspectors_are_drawn", lang),
                    ),
                ],
            )
        )
    elif not plan["locked_at"]:
        draw_parts.append(html.P(t("insp.lock_plan_before_drawing", lang), className="note"))
    parts.append(html.Section(className="card", children=draw_parts))
    if standing:
        parts.append(results_block(ops, store, plan_id, plan, lang, admin))
    parts.append(html.Div(id=ids.PLAN_ACTION_MESSAGE, role="status"))
    return html.Div(parts)


def _spec_summary(store: Store, plan_id: str, spec: dict, lang: str) -> html.Dl:
    """The plan's parameters in words: year, scope by name, strata, sample-size rule, inspectors."""
    try:
        with contextlib.closing(store.reader()) as con:
            found = con.execute(duck_sql("offices.name"), {"s": spec["scope"]}).fetchall()
    except StoreError:
        found = []
    scope = f"{found[0][0]}（{spec['scope']}）" if found else spec["scope"]
    rule, ins = spec["rule"], spec["inspectors"]
    if rule.get("kind") == "statistical":
        conf, tol, expect = (
            float(rule.get(k, d)) for k, d in (("confidence", 0.95), ("tolerable", 0.05), ("expected", 0.0))
        )
        size = t("insp.attribute_rule", lang).format(
            confidence=pct(conf, lang), tolerable=pct(tol, lang), expected=pct(expect, lang)
        )
    else:
        size = t("insp.ratio_rule", lang).format(
            ratio=pct(rule["ratio"], lang), least=rule["min_per_stratum"], most=rule["max_per_stratum"]
        )
    strata = ("、" if lang == "zh" else ", ").join(label(f"strata.{k}", k, lang) for k in spec["strata"])
    exclude = ("、" if lang == "zh" else ", ").join(label(f"exclude.{k}", k, lang) for k in ins.get("exclude", []))
    items = [
        (t("insp.plan_id", lang), plan_id),
        (t("insp.year", lang), str(spec["year"])),
        (t("insp.scope", lang), scope),
        (t("insp.population", lang), t("insp.archives_closed_in", lang).format(year=spec["year"])),
        (t("insp.strata", lang), strata),
        (t("insp.sample_size", lang), size),
        (
            t("insp.inspectors", lang),
            t("insp.inspectors_rule", lang).format(per_office=ins["per_office"], cap=ins["workload_cap"])
            + (t("insp.inspectors_never", lang).format(exclude=exclude) if exclude else ""),
        ),
        (t("insp.checklist", lang), _checklist_words(spec, lang)),
        (
            t("insp.pending_review", lang),
            t("insp.pending_excluded" if spec.get("exclude_pending_review", True) else "insp.pending_included", lang),
        ),
        (
            t("insp.due_days", lang),
            t("meth.working_days", lang).format(
                n=spec.get("rectification", {}).get("due_working_days", DEFAULT_DUE_WORKING_DAYS)
            ),
        ),
    ]
    return html.Dl(
        className="spec-summary",
        id=ids.PLAN_SPEC_SUMMARY,
        children=[x for k, v in items for x in (html.Dt(k), html.Dd(v))],
    )


def _checklist_words(spec: dict, lang: str) -> str:
    checklist = default_contract().checklist_of(spec.get("checklist"))
    return checklist.version + (f"（{checklist.title}）" if checklist.title else "")


def results_block(ops: OpStore, store: Store, plan_id: str, plan: dict, lang: str, admin: bool) -> html.Section:
    res = draw_results(ops, store, plan_id)

    def rate(o: dict) -> str:
        if not o["appraised"]:
            return "—"
        return f"{pct(o['unqualified_rate'], lang)} ({pct(o['interval'][0], lang)}–{pct(o['interval'][1], lang)})"

    def projected(o: dict) -> str:
        if o["projected_unqualified"] is None:
            return t("results.strata_unappraised", lang) if o.get("strata_unappraised") else "—"
        lo, hi = o["projected_interval"]
        return f"{num(o['projected_unqualified'], lang, 1)} ({num(lo, lang, 1)}–{num(hi, lang, 1)})"

    rows = [
        html.Tr(
            [
                html.Td(o["office_code"]),
                html.Td(o["name"]),
                html.Td(num(o["population"], lang), className="num"),
                html.Td(f"{o['appraised']}/{o['sampled']}", className="num"),
                html.Td(num(o["mean_score"], lang, 1), className="num"),
                html.Td(" / ".join(str(o["grades"].get(g["id"], 0)) for g in res["grades"]), className="num"),
                html.Td(rate(o), className="num"),
                html.Td(projected(o), className="num"),
            ]
        )
        for o in res["offices"]
    ]
    head = [
        "results.code",
        "results.office",
        "results.population",
        "results.appraised_sampled",
        "results.mean_score",
        "results.grades",
        "results.unqualified_ci",
        "results.projected_unqualified",
    ]
    missing = res["unappraised"]
    progress = html.P(
        t("insp.appraised_of_sampled", lang).format(
            appraised=res["appraised"], sampled=res["sampled"], missing=missing
        ),
        id=ids.PLAN_APPRAISAL_PROGRESS,
        className="count",
    )
    if plan["published_at"]:
        pub = ops.read(op_sql("publications.partial_reason"), (plan_id,))
        reason = pub[0]["partial_reason"] if pub else None
        action: list = [
            html.P(
                t("insp.published_on", lang).format(date=beijing_day(plan["published_at"]))
                + (t("insp.partial_reason_reason", lang).format(reason=reason) if reason else ""),
                id=ids.PLAN_PUBLISHED,
            )
        ]
    elif admin:
        action = [
            html.Div(
                className="buttons",
                children=[
                    dcc.Input(
                        id=ids.PLAN_PUBLISH_REASON,
                        type="text",
                        className="wide",  # present always: a callback state
                        style=None if missing else {"display": "none"},
                        placeholder=t("insp.why_publish_before_every", lang),
                    ),
                    confirmed(
                        ids.PLAN_PUBLISH_CONFIRM,
                        ids.PLAN_PUBLISH_BUTTON,
                        t("insp.publish_results", lang),
                        (t("insp.publish_partial", lang).format(missing=missing) if missing else "")
                        + t("insp.publish_ask", lang),
                    ),
                ],
            )
        ]
    else:
        action = []
    return html.Section(
        className="card",
        children=[
            html.H3(t("insp.results", lang)),
            progress,
            html.Table(
                className="ranking compact",
                id=ids.PLAN_RESULTS,
                children=[
                    html.Thead(
                        html.Tr(
                            [
                                # the grades of the plan's checklist, by their names there
                                html.Th(
                                    "/".join(g[lang] for g in res["grades"]) if h == "results.grades" else t(h, lang)
                                )
                                for h in head
                            ]
                        )
                    ),
                    html.Tbody(rows),
                ],
            ),
            items_lost_table(res["items_lost"]["scope"], lang) if res["appraised"] else None,
            *action,
        ],
    )


def items_lost_table(entries: list[dict], lang: str) -> html.Div:
    """Where the appraised archives lost points, the item that lost most first (issue 18)."""
    head = ("results.item", "results.points_lost", "results.with_loss", "results.share", "results.typical")
    return html.Div(
        [
            html.H4(t("results.items_lost", lang)),
            html.Table(
                className="ranking compact",
                id=ids.PLAN_ITEMS_LOST,
                children=[
                    html.Thead(html.Tr([html.Th(t(h, lang)) for h in head])),
                    html.Tbody(
                        [
                            html.Tr(
                                [
                                    html.Td(e["zh"] if lang == "zh" else e["en"]),
                                    html.Td(num(e["points"], lang, 1), className="num"),
                                    html.Td(f"{e['with_loss']} / {e['archives']}", className="num"),
                                    html.Td(pct(e["share"], lang), className="num"),
                                    html.Td(
                                        html.Ul(
                                            className="plain",
                                            children=[
                                                html.Li(
                                                    t("results.typical_line", lang).format(
                                                        note=n["note"],
                                                        archives=num(n["archives"], lang),
                                                        points=num(n["points"], lang, 1),
                                                    )
                                                )
                                                for n in e.get("typical") or []
                                            ],
                                        )
                                        if e.get("typical")
                                        else "—"
                                    ),
                                ]
                            )
                            for e in entries
                        ]
                    ),
                ],
            ),
        ]
    )
