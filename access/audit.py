"""The tamper-evident audit log (SPEC §4.4): append-only, each entry chained to the previous by a
keyed hash, and anchored outside the operational database.

hash = "hmac-sha256:" + HMAC-SHA256(audit key, previous entry's hash | this entry's canonical JSON
(seq, at, actor, action, target, detail)). The key lives outside the databases (`access.keys`), so
someone who can write the operational database but does not hold the key can neither edit an
entry, nor delete or reorder entries and recompute the chain: `verify` names the first entry that
does not fit. Entries written before the log was keyed carry the plain SHA-256 chain of before
(no prefix); they may only precede the keyed ones.

What a chain cannot show by itself is entries removed from its end (or a whole log replaced). The
head of the chain (`anchor`: its sequence number and hash) is therefore copied where the database
cannot reach it — into every publication, draw manifest and exported workbook, and by
`ipdash audit anchor` into a file kept elsewhere — and `verify(anchor=...)` checks the log still
holds that entry unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from access.keys import audit_key
from access.opstore import OpStore
from queries.statements import op_sql

GENESIS = "0" * 64
KEYED = "hmac-sha256:"


def entry_hash(
    prev_hash: str,
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    target: str | None,
    detail: str,
    key: bytes | None,
) -> str:
    """The entry's hash: keyed with `key`, or the plain SHA-256 of the log before keying (key None)."""
    body = json.dumps(
        {"seq": seq, "at": at, "actor": actor, "action": action, "target": target, "detail": detail},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    message = (prev_hash + "|" + body).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return KEYED + hmac.new(key, message, hashlib.sha256).hexdigest()


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
    last = con.execute(op_sql("audit.head")).fetchone()
    seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
    at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    h = entry_hash(prev, seq=seq, at=at, actor=actor, action=action, target=target, detail=text, key=audit_key())
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
    unkeyed: int = 0  # entries from before the log was keyed (plain SHA-256 chain)
    anchor_checked: bool = False


def verify(
    ops: OpStore,
    *,
    anchor: Mapping[str, Any] | None = None,
    key: bytes | None = None,
    accept_unkeyed: int = 0,
) -> Verdict:
    """Walk the chain in sequence order and report the first entry that does not fit; with an
    `anchor` ({"seq", "hash"} from `anchor()`), also that the log still holds that entry unchanged.

    `key`: the audit key (default: this machine's; without one, keyed entries cannot be checked).
    `accept_unkeyed`: how many entries at the start may carry the plain chain of a log written
    before keying (default none: a log rewritten with the plain chain, which needs no key, is
    refused rather than accepted as old)."""
    rows = ops.read(op_sql("audit.all"))
    key = key if key is not None else audit_key(create=False)
    prev, expected_seq, unkeyed, keyed_seen = GENESIS, 1, 0, False
    n = len(rows)
    for r in rows:
        if r["seq"] != expected_seq:
            return Verdict(False, n, r["seq"], f"entry {expected_seq} is missing (next is {r['seq']})", unkeyed)
        if r["prev_hash"] != prev:
            return Verdict(
                False,
                n,
                r["seq"],
                "its link to the previous entry is broken (an earlier entry was deleted, reordered or edited)",
                unkeyed,
            )
        is_keyed = r["hash"].startswith(KEYED)
        if is_keyed and key is None:
            return Verdict(
                False,
                n,
                r["seq"],
                "the audit key is not available here (IPDASH_AUDIT_KEY or IPDASH_AUDIT_KEY_FILE), so keyed "
                "entries cannot be checked",
                unkeyed,
            )
        if not is_keyed and (keyed_seen or r["seq"] > accept_unkeyed):
            return Verdict(
                False,
                n,
                r["seq"],
                "it is not keyed (written without the audit key: rewritten, or from before keying — then say "
                "how many such entries to accept)",
                unkeyed,
            )
        fields = {k: r[k] for k in ("seq", "at", "actor", "action", "target", "detail")}
        if entry_hash(prev, **fields, key=key if is_keyed else None) != r["hash"]:
            return Verdict(False, n, r["seq"], "its content does not match its hash (edited)", unkeyed)
        keyed_seen = keyed_seen or is_keyed
        unkeyed += not is_keyed
        prev, expected_seq = r["hash"], expected_seq + 1
    if anchor is not None:
        problem = _against_anchor(rows, anchor)
        if problem:
            return Verdict(False, n, int(anchor.get("seq") or 0), problem, unkeyed, anchor_checked=True)
    return Verdict(True, n, unkeyed=unkeyed, anchor_checked=anchor is not None)


def _against_anchor(rows: list, anchor: Mapping[str, Any]) -> str | None:
    seq, digest = anchor.get("seq"), anchor.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 or not isinstance(digest, str):
        return "the anchor is not an audit anchor (it needs a whole-number seq and a hash)"
    if seq == 0:
        return None if digest == GENESIS else "the anchor of an empty log must have the genesis hash"
    if len(rows) < seq:
        return f"the log ends at entry {len(rows)}, before the anchored entry {seq} (entries were removed from its end)"
    if rows[seq - 1]["hash"] != digest:
        return f"entry {seq} differs from the anchor (the log was rewritten since the anchor was taken)"
    return None


def anchor(ops: OpStore, con: Any = None) -> dict[str, Any]:
    """The head of the chain, to be kept where the operational database cannot reach it:
    {"seq", "hash", "at"} of the last entry (seq 0 for an empty log) and when it was taken.
    `con`: read it inside the caller's write transaction (the head the caller's entry will follow)."""
    last = con.execute(op_sql("audit.head")).fetchall() if con is not None else ops.read(op_sql("audit.head"))
    head = {k: last[0][k] for k in ("seq", "hash", "at")} if last else {"seq": 0, "hash": GENESIS, "at": None}
    return {**head, "taken_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


def recent(ops: OpStore, limit: int = 200) -> list[dict]:
    return [dict(r) for r in ops.read(op_sql("audit.recent"), (limit,))]
