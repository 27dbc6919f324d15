"""A ranking table as an Excel workbook (issue 20: export of any table as CSV and XLSX; the CSV is
written in the browser from the table on screen, this workbook on the server).

The rows are those the page shows, computed again here through `views.place`, which asks the
policy; the export is written to the audit log like every other download.
"""

from __future__ import annotations

import io

from openpyxl import Workbook

from access import audit
from dashboard import views
from dashboard.i18n import t
from dashboard.view_types import RankRow
from dashboard.views import Controls, Viewer
from metrics.config import DIMENSIONS
from reports.sheet import COUNT, SCORE, Sheet


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
    wb = Workbook(write_only=True)
    Sheet(wb, t("rank.title", lang)[:31], columns, rows).as_table("Ranking")
    buf = io.BytesIO()
    wb.save(buf)
    audit.record(
        viewer.ops,
        actor=viewer.user.username,
        action="export.ranking",
        target=code,
        detail={"rows": len(rows), "year": controls.year},
    )
    return f"ranking-{code}-{controls.year}.xlsx", buf.getvalue()
