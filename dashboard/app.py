"""The Dash application factory: one shell (header, controls, navigation) and a router.

Dash resolves `assets_folder` relative to the module that creates the app, so the top-level
`assets/` directory is passed as an absolute path. The URL carries the place (`/place/<code>`,
`/office/<code>`, `/case/<office>/<no>`), so every view can be shared and the back button works.
Callbacks stay thin: they parse inputs into `Controls`, call one function of `dashboard.views`
(which checks the user's access and reads through the scoped runner or the cache) and hand the
result to a builder in `dashboard.pages`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from pathlib import Path
from urllib.parse import parse_qs, unquote

import dash
import dash_ag_grid as dag
from dash import ALL, Input, Output, State, dcc, html, no_update
from flask import has_request_context
from flask_login import current_user

from access import audit
from access.opstore import OpStore, default_path
from dashboard import charts, data, ids, inspection_page, pages, views
from dashboard.audit_page import init_audit_page
from dashboard.auth import init_auth, role_label
from dashboard.cache import VersionedCache
from dashboard.i18n import t
from dashboard.public_page import init_public_page
from dashboard.report_jobs import ReportJobs
from ingest.contract import default_contract
from metrics.config import DIMENSIONS, METHODS, default_config
from queries.store import Store
from reports.data import collect

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
CONTROL_LABELS = ("year", "as_of", "method", "peer", "lang", "palette", "weights")


def _controls(year, as_of, method, peer, weights, config) -> views.Controls:
    """Controls from the widgets' values; defaults become None so that the default view shares its
    cache entry (and its numbers) with `ipdash scores`."""
    day = None
    if as_of:
        try:
            day = dt.date.fromisoformat(str(as_of)[:10])
        except ValueError:
            day = None
    if day is not None and day.year < int(year):
        day = None
    w = None
    if weights and any(v is not None for v in weights):
        chosen = {
            d: float(v if v is not None else config.scoring.dimension_weights[d]) for d, v in zip(DIMENSIONS, weights)
        }
        if chosen != {d: float(config.scoring.dimension_weights[d]) for d in DIMENSIONS} and sum(chosen.values()) > 0:
            w = tuple(chosen.items())
    return views.Controls(
        year=int(year),
        as_of=day,
        method=None if method in (None, config.scoring.method) or method not in METHODS else method,
        weights=w,
        peer="configured" if peer == "configured" else "siblings",
    )


# Entries of the per-worker result cache. The "prefectures" warm-up alone fills about 1,900 (pages,
# rankings, composites, sensitivities of 1M cases; about 580 MB per worker, measured); at 512 the
# LRU evicted the national and provincial pages the warm-up had just built, and the first users
# paid for them again.
CACHE_ENTRIES = 4096
# Names this worker process in /healthz (a random token, not its pid): behind a proxy it shows which
# worker answered, so a test can see that consecutive requests reach different ones.
WORKER = uuid.uuid4().hex[:8]


def create_app(
    *, db: str, ops_path: str | None = None, warm: bool | str = False, warm_depth: str = "provinces"
) -> dash.Dash:
    """Build the dashboard for the store at `db`.

    Args:
        db: path of the published DuckDB file; every request reads it read-only.
        ops_path: the operational store (users, plans, audit log); default beside `db`.
        warm: compute the latest year's pages at start: True in a background thread (/readyz says
            when done), "sync" before returning.
        warm_depth: "provinces" (the national overview and each province's page) or "prefectures"
            (also each prefecture's page and profile).
    Returns:
        the configured Dash app (its Flask server is `app.server`).
    """
    ops = OpStore(ops_path or default_path(db))
    store = Store(db, ops=ops)
    config = default_config()
    cache = VersionedCache(store.path, maxsize=CACHE_ENTRIES, current=ops.versions)
    app = dash.Dash(
        __name__,
        assets_folder=str(ASSETS),
        title="ipdash",
        use_pages=False,
        suppress_callback_exceptions=True,
        update_title=None,
    )
    init_auth(app.server, ops)
    init_audit_page(app.server, ops)
    init_public_page(app.server, ops, store)
    jobs = ReportJobs(store, ops, config, table_of=views.shared_tables(store, config, cache))

    def viewer() -> views.Viewer:
        """The current user's view (the guard guarantees a logged-in user)."""
        return views.Viewer(current_user.user, store, ops, config, cache)

    def layout() -> html.Div:
        if not (has_request_context() and current_user.is_authenticated):
            return html.Div("请先登录 · Please sign in", className="page")  # Dash's start-up check
        v = viewer()
        years = views.years(v)
        user = v.user
        return html.Div(
            className="page",
            children=[
                dcc.Location(id=ids.URL),
                html.Header(
                    className="masthead",
                    children=[
                        html.Div(
                            className="userbar",
                            id=ids.USERBAR,
                            children=[
                                html.Span(
                                    f"{user.username} · {role_label(user.role)}"
                                    + (f" · {user.scope_code}" if user.scope_code else "")
                                ),
                                *([html.A("审计日志 Audit log", href="/audit")] if user.admin else []),
                                html.A("公开结果 Public", href="/public"),
                                html.A("退出 Sign out", href="/logout"),
                            ],
                        ),
                        html.H1(id="title"),
                        html.Nav(id=ids.NAV, className="nav"),
                        html.P(data.banner(v.runner()), className="banner", id=ids.BANNER),
                    ],
                ),
                html.Section(
                    className="controls",
                    children=[
                        _control(
                            "year",
                            dcc.Dropdown(
                                id=ids.YEAR,
                                options=[{"label": str(y), "value": y} for y in years],
                                value=years[-1] if years else None,
                                clearable=False,
                                persistence=True,
                                persistence_type="session",
                            ),
                        ),
                        _control(
                            "as_of",
                            dcc.DatePickerSingle(
                                id=ids.AS_OF,
                                display_format="YYYY-MM-DD",
                                clearable=True,
                                placeholder="12-31",
                                persistence=True,
                                persistence_type="session",
                            ),
                        ),
                        _control(
                            "method",
                            dcc.Dropdown(
                                id=ids.METHOD,
                                value=config.scoring.method,
                                clearable=False,
                                options=_options("method", METHODS, "zh"),
                                persistence=True,
                                persistence_type="session",
                            ),
                        ),
                        _control(
                            "peer",
                            dcc.Dropdown(
                                id=ids.PEER,
                                value="siblings",
                                clearable=False,
                                options=_options("peer", PEERS, "zh"),
                                persistence=True,
                                persistence_type="session",
                            ),
                        ),
                        _control(
                            "lang",
                            dcc.RadioItems(
                                id=ids.LANG,
                                value="zh",
                                inline=True,
                                persistence=True,
                                persistence_type="local",
                                options=[{"label": "中文", "value": "zh"}, {"label": "English", "value": "en"}],
                            ),
                        ),
                        _control(
                            "palette",
                            dcc.Dropdown(
                                id=ids.PALETTE,
                                value="viridis",
                                clearable=False,
                                options=_options("palette", PALETTES, "zh"),
                                persistence=True,
                                persistence_type="local",
                            ),
                        ),
                        html.Details(
                            className="whatif",
                            children=[
                                html.Summary(id=f"{ids.LABEL}-weights"),
                                html.Div(
                                    className="weights",
                                    children=[
                                        html.Div(
                                            className="weight",
                                            children=[
                                                html.Label(id=f"{ids.LABEL}-dim-{d}", htmlFor=f"{ids.WEIGHT}-{d}"),
                                                dcc.Slider(
                                                    id={"type": ids.WEIGHT, "dim": d},
                                                    min=0,
                                                    max=100,
                                                    step=5,
                                                    value=config.scoring.dimension_weights[d],
                                                    marks=None,
                                                    tooltip={"placement": "bottom", "always_visible": True},
                                                ),
                                            ],
                                        )
                                        for d in DIMENSIONS
                                    ],
                                ),
                                html.Button(id=ids.WEIGHTS_RESET, n_clicks=0, className="button secondary"),
                                html.Span(id=ids.WHATIF_NOTE, className="note"),
                            ],
                        ),
                    ],
                ),
                dcc.Loading(html.Main(id=ids.CONTENT), type="dot", delay_show=300),
                dcc.Download(id=ids.MONITOR_DOWNLOAD),
            ],
        )

    app.layout = layout

    @app.callback(
        Output("title", "children"),
        Output(ids.NAV, "children"),
        *[Output(f"{ids.LABEL}-{k}", "children") for k in CONTROL_LABELS],
        *[Output(f"{ids.LABEL}-dim-{d}", "children") for d in DIMENSIONS],
        Output(ids.METHOD, "options"),
        Output(ids.PEER, "options"),
        Output(ids.PALETTE, "options"),
        Output(ids.WEIGHTS_RESET, "children"),
        Input(ids.LANG, "value"),
    )
    def _chrome(lang: str | None):
        lang = lang or "zh"
        user = current_user.user
        links = (
            (
                [("nav.archives", "/archives"), ("nav.cases", "/cases")]
                if user.role == "inspector"
                else [
                    ("nav.overview", "/"),
                    ("nav.monitor", "/monitor"),
                    ("nav.cases", "/cases"),
                    ("nav.report", "/report"),
                ]
            )
            + ([("nav.inspection", "/inspection")] if user.national else [])
            + [("nav.methodology", "/methodology")]
        )
        nav = [dcc.Link(t(k, lang), href=h, className="nav-link") for k, h in links]
        return (
            t("title", lang),
            nav,
            *[t(f"ctl.{k}", lang) for k in CONTROL_LABELS],
            *[t(f"dim.{d}", lang) for d in DIMENSIONS],
            _options("method", METHODS, lang),
            _options("peer", PEERS, lang),
            _options("palette", PALETTES, lang),
            t("ctl.reset", lang),
        )

    @app.callback(
        Output({"type": ids.WEIGHT, "dim": ALL}, "value"),
        Input(ids.WEIGHTS_RESET, "n_clicks"),
        prevent_initial_call=True,
    )
    def _reset(_n):
        return [config.scoring.dimension_weights[d] for d in DIMENSIONS]

    @app.callback(
        Output(ids.CONTENT, "children"),
        Output(ids.WHATIF_NOTE, "children"),
        Input(ids.URL, "pathname"),
        Input(ids.URL, "search"),
        Input(ids.YEAR, "value"),
        Input(ids.AS_OF, "date"),
        Input(ids.METHOD, "value"),
        Input(ids.PEER, "value"),
        Input({"type": ids.WEIGHT, "dim": ALL}, "value"),
        Input(ids.LANG, "value"),
        Input(ids.PALETTE, "value"),
    )
    def _route(path, search, year, as_of, method, peer, weights, lang, palette):
        lang, palette = lang or "zh", palette or "viridis"
        v = viewer()
        if year is None:
            years = views.years(v)
            if not years:
                return html.P(t("none", lang)), ""
            year = years[-1]
        controls = _controls(year, as_of, method, peer, weights, config)
        note = ("⚠ " + t("ctl.weights", lang)) if controls.weights or controls.method else ""
        return render(v, path or "/", parse_qs((search or "").lstrip("?")), controls, lang, palette), note

    def cached_page(
        v: views.Viewer,
        kind: str,
        code: str | None,
        controls: views.Controls,
        lang: str,
        palette: str,
        build,
        extra: object = None,
    ):
        """A place or profile page, built once per data version, view and kind of viewer. The access
        decision (and the audit entry of a refusal) is made on every request, before the cache."""
        if code is None or views.access(v, code, what=kind) is None:
            return pages.denied(lang)
        viewer_key = "national" if v.user.national else v.user.scope_code
        return cache.get(("page", kind, code, viewer_key, controls.key(), lang, palette, extra), build)

    def render(v: views.Viewer, path: str, query: dict, controls: views.Controls, lang: str, palette: str):
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        head = parts[0] if parts else ""
        office = (query.get("office") or [None])[0]
        if head == "" and v.user.role == "inspector" or head == "archives":
            return _archives(v, lang)
        if head in ("", "place") and len(parts) <= 2:
            code = views.home(v) if head == "" else (parts[1] if len(parts) == 2 else None)
            return cached_page(
                v,
                "place",
                code,
                controls,
                lang,
                palette,
                lambda: pages.place_page(views.place(v, code, controls), lang, palette, "composite"),
            )
        if head == "office" and len(parts) == 2:
            return cached_page(
                v,
                "profile",
                parts[1],
                controls,
                lang,
                palette,
                lambda: pages.profile_page(views.profile(v, parts[1], controls), lang, palette),
            )
        if head == "monitor":
            status = (query.get("status") or [None])[0]
            status = status if status in ("overdue", "warning", "ok", "no_limit") else None
            code = office or views.home(v)
            return cached_page(
                v,
                "monitor",
                code,
                controls,
                lang,
                palette,
                lambda: pages.monitor_page(views.monitor(v, controls, code), lang, palette, status),
                extra=status,
            )
        if head == "cases":
            return pages.cases_page(lang, office)
        if head == "case" and len(parts) == 3:
            return pages.case_page(views.case_detail(v, parts[1], parts[2], controls), lang, palette)
        if head == "methodology":
            return pages.methodology_page(config, _meta(v), lang)
        if head == "report":
            return _report(lang)
        if head == "inspection" and v.user.national:
            if len(parts) == 2:
                return inspection_page.plan_page(ops, store, parts[1], lang, v.user.admin)
            return inspection_page.plans_page(ops, views.years(v), views.tree(v).national or "", lang, v.user.admin)
        if head == "inspection":
            audit.record(ops, actor=v.user.username, action="access.denied", detail={"what": path})
            return pages.denied(lang)
        return html.P("404", className="error")

    def _meta(v: views.Viewer) -> dict:
        return v.cache.get(("meta",), lambda: dict(v.runner().frame("SELECT key, value FROM meta").iter_rows()))

    def _archives(v: views.Viewer, lang: str) -> html.Div:
        frame = data.assigned_archives(v.runner())
        rows = (
            frame.with_columns([frame[c].cast(str) for c in ("accepted_date", "closed_date")]).to_dicts()
            if frame.height
            else []
        )
        done = {(o, c) for _d, o, c in inspection_page.recorded_appraisals(ops, v.user.scope_code or "")}
        for r in rows:
            r["status"] = t("archives.done" if (r["office_code"], r["case_no"]) in done else "archives.pending", lang)
            r["case_no"] = f"[{r['case_no']}](/case/{r['office_code']}/{r['case_no']})"
        rows.sort(key=lambda r: (r["status"] == t("archives.done", lang), r["office_code"], r["case_no"]))
        cols = [
            ("status", "archives.status"),
            ("office_code", "case.office_code"),
            ("name", "case.office_name"),
            ("case_no", "case.case_no"),
            ("case_kind", "case.case_kind"),
            ("accepted_date", "case.accepted_date"),
            ("closed_date", "case.closed_date"),
            ("closing_type", "case.closing_type"),
        ]
        pending = sum(1 for r in rows if r["status"] == t("archives.pending", lang))
        return html.Div(
            [
                html.H2(t("archives.title", lang)),
                html.P(
                    t("archives.progress", lang).format(done=len(rows) - pending, total=len(rows), pending=pending),
                    id=ids.ARCHIVES_PROGRESS,
                    className="count",
                ),
                inspection_page.inspector_block(ops, store, v.user.scope_code or "", lang),
                dag.AgGrid(
                    id=ids.ARCHIVES_TABLE,
                    rowData=rows,
                    className="ag-theme-alpine",
                    columnSize="responsiveSizeToFit",
                    columnDefs=[
                        {
                            "field": c,
                            "headerName": t(h, lang),
                            **({"cellRenderer": "markdown"} if c == "case_no" else {}),
                        }
                        for c, h in cols
                    ],
                    defaultColDef={"sortable": True, "filter": True, "resizable": True},
                    dashGridOptions={"domLayout": "autoHeight"},
                ),
            ]
        )

    def _report(lang: str) -> html.Section:
        return html.Section(
            className="report card",
            children=[
                html.H2(t("report.title", lang)),
                html.Label(t("report.lang", lang)),
                dcc.RadioItems(
                    id=ids.REPORT_LANG,
                    value=lang,
                    inline=True,
                    options=[{"label": "中文", "value": "zh"}, {"label": "English", "value": "en"}],
                ),
                html.Button(t("report.download", lang), id=ids.REPORT_BUTTON, n_clicks=0),
                html.Progress(id=ids.REPORT_PROGRESS, value="0", max="100"),
                html.Span(id=ids.REPORT_STATUS, className="report-status"),
                dcc.Interval(id=ids.REPORT_POLL, interval=700, disabled=True),
                dcc.Download(id=ids.REPORT_DOWNLOAD),
            ],
        )

    @app.callback(
        Output(ids.TILE_MAP, "figure"),
        Input(ids.MAP_KEY, "value"),
        State(ids.URL, "pathname"),
        State(ids.YEAR, "value"),
        State(ids.AS_OF, "date"),
        State(ids.METHOD, "value"),
        State(ids.PEER, "value"),
        State({"type": ids.WEIGHT, "dim": ALL}, "value"),
        State(ids.LANG, "value"),
        State(ids.PALETTE, "value"),
        prevent_initial_call=True,
    )
    def _map(key, path, year, as_of, method, peer, weights, lang, palette):
        v = viewer()
        code = views.home(v)
        if path and path.startswith("/place/"):
            code = unquote(path.split("/")[2])
        place = views.place(v, code, _controls(year, as_of, method, peer, weights, config))
        if place["denied"] or not place["national"]:
            return no_update
        key = key if key in ("composite", *DIMENSIONS) else "composite"
        title = t("col.composite" if key == "composite" else f"dim.{key}", lang or "zh")
        return charts.tile_map(
            place["rows"], value_key=key, title=title, lang=lang or "zh", palette=palette or "viridis"
        )

    @app.callback(Output(ids.URL, "pathname"), Input(ids.TILE_MAP, "clickData"), prevent_initial_call=True)
    def _map_click(click):
        try:
            code = str(click["points"][0]["customdata"])
        except (TypeError, KeyError, IndexError):
            return no_update
        if not code:
            return no_update
        return f"/place/{code}"

    @app.callback(
        Output(ids.CASES_GRID, "getRowsResponse"),
        Output(ids.CASES_TOTAL, "children"),
        Input(ids.CASES_GRID, "getRowsRequest"),
        State(ids.CASES_OFFICE, "data"),
        State(ids.LANG, "value"),
    )
    def _cases(request, office, lang):
        if not request:
            return no_update, no_update
        try:
            got = views.cases_page(viewer(), request, office=office)
        except views.BadRequest as exc:
            return {"rowData": [], "rowCount": 0}, str(exc)
        contract = default_contract()
        for r in got["rowData"]:
            r["case_no"] = f"[{r['case_no']}](/case/{r['office_code']}/{r['case_no']})"
            for col, enum in views.ENUM_COLUMNS.items():  # shown by name; the filters match names too
                r[col] = contract.label(enum, r[col], lang or "zh")
        return got, f"{got['rowCount']:,}"

    @app.callback(
        Output(ids.URL, "search"),
        Input(ids.MONITOR_STATUS, "value"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    def _monitor_filter(status, search):
        query = parse_qs((search or "").lstrip("?"))
        office = (query.get("office") or [None])[0]
        parts = [f"office={office}"] if office else []
        if status:
            parts.append(f"status={status}")
        return "?" + "&".join(parts) if parts else ""

    @app.callback(
        Output(ids.MONITOR_DOWNLOAD, "data"),
        Input(ids.MONITOR_EXPORT, "n_clicks"),
        State(ids.URL, "search"),
        State(ids.YEAR, "value"),
        State(ids.AS_OF, "date"),
        prevent_initial_call=True,
    )
    def _monitor_export(clicks, search, year, as_of):
        if not clicks:
            return no_update
        query = parse_qs((search or "").lstrip("?"))
        v = viewer()
        got = views.monitor(v, _controls(year, as_of, None, None, None, config), (query.get("office") or [None])[0])
        if got["denied"]:
            return no_update
        status = (query.get("status") or [None])[0]
        frame = got["cases"] if not status else got["cases"].filter(got["cases"]["status"] == status)
        audit.record(
            ops,
            actor=v.user.username,
            action="export.open_cases",
            target=got["code"],
            detail={"rows": frame.height, "status": status},
        )
        return dict(content=data.safe_csv(frame), filename=f"open-cases-{got['code']}.csv")

    @app.callback(
        Output(ids.REPORT_STATUS, "children"),
        Output(ids.REPORT_POLL, "disabled"),
        Input(ids.REPORT_BUTTON, "n_clicks"),
        State(ids.YEAR, "value"),
        State(ids.REPORT_LANG, "value"),
        prevent_initial_call=True,
    )
    def _start_report(clicks: int, year: int | None, lang: str | None):
        if not clicks or year is None:
            return no_update, no_update
        started, message = jobs.start(current_user.user, year=int(year), lang=lang or "zh")
        return message, not started and jobs.status(current_user.user.username) is None

    @app.callback(
        Output(ids.REPORT_PROGRESS, "value"),
        Output(ids.REPORT_STATUS, "children", allow_duplicate=True),
        Output(ids.REPORT_POLL, "disabled", allow_duplicate=True),
        Output(ids.REPORT_DOWNLOAD, "data"),
        Input(ids.REPORT_POLL, "n_intervals"),
        prevent_initial_call=True,
    )
    def _poll_report(_n: int):
        username = current_user.user.username
        job = jobs.status(username)
        if job is None:
            return "0", no_update, True, no_update
        if not job.finished:
            return str(int(job.progress * 100)), f"{int(job.progress * 100)}% · {job.stage}", False, no_update
        if job.error:
            jobs.forget_failed(username)
            return "0", f"生成失败 · failed: {job.error}", True, no_update
        got = jobs.take(username)
        if got is None:  # another tab of this user took it a moment ago
            return "0", no_update, True, no_update
        name, content = got
        return "100", "完成 · done", True, dcc.send_bytes(content, name)

    inspection_page.init_inspection(app, store=store, ops=ops, viewer=viewer)
    warmed = threading.Event()

    @app.server.route("/healthz")
    def _healthz():
        """Liveness: the process answers and the store is readable."""
        try:
            cache.version()
        except OSError as exc:
            return {"status": "error", "error": str(exc), "worker": WORKER}, 503
        return {"status": "ok", "worker": WORKER}

    @app.server.route("/readyz")
    def _readyz():
        """Readiness: the national overview of the latest year is computed (always ready without warm-up)."""
        if not warmed.is_set():
            return {"status": "warming"}, 503
        return {"status": "ready", "data_version": list(cache.version())}

    def prime(v: views.Viewer, path: str, controls: views.Controls) -> None:
        render(v, path, {}, controls, "zh", "viridis")

    if warm == "sync":
        _warm(store, ops, config, cache, warmed, warm_depth, prime)
        store.close_thread_reader()  # no DuckDB connection may cross a fork into the workers
    elif warm:
        threading.Thread(
            target=_warm, args=(store, ops, config, cache, warmed, warm_depth, prime), daemon=True, name="ipdash-warm"
        ).start()
    else:
        warmed.set()
    return app


PEERS = ("siblings", "configured")
PALETTES = ("viridis", "cividis", "okabe")


def _options(kind: str, values, lang: str) -> list[dict]:
    """Options of a drop-down in `lang`; given in the layout too, so a persisted value is never
    checked against an empty list of options."""
    return [{"label": t(f"{kind}.{v}", lang), "value": v} for v in values]


def _control(key: str, widget) -> html.Div:
    return html.Div(
        className=f"control control-{key}",
        children=[html.Label(id=f"{ids.LABEL}-{key}", htmlFor=getattr(widget, "id", None) or ""), widget],
    )


def _warm(store: Store, ops: OpStore, config, cache: VersionedCache, done: threading.Event, depth: str, render) -> None:
    """Build the latest year's default pages: the national overview, the national monitoring page
    and each province's page, and with depth "prefectures" each prefecture's page and profile too;
    then the figures of the latest year's national workbook.

    `render` is the router's page builder: each page is built and cached as a national user's
    request in Chinese would build it, so the first users find the pages ready, and the process has
    paid the one-off cost of Plotly's first figures of each kind (about 1.7 s for the overview,
    measured) before it reports ready."""
    from access.users import User

    system = User(
        user_id=0, username="warm-up", role="national_leader", scope_code=None, disabled=False, session_version=0
    )
    v = views.Viewer(system, store, ops, config, cache)
    try:
        years = views.years(v)
        if not years:
            return
        controls = views.Controls(year=years[-1])

        national = views.home(v)
        render(v, f"/place/{national}", controls)
        render(v, "/monitor", controls)
        tree = views.tree(v)
        for code in tree.children.get(national, []):
            render(v, f"/place/{code}", controls)
        if depth == "prefectures":
            for province in tree.children.get(national, []):
                for code in tree.children.get(province, []):
                    render(v, f"/place/{code}", controls)
                    render(v, f"/office/{code}", controls)
        # The national workbook's figures (trend years, open cases, signals, appraisals): computed
        # once into the publish's result cache, so that the first download after a publish, from any
        # worker or from `ipdash report`, only reads them back.
        with contextlib.closing(store.reader()) as con:
            collect(con, config, year=controls.year, scope=None, table_of=views.shared_tables(store, config, cache))
    except Exception:
        pass
    finally:
        cache.settle()
        done.set()
