"""The tamper-evident audit log (SPEC §4.4): append-only, each entry hash-chained to the previous.

hash = SHA-256 over the previous entry's hash and this entry's canonical JSON (seq, at, actor,
action, target, detail). Editing an entry changes its hash; deleting or reordering one breaks the
next entry's link; `verify` names the first entry where the chain breaks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from access.opstore import OpStore
from queries.statements import op_sql

GENESIS = "0" * 64


def entry_hash(prev_hash: str, *, seq: int, at: str, actor: str, action: str, target: str | None, detail: str) -> str:
    body = json.dumps(
        {"seq": seq, "at": at, "actor": actor, "action": action, "target": target, "detail": detail},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + "|" + body).encode("utf-8")).hexdigest()


def _clean(text: str | None, limit: int = 500) -> str | None:
    """Text from a request may hold anything: keep it readable, bounded and storable (no NUL)."""
    if text is None:
        return None
    text = text.replace("\x00", "\\x00")
    return text if len(text) <= limit else text[:limit] + f"…(+{len(text) - limit})"


def append(con: Any, *, actor: str, action: str, target: str | None = None, detail: dict | None = None) -> int:
    """Append one entry inside the caller's write transaction (`OpStore.write()`), so that the
    action and its entry are committed together or not at all; return its sequence number."""
    actor, target = _clean(actor, 100) or "-", _clean(target)
    text = json.dumps(detail or {}, ensure_ascii=True, sort_keys=True, default=str)
    last = con.execute(op_sql("audit.last")).fetchone()
    seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
    at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    h = entry_hash(prev, seq=seq, at=at, actor=actor, action=action, target=target, detail=text)
    con.execute(op_sql("audit.insert"), (seq, at, actor, action, target, text, prev, h))
    return seq


def record(ops: OpStore, *, actor: str, action: str, target: str | None = None, detail: dict | None = None) -> int:
    """Append one entry in a transaction of its own; return its sequence number. Safe under
    concurrent writers (the write lock serialises the read of the last hash and the insert)."""
    with ops.write() as con:
        return append(con, actor=actor, action=action, target=target, detail=detail)


@dataclass
class Verdict:
    ok: bool
    entries: int
    first_broken: int | None = None
    problem: str | None = None


def verify(ops: OpStore) -> Verdict:
    """Walk the chain in sequence order; report the first entry that does not fit."""
    rows = ops.read(op_sql("audit.all"))
    prev, expected_seq = GENESIS, 1
    for r in rows:
        if r["seq"] != expected_seq:
            return Verdict(False, len(rows), r["seq"], f"entry {expected_seq} is missing (next is {r['seq']})")
        if r["prev_hash"] != prev:
            return Verdict(
                False,
                len(rows),
                r["seq"],
                "its link to the previous entry is broken (an earlier entry was deleted, reordered or edited)",
            )
        h = entry_hash(
            prev, seq=r["seq"], at=r["at"], actor=r["actor"], action=r["action"], target=r["target"], detail=r["detail"]
        )
        if h != r["hash"]:
            return Verdict(False, len(rows), r["seq"], "its content does not match its hash (edited)")
        prev, expected_seq = r["hash"], expected_seq + 1
    return Verdict(True, len(rows))


def recent(ops: OpStore, limit: int = 200) -> list[dict]:
    return [dict(r) for r in ops.read(op_sql("audit.recent"), (limit,))]
