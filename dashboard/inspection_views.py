"""What the inspection pages do, in plain functions (no Dash): each asks the permission policy first,
does the work through `inspection/` and `ingest/`, and writes its audit entry.

Appraisals from the web go through the same validated ingest as `ipdash ingest appraisals`, so the
same cell-by-cell checks apply; they are written to the operational store in one transaction with
their audit entry, never to the analytic file.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

from access import audit, policy
from access.opstore import OpStore
from access.users import User
from ingest.appraisals import draw_checklist
from ingest.contract import Checklist, default_contract
from ingest.readers import Limits, RefusedFile
from ingest.run import Assignment, Summary, ingest
from inspection.checklist import assigned_archives, item_header, plan_checklist, write_checklist
from inspection.draw import DrawError
from inspection.plans import PlanError, archives_of_inspector, recorded_appraisal
from inspection.results import standing_draw
from queries.store import Store, StoreError

UPLOAD_LIMITS = Limits()  # rows, unpacked size and compression ratio of one uploaded checklist
FAILURES = (PlanError, DrawError, StoreError, RefusedFile, OSError, ValueError)


class Refused(PermissionError):
    """The user's role may not do this; the refusal is already in the audit log."""


def _require(ops: OpStore, user: User, permission: str, what: str) -> None:
    if not policy.require(ops, actor=user, action=permission, what=what):
        raise Refused(what)


def manifest_export(ops: OpStore, user: User, plan_id: str) -> tuple[str, str]:
    """The standing draw's manifest of `plan_id` as (file name, JSON text); audited."""
    _require(ops, user, "inspection", "draw manifest")
    draw = standing_draw(ops, plan_id)
    audit.record(ops, actor=user.username, action="export.manifest", target=draw["draw_id"])
    return f"{draw['draw_id']}-manifest.json", json.dumps(
        draw["manifest"], ensure_ascii=False, indent=1, sort_keys=True
    )


def checklist_export(ops: OpStore, store: Store, user: User, plan_id: str) -> tuple[str, bytes]:
    """The pre-filled checklist workbook of the inspector's archives in `plan_id`'s standing draw."""
    _require(ops, user, "archives", "checklist")
    inspector = user.scope_code or ""
    draw_id, archives = assigned_archives(ops, store, plan_id, inspector)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{draw_id}-{inspector}-checklist.xlsx"
        n = write_checklist(
            path, draw_id=draw_id, inspector_id=inspector, archives=archives, checklist=plan_checklist(ops, plan_id)
        )
        content = path.read_bytes()
    audit.record(
        ops,
        actor=user.username,
        action="export.checklist",
        target=draw_id,
        detail={"inspector": inspector, "archives": n},
    )
    return path.name, content


def record_file(ops: OpStore, store: Store, user: User, path: Path) -> Summary:
    """Ingest the appraisals in `path` as `user`, who may record only the archives assigned to them."""
    _require(ops, user, "archives", "appraisal entry")
    inspector = user.scope_code or ""
    only = Assignment(inspector, frozenset(archives_of_inspector(ops, inspector)))
    # one transaction of the operational store with its audit entry; appraisals recompute by themselves
    return ingest(
        store, "appraisals", [str(path)], progress=False, only=only, actor=user.username, limits=UPLOAD_LIMITS
    )


def record_upload(ops: OpStore, store: Store, user: User, filename: str | None, content: bytes) -> Summary:
    """An uploaded checklist workbook, recorded as `record_file` does; only its base name is used."""
    name = upload_name(filename)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        return record_file(ops, store, user, path)


def upload_name(filename: str | None) -> str:
    """The base name an upload is stored and reported under (never a path)."""
    return Path(filename or "checklist.xlsx").name or "checklist.xlsx"


def split_archive(archive: str) -> tuple[str, str, str]:
    """A value of the archive picker, "draw|office|case_no", as its three parts."""
    draw_id, office, case_no = (str(archive).split("|", 2) + ["", ""])[:3]
    return draw_id, office, case_no


def archive_checklist(ops: OpStore, archive: str | None) -> Checklist:
    """The checklist the chosen archive (draw|office|case) is scored under: its draw's plan's."""
    contract = default_contract()
    draw_id = split_archive(archive)[0] if archive else ""
    return contract.checklist_of(draw_checklist(ops, draw_id) if draw_id else None)


def existing(ops: OpStore, user: User, archive: str | None) -> dict | None:
    """The stored appraisal of the chosen archive, when this inspector may record it."""
    if not archive or not policy.require(ops, actor=user, action="archives", what="stored appraisal"):
        return None
    return recorded_appraisal(ops, user.scope_code or "", split_archive(archive))


def record_online(
    ops: OpStore,
    store: Store,
    user: User,
    archive: str,
    scores: list,
    veto: list | None,
    day: str | None,
    notes: list | None = None,
    items: list | None = None,
) -> Summary:
    """The online form's appraisal of one archive, recorded as one row of a checklist file.
    `scores` and `notes` (the inspector's note on each item's deduction; None or "" for none) are
    in the order of `items` (item ids; default: the items of the archive's checklist); only the
    items of the archive's checklist are recorded."""
    draw_id, office, case_no = split_archive(archive)
    checklist = archive_checklist(ops, archive)
    order = list(items) if items else [i.id for i in checklist.items]
    given_scores, given_notes = list(scores or []), list(notes or [])

    def at(values: list, item_id: str):
        k = order.index(item_id) if item_id in order else len(values)
        return values[k] if k < len(values) and values[k] not in (None, "") else ""

    header = [
        "抽查批次",
        "办案机构代码",
        "案号",
        "评查人员",
        *[item_header(i) for i in checklist.items],
        "否决项",
        "评查日期",
        *[f"{i.zh}扣分说明" for i in checklist.items],
    ]
    row = [
        draw_id,
        office,
        case_no,
        user.scope_code or "",
        *[at(given_scores, i.id) for i in checklist.items],
        "；".join(veto or []),
        day or "",
        *[at(given_notes, i.id) for i in checklist.items],
    ]
    buf = io.StringIO()
    csv.writer(buf).writerows([header, row])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "online-entry.csv"
        path.write_text(buf.getvalue(), encoding="utf-8")
        return record_file(ops, store, user, path)
