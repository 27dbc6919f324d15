"""Components of each page, built from the plain data of `dashboard.views` (no queries here)."""

from __future__ import annotations

import dash_ag_grid as dag
from dash import dcc, html

from dashboard import charts, ids
from dashboard.i18n import date, num, pct, signed, t
from dashboard.views import ENUM_COLUMNS
from ingest.contract import default_contract
from metrics.config import DIMENSIONS, Config


def denied(lang: str) -> html.Div:
    return html.Div(t("denied", lang), className="error", role="alert", id=ids.DENIED)


def breadcrumb(crumbs: list[dict], lang: str, *, last_linked: bool = False) -> html.Nav:
    items = []
    for k, c in enumerate(crumbs):
        label = c["name"] if c["level"] != "national" else t("level.national", lang) + " · " + c["name"]
        last = k == len(crumbs) - 1
        if c["linked"] and (not last or last_linked):
            items.append(dcc.Link(label, href=f"/place/{c['code']}", className="crumb"))
        else:
            items.append(html.Span(label, className="crumb current" if last else "crumb"))
        if not last:
            items.append(html.Span("›", className="sep"))
    return html.Nav(items, className="breadcrumb", id=ids.BREADCRUMB, **{"aria-label": "breadcrumb"})


def _tile(label: str, fig: dict, lang: str, *, kind: str = "num") -> html.Div:
    value, change = fig["value"], fig["change"]
    shown = pct(value, lang) if kind == "pct" else num(value, lang)
    delta = signed(change, 1, pct_points=True) if kind == "pct" else signed(change)
    cls = "delta" if change in (None, 0) else ("delta up" if change > 0 else "delta down")
    return html.Div(
        className="kpi",
        children=[
            html.Div(label, className="kpi-label"),
            html.Div(shown, className="kpi-value"),
            html.Div([html.Span(delta, className=cls), " ", t("h.vs_last_year", lang)], className="kpi-change"),
        ],
    )


def headline(fig: dict, lang: str) -> html.Div:
    return html.Div(
        className="kpis",
        id=ids.HEADLINE,
        children=[
            _tile(t(f"h.{k}", lang), fig[k], lang, kind="pct" if k == "on_time_rate" else "num")
            for k in ("accepted", "closed", "on_time_rate", "open_cases", "overdue", "appraised")
        ],
    )


def _interval_bar(interval: list[int] | None, rank: int | None, n: int) -> html.Div:
    if not interval or n < 1:
        return html.Div("—")
    lo, hi = interval
    scale = max(n - 1, 1)
    return html.Div(
        className="ibar-cell",
        children=[
            html.Div(
                className="ibar",
                title=f"{lo}–{hi}",
                children=[
                    html.Div(
                        className="ibar-span",
                        style={
                            "left": f"{(lo - 1) / scale * 100:.1f}%",
                            "width": f"{max((hi - lo) / scale * 100, 1.5):.1f}%",
                        },
                    ),
                    *(
                        [html.Div(className="ibar-dot", style={"left": f"{(rank - 1) / scale * 100:.1f}%"})]
                        if rank
                        else []
                    ),
                ],
            ),
            html.Span(f"{lo}–{hi}", className="ibar-text"),
        ],
    )


def _change(value: int | None) -> html.Span:
    if value is None:
        return html.Span("—", className="chg")
    if value == 0:
        return html.Span("＝", className="chg")
    return html.Span(("▲" if value > 0 else "▼") + str(abs(value)), className="chg up" if value > 0 else "chg down")


