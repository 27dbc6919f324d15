"""The Dash application factory: the shell, the page registry and one router.

Dash resolves `assets_folder` relative to the module that creates the app, so the top-level
`assets/` directory is passed as an absolute path. The URL carries the place (`/place/<code>`,
`/office/<code>`, `/case/<office>/<no>`), so every view can be shared and the back button works.
Pages are modules of `dashboard.pages` (see `dashboard.registry`); each declares its path, the
permission it needs and its callbacks. Callbacks stay thin: they parse inputs into `Controls`,
call one function of `dashboard.views` (which checks the user's access and reads through the scoped
runner or the cache) and hand the result to a builder.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import unquote

import dash
from dash import Input, Output, html

from access.opstore import OpStore, default_path
from dashboard import ids, inputs, shell, table_export, views
from dashboard.audit_page import init_audit_page
from dashboard.auth import init_auth
from dashboard.cache import VersionedCache
from dashboard.charts import PALETTES
from dashboard.context import Context, OutsideYear, Request, control_deps, parse_controls, query_of
from dashboard.i18n import LANGS, t
from dashboard.protection import init_protection
from dashboard.public_page import init_public_page
from dashboard.registry import Registry
from dashboard.report_jobs import ReportJobs
from dashboard.request_checks import init_request_checks
from metrics.config import Config, default_config
from queries.store import Store
from reports.data import collect

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
log = logging.getLogger("ipdash.dashboard")

# Entries of the per-worker result cache. The "prefectures" warm-up alone fills about 1,900 (pages,
# rankings, composites, sensitivities of 1M cases; about 580 MB per worker, measured); at 512 the
# LRU evicted the national and provincial pages the warm-up had just built, and the first users
# paid for them again.
CACHE_ENTRIES = 4096
# Names this worker process in /healthz (a random token, not its pid): behind a proxy it shows which
# worker answered, so a test can see that consecutive requests reach different ones.
WORKER = uuid.uuid4().hex[:8]


def create_app(
    *,
    db: str,
    ops_path: str | None = None,
    warm: bool | str = False,
    warm_depth: str = "provinces",
    extra_pages: Iterable[str] = (),
    refresh_in_background: bool = False,
) -> dash.Dash:
    """Build the dashboard for the store at `db`.

    Args:
        db: path of the published DuckDB file; every request reads it read-only.
        ops_path: the operational store (users, plans, audit log); default beside `db`.
        warm: compute the latest year's pages at start: True in a background thread (/readyz says
            when done), "sync" before returning.
        warm_depth: "provinces" (the national overview and each province's page) or "prefectures"
            (also each prefecture's page and profile).
        extra_pages: modules with more pages (besides `dashboard.pages` and `$IPDASH_EXTRA_PAGES`).
        refresh_in_background: answer a page whose appraisal figures are out of date from the
            figures held while a background thread recomputes them (`ipdash serve` does; without
            it the page is recomputed before the answer, as tests that count computations expect).
    Returns:
        the configured Dash app (its Flask server is `app.server`).
    """
    ops = OpStore(ops_path or default_path(db))
    store = Store(db, ops=ops, mirror_appraisals=bool(warm))  # a serving worker reads every appraisal
    config = default_config()
    cache = VersionedCache(
        store.path,
        maxsize=CACHE_ENTRIES,
        current=ops.versions,
        background=refresh_in_background,
        background_init=store.background_thread,
    )
    app = dash.Dash(
        __name__,
        assets_folder=str(ASSETS),
        title="ipdash",
        use_pages=False,
        suppress_callback_exceptions=True,
        update_title=None,  # type: ignore[arg-type]  # None switches the "Updating..." title off (Dash docs)
    )
    init_auth(app.server, ops)
    init_audit_page(app.server, ops)
    init_public_page(app.server, ops, store)
    jobs = ReportJobs(store, ops, config, table_of=views.shared_tables(store, config, cache))
    ctx = Context(store=store, ops=ops, config=config, cache=cache, jobs=jobs)
    registry = Registry.discover(extra_pages)

    app.layout = lambda: shell.layout(ctx)
    shell.callbacks(app, ctx, registry)
    registry.register_callbacks(app, ctx)

    def render(v: views.Viewer, path: str, query: dict, controls: views.Controls, lang: str, palette: str):
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        req = Request(ctx=ctx, viewer=v, path=path, query=query, controls=controls, lang=lang, palette=palette)
        return registry.render(req, parts)

    @app.callback(
        Output(ids.CONTENT, "children"),
        Output(ids.WHATIF_NOTE, "children"),
        Input(ids.URL, "pathname"),
        Input(ids.URL, "search"),
        *control_deps(Input),
    )
    def _route(path, search, year, as_of, method, peer, weights, lang, palette):
        lang = inputs.choice(lang, "language", LANGS) or "zh"
        palette = inputs.choice(palette, "palette", PALETTES) or "viridis"
        path = inputs.text(path, "pathname")
        v = ctx.viewer()
        if year is None:
            years = views.years(v)
            if not years:
                return html.P(t("none", lang)), ""
            year = years[-1]
        try:
            controls = parse_controls(year, as_of, method, peer, weights, config)
        except OutsideYear as exc:  # refused with a message, not ignored
            message = t("asof.outside", lang).format(day=exc.day.isoformat(), year=exc.year)
            return html.P(message, className="error", role="alert", id=ids.AS_OF_REFUSED), ""
        note = ("⚠ " + t("ctl.weights", lang)) if controls.weights or controls.method else ""
        return render(v, path or "/", query_of(search), controls, lang, palette), note

    table_export.register(app, ctx, render)
    init_request_checks(app)
    init_protection(app, ops)  # after every callback: the CSP lists the hashes of Dash's inline scripts
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


def _warm(
    store: Store,
    ops: OpStore,
    config: Config,
    cache: VersionedCache,
    done: threading.Event,
    depth: str,
    render: Callable[[views.Viewer, str, views.Controls], None],
) -> None:
    """Build the latest year's default pages: the national overview, the national monitoring page
    and each province's page, and with depth "prefectures" each prefecture's page and profile too;
    then the figures of the latest year's national workbook.

    `render` is the router's page builder: each page is built and cached as a national user's
    request in Chinese would build it, so the first users find the pages ready, and the process has
    paid the one-off cost of Plotly's first figures of each kind (about 1.7 s for the overview,
    measured) before it reports ready. A page that fails is logged with its path and the exception
    (its first request will fail the same way, visibly) and the warm-up goes on with the next."""
    from access.users import User

    system = User(
        user_id=0, username="warm-up", role="national_leader", scope_code=None, disabled=False, session_version=0
    )
    v = views.Viewer(system, store, ops, config, cache)
    failed = 0

    def step(what: str, build: Callable[[], object]) -> None:
        nonlocal failed
        try:
            build()
        except Exception:  # logged with the page; the other pages still warm
            failed += 1
            log.exception("warm-up of %s failed", what)

    try:
        years = views.years(v)
        if not years:
            return
        controls = views.Controls(year=years[-1])
        national = views.home(v)
        paths = [f"/place/{national}", "/monitor"]
        tree = views.tree(v)
        paths += [f"/place/{code}" for code in tree.children.get(national or "", [])]
        if depth == "prefectures":
            for province in tree.children.get(national or "", []):
                for code in tree.children.get(province, []):
                    paths += [f"/place/{code}", f"/office/{code}"]
        for path in paths:
            step(path, lambda path=path: render(v, path, controls))  # type: ignore[misc]  # default-bound lambda

        # The national workbook's figures (trend years, open cases, signals, appraisals): computed
        # once into the publish's result cache, so that the first download after a publish, from any
        # worker or from `ipdash report`, only reads them back.
        def workbook() -> None:
            with contextlib.closing(store.reader()) as con:
                collect(con, config, year=controls.year, scope=None, table_of=views.shared_tables(store, config, cache))

        step(f"the national workbook of {controls.year}", workbook)
        if failed:
            log.error("warm-up: %d of %d steps failed (see above)", failed, len(paths) + 1)
    finally:
        cache.settle()
        done.set()
