"""Components shared by several pages: refusal, breadcrumb, headline tiles, ranking table, confirm buttons."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any
from urllib.parse import quote

from dash import dcc, html
from dash.development.base_component import Component
from plotly.io.json import to_json_plotly

from dashboard import ids
from dashboard.i18n import BEIJING, num, pct, signed, t
from dashboard.view_types import Crumb, Figure, RankRow
from ingest.contract import default_contract
from metrics.config import DIMENSIONS
from queries.statements import duck_sql
from queries.store import Store, StoreError


def denied(lang: str) -> html.Div:
    return html.Div(t("denied", lang), className="error", role="alert", id=ids.DENIED)


def encoded(tree: Any) -> Any:
    """`tree` (components, figures) as the plain JSON structure the browser receives, made once for
    a cached page. Dash encodes a callback's answer with Plotly's JSON encoder, which deep-copies
    every figure and walks every component: 95% of the time of a cached page's request (measured on
    the national overview). A plain structure is encoded by the standard library's C encoder."""
    return json.loads(to_json_plotly(tree))


def freshness(computed_at: float, *, stale: bool, lang: str) -> html.P:
    """Under a page whose figures count appraisals: up to when they do (Beijing time), and, while a
    newer computation runs in the background, that newer ones are being counted."""
    at = dt.datetime.fromtimestamp(computed_at, BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    at += " 北京时间" if lang == "zh" else " Beijing time"
    text = t("fresh.appraisals", lang).format(at=at)
    if stale:
        text += " " + t("fresh.updating", lang)
    return html.P(text, className="note freshness", id=ids.FRESHNESS, role="status")


ARIA_BREADCRUMB: dict[str, Any] = {"aria-label": "breadcrumb"}


def case_href(office_code: str, case_no: str) -> str:
    """The address of a case's page, its parts quoted (a case number may hold "/", "?" or "#")."""
    return f"/case/{quote(str(office_code), safe='')}/{quote(str(case_no), safe='')}"


def data_attr(name: str, value: str) -> dict[str, Any]:
    """A `data-<name>` attribute for a component's keywords (Dash accepts them; its types do not list them)."""
    return {f"data-{name}": value}


def breadcrumb(crumbs: list[Crumb], lang: str, *, last_linked: bool = False) -> html.Nav:
    items: list[Component] = []
    for k, c in enumerate(crumbs):
        label = c["name"] if c["level"] != "national" else t("level.national", lang) + " · " + c["name"]
        last = k == len(crumbs) - 1
        if c["linked"] and (not last or last_linked):
            items.append(dcc.Link(label, href=f"/place/{c['code']}", className="crumb"))
        else:
            items.append(html.Span(label, className="crumb current" if last else "crumb"))
        if not last:
            items.append(html.Span("›", className="sep"))
    return html.Nav(items, className="breadcrumb", id=ids.BREADCRUMB, **ARIA_BREADCRUMB)


# Which way a headline figure is better: its change is coloured better/worse, never by its sign
# (more overdue cases is worse, more closed cases better); the open cases and archives appraised
# are workload, neither better nor worse.
BETTER = {"accepted": 1, "closed": 1, "on_time_rate": 1, "open_cases": 0, "overdue": -1, "appraised": 0}


def _tile(label: str, fig: Figure, lang: str, *, kind: str = "num", better: int = 0) -> html.Div:
    value, change = fig["value"], fig["change"]
    shown = pct(value, lang) if kind == "pct" else num(value, lang)
    delta = signed(change, 1, pct_points=True) if kind == "pct" else signed(change)
    if change in (None, 0) or not better:
        cls = "delta"
    else:
        assert change is not None
        cls = "delta better" if change * better > 0 else "delta worse"
    return html.Div(
        className="kpi",
        children=[
            html.Div(label, className="kpi-label"),
            html.Div(shown, className="kpi-value"),
            html.Div([html.Span(delta, className=cls), " ", t("h.vs_last_year", lang)], className="kpi-change"),
        ],
    )


# Where each headline figure's cases are listed (drill-through); {code} is the office.
BEHIND = {
    "accepted": "/cases?office={code}",
    "closed": "/cases?office={code}",
    "on_time_rate": "/cases?office={code}",
    "open_cases": "/monitor?office={code}",
    "overdue": "/monitor?office={code}&status=overdue",
    "appraised": "/cases?office={code}",
}


def headline(fig: dict[str, Figure], lang: str, code: str | None = None) -> html.Div:
    """The headline figures; with `code`, each opens the list of the office's cases behind it."""
    tiles = []
    for k in ("accepted", "closed", "on_time_rate", "open_cases", "overdue", "appraised"):
        tile = _tile(t(f"h.{k}", lang), fig[k], lang, kind="pct" if k == "on_time_rate" else "num", better=BETTER[k])
        tiles.append(dcc.Link(tile, href=BEHIND[k].format(code=code), className="kpi-link") if code else tile)
    return html.Div(className="kpis", id=ids.HEADLINE, children=tiles)


def _interval_bar(interval: list[int] | None, rank: int | None, n: int) -> html.Div:
    if not interval or n < 1:
        return html.Div("—")
    lo, hi = min(interval[0], n), min(interval[1], n)  # never past the cell
    scale = max(n - 1, 1)
    return html.Div(
        className="ibar-cell",
        children=[
            html.Div(
                className="ibar",
                title=f"{lo}–{hi}",
                children=[
                    html.Div(
                        className="ibar-span",
                        style={
                            "left": f"{(lo - 1) / scale * 100:.1f}%",
                            "width": f"{max((hi - lo) / scale * 100, 1.5):.1f}%",
                        },
                    ),
                    *(
                        [html.Div(className="ibar-dot", style={"left": f"{(rank - 1) / scale * 100:.1f}%"})]
                        if rank
                        else []
                    ),
                ],
            ),
            html.Span(f"{lo}–{hi}", className="ibar-text"),
        ],
    )


def change(value: int | None) -> html.Span:
    if value is None:
        return html.Span("—", className="chg")
    if value == 0:
        return html.Span("＝", className="chg")
    return html.Span(("▲" if value > 0 else "▼") + str(abs(value)), className="chg up" if value > 0 else "chg down")


def ranking_table(
    rows: list[RankRow], lang: str, *, child_level: str | None, peers: int | None = None, mine: str | None = None
) -> html.Table:
    """The ranking rows; a rank reads "n of N" (`peers`: how many are ranked in the peer group, more
    than the rows when the peer group is wider than the offices shown); `mine`: the viewer's own
    office, its row highlighted."""
    n = max(peers or 0, len(rows), *(r["rank"] or 0 for r in rows), *((r["rank_interval"] or [0, 0])[1] for r in rows))
    head = html.Tr(
        [
            html.Th(t("col.rank", lang)),
            html.Th(t("col.office", lang)),
            html.Th(t("col.composite", lang)),
            *[html.Th(t(f"dim.{d}", lang)) for d in DIMENSIONS],
            html.Th(t("col.interval", lang)),
            html.Th(t("col.change", lang)),
            html.Th(t("col.profile", lang)),
        ]
    )
    body = []
    for r in rows:
        code = r["office_code"]
        if not r["linked"]:
            name: Component = html.Span(r["name"])
        elif child_level == "county":  # a county has no level below: its name opens the profile
            name = dcc.Link(r["name"], href=f"/office/{code}")
        else:
            name = dcc.Link(r["name"], href=f"/place/{code}")
        body.append(
            html.Tr(
                className="rank-row mine" if code == mine else "rank-row",
                **data_attr("code", code),
                children=[
                    html.Td(
                        t("rank.of", lang).format(rank=r["rank"], n=n) if r["rank"] is not None else "—",
                        className="num rank",
                    ),
                    html.Td([name, html.Span(code, className="code")]),
                    html.Td(num(r["composite"], lang, 1), className="num composite"),
                    *[html.Td(num((r["dimensions"] or {}).get(d), lang, 1), className="num") for d in DIMENSIONS],
                    html.Td(_interval_bar(r["rank_interval"], r["rank"], n)),
                    html.Td(change(r["rank_change"]), className="num"),
                    html.Td(dcc.Link("›", href=f"/office/{code}", className="profile-link") if r["linked"] else ""),
                ],
            )
        )
    return html.Table([html.Thead(head), html.Tbody(body)], className="ranking", id=ids.RANKING)


def signal_cell(value, key: str, lang: str) -> str:
    if value is None:
        return "—"
    return num(value, lang, 1) if key.endswith("days") else pct(value, lang)


def confirmed(
    confirm_id: str, button_id: str, label: str, message: str, *, secondary: bool = False
) -> dcc.ConfirmDialogProvider:
    """A button that asks before it acts: the callback listens to `confirm_id`'s `submit_n_clicks`."""
    return dcc.ConfirmDialogProvider(
        id=confirm_id,
        message=message,
        children=html.Button(label, id=button_id, n_clicks=0, className="button secondary" if secondary else "button"),
    )


def number_input(id_, value, **kw):
    return dcc.Input(id=id_, type="number", value=value, debounce=True, className="num-input", **kw)


def field(label: str, widget) -> html.Div:
    return html.Div(className="field", children=[html.Label(label), widget])


def indicator_figure(value: float | None, key: str, lang: str, kind: str) -> str:
    """An indicator figure; `key` (value, numerator, denominator, peer_median) decides its format."""
    if value is None:
        return "—"
    if kind in ("ratio",) and key in ("value", "peer_median"):
        return pct(value, lang)
    whole = key in ("numerator", "denominator") or kind in ("count", "median")
    return num(value, lang, 0 if whole else 2)


STRATA_ENUMS = {"case_kind": "case_kind", "patent_type": "patent_type", "source": "source"}


def stratum_words(stratum: str, columns: list[str], names: dict[str, str], lang: str) -> str:
    """A draw's stratum key ("330000|infringement_dispute") in words ("浙江省知识产权局 · 专利侵权纠纷"):
    each part by the plan's strata `columns`, an office by its name, a kind by its label."""
    contract = default_contract()
    parts = str(stratum).split("|")
    out = []
    for column, part in zip(columns, parts, strict=False):
        if column == "office_code":
            out.append(names.get(part, part))
        elif column in STRATA_ENUMS:
            out.append(contract.label(STRATA_ENUMS[column], part, lang) or part)
        else:
            out.append(part)
    return " · ".join(out) if len(parts) == len(columns) else str(stratum)


# AG Grid's own words (paging, filters, menus) in Chinese; English is the grid's default.
GRID_ZH = {
    "page": "页",
    "more": "更多",
    "to": "至",
    "of": "共",
    "next": "下一页",
    "last": "末页",
    "first": "首页",
    "previous": "上一页",
    "loadingOoo": "加载中…",
    "loadingError": "加载失败",
    "noRowsToShow": "没有记录",
    "pageSizeSelectorLabel": "每页行数：",
    "ariaPageSizeSelectorLabel": "每页行数",
    "pageLastRowUnknown": "?",
    "filterOoo": "筛选…",
    "equals": "等于",
    "notEqual": "不等于",
    "blank": "为空",
    "notBlank": "不为空",
    "empty": "请选择",
    "lessThan": "小于",
    "greaterThan": "大于",
    "lessThanOrEqual": "小于等于",
    "greaterThanOrEqual": "大于等于",
    "inRange": "介于",
    "inRangeStart": "从",
    "inRangeEnd": "到",
    "contains": "包含",
    "notContains": "不包含",
    "startsWith": "开头是",
    "endsWith": "结尾是",
    "dateFormatOoo": "yyyy-mm-dd",
    "before": "早于",
    "after": "晚于",
    "andCondition": "且",
    "orCondition": "或",
    "applyFilter": "应用",
    "resetFilter": "重置",
    "clearFilter": "清除",
    "cancelFilter": "取消",
    "columns": "列",
    "filters": "筛选",
    "pinColumn": "固定列",
    "pinLeft": "固定在左侧",
    "pinRight": "固定在右侧",
    "noPin": "不固定",
    "autosizeThisColumn": "自动调整此列宽度",
    "autosizeAllColumns": "自动调整所有列宽度",
    "resetColumns": "重置列",
    "sortAscending": "升序",
    "sortDescending": "降序",
    "sortUnSort": "取消排序",
    "copy": "复制",
    "export": "导出",
    "selectAll": "（全选）",
    "searchOoo": "搜索…",
    "ariaFilterInput": "筛选输入",
    "ariaFilterValue": "筛选值",
}


DROPDOWN_WORDS = (
    "select_all",
    "deselect_all",
    "selected_count",
    "search",
    "clear_search",
    "clear_selection",
    "no_options_found",
)


def dropdown_words(lang: str) -> Any:  # Dash's Dropdown `labels` (a TypedDict of strings)
    """A drop-down list's own words ("3 selected", "Search", ...) in the page's language."""
    return {k: t(f"dd.{k}", lang) for k in DROPDOWN_WORDS}


def dropdown(lang: str, **props) -> dcc.Dropdown:
    """A drop-down list whose own words are in `lang`."""
    return dcc.Dropdown(labels=dropdown_words(lang), **props)


def grid_words(lang: str) -> dict:
    """The `dashGridOptions` entry that puts a grid's own words in the page's language."""
    return {"localeText": GRID_ZH} if lang == "zh" else {}


def office_names(store: Store, codes: set[str]) -> dict[str, str]:
    """Office code -> name, for the codes the page shows."""

    try:
        with contextlib.closing(store.reader()) as con:
            return dict(con.execute(duck_sql("offices.names"), {"c": sorted(codes)}).fetchall())
    except StoreError:
        return {}


def table_exports(table_id: str, name: str, lang: str) -> html.Div:
    """A table's export buttons, for the card that holds it: Excel, written on the server from the
    page as the user sees it (dashboard/table_export.py), and CSV, written in the browser."""
    return html.Div(
        className="table-exports",
        children=[
            html.Button(
                t("table.xlsx", lang),
                id={"type": ids.TABLE_XLSX_ANY, "table": table_id},
                n_clicks=0,
                className="button secondary",
            ),
            html.Button(t("table.csv", lang), className="button secondary table-csv", **data_attr("name", name)),
        ],
    )


def download(name: str, content: str | bytes) -> dict:
    """A file for a dcc.Download: text (CSV) as it is, bytes (a workbook) base64-encoded."""
    return dcc.send_bytes(content, name) if isinstance(content, bytes) else {"content": content, "filename": name}
