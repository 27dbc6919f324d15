"""The shell around every page: the user bar, title, navigation and the controls, in both languages.

The navigation comes from the page registry, so it lists exactly the pages the user's role may open.
"""

from __future__ import annotations

import datetime as dt

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, dcc, html, no_update
from flask import has_request_context
from flask_login import current_user

from access import policy
from dashboard import data, ids, inputs, views
from dashboard.auth import role_label
from dashboard.charts import PALETTES
from dashboard.context import Context, control_deps, first, query_of
from dashboard.i18n import LANGS, t
from dashboard.registry import Registry
from dashboard.widgets import dropdown_words
from metrics.config import DIMENSIONS, METHODS

CONTROL_LABELS = ("year", "as_of", "method", "peer", "lang", "palette", "weights")
PEERS = ("siblings", "configured")
DROPDOWNS = (ids.OFFICE_SEARCH, ids.YEAR, ids.METHOD, ids.PEER, ids.PALETTE)  # their own words follow the language


def layout(ctx: Context) -> html.Div:
    """The page shell of the signed-in user (the login guard runs first)."""
    if not (has_request_context() and current_user.is_authenticated):
        return html.Div("请先登录 · Please sign in", className="page")  # Dash's start-up check
    config = ctx.config
    v = ctx.viewer()
    years = views.years(v)
    user = v.user
    return html.Div(
        className="page",
        children=[
            # callback-nav: an address set by a callback (a tile clicked) changes the page without a reload
            dcc.Location(id=ids.URL, refresh="callback-nav"),
            dcc.Store(id=ids.ADDRESS),  # the query string the controls last wrote (assets/address.js)
            dcc.Store(id=ids.DEFAULTS, data={"weights": [config.scoring.dimension_weights[d] for d in DIMENSIONS]}),
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
                            *(
                                [html.A("审计日志 Audit log", href="/audit")]
                                if policy.allowed(actor=user, action="audit")
                                else []
                            ),
                            html.A("公开结果 Public", href="/public"),
                            html.Form(
                                method="post",
                                action="/logout",
                                className="signout",
                                children=html.Button("退出 Sign out", type="submit", id=ids.SIGN_OUT),
                            ),
                        ],
                    ),
                    html.Div(
                        className="titlebar",
                        children=[
                            html.H1(id=ids.TITLE),
                            dcc.Dropdown(
                                labels=dropdown_words("zh"),
                                id=ids.OFFICE_SEARCH,
                                options=office_options(views.search_start(v)),
                                searchable=True,
                                clearable=True,
                                className="office-search",
                                placeholder="搜索机构：名称、拼音首字母或代码 · Find an office",
                            ),
                            html.Button(
                                "演示模式 Present", id=ids.PRESENT, n_clicks=0, className="button secondary present"
                            ),
                        ],
                    ),
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
                            labels=dropdown_words("zh"),
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
                            month_format="YYYY-MM",  # numbers: no English month names in either language
                            first_day_of_week=1,  # weeks start on Monday, as calendars here do
                            clearable=True,
                            placeholder="12-31",
                            persistence=True,
                            persistence_type="session",
                        ),
                    ),
                    _control(
                        "method",
                        dcc.Dropdown(
                            labels=dropdown_words("zh"),
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
                            labels=dropdown_words("zh"),
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
                            labels=dropdown_words("zh"),
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
            html.Div(id=ids.UNOFFICIAL, role="status", className="unofficial", hidden=True),
            dcc.Loading(html.Main(id=ids.CONTENT), type="dot", delay_show=300),
            dcc.Download(id=ids.MONITOR_DOWNLOAD),
            dcc.Download(id=ids.TABLE_DOWNLOAD),
        ],
    )


