"""Assessment under a published scheme (issue 19): the scheme's figures (`metrics.schemes`) with
what only the operational store knows — the manual items' self-scores and assessor's scores with
their evidence, and the supervised cases closed — and the publication that freezes a year's results.

Who enters a manual score is the policy's decision: the self-score by a user of the office or an
office above it (`assessment.self`), the assessor's score by the national administrator or the
province for the offices below it (`assessment.assess`), never the office itself. The command line
passes no user: its boundary is the service account. Each entry is one transaction with its audit
entry. Once a year's results are published under a scheme version, an edited text of that version
is refused, and the results stay as published.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path

from access import audit, policy
from access.opstore import OpStore
from access.users import User
from inspection.rectification import Attachment, RectificationError, store_attachments
from inspection.supervision import supervised
from metrics.config import Config
from metrics.schemes import Scheme, assess
from queries.statements import duck_sql, op_sql
from queries.store import Store, rows


class AssessmentError(ValueError):
    """The score or the assessment cannot be made as asked; the message says why."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def manual_scores(ops: OpStore, scheme: Scheme, year: int) -> dict[tuple[str, str], dict]:
    """(office, item) -> {"self", "assessor", "evidence"} of the scheme version's manual items."""
    out = {}
    for r in ops.read(op_sql("assessment.manual_of"), (scheme.id, scheme.version, year)):
        out[(r["office_code"], r["item"])] = {
            "self": float(r["self_score"]) if r["self_score"] is not None else None,
            "assessor": float(r["assessor_score"]) if r["assessor_score"] is not None else None,
            "evidence": json.loads(r["evidence"]),
        }
    return out


def record_manual(
    ops: OpStore,
    scheme: Scheme,
    *,
    year: int,
    office_code: str,
    item_id: str,
    score: float,
    role: str,
    actor: str,
    evidence: list[Attachment] | None = None,
    evidence_dir: Path,
    user: User | None = None,
    office: policy.Office | None = None,
) -> dict:
    """Enter the self-score (`role` "self") or the assessor's score ("assessor") of a manual item."""
    item = next((i for i in scheme.items if i.id == item_id), None)
    if item is None or item.kind != "manual":
        manual = ", ".join(i.id for i in scheme.items if i.kind == "manual") or "none"
        raise AssessmentError(f"--item {item_id}: not a manual item of scheme {scheme.id} (manual items: {manual})")
    if role not in ("self", "assessor"):
        raise AssessmentError("give the self-score or the assessor's score")
    if not 0 <= score <= item.max:
        raise AssessmentError(f"the score of {item_id} lies between 0 and {item.max:g}, not {score:g}")
    if ops.read(op_sql("assessment.published"), (scheme.id, scheme.version, year)):
        raise AssessmentError(
            f"{year}'s results under {scheme.id} {scheme.version} are published; they no longer change"
        )
    if user is not None:
        permission = "assessment.self" if role == "self" else "assessment.assess"
        if office is None or office.code != office_code:
            raise AssessmentError(f"the score is not of office {office.code if office else '?'}")
        if not policy.require(ops, actor=user, action=permission, resource=office, what=f"score {item_id}"):
            raise PermissionError(f"you may not enter this {role} score")
    try:
        kept = store_attachments(evidence_dir, evidence or [])
    except RectificationError as exc:
        raise AssessmentError(str(exc)) from exc
    key = (scheme.id, scheme.version, year, office_code, item_id)
    with ops.write() as con:
        found = con.execute(op_sql("assessment.manual_one"), key).fetchone()
        if found is None:
            con.execute(op_sql("assessment.insert_manual"), key)
            files = []
        else:
            files = json.loads(found["evidence"])
        files += [{**f, "by": actor, "role": role} for f in kept]
        statement = op_sql("assessment.set_self") if role == "self" else op_sql("assessment.set_assessor")
        con.execute(statement, (f"{score:g}", actor, _now(), json.dumps(files, ensure_ascii=False), *key))
        audit.append(
            con,
            actor=actor,
            action=f"assessment.{role}",
            target=f"{scheme.id}/{scheme.version}/{year}/{office_code}/{item_id}",
            detail={"score": score, "evidence": kept},
        )
    return manual_scores(ops, scheme, year)[(office_code, item_id)]


