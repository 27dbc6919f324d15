"""Tables as Excel workbooks (issue 20: export of any table as CSV and XLSX; the CSV is written in
the browser from the table on screen, the workbook on the server).

The ranking's rows are computed again through `views.place`, which asks the policy. Any other
table is taken from its page rendered again on the server as the user (the page asks the policy as
it does for the screen), with its figures as numbers. Every export is written to the audit log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import polars as pl
from dash import ALL, Dash, Input, Output, State, dcc, no_update
from dash import ctx as dash_ctx
from dash.development.base_component import Component

from access import audit, policy
from dashboard import ids, inputs, views
from dashboard.charts import PALETTES
from dashboard.context import Context, OutsideYear, control_deps, parse_controls, query_of
from dashboard.i18n import LANGS, t
from dashboard.view_types import RankRow
from dashboard.views import Controls, Viewer
from metrics.config import DIMENSIONS
from reports.sheet import COUNT, DATE, DECIMAL, PERCENT, SCORE, Styled, single_sheet


def _row(r: RankRow, peers: int) -> list[object]:
    low, high = r["rank_interval"] or (None, None)
    return [
        r["rank"],
        peers,
        r["office_code"],
        r["name"],
        r["composite"],
        *[(r["dimensions"] or {}).get(d) for d in DIMENSIONS],
        low,
        high,
        r["rank_change"],
    ]


def ranking_xlsx(viewer: Viewer, code: str, controls: Controls, lang: str) -> tuple[str, bytes] | None:
    """The ranking of the offices below `code` as the place page shows it (file name, bytes);
    None when the user may not see it."""
    place = views.place(viewer, code, controls)  # asks the policy for the office (the caller: for rankings)
    if place["denied"] or not place["rows"]:
        return None
    columns: list[tuple[str, str | None]] = [
        (t("col.rank", lang), COUNT),
        (t("rank.of_head", lang), COUNT),
        (t("col.code", lang), None),
        (t("col.office", lang), None),
        (t("col.composite", lang), SCORE),
        *[(t(f"dim.{d}", lang), SCORE) for d in DIMENSIONS],
        (t("rank.low", lang), COUNT),
        (t("rank.high", lang), COUNT),
        (t("col.change", lang), COUNT),
    ]
    rows = [_row(r, place["peers"]) for r in place["rows"]]
    content = single_sheet(t("rank.title", lang), columns, rows, table="Ranking")
    audit.record(
        viewer.ops,
        actor=viewer.user.username,
        action="export.ranking",
        target=code,
        detail={"rows": len(rows), "year": controls.year},
    )
    return f"ranking-{code}-{controls.year}.xlsx", content


def frame_xlsx(frame: pl.DataFrame, title: str) -> bytes:
    """A frame whose columns are already headed in words as an Excel workbook: dates as dates,
    whole numbers and decimals formatted, text defused (reports.sheet)."""

    def fmt(dtype: pl.DataType) -> str | None:
        if dtype == pl.Date:
            return DATE
        if dtype.is_integer():
            return COUNT
        return DECIMAL if dtype.is_float() else None

    return single_sheet(title, [(name, fmt(dtype)) for name, dtype in frame.schema.items()], frame.rows())


# --- any table on a page, as the page shows it --------------------------------------------------

NUMBER = re.compile(r"^[+\-−]?\d{1,3}(,\d{3})*(\.\d+)?$|^[+\-−]?\d+(\.\d+)?$")


def _prop(node: object, name: str) -> object:
    """A property of a component, or of its encoded form (a cached page: {"type", "props"})."""
    if isinstance(node, dict):
        props = node.get("props")
        return props.get(name) if isinstance(props, dict) else None
    return getattr(node, name, None)


def _kind(node: object) -> str | None:
    """A component's type name ("Table", "Tr", "Td"), encoded or not."""
    if isinstance(node, dict):
        kind = node.get("type")
        return kind if isinstance(kind, str) else None
    return type(node).__name__ if isinstance(node, Component) else None


def _text(node: object) -> str:
    """The words a component shows (its strings and its children's, in order)."""
    if node is None or isinstance(node, bool):
        return ""
    if isinstance(node, str | int | float):
        return str(node)
    if isinstance(node, list | tuple):
        return " ".join(p for p in (_text(n) for n in node) if p)
    return _text(_prop(node, "children"))


