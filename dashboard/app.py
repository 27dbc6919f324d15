"""The Dash application factory.

Dash resolves `assets_folder` relative to the module that creates the app, so the top-level
`assets/` directory is passed as an absolute path. Callbacks stay thin: they parse inputs, call a
data function in `dashboard.data` with the current user's scoped query runner and build components.
"""

from __future__ import annotations

from pathlib import Path

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, dcc, html, no_update
from flask import has_request_context
from flask_login import current_user

from access import audit
from access.opstore import OpStore, default_path
from dashboard import data, ids
from dashboard.audit_page import init_audit_page
from dashboard.public_page import init_public_page
from dashboard.auth import init_auth, role_label
from dashboard.report_jobs import ReportJobs
from inspection.plans import archives_of_inspector
from metrics.config import default_config
from queries.runner import QueryRunner
from queries.scope import Scope
from queries.store import Store

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
NO_SCOPE = "-"   # inspectors see only their assigned archives; none are assigned before draws exist

COLUMNS = [
    ("office_code", "机构代码 Code"),
    ("name", "机构 Office"),
    ("offices", "下属机构数 Offices in subtree"),
    ("accepted", "立案 Accepted"),
    ("closed", "结案 Closed"),
    ("open_at_year_end", "年末未结 Open at year end"),
]


def _grid(grid_id: str, columns: list[tuple[str, str]]) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        columnDefs=[{"field": c, "headerName": n,
                     **({"type": "numericColumn", "valueFormatter": {"function": "d3.format(',')(params.value)"}}
                        if c not in ("office_code", "name", "level") else {})}
                    for c, n in columns],
        defaultColDef={"sortable": True, "resizable": True, "filter": True},
        columnSize="responsiveSizeToFit", dashGridOptions={"domLayout": "autoHeight"},
        className="ag-theme-alpine",
    )


