"""How the figures are computed: indicators, weights, methods and time-limit rules."""

from __future__ import annotations

from dash import html

from dashboard import data, ids
from dashboard.context import Request
from dashboard.i18n import num, t
from dashboard.registry import Page
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
                            html.Td(html.Code(_formula(i))),
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
            html.Tbody([html.Tr([html.Td(r[k]) for k in RULE_COLUMNS]) for r in _rule_rows(config)]),
        ],
    )
    sc = config.scoring
    return html.Div(
        id=ids.METHODOLOGY,
        children=[
            html.H2(t("meth.title", lang)),
            html.P(
                f"{t('meth.data', lang)}: {meta.get('published_at', '—')} · data_version {meta.get('data_version', '—')}"
            ),
            html.P(
                f"{t('meth.versions', lang)}: indicators {m['indicators_version']}, time limits "
                f"{m['time_limits_version']}, scoring {m['scoring_version']}"
            ),
            html.H3(t("meth.scoring", lang)),
            html.P(
                f"{t('ctl.method', lang)}: {t('method.' + sc.method, lang)}; "
                + "; ".join(f"{t('dim.' + d, lang)} {w:g}" for d, w in sc.dimension_weights.items())
            ),
            html.P(
                f"{t('meth.peer_groups', lang)}: "
                + "; ".join(f"{t('level.' + k, lang)} → {v}" for k, v in sc.peer_groups.items())
            ),
            html.P(
                f"{t('meth.mc', lang)}: {sc.monte_carlo.runs} runs, seed {sc.monte_carlo.seed}, Dirichlet "
                f"concentration {sc.monte_carlo.concentration:g}, methods {', '.join(sc.monte_carlo.methods)}, "
                f"interval {sc.monte_carlo.interval[0]:g}–{sc.monte_carlo.interval[1]:g} percentiles"
            ),
            html.H3(t("profile.indicators", lang)),
            inds,
            html.H3(t("meth.rules", lang)),
            rules,
        ],
    )


def _formula(i) -> str:
    if i.value == "count":
        return i.numerator
    if i.value == "per_staff":
        return f"{i.numerator} / certified_staff"
    if i.value == "median":
        return i.numerator
    if i.value == "shrunk_mean":
        return f"({i.numerator} + {i.shrinkage:g}·national_mean) / ({i.denominator} + {i.shrinkage:g})"
    return f"{i.numerator} / {i.denominator}"


RULE_COLUMNS = ("case_kind", "start", "limit", "extension", "acceptance")


def _rule_rows(config: Config) -> list[dict]:
    return [
        {
            "case_kind": r.case_kind,
            "start": r.start.isoformat(),
            "limit": r.limit.label(),
            "extension": r.max_extension.label(),
            "acceptance": f"{r.acceptance_working_days} working days" if r.acceptance_working_days is not None else "—",
        }
        for r in config.time_limits.rules
    ]


def render(req: Request) -> html.Div:
    v = req.viewer
    return methodology_page(v.config, v.cache.get(("meta",), lambda: data.meta(v.runner())), req.lang)


PAGES = [Page("/methodology", "methodology", render, nav="nav.methodology", order=90)]