def ranking_table(rows: list[dict], lang: str, *, child_level: str | None) -> html.Table:
    n = len(rows)
    head = html.Tr(
        [
            html.Th(t("col.rank", lang)),
            html.Th(t("col.office", lang)),
            html.Th(t("col.composite", lang)),
            *[html.Th(t(f"dim.{d}", lang)) for d in DIMENSIONS],
            html.Th(t("col.interval", lang)),
            html.Th(t("col.change", lang)),
            html.Th(t("col.profile", lang)),
        ]
    )
    body = []
    for r in rows:
        code = r["office_code"]
        if not r["linked"]:
            name = html.Span(r["name"])
        elif child_level == "county":  # a county has no level below: its name opens the profile
            name = dcc.Link(r["name"], href=f"/office/{code}")
        else:
            name = dcc.Link(r["name"], href=f"/place/{code}")
        body.append(
            html.Tr(
                className="rank-row",
                **{"data-code": code},
                children=[
                    html.Td(r["rank"] if r["rank"] is not None else "—", className="num rank"),
                    html.Td([name, html.Span(code, className="code")]),
                    html.Td(num(r["composite"], lang, 1), className="num composite"),
                    *[html.Td(num((r["dimensions"] or {}).get(d), lang, 1), className="num") for d in DIMENSIONS],
                    html.Td(_interval_bar(r["rank_interval"], r["rank"], n)),
                    html.Td(_change(r["rank_change"]), className="num"),
                    html.Td(dcc.Link("›", href=f"/office/{code}", className="profile-link") if r["linked"] else ""),
                ],
            )
        )
    return html.Table([html.Thead(head), html.Tbody(body)], className="ranking", id=ids.RANKING)


def place_page(v: dict, lang: str, palette: str, map_key: str) -> html.Div:
    if v["denied"]:
        return denied(lang)
    parts: list = [breadcrumb(v["crumbs"], lang), html.H2(v["name"], id=ids.PLACE_TITLE)]
    if v["headline"]:
        parts.append(headline(v["headline"], lang))
    if v["child_level"]:
        title = f"{t('rank.title', lang)} · {t('level.' + v['child_level'], lang)}"
        note = [html.P(t("rank.peers_only", lang), className="note")] if v["access"] == "peers" else []
        parts.append(
            html.Section(
                className="card",
                children=[html.H3(title), *note, ranking_table(v["rows"], lang, child_level=v["child_level"])],
            )
        )
        charts_row = []
        if v["national"] and v["rows"]:
            charts_row.append(
                html.Div(
                    className="card half",
                    children=[
                        dcc.RadioItems(
                            id=ids.MAP_KEY,
                            value=map_key,
                            inline=True,
                            className="map-key",
                            options=[{"label": t("col.composite", lang), "value": "composite"}]
                            + [{"label": t(f"dim.{d}", lang), "value": d} for d in DIMENSIONS],
                        ),
                        dcc.Graph(
                            id=ids.TILE_MAP,
                            config={"displayModeBar": False},
                            figure=charts.tile_map(
                                v["rows"],
                                value_key=map_key,
                                lang=lang,
                                palette=palette,
                                title=t("col.composite" if map_key == "composite" else f"dim.{map_key}", lang),
                            ),
                        ),
                    ],
                )
            )
        if v["trend"]:
            charts_row.append(
                html.Div(
                    className="card half",
                    children=[
                        dcc.Graph(
                            id=ids.TREND,
                            config={"displayModeBar": False},
                            figure=charts.trend_box(v["trend"], lang=lang, palette=palette),
                        )
                    ],
                )
            )
        if charts_row:
            parts.append(html.Div(charts_row, className="row"))
    else:
        parts.append(dcc.Link(t("profile.title", lang), href=f"/office/{v['code']}"))
    return html.Div(parts)


def _ind_cell(e: dict, key: str, lang: str, kind: str) -> str:
    value = e.get(key)
    if value is None:
        return "—"
    if kind in ("ratio",) and key in ("value", "peer_median"):
        return pct(value, lang)
    whole = key in ("numerator", "denominator") or kind in ("count", "median")
    return num(value, lang, 0 if whole else 2)


