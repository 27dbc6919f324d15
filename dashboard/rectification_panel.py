"""The overdue rectification notices of an office's subtree, as a panel the monitoring page and the
office profile put under their (cached) figures. Built on every request: notices change without a
new analytic publish, so they never sit in the page cache."""

from __future__ import annotations

import datetime as dt

from dash import dcc, html

from dashboard import rectification_views as rv
from dashboard import views
from dashboard.i18n import num, t
from dashboard.viewer import Viewer


def overdue_panel(viewer: Viewer, code: str | None, as_of: dt.date, lang: str) -> html.Section | None:
    """Notices of `code`'s subtree past their due date at `as_of` and still waiting for the office;
    None when the user may not read `code` fully (the page itself says so) or has no such right."""
    if code is None or views.access(viewer, code, what="rectification panel", need="full", log=False) != "full":
        return None
    tree = views.tree(viewer)
    below = {c for c in tree.offices if code in tree.chain(c)}
    late = [n for n in rv.notices(viewer, status="overdue", as_of=as_of) if n["office_code"] in below]
    items = [
        html.Li(
            [
                dcc.Link(n["notice_id"], href=f"/rectification/{n['notice_id']}"),
                f" · {n['office_name']} · {t('rect.due', lang)} {n['due_date']} · "
                + t("rect.days_late", lang).format(days=num((as_of - dt.date.fromisoformat(n["due_date"])).days, lang)),
            ]
        )
        for n in late
    ]
    return html.Section(
        className="card rectification-panel",
        children=[
            html.H3(t("rect.overdue_title", lang)),
            html.P(t("rect.overdue_count", lang).format(n=len(late)), className="warning")
            if late
            else html.P(t("rect.none_overdue", lang), className="note"),
            html.Ul(items) if items else None,
        ],
    )
