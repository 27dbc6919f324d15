"""The points-table assessment (issue 19): every office of the scheme's level the user may read, its
total, rank and section subtotals, a chart of what each total is made of, and the manual items'
self-scores beside the assessor's with their difference."""

from __future__ import annotations

from dash import dcc, html

from dashboard import assessment_views as av
from dashboard import charts
from dashboard.context import Request
from dashboard.i18n import num, t
from dashboard.registry import Page


def _points(value: float, capped: bool, lang: str) -> str:
    return num(value, lang, 1) + (" *" if capped else "")


def view(req: Request) -> html.Section:
    lang, year = req.lang, req.controls.year
    got = av.scored(req.viewer, year)
    scheme = got["scheme"]
    title = scheme.zh if lang == "zh" else scheme.en
    sections = [(s.id, s.zh if lang == "zh" else s.en) for s in scheme.sections]
    manual = [i for i in scheme.items if i.kind == "manual"]
    status = (
        t("assess.published", lang).format(day=got["published_at"][:10])
        if got["published_at"]
        else t("assess.not_published", lang)
    )
    head = [
        html.Th(t("assess.rank", lang)),
        html.Th(t("assess.office", lang)),
        html.Th(t("assess.total", lang)),
        *(html.Th(label) for _, label in sections),
        *(
            html.Th(f"{i.zh if lang == 'zh' else i.en}：{t(k, lang)}")
            for i in manual
            for k in ("assess.self", "assess.assessor", "assess.diff")
        ),
    ]
    rows = []
    for o in got["offices"]:
        cells = [
            html.Td(str(o["rank"]), className="num"),
            html.Td(o["name"]),
            html.Td(num(o["total"], lang, 1), className="num"),
            *(
                html.Td(_points(o["sections"][sid]["points"], o["sections"][sid]["capped"], lang), className="num")
                for sid, _ in sections
            ),
        ]
        for i in manual:
            m = o["items"][i.id]
            diff = None if m["self"] is None or m["assessor"] is None else m["assessor"] - m["self"]
            cells += [
                html.Td(num(m["self"], lang, 1), className="num"),
                html.Td(
                    num(m["assessor"], lang, 1) if m["assessor"] is not None else t("assess.pending", lang),
                    className="num",
                ),
                html.Td(num(diff, lang, 1), className="num warning" if diff else "num"),
            ]
        rows.append(html.Tr(cells))
    return html.Section(
        className="card",
        children=[
            html.H2(f"{title} · {year}"),
            html.P(t("assess.intro", lang), className="note"),
            html.P(f"{t('assess.source', lang)}：{scheme.source} · {scheme.id} {scheme.version}", className="note"),
            html.P(status, className="note"),
            html.P(got["error"], className="error") if got["error"] else None,
            dcc.Graph(
                figure=charts.scheme_sections(got["offices"], sections, lang=lang), config={"displayModeBar": False}
            )
            if got["offices"]
            else None,
            html.Table(className="ranking compact", children=[html.Thead(html.Tr(head)), html.Tbody(rows)])
            if rows
            else html.P(t("assess.none", lang)),
        ],
    )


PAGES = [Page("/assessment", "rankings", view, nav="nav.assessment", order=15)]
