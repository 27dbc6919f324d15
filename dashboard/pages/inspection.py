"""Inspection plans (SPEC §4): the list with its form, one plan's page, and the administrators' actions.

National users see the plans; only administrators (permission `inspection.manage`) create, lock,
draw, void and publish, which every callback asks the policy on the server before it acts. The
actions themselves (`inspection/`) write their audit entries in the same transaction.
"""

from __future__ import annotations

import datetime as dt

import dash
from dash import Input, Output, State, dcc, html, no_update
from flask_login import current_user

from access import policy
from dashboard import ids, inputs, views
from dashboard import inspection_views as iv
from dashboard.context import Context, Request
from dashboard.i18n import t
from dashboard.page import Page
from dashboard.plan_detail import plan_page
from dashboard.plan_form import plan_toml, plans_page, preview, preview_block
from inspection.plans import (
    create_plan,
    lock_plan,
    run_draw,
    void_draw,
)
from inspection.results import publish, standing_draw


def plans_view(req: Request) -> html.Div:
    v = req.viewer
    admin = policy.allowed(actor=v.user, action="inspection.manage")
    return plans_page(req.ctx.ops, views.years(v), views.tree(v).national or "", req.lang, admin)


def plan_view(req: Request) -> html.Div:
    admin = policy.allowed(actor=req.viewer.user, action="inspection.manage")
    return plan_page(req.ctx.ops, req.ctx.store, req.params["plan_id"], req.lang, admin)


PAGES = [
    Page("/inspection", "inspection", plans_view, nav="nav.inspection", order=50),
    Page("/inspection/<plan_id>", "inspection", plan_view, order=51),
]