def profile_page(v: dict, lang: str, palette: str) -> html.Div:
    if v["denied"]:
        return denied(lang)
    if v.get("national"):
        return html.Div(dcc.Link(v["name"], href=f"/place/{v['code']}"))
    head = [
        breadcrumb(v["crumbs"], lang, last_linked=v["level"] != "county"),
        html.H2(f"{v['name']} · {t('profile.title', lang)}", id=ids.PROFILE_TITLE),
    ]
    links = html.Div(
        className="links",
        children=[
            dcc.Link(t("profile.cases", lang), href=f"/cases?office={v['code']}"),
            dcc.Link(t("profile.monitor", lang), href=f"/monitor?office={v['code']}"),
        ],
    )
    if v.get("missing"):
        return html.Div([*head, html.P(t("not_ranked", lang)), links])
    o = v["office"]
    interval = o["rank_interval"]
    summary = html.Div(
        className="kpis",
        children=[
            html.Div(
                className="kpi",
                children=[
                    html.Div(t("col.composite", lang), className="kpi-label"),
                    html.Div(num(o["composite"], lang, 1), className="kpi-value", id=ids.PROFILE_COMPOSITE),
                ],
            ),
            html.Div(
                className="kpi",
                children=[
                    html.Div(t("col.rank", lang), className="kpi-label"),
                    html.Div(
                        str(o["rank"]) if o["rank"] is not None else "—", className="kpi-value", id=ids.PROFILE_RANK
                    ),
                    html.Div(f"/ {v['peers']}", className="kpi-change"),
                ],
            ),
            html.Div(
                className="kpi",
                children=[
                    html.Div(t("col.interval", lang), className="kpi-label"),
                    html.Div(
                        f"{interval[0]}–{interval[1]}" if interval else "—",
                        className="kpi-value",
                        id=ids.PROFILE_INTERVAL,
                    ),
                ],
            ),
            html.Div(
                className="kpi",
                children=[
                    html.Div(t("col.change", lang), className="kpi-label"),
                    html.Div(_change(o["rank_change"]), className="kpi-value"),
                ],
            ),
            *[
                html.Div(
                    className="kpi",
                    children=[
                        html.Div(t(f"dim.{d}", lang), className="kpi-label"),
                        html.Div(num(o["dimensions"][d], lang, 1), className="kpi-value", id=f"{ids.PROFILE_DIM}-{d}"),
                    ],
                )
                for d in DIMENSIONS
            ],
        ],
    )
    ind_rows = [
        html.Tr(
            className="insufficient" if e["status"] == "insufficient" else "",
            **{"data-id": e["id"]},
            children=[
                html.Td(e["id"]),
                html.Td(e[lang] if lang in ("zh", "en") else e["zh"]),
                html.Td(t(f"dim.{e['dimension']}", lang)),
                html.Td(
                    t("ind.insufficient", lang)
                    if e["status"] == "insufficient"
                    else _ind_cell(e, "value", lang, e["value_kind"]),
                    className="num",
                ),
                html.Td(_ind_cell(e, "numerator", lang, e["value_kind"]), className="num"),
                html.Td(_ind_cell(e, "denominator", lang, e["value_kind"]), className="num"),
                html.Td(_ind_cell(e, "peer_median", lang, e["value_kind"]), className="num"),
                html.Td(num(e["score"], lang, 1), className="num"),
            ],
        )
        for e in v["indicators"]
    ]
    indicators = html.Table(
        className="ranking indicators",
        id=ids.PROFILE_INDICATORS,
        children=[
            html.Thead(
                html.Tr(
                    [
                        html.Th(t(k, lang))
                        for k in (
                            "ind.id",
                            "ind.name",
                            "ind.dimension",
                            "ind.value",
                            "ind.num",
                            "ind.den",
                            "ind.median",
                            "ind.score",
                        )
                    ]
                )
            ),
            html.Tbody(ind_rows),
        ],
    )
    sens = v["sensitivity"]
    sens_rows = [
        html.Tr([html.Td(f"{t('sens.without', lang)} {k}"), html.Td(r if r is not None else "—", className="num")])
        for k, r in sens["without"].items()
    ]
    sens_rows += [
        html.Tr(
            [
                html.Td(f"{t('sens.method', lang)}: {t('method.' + m, lang)}"),
                html.Td(r if r is not None else "—", className="num"),
            ]
        )
        for m, r in sens["methods"].items()
    ]
    sig = v["signals"]
    sig_rows = [
        html.Tr(
            [
                html.Td(t(f"sig.{s}", lang)),
                html.Td(_sig(sig.get(s), s, lang), className="num"),
                html.Td(_sig(sig.get(f"{s}_peer_median"), s, lang), className="num"),
            ]
        )
        for s in ("acceptance_gap_days", "extension_rate", "late_withdrawal_rate", "deadline_bunching_rate")
    ]
    sig_rows.append(
        html.Tr(
            [
                html.Td(t("sig.disposition_days", lang)),
                html.Td(num(sig.get("disposition_days"), lang, 0), className="num"),
                html.Td(""),
            ]
        )
    )
    insp = [
        html.Tr(
            [
                html.Td(r["year"]),
                html.Td(num(r["appraised"], lang), className="num"),
                html.Td(num(r["unqualified"], lang), className="num"),
                html.Td(
                    f"{pct(r['unqualified_rate'], lang)} ({pct(r['ci_low'], lang)}–{pct(r['ci_high'], lang)})",
                    className="num",
                ),
            ]
        )
        for r in v["inspections"]
    ]
    return html.Div(
        [
            *head,
            links,
            summary,
            html.Section(className="card", children=[html.H3(t("profile.indicators", lang)), indicators]),
            html.Div(
                className="row",
                children=[
                    html.Div(
                        className="card half",
                        children=[
                            dcc.Graph(
                                figure=charts.dimension_bars(o, v["dimension_median"], lang=lang, palette=palette),
                                config={"displayModeBar": False},
                            )
                        ],
                    ),
                    html.Div(
                        className="card half",
                        children=[
                            dcc.Graph(
                                figure=charts.trend_line(v["trend"], lang=lang, palette=palette),
                                config={"displayModeBar": False},
                            )
                        ],
                    ),
                ],
            ),
            html.Div(
                className="row",
                children=[
                    html.Section(
                        className="card half",
                        children=[
                            html.H3(t("profile.sensitivity", lang)),
                            html.P(f"{t('col.rank', lang)} {sens['rank']} / {sens['peers']}", className="note"),
                            html.Table(html.Tbody(sens_rows), className="ranking compact", id=ids.PROFILE_SENSITIVITY),
                        ],
                    ),
                    html.Section(
                        className="card half",
                        children=[
                            html.H3(t("profile.signals", lang)),
                            html.Table(
                                [
                                    html.Thead(
                                        html.Tr([html.Th(""), html.Th(v["name"]), html.Th(t("ind.median", lang))])
                                    ),
                                    html.Tbody(sig_rows),
                                ],
                                className="ranking compact",
                            ),
                            html.H3(t("profile.inspections", lang)),
                            html.Table(
                                [
                                    html.Thead(
                                        html.Tr(
                                            [
                                                html.Th(t(k, lang))
                                                for k in (
                                                    "insp.year",
                                                    "insp.appraised",
                                                    "insp.unqualified",
                                                    "insp.rate",
                                                )
                                            ]
                                        )
                                    ),
                                    html.Tbody(insp),
                                ],
                                className="ranking compact",
                            )
                            if insp
                            else html.P(t("none", lang)),
                        ],
                    ),
                ],
            ),
        ]
    )