def callbacks(app, ctx: Context, registry: Registry) -> None:
    """The shell's own callbacks: its words in the chosen language, and the what-if reset."""
    config = ctx.config

    @app.callback(
        Output(ids.TITLE, "children"),
        Output(ids.NAV, "children"),
        *[Output(f"{ids.LABEL}-{k}", "children") for k in CONTROL_LABELS],
        *[Output(f"{ids.LABEL}-dim-{d}", "children") for d in DIMENSIONS],
        Output(ids.METHOD, "options"),
        Output(ids.PEER, "options"),
        Output(ids.PALETTE, "options"),
        Output(ids.WEIGHTS_RESET, "children"),
        *[Output(d, "labels") for d in DROPDOWNS],
        Input(ids.LANG, "value"),
    )
    def _chrome(lang: str | None):
        lang = lang or "zh"
        user = current_user.user
        nav = registry.nav(user, lang)
        return (
            t("title", lang),
            nav,
            *[t(f"ctl.{k}", lang) for k in CONTROL_LABELS],
            *[t(f"dim.{d}", lang) for d in DIMENSIONS],
            _options("method", METHODS, lang),
            _options("peer", PEERS, lang),
            _options("palette", PALETTES, lang),
            t("ctl.reset", lang),
            *[dropdown_words(lang)] * len(DROPDOWNS),
        )

    @app.callback(Output(ids.OFFICE_SEARCH, "options"), Input(ids.OFFICE_SEARCH, "search_value"))
    def _office_options(text):
        """The offices the user may open that match what is typed (name, pinyin initials, code)."""
        text = inputs.text(text, "search", limit=64) or ""
        if not text.strip():
            return no_update
        v = ctx.viewer()
        return office_options(views.search_offices(v, text))

    @app.callback(
        Output(ids.URL, "href", allow_duplicate=True),
        Input(ids.OFFICE_SEARCH, "value"),
        prevent_initial_call=True,
    )
    def _office_open(code):
        """Open the chosen office's page (the page itself asks the policy again)."""
        code = inputs.text(code, "office", limit=32)
        return f"/place/{code}" if code else no_update  # href: a path, relative to the site

    app.clientside_callback(
        ClientsideFunction(namespace="present", function_name="toggle"),
        Output(ids.PRESENT, "className"),
        Input(ids.PRESENT, "n_clicks"),
        prevent_initial_call=True,
    )

    app.clientside_callback(
        ClientsideFunction(namespace="address", function_name="write"),
        Output(ids.ADDRESS, "data"),
        Input(ids.URL, "pathname"),
        Input(ids.URL, "search"),
        *control_deps(Input),
        State(ids.DEFAULTS, "data"),
    )

    @app.callback(
        Output(ids.UNOFFICIAL, "children"),
        Output(ids.UNOFFICIAL, "hidden"),
        Input(ids.YEAR, "value"),
        Input(ids.AS_OF, "date"),
        Input(ids.METHOD, "value"),
        Input({"type": ids.WEIGHT, "dim": ALL}, "value"),
        Input(ids.LANG, "value"),
    )
    def _unofficial(year, as_of, method, weights, lang):
        """Over every figure: whether the view differs from the official settings, and how."""
        lang = lang if lang in LANGS else "zh"
        said = unofficial(config, year, as_of, method, weights, lang)
        return "⚠ " + t("what.banner", lang) + ("；" if lang == "zh" else "; ").join(said), not said

    @app.callback(
        *control_deps(Output),  # every control, set from the address
        Input(ids.URL, "search"),
        Input(ids.WEIGHTS_RESET, "n_clicks"),
        State(ids.YEAR, "options"),
    )
    def _from_address(search, _reset, year_options):
        """A page opened from a link, a bookmark or the back button takes the view of its address:
        each control the address names (and the control accepts) is set; the others keep theirs.
        The what-if reset puts the weights back to the configured ones. (An as-of date outside the
        chosen year is kept, and the page refuses it with a message saying what to choose.)"""
        defaults = [config.scoring.dimension_weights[d] for d in DIMENSIONS]
        keep = no_update
        if dash.ctx.triggered_id == ids.WEIGHTS_RESET:
            return keep, keep, keep, keep, defaults, keep, keep
        q = query_of(search)
        listed = inputs.items(year_options, "year options") or []
        years = {str(o.get("value")): o.get("value") for o in listed if isinstance(o, dict)}
        return (
            years.get(first(q, "year") or "", no_update),
            _as_of(first(q, "as_of")),
            _one_of(first(q, "method"), METHODS),
            _one_of(first(q, "peer"), PEERS),
            _weights(first(q, "w"), len(defaults)),
            _one_of(first(q, "lang"), LANGS),
            _one_of(first(q, "palette"), PALETTES),
        )


def office_options(offices: list[dict]) -> list[dict]:
    """The search box's options: name, code and level shown; name, code and pinyin searched."""
    level_words = {k: t(f"level.{k}", "zh") for k in ("national", "provincial", "prefecture", "county")}
    return [
        {
            "label": f"{o['name']} · {o['code']} · {level_words.get(o['level'], '')}",
            "value": o["code"],
            "search": o["search"],
        }
        for o in offices
    ]


def unofficial(config, year, as_of, method, weights, lang: str) -> list[str]:
    """How the controls differ from the official settings (the configured method and weights,
    open cases judged on 31 December), one phrase each; [] for the official view."""
    out = []
    if method in METHODS and method != config.scoring.method:
        out.append(
            t("what.method", lang).format(
                chosen=t(f"method.{method}", lang), official=t(f"method.{config.scoring.method}", lang)
            )
        )
    official = [float(config.scoring.dimension_weights[d]) for d in DIMENSIONS]
    try:
        given = [float(w) for w in (weights or [])]
    except (TypeError, ValueError):
        given = []
    if len(given) == len(DIMENSIONS) and given != official:
        sep = "、" if lang == "zh" else ", "
        out.append(
            t("what.weights", lang).format(
                chosen=sep.join(f"{t(f'dim.{d}', lang)} {w:g}" for d, w in zip(DIMENSIONS, given)),
                official=sep.join(f"{t(f'dim.{d}', lang)} {w:g}" for d, w in zip(DIMENSIONS, official)),
            )
        )
    day = _as_of(as_of) if isinstance(as_of, str) else no_update
    if isinstance(day, str) and day[5:] != "12-31":
        out.append(t("what.as_of", lang).format(chosen=day))
    return out


def _one_of(value: str | None, accepted) -> object:
    return value if value in accepted else no_update


def _as_of(value: str | None) -> object:
    """An address's as-of date as the date picker takes it (the router judges it against the year)."""
    if value is None:
        return no_update
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return no_update


def _weights(value: str | None, n: int) -> list:
    """The address's dimension weights ("30,20,25,25"): n numbers from 0 to 100; else each slider
    unchanged (a pattern-matched output takes a list, one entry per slider)."""
    keep = [no_update] * n
    if not value:
        return keep
    try:
        got = [float(x) for x in value.split(",")]
    except ValueError:
        return keep
    if len(got) != n or not all(0 <= x <= 100 for x in got):
        return keep
    return [int(x) if x.is_integer() else x for x in got]


def _options(kind: str, values, lang: str) -> list[dict]:
    """Options of a drop-down in `lang`; given in the layout too, so a persisted value is never
    checked against an empty list of options."""
    return [{"label": t(f"{kind}.{v}", lang), "value": v} for v in values]


def _control(key: str, widget) -> html.Div:
    return html.Div(
        className=f"control control-{key}",
        children=[html.Label(id=f"{ids.LABEL}-{key}", htmlFor=getattr(widget, "id", None) or ""), widget],
    )