def callbacks(app, ctx: Context) -> None:
    ops, store = ctx.ops, ctx.store

    def admin_only(lang: str) -> str | None:
        """None for an administrator, else the refusal (written to the audit log by the policy)."""
        if policy.require(ops, actor=current_user.user, action="inspection.manage", what="inspection admin"):
            return None
        return t("insp.admins_only", lang)

    @app.callback(
        Output(ids.PLAN_PREVIEW, "children"),
        Output(ids.PLAN_MESSAGE, "children"),
        Input(ids.PLAN_PREVIEW_BUTTON, "n_clicks"),
        Input(ids.PLAN_CREATE_BUTTON, "n_clicks"),
        State(ids.PLAN_ID, "value"),
        State(ids.PLAN_YEAR, "value"),
        State(ids.PLAN_SCOPE, "value"),
        State(ids.PLAN_STRATA, "value"),
        State(ids.PLAN_RULE, "value"),
        State(ids.PLAN_RATIO, "value"),
        State(ids.PLAN_MIN, "value"),
        State(ids.PLAN_MAX, "value"),
        State(ids.PLAN_CONFIDENCE, "value"),
        State(ids.PLAN_TOLERABLE, "value"),
        State(ids.PLAN_EXPECTED, "value"),
        State(ids.PLAN_PER_OFFICE, "value"),
        State(ids.PLAN_CAP, "value"),
        State(ids.PLAN_EXCLUDE, "value"),
        State(ids.LANG, "value"),
        State(ids.PLAN_CHECKLIST, "value"),
        prevent_initial_call=True,
    )
    def _plan_form(
        _p,
        _c,
        plan_id,
        year,
        scope,
        strata,
        rule,
        ratio,
        minimum,
        maximum,
        confidence,
        tolerable,
        expected,
        per_office,
        cap,
        exclude,
        lang,
        checklist=None,
    ):
        lang = lang or "zh"
        refused = admin_only(lang)
        if refused:
            return no_update, html.P(refused, className="error")
        try:
            text = plan_toml(
                plan_id=plan_id,
                year=year,
                scope=scope,
                strata=strata,
                rule=rule,
                ratio=ratio,
                minimum=minimum,
                maximum=maximum,
                confidence=confidence,
                tolerable=tolerable,
                expected=expected,
                per_office=per_office,
                cap=cap,
                exclude=exclude,
                checklist=inputs.text(checklist, "checklist", limit=64),
            )
            if dash.ctx.triggered_id == ids.PLAN_CREATE_BUTTON:
                plan = create_plan(ops, store, text, actor=current_user.user.username)
                return no_update, html.P(
                    [t("insp.created", lang), dcc.Link(plan["plan_id"], href=f"/inspection/{plan['plan_id']}")],
                    className="ok",
                    id=ids.PLAN_CREATED,
                )
            return preview_block(preview(store, text), lang), ""
        except (TypeError, *iv.FAILURES) as exc:
            return no_update, html.P(str(exc), className="error")

    def admin_action(clicks, act, lang: str | None) -> tuple:
        """Run `act(username)` (a lock, draw, void or publication) for an administrator; its message
        and a re-render of the page, or the refusal or failure as an error."""
        if not clicks:
            return no_update, no_update
        refused = admin_only(lang or "zh")
        if refused:
            return html.P(refused, className="error"), no_update
        try:
            return _reload(act(current_user.user.username))
        except iv.FAILURES as exc:
            return html.P(str(exc), className="error"), no_update

    @app.callback(
        Output(ids.PLAN_ACTION_MESSAGE, "children"),
        Output(ids.URL, "search", allow_duplicate=True),
        Input(ids.PLAN_LOCK_CONFIRM, "submit_n_clicks"),
        State(ids.PLAN_CURRENT, "data"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _lock(clicks, plan_id, lang):
        def act(actor):
            got = lock_plan(ops, store, plan_id, out_dir=store.path.parent / "plans", actor=actor)
            return t("insp.locked_summary", lang or "zh").format(
                archives=got["population"], pending=got["excluded_pending_review"], sha256=got["population_sha256"]
            )

        return admin_action(clicks, act, lang)

    @app.callback(
        Output(ids.PLAN_ACTION_MESSAGE, "children", allow_duplicate=True),
        Output(ids.URL, "search", allow_duplicate=True),
        Input(ids.DRAW_CONFIRM, "submit_n_clicks"),
        State(ids.PLAN_CURRENT, "data"),
        State(ids.DRAW_SEED_INPUT, "value"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _draw(clicks, plan_id, seed, lang):
        def act(actor):
            manifest = run_draw(ops, store, plan_id, seed=str(seed or ""), actor=actor)
            return t("insp.drawn", lang or "zh").format(draw_id=manifest["draw_id"])

        return admin_action(clicks, act, lang)

    @app.callback(
        Output(ids.PLAN_ACTION_MESSAGE, "children", allow_duplicate=True),
        Output(ids.URL, "search", allow_duplicate=True),
        Input(ids.DRAW_VOID_CONFIRM, "submit_n_clicks"),
        State(ids.PLAN_CURRENT, "data"),
        State(ids.DRAW_VOID_REASON, "value"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _void(clicks, plan_id, reason, lang):
        def act(actor):
            draw_id = standing_draw(ops, plan_id)["draw_id"]
            done = void_draw(ops, draw_id, reason=str(reason or ""), actor=actor)
            if done["publication_withdrawn"]:
                return t("insp.voided_draw_id_published", lang or "zh").format(draw_id=draw_id)
            return t("insp.voided_draw_id", lang or "zh").format(draw_id=draw_id)

        return admin_action(clicks, act, lang)

    @app.callback(
        Output(ids.PLAN_ACTION_MESSAGE, "children", allow_duplicate=True),
        Output(ids.URL, "search", allow_duplicate=True),
        Input(ids.PLAN_PUBLISH_CONFIRM, "submit_n_clicks"),
        State(ids.PLAN_CURRENT, "data"),
        State(ids.PLAN_PUBLISH_REASON, "value"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _publish(clicks, plan_id, reason, lang):
        def act(actor):
            got = publish(ops, store, plan_id, actor=actor, partial_reason=reason)
            if got["partial_reason"]:
                return t("insp.published_partial", lang or "zh").format(pending=got["unappraised"])
            return t("insp.published_see_public_page", lang or "zh")

        return admin_action(clicks, act, lang)

    @app.callback(
        Output(ids.DRAW_MANIFEST_DOWNLOAD, "data"),
        Input(ids.DRAW_MANIFEST_BUTTON, "n_clicks"),
        State(ids.PLAN_CURRENT, "data"),
        prevent_initial_call=True,
    )
    def _manifest(clicks, plan_id):
        if not clicks:
            return no_update
        try:
            name, content = iv.manifest_export(ops, current_user.user, plan_id)
        except iv.FAILURES:  # a refusal (iv.Refused) is one of them, already audited
            return no_update
        return dict(content=content, filename=name)


def _reload(message: str) -> tuple[html.P, str]:
    """The message, and a new query string that makes the router render the page's new state."""
    return html.P(message, className="ok"), f"?done={dt.datetime.now().timestamp():.0f}"