def _sig(value, key: str, lang: str) -> str:
    if value is None:
        return "—"
    return num(value, lang, 1) if key.endswith("days") else pct(value, lang)


MONITOR_SHOWN = 500  # rows sent to the browser; the CSV export has them all
MONITOR_COLUMNS = [
    "office_code",
    "case_no",
    "case_kind",
    "accepted_date",
    "deadline",
    "days_left",
    "age_days",
    "limit_used",
    "status",
]


def monitor_page(v: dict, lang: str, palette: str, status: str | None) -> html.Div:
    if v["denied"]:
        return denied(lang)
    counts = v["counts"]
    frame = v["cases"]
    if status:
        frame = frame.filter(frame["status"] == status)
    rows = frame.head(MONITOR_SHOWN).to_dicts()
    for r in rows:
        for k in ("accepted_date", "deadline", "received_date"):
            if r.get(k) is not None:
                r[k] = r[k].isoformat()
        r["status_label"] = t(f"status.{r['status']}", lang)
        r["case_kind"] = default_contract().label("case_kind", r["case_kind"], lang)
        r["limit_used"] = None if r["limit_used"] is None else round(r["limit_used"] * 100, 1)
    header = {
        "office_code": "case.office_code",
        "case_no": "case.case_no",
        "case_kind": "case.case_kind",
        "accepted_date": "case.accepted_date",
        "deadline": "mon.deadline",
        "days_left": "mon.days_left",
        "age_days": "mon.age",
        "limit_used": "mon.limit_used",
        "status_label": "mon.status",
    }
    grid = dag.AgGrid(
        id=ids.MONITOR_GRID,
        rowData=rows,
        columnDefs=[
            {
                "field": c,
                "headerName": t(h, lang),
                **({"cellRenderer": "markdown", "minWidth": 210} if c == "case_no" else {}),
                **({"minWidth": 100} if c == "office_code" else {}),  # six digits, never cut
                **({"minWidth": 160} if c == "case_kind" else {}),  # "Infringement dispute" whole
                **({"type": "numericColumn"} if c in ("days_left", "age_days", "limit_used") else {}),
                **(
                    {"valueFormatter": {"function": "params.value == null ? '' : params.value + '%'"}}
                    if c == "limit_used"
                    else {}
                ),
            }
            for c, h in header.items()
        ],
        defaultColDef={"sortable": True, "resizable": True, "filter": True},
        columnSize="responsiveSizeToFit",
        className="ag-theme-alpine",
        rowClassRules={
            "row-overdue": "params.data.status == 'overdue'",
            "row-warning": "params.data.status == 'warning'",
        },
        dashGridOptions={"pagination": True, "paginationPageSize": 25},
        style={"height": "560px"},
        csvExportParams={"fileName": f"open-cases-{v['code']}.csv"},
    )
    for r in rows:
        r["case_no"] = f"[{r['case_no']}](/case/{r['office_code']}/{r['case_no']})"
    tiles = html.Div(
        className="kpis",
        id=ids.MONITOR_COUNTS,
        children=[
            html.Div(
                className=f"kpi status-{s}",
                children=[
                    html.Div(t(f"mon.{s}", lang), className="kpi-label"),
                    html.Div(num(counts.get(s, 0), lang), className="kpi-value"),
                ],
            )
            for s in ("overdue", "warning", "ok", "no_limit")
        ]
        + [
            html.Div(
                className="kpi",
                children=[
                    html.Div(t("mon.backlog", lang), className="kpi-label"),
                    html.Div(num(v["backlog"]["backlog"], lang), className="kpi-value"),
                    html.Div(
                        f"{t('mon.oldest', lang)} {num(v['backlog']['oldest_days'], lang)}", className="kpi-change"
                    ),
                ],
            )
        ],
    )
    return html.Div(
        [
            html.H2(f"{t('mon.title', lang)} · {v['name']}", id=ids.MONITOR_TITLE),
            tiles,
            html.P(t("mon.shown", lang).format(shown=len(rows), total=frame.height), className="note"),
            html.Div(
                className="row",
                children=[
                    html.Div(
                        className="card half",
                        children=[
                            dcc.Graph(
                                figure=charts.age_profile(v["ages"], v["age_bins"], lang=lang, palette=palette),
                                config={"displayModeBar": False},
                            )
                        ],
                    ),
                    html.Div(
                        className="card half",
                        children=[
                            html.Label(t("mon.filter", lang), htmlFor=ids.MONITOR_STATUS),
                            dcc.Dropdown(
                                id=ids.MONITOR_STATUS,
                                value=status or "",
                                clearable=False,
                                options=[{"label": t("mon.all", lang), "value": ""}]
                                + [
                                    {"label": t(f"mon.{s}", lang), "value": s}
                                    for s in ("overdue", "warning", "ok", "no_limit")
                                ],
                            ),
                            html.Button(t("mon.export", lang), id=ids.MONITOR_EXPORT, n_clicks=0, className="button"),
                        ],
                    ),
                ],
            ),
            grid,
        ]
    )


