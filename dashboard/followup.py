"""What follows an inspection and what the level above watches, as blocks other pages show: the
overdue rectification notices and supervised cases of an office's subtree (under the monitoring
page and the office profile), and a case's supervision with its form (on the case's page).

Notices, supervisions and visits change without a new analytic publish, so the panels are not part
of the cached page; each is cached on its own, per viewer's role and scope, and noted with the
operational counters of the records it read (`access.opstore.RECTIFICATIONS`, `SUPERVISIONS`,
`VISITS`): a notice's step, a supervision or a visit moves its counter and the next page load
builds the panel anew. (Built on every request, the overdue panel read the nation's open cases each
time and took three quarters of the workers' time under load.) The access decision is made on
every request, before the cache."""

from __future__ import annotations

import datetime as dt

from dash import dcc, html

from dashboard import ids, views, widgets
from dashboard import rectification_views as rv
from dashboard import supervision_views as sv
from dashboard import visit_views as vv
from dashboard.i18n import num, pct, t
from dashboard.viewer import Viewer


def overdue_panel(viewer: Viewer, code: str | None, as_of: dt.date, lang: str) -> html.Section | None:
    """Notices past their due date and still waiting for the office, and supervised cases overdue,
    of `code`'s subtree at `as_of`; None when the user may not read `code` fully (the page itself
    says so)."""
    if code is None or views.access(viewer, code, what="follow-up panel", need="full", log=False) != "full":
        return None
    return _cached(viewer, "overdue", code, as_of, lang, lambda: _overdue_panel(viewer, code, as_of, lang))


def _cached(viewer: Viewer, kind: str, code: str, when: object, lang: str, build):
    """A panel about `code` built once per data version, viewer's role and scope, date and language."""
    key = ("panel", kind, code, viewer.user.role, viewer.user.scope_code, when, lang)
    return viewer.cache.get(key, lambda: widgets.encoded(build()))


def _overdue_panel(viewer: Viewer, code: str, as_of: dt.date, lang: str) -> html.Section:
    below = rv.subtree(viewer, code)
    late = [n for n in rv.notices(viewer, status="overdue", as_of=as_of) if n["office_code"] in below]
    cases = [r for r in sv.listed(viewer, status="overdue", as_of=as_of) if r["office_code"] in below]
    notices = [
        html.Li(
            [
                dcc.Link(n["notice_id"], href=f"/rectification/{n['notice_id']}"),
                f" · {n['office_name']} · {t('rect.due', lang)} {n['due_date']} · "
                + t("rect.days_late", lang).format(days=num((as_of - dt.date.fromisoformat(n["due_date"])).days, lang)),
            ]
        )
        for n in late
    ]
    supervised = [
        html.Li(
            [
                dcc.Link(r["case_no"], href=f"/case/{r['office_code']}/{r['case_no']}"),
                f" · {r['office_name']} · {t('sup.due', lang)} {r['due_date']}"
                + (f" · {t('sup.deadline', lang)} {r['deadline']}" if r["deadline"] else ""),
            ]
        )
        for r in cases
    ]
    return html.Section(
        className="card rectification-panel",
        children=[
            html.H3(t("rect.overdue_title", lang)),
            html.P(t("rect.overdue_count", lang).format(n=len(late)), className="warning")
            if late
            else html.P(t("rect.none_overdue", lang), className="note"),
            html.Ul(notices) if notices else None,
            html.H3(t("sup.overdue_title", lang)),
            html.Ul(supervised) if supervised else html.P(t("sup.none_overdue", lang), className="note"),
        ],
    )


def supervision_block(
    viewer: Viewer, office_code: str, case_no: str, lang: str, as_of: dt.date | None = None
) -> html.Section:
    """A case's supervision (its status at the page's `as_of`), and the form to mark or conclude it
    for a user the policy allows."""
    got = sv.of_case(viewer, office_code, case_no, as_of)
    r = got["record"]
    facts: list = []
    if r is None:
        facts = [html.P(t("sup.not_supervised", lang), className="note")]
    else:
        facts = [
            html.P(
                [
                    html.Strong(t(f"sup.status.{r['status']}", lang)),
                    f" · {t('sup.supervisor', lang)} {r['supervisor_name']} · {t('sup.due', lang)} {r['due_date']}",
                    f" · {t('sup.concluded', lang)}" if r["concluded_at"] else "",
                ]
            ),
            html.Blockquote(r["note"]),
        ]
    form = None
    hidden = {"display": "none"}
    if got["may"] and (r is None or not r["concluded_at"]):
        form = html.Div(
            className="rect-form",
            children=[
                dcc.Store(id=ids.SUP_CASE, data=f"{office_code}|{case_no}"),
                # Both buttons and the date are in the page (a callback fires only when all its inputs
                # exist); what does not apply is hidden.
                html.Div(
                    [
                        html.Label(t("sup.due_input", lang), htmlFor=ids.SUP_DUE),
                        dcc.DatePickerSingle(id=ids.SUP_DUE, display_format="YYYY-MM-DD"),
                    ],
                    style=None if r is None else {"display": "none"},
                ),
                html.Label(t("sup.note_input", lang), htmlFor=ids.SUP_NOTE),
                dcc.Textarea(id=ids.SUP_NOTE, style={"width": "100%", "height": "4em"}, maxLength=2000),
                html.Button(t("sup.add", lang), id=ids.SUP_ADD, n_clicks=0, style=None if r is None else hidden),
                html.Button(
                    t("sup.conclude", lang), id=ids.SUP_CONCLUDE, n_clicks=0, style=hidden if r is None else None
                ),
                html.Div(id=ids.SUP_MESSAGE),
            ],
        )
    return html.Section(className="card", id=ids.SUP_BLOCK, children=[html.H3(t("sup.block", lang)), *facts, form])


def visit_panel(viewer: Viewer, code: str | None, year: int, lang: str) -> html.Section | None:
    """The return visits of `code`'s subtree in `year`'s visit plans: coverage, mean satisfaction
    and fulfilment rate with their intervals (shown, not scored); None when the user may not read
    `code` fully."""
    if code is None or views.access(viewer, code, what="return-visit panel", need="full", log=False) != "full":
        return None
    return _cached(viewer, "visits", code, year, lang, lambda: _visit_panel(viewer, code, year, lang))


def _visit_panel(viewer: Viewer, code: str, year: int, lang: str) -> html.Section:
    f = vv.office_figures(viewer, code, year)

    def rate(r: dict) -> str:
        if r["rate"] is None:
            return "—"
        return f"{pct(r['rate'], lang)} ({r['k']}/{r['n']}, 95% {pct(r['low'], lang)}–{pct(r['high'], lang)})"

    body = (
        html.P(
            t("visit.panel_line", lang).format(
                drawn=num(f["drawn"], lang),
                recorded=num(f["recorded"], lang),
                coverage=rate(f["coverage"]),
                mean=num(f["satisfaction"]["mean"], lang, 2),
                fulfilment=rate(f["fulfilment"]),
                notices=num(f["notices"], lang),
            )
        )
        if f
        else html.P(t("visit.panel_none", lang), className="note")
    )
    return html.Section(
        className="card visit-panel",
        children=[
            html.H3(t("visit.panel", lang).format(year=year)),
            body,
            dcc.Link(t("nav.visits", lang), href="/visits") if f else None,
        ],
    )
