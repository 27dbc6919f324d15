"""The rectification pages' data, checked by the permission policy before anything is drawn.

A user sees the notices of the offices in their subtree (national users: all); one notice's page
needs `office.read` on its office (a refusal is audited); a step asks the policy through
`inspection.rectification.act` with the notice's office as the resource. No Dash here.
"""

from __future__ import annotations

import base64
import datetime as dt

from access import policy
from dashboard import views
from dashboard.viewer import Viewer, office_resource
from inspection.plans import list_plans
from inspection.rectification import (
    TRANSITIONS,
    Attachment,
    RectificationError,
    act,
    list_notices,
    notice,
    overdue,
)
from inspection.visits import plan_titles


def subtree(viewer: Viewer, code: str | None) -> set[str]:
    """Office `code` and every office below it, from the office tree."""
    return views.tree(viewer).below(code)


def offices_of(viewer: Viewer) -> set[str] | None:
    """The offices whose notices and supervised cases the user may read: None for all (national users)."""
    return None if viewer.user.national else subtree(viewer, viewer.user.scope_code)


def notices(viewer: Viewer, *, status: str | None = None, as_of: dt.date | None = None) -> list[dict]:
    """The notices the user may read, each with the office's name."""
    if not policy.require(viewer.ops, actor=viewer.user, action="rectification", what="rectification notices"):
        return []
    names = views.tree(viewer).offices
    titles = {p["plan_id"]: p["spec"].get("title") or p["plan_id"] for p in list_plans(viewer.ops)}
    titles.update(plan_titles(viewer.ops))  # a return visit's notice: its visit plan's title
    got = list_notices(viewer.ops, offices=offices_of(viewer), status=status, as_of=as_of)
    for n in got:
        n["office_name"] = names.get(n["office_code"], {}).get("name", n["office_code"])
        n["plan_title"] = titles.get(n["plan_id"], n["plan_id"])
    return got


def one(viewer: Viewer, notice_id: str) -> dict | None:
    """One notice with its steps and the steps this user may take now; None when there is no such
    notice or the user may not read its office (refusals audited)."""
    if not policy.require(viewer.ops, actor=viewer.user, action="rectification", what=f"notice {notice_id[:80]}"):
        return None
    try:
        got = notice(viewer.ops, notice_id)
    except RectificationError:  # asked for by hand, or gone: on record like any refusal
        viewer.denied(viewer.user.username, "access.denied", {"what": f"no notice {notice_id[:80]}"})
        return None
    if views.access(viewer, got["office_code"], what=f"notice {notice_id[:80]}", need="full") != "full":
        return None
    office = office_resource(viewer, got["office_code"])
    got["office_name"] = views.tree(viewer).offices.get(got["office_code"], {}).get("name", got["office_code"])
    got["overdue"] = overdue(got, dt.date.today())
    got["may"] = [
        step
        for step, (sources, _, permission) in TRANSITIONS.items()
        if got["status"] in sources and policy.allowed(actor=viewer.user, action=permission, resource=office)
    ]
    return got


def decode_uploads(contents: list[str] | None, names: list[str] | None) -> list[Attachment]:
    """The files of a dcc.Upload (data URLs) as attachments; ValueError when one cannot be read."""
    out = []
    for content, name in zip(contents or [], names or []):
        try:
            out.append(Attachment(str(name or "attachment"), base64.b64decode(str(content).split(",", 1)[1])))
        except (IndexError, ValueError) as exc:
            raise RectificationError(f"attachment {name}: cannot be read") from exc
    return out


def take_step(viewer: Viewer, notice_id: str, step: str, *, text: str | None, attachments: list[Attachment]) -> dict:
    """Take `step` on a notice as the signed-in user (the policy decides; PermissionError if not)."""
    current = notice(viewer.ops, notice_id)
    office = office_resource(viewer, current["office_code"])
    return act(
        viewer.ops,
        notice_id,
        step,
        actor=viewer.user.username,
        user=viewer.user,
        office=office,
        text=text,
        attachments=attachments,
        attachment_dir=viewer.store.path.parent / "attachments",
    )
