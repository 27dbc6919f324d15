"""Monitoring of open cases against their legal time limits, with the CSV export."""

from __future__ import annotations

import json

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, dcc, html, no_update

from dashboard import case_views, charts, ids, inputs, views
from dashboard.context import Context, Request, first, parse_controls, query_of
from dashboard.followup import overdue_panel
from dashboard.i18n import num, t
from dashboard.page import Page
from dashboard.view_types import Denied, Monitor
from dashboard.widgets import case_href, denied, download, dropdown, grid_words
from ingest.contract import default_contract

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


MIN_WIDTHS = {"accepted_date": 125, "deadline": 125, "days_left": 175, "age_days": 110, "limit_used": 140}


def monitor_page(v: Monitor | Denied, lang: str, palette: str, status: str | None) -> html.Div:
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
        r["office_name"] = v["names"].get(r["office_code"], r["office_code"])
        r["status_label"] = t(f"status.{r['status']}", lang)
        r["case_kind"] = default_contract().label("case_kind", r["case_kind"], lang)
        r["limit_used"] = None if r["limit_used"] is None else round(r["limit_used"] * 100, 1)
    header = {
        "office_code": "case.office_code",
        "office_name": "case.office_name",
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
                **({"cellRenderer": "CaseLink", "minWidth": 210} if c == "case_no" else {}),
                **({"minWidth": 130} if c == "office_code" else {}),  # six digits and the header, never cut
                **({"minWidth": 150} if c == "office_name" else {}),
                # whole dates, "超期 1793 天" / "Overdue by 1793 days" and "past the limit" uncut:
                # the grid scrolls sideways on a narrow screen instead
                **({"minWidth": MIN_WIDTHS[c]} if c in MIN_WIDTHS else {}),
                **({"minWidth": 160} if c == "case_kind" else {}),  # "Infringement dispute" whole
                **({"type": "numericColumn"} if c in ("days_left", "age_days", "limit_used") else {}),
                # past 100%: the case is overdue, said as such
                **(
                    {
                        "valueFormatter": {
                            "function": "params.value == null ? '' : (params.value > 100 ? "
                            + json.dumps(t("mon.past_limit", lang))
                            + " : params.value + '%')"
                        }
                    }
                    if c == "limit_used"
                    else {}
                ),
                # a negative number of days left reads "超期 N 天"; the column still sorts by number
                **(
                    {
                        "valueFormatter": {
                            "function": "params.value == null ? '' : (params.value < 0 ? "
                            + json.dumps(t("mon.overdue_by", lang))
                            + ".replace('{n}', -params.value) : "
                            + json.dumps(t("mon.days_n", lang))
                            + ".replace('{n}', params.value))"
                        }
                    }
                    if c == "days_left"
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
        dashGridOptions={
            "pagination": True,
            "paginationPageSize": 25,
            "paginationPageSizeSelector": [25, 50, 100],  # the page size shown is one it offers
            **grid_words(lang),
        },
        style={"height": "560px"},
        csvExportParams={"fileName": f"open-cases-{v['code']}.csv"},
    )
    for r in rows:
        r["case_href"] = case_href(r["office_code"], r["case_no"])
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
                                config=charts.graph_config(lang),
                            )
                        ],
                    ),
                    html.Div(
                        className="card half",
                        children=[
                            html.Label(t("mon.filter", lang), htmlFor=ids.MONITOR_STATUS),
                            dropdown(
                                lang,
                                id=ids.MONITOR_STATUS,
                                value=status or "",
                                clearable=False,
                                options=[{"label": t("mon.all", lang), "value": ""}]
                                + [
                                    {"label": t(f"mon.{s}", lang), "value": s}
                                    for s in ("overdue", "warning", "ok", "no_limit")
                                ],
                            ),
                            html.Div(
                                className="buttons",
                                children=[
                                    html.Button(
                                        t("table.xlsx", lang),
                                        id=ids.MONITOR_EXPORT_XLSX,
                                        n_clicks=0,
                                        className="button",
                                    ),
                                    html.Button(
                                        t("mon.export", lang), id=ids.MONITOR_EXPORT, n_clicks=0, className="button"
                                    ),
                                ],
                            ),
                        ],
                    ),
                ],
            ),
            grid,
        ]
    )


STATUSES = ("overdue", "warning", "ok", "no_limit")


def render(req: Request) -> html.Div:
    status = req.arg("status")
    status = status if status in STATUSES else None
    code = req.arg("office") or views.home(req.viewer)
    page = req.ctx.cached_page(
        req,
        "monitor",
        code,
        lambda: monitor_page(case_views.monitor(req.viewer, req.controls, code), req.lang, req.palette, status),
        extra=status,
    )
    return html.Div([page, overdue_panel(req.viewer, code, req.controls.as_of_date, req.lang)])


PAGES = [Page("/monitor", "monitor", render, nav="nav.monitor", order=20)]


def callbacks(app, ctx: Context) -> None:
    @app.callback(
        Output(ids.URL, "search"),
        Input(ids.MONITOR_STATUS, "value"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    def _monitor_filter(status, search):
        query = query_of(search)
        office = first(query, "office")
        parts = [f"office={office}"] if office else []
        if status:
            parts.append(f"status={status}")
        return "?" + "&".join(parts) if parts else ""

    @app.callback(
        Output(ids.MONITOR_DOWNLOAD, "data"),
        Input(ids.MONITOR_EXPORT, "n_clicks"),
        Input(ids.MONITOR_EXPORT_XLSX, "n_clicks"),
        State(ids.URL, "search"),
        State(ids.YEAR, "value"),
        State(ids.AS_OF, "date"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _monitor_export(clicks, xlsx_clicks, search, year, as_of, lang):
        """The open cases as CSV or, from the Excel button, as a workbook."""
        excel = dash.ctx.triggered_id == ids.MONITOR_EXPORT_XLSX
        if not (xlsx_clicks if excel else clicks):
            return no_update
        query = query_of(search)
        controls = parse_controls(year, as_of, None, None, None, ctx.config)
        got = case_views.monitor_export(
            ctx.viewer(),
            controls,
            office=first(query, "office"),
            status=first(query, "status"),
            lang=inputs.language(lang),
            excel=excel,
        )
        if got is None:
            return no_update
        return download(*got)
