"""How the figures are computed: indicators, weights, methods and time-limit rules."""

from __future__ import annotations

from dash import html

from dashboard import data, ids
from dashboard.context import Request
from dashboard.i18n import date, num, t, when
from dashboard.page import Page
from ingest.contract import default_contract
from metrics.config import Config


def methodology_page(config: Config, meta: dict, lang: str) -> html.Div:
    m = config.methodology()
    inds = html.Table(
        className="ranking compact",
        children=[
            html.Thead(
                html.Tr(
                    [
                        html.Th(t(k, lang))
                        for k in ("ind.id", "ind.name", "ind.dimension", "ind.direction", "ind.weight", "ind.formula")
                    ]
                )
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(i.id),
                            html.Td(getattr(i, lang)),
                            html.Td(t(f"dim.{i.dimension}", lang)),
                            html.Td(t(f"dir.{i.direction}", lang)),
                            html.Td(num(i.weight, lang, 1)),
                            html.Td(i.formula(lang) or getattr(i, lang)),  # in words, never the expression
                        ]
                    )
                    for i in config.indicators
                ]
            ),
        ],
    )
    rules = html.Table(
        className="ranking compact",
        children=[
            html.Thead(html.Tr([html.Th(t(f"rule.{h}", lang)) for h in RULE_COLUMNS])),
            html.Tbody([html.Tr([html.Td(r[k]) for k in RULE_COLUMNS]) for r in _rule_rows(config, lang)]),
        ],
    )
    sc = config.scoring
    return html.Div(
        id=ids.METHODOLOGY,
        children=[
            html.H2(t("meth.title", lang)),
            html.P(
                t("meth.data_line", lang).format(
                    published=when(meta["published_at"], lang) if meta.get("published_at") else "—",
                    version=meta.get("data_version", "—"),
                )
            ),
            html.P(
                t("meth.versions_line", lang).format(
                    indicators=m["indicators_version"], limits=m["time_limits_version"], scoring=m["scoring_version"]
                )
            ),
            html.H3(t("meth.scoring", lang)),
            html.P(
                t("meth.scoring_line", lang).format(
                    method=t("method." + sc.method, lang),
                    weights=("、" if lang == "zh" else ", ").join(
                        f"{t('dim.' + d, lang)} {w:g}" for d, w in sc.dimension_weights.items()
                    ),
                )
            ),
            html.P(
                t("meth.peer_groups", lang)
                + ("：" if lang == "zh" else ": ")
                + ("；" if lang == "zh" else "; ").join(
                    t(f"meth.peers_{v}", lang).format(level=t("level." + k, lang)) for k, v in sc.peer_groups.items()
                )
            ),
            html.P(
                t("meth.mc_line", lang).format(
                    runs=sc.monte_carlo.runs,
                    methods=("、" if lang == "zh" else ", ").join(
                        t(f"method.{x}", lang) for x in sc.monte_carlo.methods
                    ),
                    lo=f"{sc.monte_carlo.interval[0]:g}",
                    hi=f"{sc.monte_carlo.interval[1]:g}",
                    seed=sc.monte_carlo.seed,
                )
                + (t("meth.mc_resample", lang) if sc.monte_carlo.resample_appraisals else "")
            ),
            html.H3(t("profile.indicators", lang)),
            inds,
            html.H3(t("meth.rules", lang)),
            rules,
        ],
    )


RULE_COLUMNS = ("case_kind", "start", "limit", "extension", "acceptance")


def _rule_rows(config: Config, lang: str) -> list[dict]:
    contract = default_contract()
    return [
        {
            "case_kind": contract.label("case_kind", r.case_kind, lang) or r.case_kind,
            "start": date(r.start, lang),
            "limit": r.limit.label(lang),
            "extension": r.max_extension.label(lang),
            "acceptance": t("meth.working_days", lang).format(n=r.acceptance_working_days)
            if r.acceptance_working_days is not None
            else "—",
        }
        for r in config.time_limits.rules
    ]


def render(req: Request) -> html.Div:
    v = req.viewer
    return methodology_page(v.config, v.cache.get(("meta",), lambda: data.meta(v.runner())), req.lang)


PAGES = [Page("/methodology", "methodology", render, nav="nav.methodology", order=90)]
