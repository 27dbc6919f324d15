"""Plotly figures of the dashboard: tile map, score distributions, trends, dimension bars, timelines.

Colour comes from colour-blind-safe palettes only (Viridis, Cividis, Okabe–Ito); every figure is
labelled in the page's language and has a fixed, modest height so pages read at 1280 px.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import plotly.graph_objects as go

from dashboard.i18n import t
from metrics.results import RankedOffice

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
SCALES = {"viridis": "Viridis", "cividis": "Cividis", "okabe": [[0, "#D55E00"], [0.5, "#F0E442"], [1, "#0072B2"]]}
PALETTES = tuple(SCALES)  # the choices of the palette control
# Every chart offers one button: save it as a PNG (twice the screen's resolution), nothing else.
GRAPH_CONFIG: Any = {
    "displaylogo": False,
    "modeBarButtons": [["toImage"]],
    "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "ipdash-chart"},
}
PLOTLY_LOCALES = {"zh": "zh-CN", "en": "en"}  # zh-CN is registered by assets/plotly-locale-zh-cn.js


def graph_config(lang: str) -> Any:
    """A chart's configuration in the page's language: Plotly's own words (the button's tooltip,
    month and weekday names on date axes) in Chinese or English."""
    return {**GRAPH_CONFIG, "locale": PLOTLY_LOCALES.get(lang, "en")}


FONT = "Noto Sans CJK SC, Noto Sans SC, PingFang SC, Microsoft YaHei, sans-serif"


def _base(fig: go.Figure, height: int = 320) -> go.Figure:
    fig.update_layout(
        height=height,
        margin=dict(l=40, r=20, t=36, b=36),
        font=dict(family=FONT, size=12),
        paper_bgcolor="white",
        plot_bgcolor="white",
        showlegend=False,
    )
    return fig


def accent(palette: str) -> str:
    return {"cividis": "#00204D", "okabe": OKABE_ITO[0]}.get(palette, "#31688E")


@cache
def tiles() -> dict[str, dict]:
    text = (resources.files("dashboard") / "tiles.toml").read_text(encoding="utf-8")
    return {t_["code"]: t_ for t_ in tomllib.loads(text)["tiles"]}


def tile_map(rows: Sequence[Mapping[str, Any]], *, value_key: str, title: str, lang: str, palette: str) -> go.Figure:
    """One square per province coloured by the chosen score (a heatmap on the tile grid, so tiles stay
    square and evenly spaced at any width); hover shows the name, score and rank; click drills down."""
    layout = tiles()
    extra = [r for r in rows if r["office_code"] not in layout]
    n_rows = max(t_["row"] for t_ in layout.values()) + 1 + (1 if extra else 0)
    n_cols = max(max(t_["col"] for t_ in layout.values()) + 1, len(extra))
    z = [[None] * n_cols for _ in range(n_rows)]
    text = [[""] * n_cols for _ in range(n_rows)]
    hover = [[""] * n_cols for _ in range(n_rows)]
    codes = [[""] * n_cols for _ in range(n_rows)]
    for r in rows:
        pos = layout.get(r["office_code"]) or {
            "col": extra.index(r),
            "row": n_rows - 1,
            "zh": r["name"][:2],
            "en": r["office_code"],
        }
        value = r["composite"] if value_key == "composite" else (r["dimensions"] or {}).get(value_key)
        y, x = pos["row"], pos["col"]
        z[y][x] = value
        text[y][x] = pos["en" if lang == "en" else "zh"]
        codes[y][x] = r["office_code"]
        hover[y][x] = (
            f"{r['name']}<br>{title}: {'—' if value is None else f'{value:.1f}'}"
            f"<br>{t('col.rank', lang)}: {r['rank'] or '—'}"
        )
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=text,
            customdata=codes,
            hovertext=hover,
            hoverinfo="text",
            texttemplate="%{text}",
            textfont=dict(size=11),
            colorscale=SCALES.get(palette, "Viridis"),
            zmin=0,
            zmax=100,
            xgap=3,
            ygap=3,
            hoverongaps=False,
            colorbar=dict(title=dict(text=title), thickness=12, len=0.8),
        )
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", scaleratio=1)
    return _base(fig, 430).update_layout(title=dict(text=t("map.title", lang), x=0.01))


def trend_box(trend: dict[int, list[float]], *, lang: str, palette: str) -> go.Figure:
    """Composites of the offices shown, one box per year."""
    fig = go.Figure()
    for y in sorted(trend):
        fig.add_trace(
            go.Box(
                y=trend[y],
                name=str(y),
                marker_color=accent(palette),
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                marker=dict(size=4, opacity=0.6),
            )
        )
    fig.update_yaxes(title=t("col.composite", lang), range=[0, 100])
    return _base(fig).update_layout(title=dict(text=t("trend.title", lang), x=0.01))


def dimension_bars(office: RankedOffice, median: Mapping[str, float | None], *, lang: str, palette: str) -> go.Figure:
    dims = list(office["dimensions"])
    names = [t(f"dim.{d}", lang) for d in dims]
    fig = go.Figure(
        [
            go.Bar(
                x=names, y=[office["dimensions"][d] for d in dims], name=office["name"], marker_color=accent(palette)
            ),
            go.Bar(x=names, y=[median.get(d) for d in dims], name=t("ind.median", lang), marker_color="#BFC5CC"),
        ]
    )
    fig.update_yaxes(range=[0, 100])
    return _base(fig, 300).update_layout(
        barmode="group",
        showlegend=True,
        title=dict(text=t("profile.dims", lang), x=0.01),
        legend=dict(orientation="h", y=-0.15),
    )


def trend_line(
    trend: dict[int, float | None], *, lang: str, palette: str, median: dict[int, float | None] | None = None
) -> go.Figure:
    """The office's composite over the years, beside its peers' median (dashed) when given."""
    years = sorted(trend)
    lines = [
        go.Scatter(
            x=[str(y) for y in years],
            y=[trend[y] for y in years],
            mode="lines+markers",
            name=t("profile.this_office", lang),
            line=dict(color=accent(palette), width=3),
            connectgaps=False,
        )
    ]
    if median:
        lines.append(
            go.Scatter(
                x=[str(y) for y in years],
                y=[median.get(y) for y in years],
                mode="lines+markers",
                name=t("ind.median", lang),
                line=dict(color="#7B8794", width=2, dash="dash"),
                connectgaps=False,
            )
        )
    fig = go.Figure(lines)
    fig.update_yaxes(range=[0, 100], title=t("col.composite", lang))
    return _base(fig, 300).update_layout(
        title=dict(text=t("profile.trend", lang), x=0.01), showlegend=bool(median), legend=dict(orientation="h", y=-0.2)
    )


def age_profile(counts: list[int], bins: list[tuple[int, int | None]], *, lang: str, palette: str) -> go.Figure:
    labels = [f"{lo}–{hi}" if hi is not None else f">{lo - 1}" for lo, hi in bins]
    fig = go.Figure(go.Bar(x=labels, y=counts, marker_color=accent(palette), text=counts, textposition="auto"))
    fig.update_xaxes(title=t("mon.age", lang))
    return _base(fig, 280).update_layout(title=dict(text=t("mon.ages", lang), x=0.01))


def timeline(case: dict, *, lang: str, palette: str) -> go.Figure:
    """The case's dates, one row each so their labels never overlap however close the dates are:
    received, acceptance due, accepted, deadline, closed; the time from acceptance to closing (or
    to the deadline) and any suspension shaded behind them."""
    events = [
        ("case.received_date", case.get("received_date")),
        ("case.acceptance_due", case.get("acceptance_due")),
        ("case.accepted_date", case.get("accepted_date")),
        ("case.deadline", case.get("deadline")),
        ("case.closed_date", case.get("closed_date")),
    ]
    events = [(k, d) for k, d in events if d is not None]
    colours = {"case.deadline": "#D55E00", "case.acceptance_due": "#E69F00"}
    names = [t(k, lang) for k, _ in events]
    fig = go.Figure(
        go.Scatter(
            x=[d for _, d in events],
            y=names,
            mode="markers+text",
            text=[str(d)[:10] for _, d in events],
            textposition="middle right",
            cliponaxis=False,
            marker=dict(
                size=13,
                color=[colours.get(k, accent(palette)) for k, _ in events],
                symbol=["diamond" if k in colours else "circle" for k, _ in events],
            ),
            hovertemplate="%{y}: %{x|%Y-%m-%d}<extra></extra>",
        )
    )
    end = case.get("closed_date") or case.get("deadline")
    if case.get("accepted_date") and end:
        fig.add_vrect(x0=case["accepted_date"], x1=end, fillcolor="#9AA5B1", opacity=0.18, line_width=0, layer="below")
    if case.get("suspended_days") and case.get("accepted_date"):
        start = case["accepted_date"]
        fig.add_vrect(
            x0=start,
            x1=start + dt.timedelta(days=int(case["suspended_days"])),
            fillcolor="#56B4E9",
            opacity=0.35,
            line_width=0,
            layer="below",
        )
    fig.update_yaxes(autorange="reversed", title=None, automargin=True)
    days = [dt.date.fromisoformat(str(d)[:10]) for _, d in events]
    if days:  # whole days, never hours; a short case still spans a readable week or more
        pad = max((max(days) - min(days)).days // 10, 3)
        fig.update_xaxes(range=[min(days) - dt.timedelta(days=pad), max(days) + dt.timedelta(days=pad * 3)])
    fig.update_xaxes(title=None, tickformat="%Y-%m-%d", nticks=8)
    height = 90 + 34 * max(len(events), 1)
    return _base(fig, height).update_layout(
        title=dict(text=t("case.timeline", lang), x=0.01), margin=dict(l=20, r=90, t=36, b=30)
    )


def visit_rates(by_office: Mapping[str, Mapping[str, Any]], *, lang: str, palette: str) -> go.Figure:
    """Parties reached and agreements carried out, per office, each a dot with its 95% interval."""
    offices = list(by_office)[:40][::-1]  # in the order given, top to bottom
    names = [by_office[o]["label"] for o in offices]
    traces = []
    for key, label, colour, symbol in (
        ("coverage", "visit.coverage", accent(palette), "circle"),
        ("fulfilment", "visit.fulfilment", OKABE_ITO[1], "diamond"),
    ):
        rates = [by_office[o][key] for o in offices]
        traces.append(
            go.Scatter(
                x=[None if r["rate"] is None else r["rate"] * 100 for r in rates],
                y=names,
                mode="markers",
                name=t(label, lang),
                marker=dict(color=colour, size=9, symbol=symbol),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=[0 if r["rate"] is None else (r["high"] - r["rate"]) * 100 for r in rates],
                    arrayminus=[0 if r["rate"] is None else (r["rate"] - r["low"]) * 100 for r in rates],
                    color=colour,
                    thickness=1.2,
                ),
            )
        )
    fig = go.Figure(traces)
    fig.update_xaxes(range=[0, 100], ticksuffix="%")
    return _base(fig, max(220, 60 + 24 * len(offices))).update_layout(
        showlegend=True,
        title=dict(text=t("visit.chart", lang), x=0.01),
        legend=dict(orientation="h", y=-0.12),
        margin=dict(l=160, r=20, t=36, b=48),
    )


def open_by_office(rows: Sequence[Mapping[str, Any]], *, lang: str, palette: str, top: int = 12) -> go.Figure:
    """Overdue and near-deadline open cases by office, most overdue on top (at most `top` offices;
    the title says when more have some)."""
    shown = list(rows[:top])[::-1]
    names = [r["name"] for r in shown]
    fig = go.Figure(
        [
            go.Bar(
                y=names,
                x=[r[status] for r in shown],
                orientation="h",
                name=t(f"status.{status}", lang),
                marker_color=colour,
                hovertemplate="%{y}: %{x}<extra>" + t(f"status.{status}", lang) + "</extra>",
            )
            for status, colour in (("overdue", "#D55E00"), ("warning", "#E69F00"))
        ]
    )
    _base(fig, height=max(180, 40 + 26 * len(shown)))
    more = len(rows) - len(shown)
    fig.update_layout(
        barmode="stack",
        showlegend=True,
        legend=dict(orientation="h", y=-0.15),
        margin=dict(l=150, r=20, t=30 if more > 0 else 10, b=40),
        title=dict(text=t("stand.more", lang).format(shown=len(shown), n=len(rows)), font=dict(size=12))
        if more > 0
        else None,
    )
    fig.update_xaxes(title=None, rangemode="tozero", dtick=None)
    return fig


def compare_dimensions(offices: Sequence[Mapping[str, Any]], *, lang: str, palette: str) -> go.Figure:
    """The chosen offices' dimension scores and composite, grouped by dimension."""
    keys = ["composite", "effort", "level", "timeliness", "quality"]
    names = [t("col.composite", lang) if k == "composite" else t(f"dim.{k}", lang) for k in keys]
    fig = go.Figure(
        [
            go.Bar(
                x=names,
                y=[o["composite"] if k == "composite" else (o["dimensions"] or {}).get(k) for k in keys],
                name=o["name"],
                marker_color=OKABE_ITO[n % len(OKABE_ITO)],
            )
            for n, o in enumerate(offices)
        ]
    )
    fig.update_yaxes(range=[0, 100])
    return _base(fig, 340).update_layout(
        barmode="group",
        showlegend=True,
        legend=dict(orientation="h", y=-0.2),
        title=dict(text=t("cmp.dimensions", lang), x=0.01),
    )


