"""Subscriptions and the in-app notifications (issue 21): each user manages their own digests,
scheduled workbooks and alerts; the national administrator anyone's. Every step asks the
permission policy on the server (`notify.subscriptions`): the user selector drawn only for the
administrator is a convenience, not the check.
"""

from __future__ import annotations

from dash import ALL, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx
from flask_login import current_user

from access import policy
from access.users import list_users
from dashboard import ids, inputs
from dashboard.context import Context, Request
from dashboard.i18n import colon, t, when
from dashboard.page import Page
from dashboard.widgets import dropdown, field
from notify import subscriptions as subs
from notify.run import mark_read, notifications

DAY_CHOICES = ("daily", "weekdays", *subs.DAYS)


def _schedule(s: dict, lang: str) -> str:
    if not s["schedule"]:
        return t("sub.every_run", lang)
    days, time = s["schedule"].split()
    return f"{t(f'sub.days.{days}', lang) if days in DAY_CHOICES else days} {time}"


def _what(s: dict, lang: str) -> str:
    words = t(f"sub.kind.{s['kind']}", lang)
    p = s["params"]
    if s["kind"] == "workbook":
        words += (
            f"：{t('sub.report.' + p['report'], lang)}" if lang == "zh" else f": {t('sub.report.' + p['report'], lang)}"
        )
    if s["kind"] == "alert":
        rule = t(f"sub.rule.{p['rule']}", lang)
        words += f" · {rule}" + (f" {p['threshold']:.0%}" if "threshold" in p else "")
    return words


def listing(user, ops, lang: str) -> html.Div | html.Table:
    """The subscriptions the user may see (their own; the administrator's: everyone's)."""
    mine = subs.listed(
        ops, username=None if policy.allowed(actor=user, action="subscriptions.manage") else user.username
    )
    if not mine:
        return html.Div(html.P(t("sub.none", lang), className="note"))
    head = ["sub.user", "sub.kind", "sub.schedule", "sub.channel", "sub.created", ""]
    return html.Table(
        className="ranking compact",
        children=[
            html.Thead(html.Tr([html.Th(t(k, lang) if k else "") for k in head])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(s["username"]),
                            html.Td(_what(s, lang)),
                            html.Td(_schedule(s, lang)),
                            html.Td(
                                t(f"sub.channel.{s['channel']}", lang) + (f" ({s['email']})" if s["email"] else "")
                            ),
                            html.Td(when(s["created_at"], lang)),
                            html.Td(
                                html.Button(
                                    t("sub.remove", lang),
                                    id={"type": ids.SUB_REMOVE, "sub": s["sub_id"]},
                                    n_clicks=0,
                                    className="button secondary",
                                )
                            ),
                        ]
                    )
                    for s in mine
                ]
            ),
        ],
    )


def inbox(user, ops, lang: str) -> html.Div:
    got = notifications(ops, user.username)[:50]
    if not got:
        return html.Div(html.P(t("notif.none", lang), className="note"))
    return html.Div(
        [
            html.Details(
                open=n["read_at"] is None,
                className="notification" + (" unread" if n["read_at"] is None else ""),
                children=[
                    html.Summary(
                        [
                            html.Strong(t("notif.unread", lang) + " · ") if n["read_at"] is None else None,
                            n["subject"],
                            html.Span(f" · {when(n['created_at'], lang)}", className="note"),
                        ]
                    ),
                    html.Pre(n["body"][:20000], className="notification-body"),
                ],
            )
            for n in got
        ]
    )


def _radio(id_: str, options: list[tuple[str, str]], value: str) -> dcc.RadioItems:
    return dcc.RadioItems(id=id_, options=[{"label": w, "value": v} for v, w in options], value=value, inline=True)