def create_app(*, db: str, ops_path: str | None = None) -> dash.Dash:
    """Build the dashboard for the store at `db`.

    Args:
        db: path of the published DuckDB file; every request reads it read-only.
        ops_path: the operational SQLite store (users, audit log); default beside `db`.
    Returns:
        the configured Dash app (its Flask server is `app.server`).
    """
    store = Store(db)
    ops = OpStore(ops_path or default_path(db))
    app = dash.Dash(__name__, assets_folder=str(ASSETS), title="ipdash", use_pages=False,
                    suppress_callback_exceptions=True)
    init_auth(app.server, ops)
    init_audit_page(app.server, ops)
    init_public_page(app.server, ops)
    jobs = ReportJobs(store, ops, default_config())

    def runner() -> QueryRunner:
        """The current user's scoped runner (the guard guarantees a logged-in user)."""
        user = current_user.user
        if user.role == "inspector":   # only the archives assigned to them in standing draws
            return QueryRunner(store, Scope(None, archives_only=True), actor=user.username,
                               archives=archives_of_inspector(ops, user.scope_code or ""))
        scope = Scope(None) if user.national else Scope(user.scope_code or NO_SCOPE)
        return QueryRunner(store, scope, actor=user.username,
                           on_denied=lambda actor, action, detail: audit.record(
                               ops, actor=actor, action=action, target=detail.get("office"), detail=detail))

    def layout() -> html.Div:
        if not (has_request_context() and current_user.is_authenticated):
            return html.Div("请先登录 · Please sign in", className="page")   # Dash's start-up check
        r = runner()
        years = data.years(r)
        user = current_user.user
        return html.Div(className="page", children=[
            html.Header(className="masthead", children=[
                html.Div(className="userbar", children=[
                    html.Span(f"{user.username} · {role_label(user.role)}"
                              + (f" · {user.scope_code}" if user.scope_code else "")),
                    *([html.A("审计日志 Audit log", href="/audit")] if user.admin else []),
                    html.A("退出 Sign out", href="/logout"),
                ]),
                html.H1("专利行政执法绩效评估与监督 · Patent enforcement assessment and supervision"),
                html.P(data.banner(r), className="banner", id=ids.BANNER),
            ]),
            html.Section(className="controls", children=[
                html.Label("年度 Year", htmlFor=ids.YEAR),
                dcc.Dropdown(id=ids.YEAR, options=[{"label": str(y), "value": y} for y in years],
                             value=years[-1] if years else None, clearable=False, style={"width": "10rem"}),
                html.Label("下级机构 Offices below", htmlFor=ids.OFFICE),
                dcc.Input(id=ids.OFFICE, type="text", debounce=True, placeholder="机构代码 office code",
                          value=user.scope_code if user.scope_code and not user.national else ""),
            ]),
            html.Section(children=[
                html.H2("各省级机构案件量 · Cases by provincial office"),
                html.P(id=ids.TOTALS, className="totals"),
                _grid(ids.PROVINCE_TABLE, COLUMNS),
            ]),
            *([html.Section(children=[
                html.H2("我的评查案卷 · Archives assigned to me"),
                _grid(ids.ARCHIVES_TABLE, [("office_code", "机构代码 Code"), ("name", "机构 Office"),
                                           ("case_no", "案号 Case no."), ("case_kind", "案件类型 Kind"),
                                           ("accepted_date", "立案 Accepted"), ("closed_date", "结案 Closed"),
                                           ("closing_type", "结案方式 Closing")]),
            ])] if user.role == "inspector" else []),
            html.Section(className="report", children=[
                html.H2("年度评估报告 · Annual assessment workbook"),
                dcc.RadioItems(id=ids.REPORT_LANG, value="zh", inline=True,
                               options=[{"label": "中文", "value": "zh"}, {"label": "English", "value": "en"}]),
                html.Button("下载年度报告 Download workbook (.xlsx)", id=ids.REPORT_BUTTON, n_clicks=0),
                html.Progress(id=ids.REPORT_PROGRESS, value="0", max="100"),
                html.Span(id=ids.REPORT_STATUS, className="report-status"),
                dcc.Interval(id=ids.REPORT_POLL, interval=700, disabled=True),
                dcc.Download(id=ids.REPORT_DOWNLOAD),
            ]),
            html.Section(children=[
                html.H2(id=ids.CHILDREN_TITLE),
                _grid(ids.CHILDREN_TABLE, [("office_code", "机构代码 Code"), ("name", "机构 Office"),
                                           ("level", "层级 Level"), *COLUMNS[3:]]),
            ]),
        ])

    app.layout = layout

    @app.callback(Output(ids.PROVINCE_TABLE, "rowData"), Output(ids.TOTALS, "children"), Input(ids.YEAR, "value"))
    def _fill(year: int | None):
        if year is None:
            return [], "无数据 No data"
        frame = data.province_counts(runner(), int(year))
        totals = frame.select("accepted", "closed", "open_at_year_end").sum().row(0) if frame.height else (0, 0, 0)
        text = (f"{year}年 立案 {totals[0]:,} 件，结案 {totals[1]:,} 件，年末未结 {totals[2]:,} 件 · "
                f"{year}: {totals[0]:,} accepted, {totals[1]:,} closed, {totals[2]:,} open at year end")
        return frame.to_dicts(), text

    @app.callback(Output(ids.CHILDREN_TABLE, "rowData"), Output(ids.CHILDREN_TITLE, "children"),
                  Input(ids.OFFICE, "value"), Input(ids.YEAR, "value"))
    def _children(office: str | None, year: int | None):
        office = (office or "").strip()
        if not office or year is None:
            return [], "输入机构代码查看下级机构 · Enter an office code to see the offices below it"
        frame = data.children_counts(runner(), office, int(year))
        if not frame.height:
            return [], f"{office}: 无可显示的下级机构 · no offices below it that you may see"
        return frame.to_dicts(), f"{office} 的下级机构 · Offices below {office}"

    @app.callback(Output(ids.ARCHIVES_TABLE, "rowData"), Input(ids.YEAR, "value"))
    def _archives(_year):
        if current_user.user.role != "inspector":    # the list is an inspector's; others have the explorer
            return []
        frame = data.assigned_archives(runner())
        return frame.with_columns([frame[c].cast(str) for c in ("accepted_date", "closed_date")]).to_dicts() \
            if frame.height else []

    @app.callback(Output(ids.REPORT_STATUS, "children"), Output(ids.REPORT_POLL, "disabled"),
                  Input(ids.REPORT_BUTTON, "n_clicks"), State(ids.YEAR, "value"), State(ids.REPORT_LANG, "value"),
                  prevent_initial_call=True)
    def _start_report(clicks: int, year: int | None, lang: str | None):
        if not clicks or year is None:
            return no_update, no_update
        started, message = jobs.start(current_user.user, year=int(year), lang=lang or "zh")
        return message, not started and jobs.status(current_user.user.username) is None

    @app.callback(Output(ids.REPORT_PROGRESS, "value"), Output(ids.REPORT_STATUS, "children", allow_duplicate=True),
                  Output(ids.REPORT_POLL, "disabled", allow_duplicate=True), Output(ids.REPORT_DOWNLOAD, "data"),
                  Input(ids.REPORT_POLL, "n_intervals"), prevent_initial_call=True)
    def _poll_report(_n: int):
        job = jobs.status(current_user.user.username)
        if job is None:
            return "0", no_update, True, no_update
        if not job.done.is_set():
            return str(int(job.progress * 100)), f"{int(job.progress * 100)}% · {job.stage}", False, no_update
        if job.error:
            jobs.take(current_user.user.username)
            return "0", f"生成失败 · failed: {job.error}", True, no_update
        path = jobs.take(current_user.user.username)
        return "100", "完成 · done", True, dcc.send_file(str(path))

    return app
