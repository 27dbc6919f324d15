"""The case explorer: a server-side grid over the cases of the user's scope."""

from __future__ import annotations

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, dcc, html, no_update

from dashboard import case_views, ids, inputs
from dashboard.context import Context, Request
from dashboard.i18n import t
from dashboard.page import Page
from dashboard.widgets import case_href, download, grid_words
from ingest.contract import default_contract


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
            html.Div(
                className="buttons",
                children=[
                    html.Button(t("table.xlsx", lang), id=ids.CASES_EXPORT_XLSX, n_clicks=0, className="button"),
                    html.Button(t("table.csv", lang), id=ids.CASES_EXPORT_CSV, n_clicks=0, className="button"),
                    html.Span(id=ids.CASES_EXPORT_NOTE, className="error", role="status"),
                    dcc.Download(id=ids.CASES_DOWNLOAD),
                ],
            ),
            dag.AgGrid(
                id=ids.CASES_GRID,
                rowModelType="infinite",
                columnDefs=[
                    {
                        "field": c,
                        "headerName": t(f"case.{c}", lang),
                        "filter": "agDateColumnFilter" if c.endswith("_date") else "agTextColumnFilter",
                        "filterParams": {"buttons": ["apply", "reset"], "maxNumConditions": 1},
                        **({"cellRenderer": "CaseLink", "minWidth": 210} if c == "case_no" else {}),
                        **({"minWidth": 150} if c == "office_name" else {}),
                        **({"minWidth": 130} if c == "office_code" else {}),
                        **({"minWidth": 160} if c == "case_kind" else {}),
                        # whole dates and words: the grid scrolls sideways on a narrow screen rather
                        # than cutting "2024-11-05" to "2024-1…"
                        **({"minWidth": 125} if c.endswith("_date") else {}),
                        **({"minWidth": 130} if c in ("source", "closing_type", "review_outcome") else {}),
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
                    **grid_words(lang),
                },
                columnSize="responsiveSizeToFit",
                className="ag-theme-alpine",
                style={"height": "640px"},
            ),
        ]
    )


def render(req: Request) -> html.Div:
    return cases_page(req.lang, req.arg("office"))


PAGES = [Page("/cases", "cases", render, nav="nav.cases", order=30)]


def callbacks(app, ctx: Context) -> None:
    @app.callback(
        Output(ids.CASES_GRID, "getRowsResponse"),
        Output(ids.CASES_TOTAL, "children"),
        Input(ids.CASES_GRID, "getRowsRequest"),
        State(ids.CASES_OFFICE, "data"),
        State(ids.LANG, "value"),
        State(ids.YEAR, "value"),
    )
    def _cases(request, office, lang, year=None):
        if not request:
            return no_update, no_update
        try:
            got = case_views.cases_page(ctx.viewer(), request, office=office, year=year)
        except case_views.BadRequest as exc:
            return {"rowData": [], "rowCount": 0}, str(exc)
        contract = default_contract()
        for r in got["rowData"]:
            r["case_href"] = case_href(r["office_code"], r["case_no"])
            for col, enum in case_views.ENUM_COLUMNS.items():  # shown by name; the filters match names too
                r[col] = contract.label(enum, r[col], lang or "zh")
        return got, f"{got['rowCount']:,}"

    @app.callback(
        Output(ids.CASES_DOWNLOAD, "data"),
        Output(ids.CASES_EXPORT_NOTE, "children"),
        Input(ids.CASES_EXPORT_XLSX, "n_clicks"),
        Input(ids.CASES_EXPORT_CSV, "n_clicks"),
        State(ids.CASES_GRID, "getRowsRequest"),
        State(ids.CASES_OFFICE, "data"),
        State(ids.LANG, "value"),
        State(ids.YEAR, "value"),
        prevent_initial_call=True,
    )
    def _cases_export(xlsx_clicks, csv_clicks, request, office, lang, year):
        """Every case the grid's filters select, all pages, as an Excel workbook or CSV."""
        excel = dash.ctx.triggered_id == ids.CASES_EXPORT_XLSX
        if not (xlsx_clicks if excel else csv_clicks):
            return no_update, no_update
        try:
            got = case_views.cases_export(
                ctx.viewer(), request, office=office, year=year, lang=inputs.language(lang), excel=excel
            )
        except case_views.BadRequest as exc:
            return no_update, str(exc)
        if got is None:
            return no_update, no_update
        if isinstance(got, str):
            return no_update, got
        return download(*got), ""