def view(req: Request) -> html.Section:
    lang, user, ops = req.lang, req.viewer.user, req.viewer.ops
    admin = policy.allowed(actor=user, action="subscriptions.manage")
    users = [u.username for u in list_users(ops) if not u.disabled] if admin else [user.username]
    hidden = {"display": "none"}
    form = html.Div(
        className="sub-form",
        children=[
            html.H3(t("sub.new", lang)),
            html.Div(
                className="fields",
                children=[
                    html.Div(
                        field(t("sub.user", lang), dropdown(lang, id=ids.SUB_USER, options=users, value=user.username)),
                        style=None if admin else hidden,
                    ),
                    field(
                        t("sub.kind", lang),
                        _radio(ids.SUB_KIND, [(k, t(f"sub.kind.{k}", lang)) for k in subs.KINDS], "digest"),
                    ),
                ],
            ),
            # Every input is in the page (a callback fires only when all exist); what does not apply
            # to the chosen kind is hidden by `_applies`.
            html.Div(
                id=ids.SUB_FOR_WORKBOOK,
                style=hidden,
                children=field(
                    t("sub.report", lang),
                    _radio(ids.SUB_REPORT, [(k, t(f"sub.report.{k}", lang)) for k in subs.REPORTS], "monitor"),
                ),
            ),
            html.Div(
                id=ids.SUB_FOR_ALERT,
                style=hidden,
                className="fields",
                children=[
                    field(
                        t("sub.rule", lang),
                        _radio(ids.SUB_RULE, [(k, t(f"sub.rule.{k}", lang)) for k in subs.RULES], "overdue_share"),
                    ),
                    field(
                        t("sub.threshold", lang),
                        dcc.Input(
                            id=ids.SUB_THRESHOLD, type="number", value=5, min=1, max=99, step=1, className="num-input"
                        ),
                    ),
                ],
            ),
            html.Div(
                id=ids.SUB_FOR_SCHEDULE,
                className="fields",
                children=[
                    field(
                        t("sub.schedule", lang),
                        dropdown(
                            lang,
                            id=ids.SUB_DAYS,
                            options=[{"label": t(f"sub.days.{d}", lang), "value": d} for d in DAY_CHOICES],
                            value="mon",
                            clearable=False,
                        ),
                    ),
                    field(
                        t("sub.time", lang),
                        dropdown(
                            lang,
                            id=ids.SUB_TIME,
                            options=[f"{h:02d}:{m:02d}" for h in range(6, 23) for m in (0, 30)],
                            value="08:00",
                            clearable=False,
                        ),
                    ),
                ],
            ),
            html.Div(
                className="fields",
                children=[
                    field(
                        t("sub.channel", lang),
                        _radio(ids.SUB_CHANNEL, [(k, t(f"sub.channel.{k}", lang)) for k in subs.CHANNELS], "app"),
                    ),
                    field(t("sub.email", lang), dcc.Input(id=ids.SUB_EMAIL, type="email", value="", maxLength=200)),
                    field(t("sub.lang", lang), _radio(ids.SUB_LANG, [("zh", "中文"), ("en", "English")], lang)),
                ],
            ),
            html.Button(t("sub.add", lang), id=ids.SUB_ADD, n_clicks=0, className="button"),
            html.Div(id=ids.SUB_MESSAGE, role="status"),
        ],
    )
    return html.Section(
        className="card",
        children=[
            html.H2(t("sub.title", lang)),
            html.P(t("sub.intro", lang), className="note"),
            html.Div(id=ids.SUB_LIST, children=listing(user, ops, lang)),
            form,
            html.H2(t("notif.title", lang)),
            html.Button(t("notif.read_all", lang), id=ids.NOTIF_READ, n_clicks=0, className="button secondary"),
            html.Div(id=ids.NOTIF_LIST, children=inbox(user, ops, lang)),
        ],
    )


PAGES = [Page("/subscriptions", "subscriptions", view, nav="nav.subscriptions", order=90)]