def supervised_closed(ops: OpStore, store: Store, config: Config, *, year: int, level: str) -> dict[str, int]:
    """Supervised cases closed in `year`, counted for each office of `level` over its subtree."""
    closed = [
        r
        for r in supervised(ops, store, config, as_of=dt.date(year, 12, 31))
        if r["closed_date"] and r["closed_date"].startswith(f"{year}-")
    ]
    if not closed:
        return {}
    with contextlib.closing(store.reader(operational=False)) as con:
        paths = {c: (lv, prov, pref) for c, _n, lv, _p, prov, pref in rows(con, duck_sql("offices.paths"))}
    out: dict[str, int] = {}
    for r in closed:
        own_level, province, prefecture = paths.get(r["office_code"], (None, None, None))
        at = {"provincial": province, "prefecture": prefecture}.get(level) or (
            r["office_code"] if own_level == level else None
        )
        if at:
            out[at] = out.get(at, 0) + 1
    return out


def results(ops: OpStore, store: Store, config: Config, scheme: Scheme, *, year: int) -> dict:
    """The year's results under `scheme`: the published snapshot when there is one (refused when the
    scheme's text differs from the one published), else computed now."""
    if scheme.year is not None and scheme.year != year:
        raise AssessmentError(f"scheme {scheme.id} {scheme.version} is the table of {scheme.year}, not {year}")
    found = ops.read(op_sql("assessment.published"), (scheme.id, scheme.version, year))
    if found:
        if found[0]["scheme_sha256"] != scheme.sha256:
            raise AssessmentError(
                f"{year}'s results were published under {scheme.id} version {scheme.version} on "
                f"{found[0]['published_at'][:10]} with another text of the scheme; give the edited scheme a new version"
            )
        return {**json.loads(found[0]["results"]), "published_at": found[0]["published_at"]}
    outside = {"supervised_closed": supervised_closed(ops, store, config, year=year, level=scheme.level)}
    with contextlib.closing(store.reader()) as con:
        offices = assess(con, config, scheme, year=year, manual=manual_scores(ops, scheme, year), outside=outside)
    return {
        "scheme": {"id": scheme.id, "version": scheme.version, "sha256": scheme.sha256, "level": scheme.level},
        "year": year,
        "offices": offices,
        "published_at": None,
    }


def publish(ops: OpStore, store: Store, config: Config, scheme: Scheme, *, year: int, actor: str) -> dict:
    """Freeze the year's results under this scheme version (once)."""
    got = results(ops, store, config, scheme, year=year)
    if got["published_at"]:
        raise AssessmentError(
            f"{year}'s results under {scheme.id} {scheme.version} were published on {got['published_at'][:10]}"
        )
    pending = sorted({i for o in got["offices"] for i in o["pending"]})
    if pending:
        raise AssessmentError(f"the assessor's scores of {', '.join(pending)} are still missing for some offices")
    now = _now()
    body = {k: v for k, v in got.items() if k != "published_at"}
    with ops.write() as con:
        con.execute(
            op_sql("assessment.publish"),
            (scheme.id, scheme.version, year, scheme.sha256, json.dumps(body, ensure_ascii=False), now, actor),
        )
        audit.append(
            con,
            actor=actor,
            action="assessment.publish",
            target=f"{scheme.id}/{scheme.version}/{year}",
            detail={"sha256": scheme.sha256, "offices": len(got["offices"])},
        )
    return {**body, "published_at": now}


def for_workbook(ops: OpStore, store: Store, config: Config, scheme: Scheme, *, year: int, scope: str) -> dict | None:
    """The year's results under `scheme` for the offices of `scope`'s subtree, as the annual
    workbook's sheets take them; None when the scheme is another year's or cannot be scored."""
    try:
        got = results(ops, store, config, scheme, year=year)
    except AssessmentError:
        return None
    with contextlib.closing(store.reader(operational=False)) as con:
        below = {c for (c,) in rows(con, duck_sql("offices.subtree"), {"s": scope})}
    return {
        "title": scheme.zh,
        "version": scheme.version,
        "sections": [
            {
                "id": s.id,
                "zh": s.zh,
                "en": s.en,
                "items": [{"id": i.id, "zh": i.zh, "en": i.en} for i in scheme.items if i.section == s.id],
            }
            for s in scheme.sections
        ],
        "offices": [o for o in got["offices"] if o["office_code"] in below],
    }