def satisfaction_bars(distribution: Sequence[int], *, lang: str, palette: str) -> go.Figure:
    """How many parties answered each satisfaction score, 1 to 5."""
    labels = [t(f"visit.score_{k}", lang) for k in range(1, 6)]
    colours = ["#D55E00", "#E69F00", "#BFC5CC", "#56B4E9", accent(palette)]
    fig = go.Figure([go.Bar(x=labels, y=list(distribution), marker_color=colours, text=list(distribution))])
    return _base(fig, 260).update_layout(title=dict(text=t("visit.distribution", lang), x=0.01))


def scheme_sections(
    offices: Sequence[Mapping[str, Any]], sections: Sequence[tuple[str, str]], *, lang: str
) -> go.Figure:
    """Each office's total as a stacked bar of its section subtotals (at most 40 offices, best first)."""
    shown = list(offices)[:40][::-1]
    names = [o["name"] for o in shown]
    fig = go.Figure(
        [
            go.Bar(
                y=names,
                x=[o["sections"][sid]["points"] for o in shown],
                name=label,
                orientation="h",
                marker_color=OKABE_ITO[k % len(OKABE_ITO)],
            )
            for k, (sid, label) in enumerate(sections)
        ]
    )
    return _base(fig, max(240, 60 + 22 * len(shown))).update_layout(
        barmode="stack",
        showlegend=True,
        title=dict(text=t("assess.chart", lang), x=0.01),
        legend=dict(orientation="h", y=-0.08),
        margin=dict(l=160, r=20, t=36, b=48),
    )
