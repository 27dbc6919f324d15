"""One case: its facts, time limit and timeline."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard import case_views, charts, ids
from dashboard.case_views import ENUM_COLUMNS
from dashboard.context import Request
from dashboard.followup import supervision_block
from dashboard.i18n import date, t
from dashboard.page import Page
from dashboard.widgets import breadcrumb
from ingest.contract import default_contract


def _data_field(k: str) -> dict[str, Any]:
    return {"data-field": k}


def case_page(c: dict | None, lang: str, palette: str) -> html.Div:
    if c is None:
        return html.Div(t("case.not_found", lang), className="error", role="alert", id=ids.DENIED)
    fields = [
        "office_code",
        "case_no",
        "case_kind",
        "source",
        "received_date",
        "acceptance_due",
        "accepted_date",
        "suspended_days",
        "extension_days",
        "deadline",
        "closed_date",
        "closing_type",
        "review_outcome",
        "status",
        "grade",
        "appraisal_total",
    ]

    def shown(k):
        v = c.get(k)
        if k == "status":
            return t(f"status.{v}", lang)
        if k == "grade":  # by its name, never its code
            return "—" if v is None else t(f"rect.grade.{v}", lang)
        if k in ENUM_COLUMNS:
            return "—" if v is None else default_contract().label(ENUM_COLUMNS[k], v, lang)
        if k.endswith("_date") or k in ("deadline", "acceptance_due"):
            return date(v, lang)
        return "—" if v is None else str(v)

    return html.Div(
        [
            *([breadcrumb(c["crumbs"], lang, last_linked=True)] if c.get("crumbs") else []),
            html.H2(
                f"{t('case.title', lang)} {c['case_no']} · {c.get('office_name') or c['office_code']}",
                id=ids.CASE_TITLE,
            ),
            html.Div(
                className="card",
                children=[
                    dcc.Graph(figure=charts.timeline(c, lang=lang, palette=palette), config=charts.graph_config(lang))
                ],
            ),
            html.Table(
                className="ranking compact details",
                id=ids.CASE_FIELDS,
                children=html.Tbody(
                    [html.Tr([html.Th(t(f"case.{k}", lang)), html.Td(shown(k), **_data_field(k))]) for k in fields]
                ),
            ),
        ]
    )


def render(req: Request) -> html.Div:
    p = req.params
    detail = case_views.case_detail(req.viewer, p["office"], p["case_no"], req.controls)
    page = case_page(detail, req.lang, req.palette)
    if detail is None or req.viewer.user.role == "inspector":
        return page
    # The case's supervision (督办) and, for a user the policy allows, its form.
    block = supervision_block(req.viewer, detail["office_code"], detail["case_no"], req.lang, req.controls.as_of_date)
    return html.Div([page, block])


PAGES = [Page("/case/<office>/<case_no>", "cases", render, order=31)]
