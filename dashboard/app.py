"""The Dash application factory.

Dash resolves `assets_folder` relative to the module that creates the app, so the top-level
`assets/` directory is passed as an absolute path. Callbacks stay thin: they parse inputs, call a
data function in `dashboard.data` and build components.
"""

from __future__ import annotations

from pathlib import Path

import dash
import dash_ag_grid as dag
from dash import Input, Output, dcc, html

from dashboard import data, ids

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"

COLUMNS = [
    ("office_code", "机构代码 Code"),
    ("name", "机构 Office"),
    ("offices", "下属机构数 Offices in subtree"),
    ("accepted", "立案 Accepted"),
    ("closed", "结案 Closed"),
    ("open_at_year_end", "年末未结 Open at year end"),
]


def _layout(db: str) -> html.Div:
    years = data.years(db)
    latest = years[-1] if years else None
    return html.Div(className="page", children=[
        html.Header(className="masthead", children=[
            html.H1("专利行政执法绩效评估与监督 · Patent enforcement assessment and supervision"),
            html.P(data.banner(db), className="banner", id=ids.BANNER),
        ]),
        html.Section(className="controls", children=[
            html.Label("年度 Year", htmlFor=ids.YEAR),
            dcc.Dropdown(id=ids.YEAR, options=[{"label": str(y), "value": y} for y in years],
                         value=latest, clearable=False, style={"width": "10rem"}),
        ]),
        html.Section(children=[
            html.H2("全国各省级机构案件量 · Cases by provincial office"),
            html.P(id=ids.TOTALS, className="totals"),
            dag.AgGrid(
                id=ids.PROVINCE_TABLE,
                columnDefs=[{"field": c, "headerName": n,
                             **({"type": "numericColumn", "valueFormatter": {"function": "d3.format(',')(params.value)"}}
                                if c not in ("office_code", "name") else {})}
                            for c, n in COLUMNS],
                defaultColDef={"sortable": True, "resizable": True, "filter": True},
                columnSize="responsiveSizeToFit", dashGridOptions={"domLayout": "autoHeight"},
                className="ag-theme-alpine",
            ),
        ]),
    ])


def create_app(*, db: str) -> dash.Dash:
    """Build the dashboard for the store at `db`.

    Args:
        db: path of the published DuckDB file; every request reads it read-only.
    Returns:
        the configured Dash app (its Flask server is `app.server`).
    """
    app = dash.Dash(__name__, assets_folder=str(ASSETS), title="ipdash", use_pages=False)
    app.layout = lambda: _layout(db)

    @app.callback(Output(ids.PROVINCE_TABLE, "rowData"), Output(ids.TOTALS, "children"), Input(ids.YEAR, "value"))
    def _fill(year: int | None):
        if year is None:
            return [], "无数据 No data"
        frame = data.province_counts(db, int(year))
        totals = frame.select("accepted", "closed", "open_at_year_end").sum().row(0)
        text = (f"{year}年 全国立案 {totals[0]:,} 件，结案 {totals[1]:,} 件，年末未结 {totals[2]:,} 件 · "
                f"{year}: {totals[0]:,} accepted, {totals[1]:,} closed, {totals[2]:,} open at year end")
        return frame.to_dicts(), text

    return app