def cases_page(lang: str, office: str | None) -> html.Div:
    cols = [
        "office_code",
        "office_name",
        "case_no",
        "case_kind",
        "source",
        "received_date",
        "accepted_date",
        "closed_date",
        "closing_type",
        "review_outcome",
    ]
    return html.Div(
        [
            html.H2(t("nav.cases", lang) + (f" · {office}" if office else "")),
            dcc.Store(id=ids.CASES_OFFICE, data=office),
            html.P([html.Span(id=ids.CASES_TOTAL, className="count"), " ", t("case.total", lang)], className="note"),
            dag.AgGrid(
                id=ids.CASES_GRID,
                rowModelType="infinite",
                columnDefs=[
                    {
                        "field": c,
                        "headerName": t(f"case.{c}", lang),
                        "filter": "agDateColumnFilter" if c.endswith("_date") else "agTextColumnFilter",
                        "filterParams": {"buttons": ["apply", "reset"], "maxNumConditions": 1},
                        **({"cellRenderer": "markdown", "minWidth": 210} if c == "case_no" else {}),
                        **({"minWidth": 150} if c == "office_name" else {}),
                        **({"minWidth": 100} if c == "office_code" else {}),
                        **({"minWidth": 160} if c == "case_kind" else {}),
                    }
                    for c in cols
                ],
                defaultColDef={"sortable": True, "resizable": True},
                dashGridOptions={
                    "cacheBlockSize": 100,
                    "maxBlocksInCache": 10,
                    "rowBuffer": 0,
                    "infiniteInitialRowCount": 1,
                    "pagination": True,
                    "paginationPageSize": 100,
                },
                columnSize="responsiveSizeToFit",
                className="ag-theme-alpine",
                style={"height": "640px"},
            ),
        ]
    )