def cell_value(text: str) -> object:
    """A shown figure as a number where it is one ("1,234", "60.7", "−3", "93.7%"), else the text."""
    plain = text.strip().replace("−", "-")
    if plain.endswith("%") and NUMBER.match(plain[:-1].strip()):
        return Styled(round(float(plain[:-1].replace(",", "")) / 100, 12), PERCENT)
    if NUMBER.match(plain):
        number = float(plain.replace(",", ""))
        return int(number) if "." not in plain else number
    return text.strip()


def _find(node: object, ident: str) -> object | None:
    if isinstance(node, list | tuple):
        return next((f for f in (_find(n, ident) for n in node) if f is not None), None)
    if _prop(node, "id") == ident:
        return node
    children = _prop(node, "children")
    return None if children is None else _find(children, ident)


def _rows(node: object) -> Iterator[list[str]]:
    """The rows of a table component, each a list of its cells' words."""
    if isinstance(node, list | tuple):
        for n in node:
            yield from _rows(n)
    elif _kind(node) == "Tr":
        children = _prop(node, "children")
        cells = children if isinstance(children, list | tuple) else [children]
        yield [_text(c) for c in cells if _kind(c) in ("Th", "Td")]
    else:
        children = _prop(node, "children")
        if children is not None:
            yield from _rows(children)


def page_table_xlsx(page: object, table_id: str, title: str) -> bytes | None:
    """The table `table_id` of a rendered page (a Dash component tree) as an Excel workbook: its
    first row the header, figures as numbers; None when the page has no such table (refused, say)."""
    table = _find(page, table_id)
    if _kind(table) != "Table":
        return None
    rows = list(_rows(table))
    if not rows:
        return None
    header, body = rows[0], rows[1:]
    width = max(len(r) for r in rows)
    columns: list[tuple[str, str | None]] = [(h or " ", None) for h in header + [""] * (width - len(header))]
    values = [[cell_value(c) for c in r] + [None] * (width - len(r)) for r in body]
    return single_sheet(title, columns, values)


# The tables with an Excel button (widgets.table_exports) and the words naming each file's sheet.
EXPORTABLE = {
    ids.COMPARE_TABLE: "cmp.title",
    ids.PROFILE_INDICATORS: "profile.indicators",
    ids.ASSESS_TABLE: "nav.assessment",
}
Render = Callable[[Viewer, str, dict, Controls, str, str], object]


def register(app: Dash, ctx: Context, render: Render) -> None:
    """The Excel button of every table in EXPORTABLE: the page is rendered again as the user, with
    the controls on screen (`render`: the router's page builder, which asks the policy for the page),
    and the table taken from it; the export is audited."""

    @app.callback(
        Output(ids.TABLE_DOWNLOAD, "data", allow_duplicate=True),
        Input({"type": ids.TABLE_XLSX_ANY, "table": ALL}, "n_clicks"),
        State(ids.URL, "pathname"),
        State(ids.URL, "search"),
        *control_deps(State),
        prevent_initial_call=True,
    )
    def _table_xlsx(clicks, path, search, year, as_of, method, peer, weights, lang, palette):
        trigger = dash_ctx.triggered_id
        table = trigger.get("table") if isinstance(trigger, dict) else None
        pressed = isinstance(clicks, list) and any(type(c) is int and c > 0 for c in clicks)
        if not pressed:
            return no_update
        v = ctx.viewer()
        if not policy.require(ctx.ops, actor=v.user, action="rankings", what="table export"):
            return no_update
        if not isinstance(table, str) or table not in EXPORTABLE:
            return no_update
        lang = inputs.choice(lang, "language", LANGS) or "zh"
        try:
            controls = parse_controls(year, as_of, method, peer, weights, ctx.config)
        except OutsideYear:
            return no_update
        path = inputs.text(path, "pathname") or "/"
        page = render(
            v, path, query_of(search), controls, lang, inputs.choice(palette, "palette", PALETTES) or "viridis"
        )
        got = page_table_xlsx(page, table, t(EXPORTABLE[table], lang))
        if got is None:
            return no_update
        audit.record(ctx.ops, actor=v.user.username, action="export.table", target=path[:200], detail={"table": table})
        return dcc.send_bytes(got, f"{table}-{controls.year}.xlsx")
