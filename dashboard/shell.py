"""The shell around every page: the user bar, title, navigation and the controls, in both languages.

The navigation comes from the page registry, so it lists exactly the pages the user's role may open.
"""

from __future__ import annotations

from dash import ALL, Input, Output, dcc, html
from flask import has_request_context
from flask_login import current_user

from access import policy
from dashboard import data, ids, views
from dashboard.auth import role_label
from dashboard.context import Context
from dashboard.i18n import t
from dashboard.registry import Registry
from metrics.config import DIMENSIONS, METHODS

CONTROL_LABELS = ("year", "as_of", "method", "peer", "lang", "palette", "weights")
PEERS = ("siblings", "configured")
PALETTES = ("viridis", "cividis", "okabe")


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
                    html.H1(id=ids.TITLE),
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
        )

    @app.callback(
        Output({"type": ids.WEIGHT, "dim": ALL}, "value"),
        Input(ids.WEIGHTS_RESET, "n_clicks"),
        prevent_initial_call=True,
    )
    def _reset(_n):
        return [config.scoring.dimension_weights[d] for d in DIMENSIONS]


def _options(kind: str, values, lang: str) -> list[dict]:
    """Options of a drop-down in `lang`; given in the layout too, so a persisted value is never
    checked against an empty list of options."""
    return [{"label": t(f"{kind}.{v}", lang), "value": v} for v in values]


def _control(key: str, widget) -> html.Div:
    return html.Div(
        className=f"control control-{key}",
        children=[html.Label(id=f"{ids.LABEL}-{key}", htmlFor=getattr(widget, "id", None) or ""), widget],
    )