def case_page(c: dict | None, lang: str, palette: str) -> html.Div:
    if c is None:
        return html.Div(t("case.not_found", lang), className="error", role="alert", id=ids.DENIED)
    fields = [
        "office_code",
        "case_no",
        "case_kind",
        "source",
        "received_date",
        "acceptance_due",
        "accepted_date",
        "suspended_days",
        "extension_days",
        "deadline",
        "closed_date",
        "closing_type",
        "review_outcome",
        "status",
        "grade",
        "appraisal_total",
    ]

    def shown(k):
        v = c.get(k)
        if k == "status":
            return t(f"status.{v}", lang)
        if k in ENUM_COLUMNS:
            return "—" if v is None else default_contract().label(ENUM_COLUMNS[k], v, lang)
        if k.endswith("_date") or k in ("deadline", "acceptance_due"):
            return date(v, lang)
        return "—" if v is None else str(v)

    return html.Div(
        [
            *([breadcrumb(c["crumbs"], lang, last_linked=True)] if c.get("crumbs") else []),
            html.H2(
                f"{t('case.title', lang)} {c['case_no']} · {c.get('office_name') or c['office_code']}",
                id=ids.CASE_TITLE,
            ),
            html.Div(
                className="card",
                children=[
                    dcc.Graph(figure=charts.timeline(c, lang=lang, palette=palette), config={"displayModeBar": False})
                ],
            ),
            html.Table(
                className="ranking compact details",
                id=ids.CASE_FIELDS,
                children=html.Tbody(
                    [html.Tr([html.Th(t(f"case.{k}", lang)), html.Td(shown(k), **{"data-field": k})]) for k in fields]
                ),
            ),
        ]
    )