def callbacks(app, ctx: Context) -> None:
    @app.callback(
        Output(ids.SUB_FOR_WORKBOOK, "style"),
        Output(ids.SUB_FOR_ALERT, "style"),
        Output(ids.SUB_FOR_SCHEDULE, "style"),
        Input(ids.SUB_KIND, "value"),
    )
    def _applies(kind):
        """Show the inputs of the chosen kind only (reads nothing; the server checks on subscribing)."""
        kind = inputs.choice(kind, "kind", subs.KINDS) or "digest"
        hidden = {"display": "none"}
        return (
            None if kind == "workbook" else hidden,
            None if kind == "alert" else hidden,
            hidden if kind == "alert" else None,
        )

    @app.callback(
        Output(ids.SUB_MESSAGE, "children"),
        Output(ids.SUB_LIST, "children"),
        Input(ids.SUB_ADD, "n_clicks"),
        State(ids.SUB_USER, "value"),
        State(ids.SUB_KIND, "value"),
        State(ids.SUB_REPORT, "value"),
        State(ids.SUB_RULE, "value"),
        State(ids.SUB_THRESHOLD, "value"),
        State(ids.SUB_DAYS, "value"),
        State(ids.SUB_TIME, "value"),
        State(ids.SUB_CHANNEL, "value"),
        State(ids.SUB_EMAIL, "value"),
        State(ids.SUB_LANG, "value"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _add(clicks, who, kind, report, rule, threshold, days, time, channel, address, sub_lang, lang):
        lang = inputs.language(lang)
        user = current_user.user
        if not clicks or not policy.require(ctx.ops, actor=user, action="subscriptions", what="subscribe"):
            return html.P(t("sub.refused", lang), className="error"), no_update
        kind = inputs.choice(kind, "kind", subs.KINDS)
        days = inputs.choice(days, "days", DAY_CHOICES)
        percent = inputs.number(threshold, "threshold", low=1, high=99)
        try:
            made = subs.add(
                ctx.ops,
                username=inputs.text(who, "user", limit=40) or user.username,
                kind=kind or "",
                schedule=None if kind == "alert" else f"{days} {inputs.text(time, 'time', limit=5) or ''}",
                channel=inputs.choice(channel, "channel", subs.CHANNELS) or "app",
                email=inputs.text(address, "e-mail", limit=200),
                actor=user.username,
                by=user,
                report=inputs.choice(report, "report", subs.REPORTS),
                rule=inputs.choice(rule, "rule", subs.RULES),
                threshold=None if percent is None else percent / 100,
                lang=inputs.choice(sub_lang, "language", ("zh", "en")),
            )
        except PermissionError:
            return html.P(t("sub.refused", lang), className="error"), no_update
        except subs.SubscriptionError as exc:
            return html.P(str(exc), className="error"), no_update
        return html.P(f"{t('sub.added', lang)}{colon(lang)}{_what(made, lang)}", className="ok"), listing(
            user, ctx.ops, lang
        )

    @app.callback(
        Output(ids.SUB_MESSAGE, "children", allow_duplicate=True),
        Output(ids.SUB_LIST, "children", allow_duplicate=True),
        Input({"type": ids.SUB_REMOVE, "sub": ALL}, "n_clicks"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _remove(clicks, lang):
        lang = inputs.language(lang)
        trigger = dash_ctx.triggered_id
        if not any(clicks or []) or not isinstance(trigger, dict):
            return no_update, no_update
        user = current_user.user
        try:
            subs.remove(
                ctx.ops, inputs.text(trigger.get("sub"), "subscription", limit=40) or "", actor=user.username, by=user
            )
        except PermissionError:
            return html.P(t("sub.refused", lang), className="error"), no_update
        except subs.SubscriptionError as exc:
            return html.P(str(exc), className="error"), no_update
        return html.P(t("sub.removed", lang), className="ok"), listing(user, ctx.ops, lang)

    @app.callback(
        Output(ids.NOTIF_LIST, "children"),
        Input(ids.NOTIF_READ, "n_clicks"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _read(clicks, lang):
        user = current_user.user
        if not clicks or not policy.require(ctx.ops, actor=user, action="subscriptions", what="notifications"):
            return no_update
        mark_read(ctx.ops, user.username)
        return inbox(user, ctx.ops, inputs.language(lang))
