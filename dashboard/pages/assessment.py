"""The points-table assessment (issue 19): every office of the scheme's level the user may read, its
total, rank and section subtotals, a chart of what each total is made of, and the manual items'
self-scores beside the assessor's with their difference."""

from __future__ import annotations

from urllib.parse import quote

from dash import Input, Output, State, dcc, html, no_update
from flask_login import current_user

from access import policy
from dashboard import assessment_views as av
from dashboard import charts, ids, inputs
from dashboard.context import Context, Request
from dashboard.i18n import colon, num, t
from dashboard.page import Page
from dashboard.rectification_views import decode_uploads
from dashboard.widgets import dropdown, field, table_exports
from inspection.assessment import AssessmentError
from inspection.rectification import RectificationError
from metrics.schemes import available_schemes


def _points(value: float, capped: bool, lang: str) -> str:
    return num(value, lang, 1) + (" *" if capped else "")


def view(req: Request) -> html.Section:
    lang, year = req.lang, req.controls.year
    wanted = inputs.text(req.arg("scheme"), "scheme", limit=200)
    got = av.scored(req.viewer, year, wanted)
    scheme = got["scheme"]
    schemes, problems = available_schemes()
    choices = html.P(
        [
            f"{t('assess.schemes', lang)}：",
            *[
                html.Span(
                    [
                        html.Strong(s.zh if lang == "zh" else s.en)
                        if (s.id, s.version) == (scheme.id, scheme.version)
                        else dcc.Link(
                            s.zh if lang == "zh" else s.en, href=f"/assessment?scheme={quote(s.id + ' ' + s.version)}"
                        ),
                        " · " if k < len(schemes) - 1 else "",
                    ]
                )
                for k, s in enumerate(schemes)
            ],
        ],
        className="note",
    )
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
            html.Th(f"{i.zh if lang == 'zh' else i.en}{colon(lang)}{t(k, lang)}")
            for i in manual
            for k in ("assess.self", "assess.assessor", "assess.diff")
        ),
    ]
    rows = []
    for o in got["offices"]:
        cells = [
            html.Td(
                str(o["rank"])
                + (
                    t("assess.rank_interval", lang).format(lo=o["rank_interval"][0], hi=o["rank_interval"][1])
                    if o.get("rank_interval")
                    else ""
                ),
                className="num",
            ),
            html.Td(o["name"], className="name"),
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
    scorable = [o for o in got["offices"] if av.may_score(req.viewer, o["office_code"])] if manual else []
    form = html.Div(
        className="sub-form",
        style=None if scorable and not got["published_at"] else {"display": "none"},
        children=[
            html.H3(t("assess.form", lang)),
            html.Div(
                className="fields",
                children=[
                    field(
                        t("assess.office", lang),
                        dropdown(
                            lang,
                            id=ids.ASSESS_OFFICE,
                            options=[{"label": o["name"], "value": o["office_code"]} for o in scorable],
                        ),
                    ),
                    field(
                        t("assess.item", lang),
                        dropdown(
                            lang,
                            id=ids.ASSESS_ITEM,
                            options=[{"label": i.zh if lang == "zh" else i.en, "value": i.id} for i in manual],
                            value=manual[0].id if manual else None,
                        ),
                    ),
                    field(
                        t("assess.role", lang),
                        dcc.RadioItems(
                            id=ids.ASSESS_ROLE,
                            options=[
                                {"label": t("assess.self", lang), "value": "self"},
                                {"label": t("assess.assessor", lang), "value": "assessor"},
                            ],
                            value="self",
                            inline=True,
                        ),
                    ),
                    field(
                        t("assess.score", lang),
                        dcc.Input(id=ids.ASSESS_SCORE, type="number", min=0, step=0.5, className="num-input"),
                    ),
                ],
            ),
            dcc.Upload(
                id=ids.ASSESS_EVIDENCE, multiple=True, className="upload", children=html.Div(t("assess.evidence", lang))
            ),
            html.Button(t("assess.save", lang), id=ids.ASSESS_SAVE, n_clicks=0, className="button"),
            html.Div(id=ids.ASSESS_MESSAGE, role="status"),
        ],
    )
    return html.Section(
        className="card",
        children=[
            html.H2(f"{title} · {year}"),
            choices if len(schemes) > 1 else None,
            *(
                html.P(f"{t('assess.unusable', lang)}{colon(lang)}{p}", className="error")
                for p in (problems if req.viewer.user.admin else [])
            ),
            dcc.Store(id=ids.ASSESS_SCHEME, data=f"{scheme.id} {scheme.version}"),
            html.P(t("assess.intro", lang), className="note"),
            html.P(
                f"{t('assess.source', lang)}{colon(lang)}{scheme.source} · {scheme.id} {scheme.version}",
                className="note",
            ),
            html.P(status, className="note"),
            html.P(got["error"], className="error") if got["error"] else None,
            dcc.Graph(
                figure=charts.scheme_sections(got["offices"], sections, lang=lang), config=charts.graph_config(lang)
            )
            if got["offices"]
            else None,
            html.Div(
                [
                    table_exports(ids.ASSESS_TABLE, f"assessment-{scheme.id}", lang),
                    html.Table(
                        className="ranking compact",
                        id=ids.ASSESS_TABLE,
                        children=[html.Thead(html.Tr(head)), html.Tbody(rows)],
                    ),
                ],
                className="table-holder",
            )
            if rows
            else html.P(t("assess.none", lang)),
            form,
        ],
    )


PAGES = [Page("/assessment", "rankings", view, nav="nav.assessment", order=15)]


def callbacks(app, ctx: Context) -> None:
    @app.callback(
        Output(ids.ASSESS_MESSAGE, "children"),
        Input(ids.ASSESS_SAVE, "n_clicks"),
        State(ids.ASSESS_OFFICE, "value"),
        State(ids.ASSESS_ITEM, "value"),
        State(ids.ASSESS_ROLE, "value"),
        State(ids.ASSESS_SCORE, "value"),
        State(ids.ASSESS_EVIDENCE, "contents"),
        State(ids.ASSESS_EVIDENCE, "filename"),
        State(ids.ASSESS_SCHEME, "data"),
        State(ids.YEAR, "value"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _save(clicks, office, item, role, score, contents, filenames, wanted, year, lang):
        lang = inputs.language(lang)
        if not clicks or not policy.require(ctx.ops, actor=current_user.user, action="rankings", what="manual score"):
            return no_update
        office = inputs.text(office, "office", limit=12)
        item = inputs.text(item, "item", limit=64)
        role = inputs.choice(role, "score", ("self", "assessor"))
        points = inputs.number(score, "score", low=0, high=1000)
        if not office or not item or role is None or points is None:
            return html.P(t("assess.missing", lang), className="error")
        files = [inputs.text(c, "evidence", limit=64 << 20) or "" for c in (inputs.items(contents, "evidence") or [])]
        names = [inputs.text(n, "file name", limit=255) or "" for n in (inputs.items(filenames, "file names") or [])]
        try:
            got = av.enter(
                ctx.viewer(),
                year=inputs.year(year),
                office_code=office,
                item_id=item,
                role=role,
                score=points,
                evidence=decode_uploads(files, names),
                wanted=inputs.text(wanted, "scheme", limit=200),
            )
        except PermissionError:
            return html.P(t("assess.refused", lang), className="error")
        except (AssessmentError, RectificationError) as exc:
            return html.P(str(exc), className="error")
        return html.P(
            t("assess.saved", lang).format(
                own=num(got["self"], lang, 1), assessor=num(got["assessor"], lang, 1), n=len(got["evidence"])
            ),
            className="ok",
        )