def methodology_page(config: Config, meta: dict, lang: str) -> html.Div:
    m = config.methodology()
    inds = html.Table(
        className="ranking compact",
        children=[
            html.Thead(
                html.Tr(
                    [
                        html.Th(t(k, lang))
                        for k in ("ind.id", "ind.name", "ind.dimension", "ind.direction", "ind.weight", "ind.formula")
                    ]
                )
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(i.id),
                            html.Td(getattr(i, lang)),
                            html.Td(t(f"dim.{i.dimension}", lang)),
                            html.Td(t(f"dir.{i.direction}", lang)),
                            html.Td(num(i.weight, lang, 1)),
                            html.Td(html.Code(_formula(i))),
                        ]
                    )
                    for i in config.indicators
                ]
            ),
        ],
    )
    rules = html.Table(
        className="ranking compact",
        children=[
            html.Thead(html.Tr([html.Th(t(f"rule.{h}", lang)) for h in RULE_COLUMNS])),
            html.Tbody([html.Tr([html.Td(r[k]) for k in RULE_COLUMNS]) for r in _rule_rows(config)]),
        ],
    )
    sc = config.scoring
    return html.Div(
        id=ids.METHODOLOGY,
        children=[
            html.H2(t("meth.title", lang)),
            html.P(
                f"{t('meth.data', lang)}: {meta.get('published_at', '—')} · data_version {meta.get('data_version', '—')}"
            ),
            html.P(
                f"{t('meth.versions', lang)}: indicators {m['indicators_version']}, time limits "
                f"{m['time_limits_version']}, scoring {m['scoring_version']}"
            ),
            html.H3(t("meth.scoring", lang)),
            html.P(
                f"{t('ctl.method', lang)}: {t('method.' + sc.method, lang)}; "
                + "; ".join(f"{t('dim.' + d, lang)} {w:g}" for d, w in sc.dimension_weights.items())
            ),
            html.P(
                f"{t('meth.peer_groups', lang)}: "
                + "; ".join(f"{t('level.' + k, lang)} → {v}" for k, v in sc.peer_groups.items())
            ),
            html.P(
                f"{t('meth.mc', lang)}: {sc.monte_carlo.runs} runs, seed {sc.monte_carlo.seed}, Dirichlet "
                f"concentration {sc.monte_carlo.concentration:g}, methods {', '.join(sc.monte_carlo.methods)}, "
                f"interval {sc.monte_carlo.interval[0]:g}–{sc.monte_carlo.interval[1]:g} percentiles"
            ),
            html.H3(t("profile.indicators", lang)),
            inds,
            html.H3(t("meth.rules", lang)),
            rules,
        ],
    )


def _formula(i) -> str:
    if i.value == "count":
        return i.numerator
    if i.value == "per_staff":
        return f"{i.numerator} / certified_staff"
    if i.value == "median":
        return i.numerator
    if i.value == "shrunk_mean":
        return f"({i.numerator} + {i.shrinkage:g}·national_mean) / ({i.denominator} + {i.shrinkage:g})"
    return f"{i.numerator} / {i.denominator}"


RULE_COLUMNS = ("case_kind", "start", "limit", "extension", "acceptance")


def _rule_rows(config: Config) -> list[dict]:
    return [
        {
            "case_kind": r.case_kind,
            "start": r.start.isoformat(),
            "limit": r.limit.label(),
            "extension": r.max_extension.label(),
            "acceptance": f"{r.acceptance_working_days} working days" if r.acceptance_working_days is not None else "—",
        }
        for r in config.time_limits.rules
    ]
