"""The plan form of the inspection page: its fields, the TOML it makes and the population preview."""

from __future__ import annotations

import datetime as dt
import json

from dash import dcc, html

from access.opstore import OpStore
from dashboard import ids
from dashboard.i18n import beijing_day, num, t, when
from dashboard.widgets import dropdown, field, number_input, office_names, stratum_words
from ingest.contract import default_contract
from inspection.draw import stratum_sizes
from inspection.plans import (
    STRATA_COLUMNS,
    list_plans,
    parse_plan,
    population_items,
)
from queries.store import Store


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
    checklist=None,
) -> str:
    """The plan form as the TOML `ipdash plan create` reads (json.dumps writes valid TOML strings)."""
    lines = []
    if plan_id:
        lines.append(f"plan_id = {json.dumps(str(plan_id).strip())}")
    lines += [
        f"year = {int(year)}",
        f"scope = {json.dumps(str(scope or '').strip())}",
        f"strata = {json.dumps(list(strata or []))}",
        *([f"checklist = {json.dumps(str(checklist))}"] if checklist else []),
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
    items, pending = population_items(store, plan)
    sizes = stratum_sizes(items, plan["rule"])
    names = office_names(store, {i.office_code for i in items})
    return {
        "plan": plan,
        "names": names,
        "population": len(items),
        "excluded_pending_review": pending,
        "sample": sum(s["sample"] for s in sizes.values()),
        "strata": sizes,
    }


def plans_page(ops: OpStore, years: list[int], national_code: str, lang: str, admin: bool) -> html.Div:
    plans = list_plans(ops)
    rows = [
        html.Tr(
            [
                html.Td(dcc.Link(p["plan_id"], href=f"/inspection/{p['plan_id']}")),
                html.Td(p["spec"]["year"]),
                html.Td(p["spec"]["scope"]),
                html.Td(when(p["created_at"], lang)),
                html.Td((p["population_sha256"] or "")[:12] or t("insp.not_locked", lang), className="mono"),
                html.Td(", ".join(d["draw_id"] + (" ✕" if d["voided_at"] else "") for d in p["draws"]) or "—"),
                html.Td(beijing_day(p["published_at"]) if p["published_at"] else "—"),
            ]
        )
        for p in plans
    ]
    table = html.Table(
        className="ranking compact",
        id=ids.PLANS_TABLE,
        children=[
            html.Thead(
                html.Tr(
                    [
                        html.Th(t(f"plans.{k}", lang))
                        for k in ("plan", "year", "scope", "created", "population_sha", "draws", "published")
                    ]
                )
            ),
            html.Tbody(rows),
        ],
    )
    parts = [
        html.H2(t("insp.random_inspection_double_random", lang)),
        html.Section(
            className="card",
            children=[
                html.H3(t("insp.plans", lang)),
                table if rows else html.P(t("insp.no_plans_yet", lang)),
            ],
        ),
    ]
    if admin:
        default_year = years[-1] if years else dt.date.today().year - 1
        parts.append(
            html.Section(
                className="card plan-form",
                children=[
                    html.H3(t("insp.new_plan", lang)),
                    html.Div(
                        className="fields",
                        children=[
                            field(t("insp.plan_id_optional", lang), dcc.Input(id=ids.PLAN_ID, type="text")),
                            field(
                                t("insp.year", lang),
                                dropdown(
                                    lang,
                                    id=ids.PLAN_YEAR,
                                    value=default_year,
                                    clearable=False,
                                    options=[{"label": str(y), "value": y} for y in years],
                                ),
                            ),
                            field(
                                t("insp.scope_office_code", lang),
                                dcc.Input(id=ids.PLAN_SCOPE, type="text", value=national_code),
                            ),
                            field(
                                t("insp.strata", lang),
                                dcc.Checklist(
                                    id=ids.PLAN_STRATA,
                                    value=["office_code", "case_kind"],
                                    options=sorted(STRATA_COLUMNS),
                                    inline=True,
                                ),
                            ),
                            field(
                                t("insp.sample_size_rule", lang),
                                dcc.RadioItems(
                                    id=ids.PLAN_RULE,
                                    value="ratio",
                                    inline=True,
                                    options=[
                                        {"label": t("insp.ratio", lang), "value": "ratio"},
                                        {"label": t("insp.attribute_sampling", lang), "value": "statistical"},
                                    ],
                                ),
                            ),
                            field(t("insp.ratio", lang), number_input(ids.PLAN_RATIO, 0.05, min=0, max=1, step="any")),
                            field(t("insp.min_per_stratum", lang), number_input(ids.PLAN_MIN, 2, min=1, step=1)),
                            field(t("insp.max_per_stratum", lang), number_input(ids.PLAN_MAX, 20, min=1, step=1)),
                            field(
                                t("insp.confidence", lang),
                                number_input(ids.PLAN_CONFIDENCE, 0.95, min=0.5, max=0.999, step="any"),
                            ),
                            field(
                                t("insp.tolerable_rate", lang),
                                number_input(ids.PLAN_TOLERABLE, 0.05, min=0, max=0.5, step="any"),
                            ),
                            field(
                                t("insp.expected_rate", lang),
                                number_input(ids.PLAN_EXPECTED, 0.0, min=0, max=0.5, step="any"),
                            ),
                            field(
                                t("insp.inspectors_per_office", lang),
                                number_input(ids.PLAN_PER_OFFICE, 2, min=1, step=1),
                            ),
                            field(
                                t("insp.workload_cap_offices", lang),
                                number_input(ids.PLAN_CAP, 6, min=1, step=1),
                            ),
                            field(
                                t("insp.conflict_rules", lang),
                                dcc.Checklist(
                                    id=ids.PLAN_EXCLUDE,
                                    value=["own_office", "own_province"],
                                    inline=True,
                                    options=[
                                        {"label": t("insp.own_office", lang), "value": "own_office"},
                                        {"label": t("insp.own_province", lang), "value": "own_province"},
                                    ],
                                ),
                            ),
                            field(  # the checklist version the plan's archives are scored under
                                t("insp.checklist", lang),
                                dropdown(
                                    lang,
                                    id=ids.PLAN_CHECKLIST,
                                    clearable=False,
                                    value=default_contract().checklist.version,
                                    options=[
                                        {"label": v + (f"（{c.title}）" if c.title else ""), "value": v}
                                        for v, c in default_contract().checklists.items()
                                    ],
                                ),
                            ),
                        ],
                    ),
                    html.Div(
                        className="buttons",
                        children=[
                            html.Button(
                                t("insp.preview_population_sample", lang),
                                id=ids.PLAN_PREVIEW_BUTTON,
                                n_clicks=0,
                                className="button secondary",
                            ),
                            html.Button(
                                t("insp.create_plan", lang),
                                id=ids.PLAN_CREATE_BUTTON,
                                n_clicks=0,
                                className="button",
                            ),
                        ],
                    ),
                    html.Div(id=ids.PLAN_MESSAGE, role="status"),
                    html.Div(id=ids.PLAN_PREVIEW),
                ],
            )
        )
    return html.Div(parts)


def preview_block(got: dict, lang: str) -> html.Div:
    strata = sorted(got["strata"].items(), key=lambda kv: -kv[1]["population"])
    shown = strata[:40]
    return html.Div(
        id=ids.PLAN_PREVIEW_RESULT,
        children=[
            html.P(
                t("insp.population_preview", lang).format(
                    archives=got["population"],
                    pending=got["excluded_pending_review"],
                    strata=len(strata),
                    sample=got["sample"],
                ),
                className="count",
            ),
            html.Table(
                className="ranking compact",
                children=[
                    html.Thead(
                        html.Tr(
                            [
                                html.Th(t("insp.stratum", lang)),
                                html.Th(t("insp.population", lang)),
                                html.Th(t("insp.sample", lang)),
                            ]
                        )
                    ),
                    html.Tbody(
                        [
                            html.Tr(
                                [
                                    html.Td(stratum_words(k, got["plan"]["strata"], got.get("names", {}), lang)),
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
                        t("insp.more_strata", lang).format(strata=len(strata) - len(shown)),
                        className="note",
                    )
                ]
                if len(strata) > len(shown)
                else []
            ),
        ],
    )
