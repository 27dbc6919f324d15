"""The verifiable draw of SPEC §4.2, as pure functions anyone can re-run from the published files.

Nothing here reads the store (DuckDB is used in memory, as a fast hashing and sorting engine): the population file (sorted, hashed at lock time), the plan's
parameters and the inspector pool go in; the manifest comes out. `verify` recomputes a manifest
from the population file alone and lists every difference.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import duckdb
import polars as pl

from inspection.sample_size import attribute_sample_size, ratio_sample_size
from queries.statements import duck_sql

# v2: "one's own province" is the province of the office in the office tree, which the manifest
# records for every office it names ("provinces"). v1 (manifests drawn before) took the first two
# digits of the office code; the verifier still recomputes v1 manifests by that rule.
ALGORITHM = "sha256-consistent-v2"
ALGORITHM_V1 = "sha256-consistent-v1"
ALGORITHMS = (ALGORITHM_V1, ALGORITHM)
POPULATION_HEADER = ["office_code", "case_no", "stratum"]


class DrawError(ValueError):
    """The draw cannot be made as planned (names the office or stratum)."""


@dataclass(frozen=True)
class Item:
    office_code: str
    case_no: str
    stratum: str


class Drawn(TypedDict):
    """One drawn archive and its sort key SHA-256(seed|plan_id|office_code|case_no)."""

    office_code: str
    case_no: str
    stratum: str
    key: str


class Assignment(TypedDict):
    office_code: str
    inspector_id: str


class Manifest(TypedDict):
    """Everything needed to recompute a draw (SPEC §4.2); published as JSON with the results."""

    plan_id: str
    seed: str
    algorithm: str
    provinces: NotRequired[dict[str, str]]  # office -> province of every office named (v2 on)
    population_sha256: str
    plan: dict[str, Any]  # the locked plan as parsed from its TOML
    inspector_pool: list[dict[str, Any]]  # {inspector_id, office_code, …} sorted by id
    stratum_sizes: dict[str, dict[str, int]]  # stratum -> {population, sample}
    sample: list[Drawn]
    assignments: list[Assignment]
    created_at: str
    created_by: str
    draw_id: NotRequired[str]  # added when the draw is stored (not part of the digest)
    audit_anchor: NotRequired[dict[str, Any]]  # the audit chain's head when stored (access.audit.anchor)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def population_file(items: list[Item]) -> bytes:
    """UTF-8 CSV, LF line ends, header office_code,case_no,stratum, rows sorted by office_code, case_no."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(POPULATION_HEADER)
    for it in sorted(items, key=lambda i: (i.office_code, i.case_no)):
        w.writerow([it.office_code, it.case_no, it.stratum])
    return buf.getvalue().encode("utf-8")


def read_population(data: bytes) -> list[Item]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    if not rows or rows[0] != POPULATION_HEADER:
        raise DrawError(f"the population file must start with the header {','.join(POPULATION_HEADER)}")
    return [Item(r[0], r[1], r[2]) for r in rows[1:] if r]


def stratum_sizes(items: list[Item], rule: dict) -> dict[str, dict[str, int]]:
    """{stratum: {"population": N, "sample": n}} under the plan's rule (ratio or statistical)."""
    return sizes_from_counts(Counter(i.stratum for i in items), rule)


def sizes_from_counts(counts: dict[str, int], rule: dict) -> dict[str, dict[str, int]]:
    out = {}
    for stratum, n_pop in sorted(counts.items()):
        if rule.get("kind", "ratio") == "ratio":
            n = ratio_sample_size(
                n_pop,
                ratio=float(rule.get("ratio", 0.05)),
                minimum=int(rule.get("min_per_stratum", 2)),
                maximum=int(rule.get("max_per_stratum", 20)),
            )
        else:
            n = min(
                n_pop,
                attribute_sample_size(
                    confidence=float(rule.get("confidence", 0.95)),
                    tolerable=float(rule.get("tolerable", 0.05)),
                    expected=float(rule.get("expected", 0.0)),
                    population=n_pop,
                ).n,
            )
        out[stratum] = {"population": n_pop, "sample": n}
    return out


def population_frame(data: bytes) -> pl.DataFrame:
    """The population file as a frame of text columns (the fast path of `read_population`)."""
    if data.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip() != ",".join(POPULATION_HEADER):
        raise DrawError(f"the population file must start with the header {','.join(POPULATION_HEADER)}")
    try:
        frame = pl.read_csv(io.BytesIO(data), schema=dict.fromkeys(POPULATION_HEADER, pl.String))
    except pl.exceptions.PolarsError as exc:
        raise DrawError(f"the population file cannot be read: {exc}") from exc
    return frame.with_columns(pl.all().fill_null(""))  # an empty field is the empty string, as csv reads it


def draw_sample(items: list[Item], *, seed: str, plan_id: str, sizes: dict[str, dict[str, int]]) -> list[Drawn]:
    """Within each stratum, items sorted by SHA-256(seed|plan_id|office_code|case_no), first n drawn."""
    frame = pl.DataFrame(
        {
            "office_code": [i.office_code for i in items],
            "case_no": [i.case_no for i in items],
            "stratum": [i.stratum for i in items],
        },
        schema=dict.fromkeys(POPULATION_HEADER, pl.String),
    )
    return sample_frame(frame, seed=seed, plan_id=plan_id, sizes=sizes)


def sample_frame(frame: pl.DataFrame, *, seed: str, plan_id: str, sizes: dict[str, dict[str, int]]) -> list[Drawn]:
    """draw_sample over a frame. DuckDB computes the SHA-256 keys (its sha256() is the lowercase hex
    digest of the UTF-8 bytes, as hashlib's) and the per-stratum order; strings compare by bytes,
    which for UTF-8 is the order of code points, as Python's. The tests check this against hashlib."""
    most = max((v["sample"] for v in sizes.values()), default=0)
    if most == 0 or not frame.height:
        return []
    with contextlib.closing(duckdb.connect(":memory:")) as con:
        con.register("pop", frame.with_row_index("row"))
        # min_by(row, key, n): the rows of the n smallest keys, in key order, without sorting the
        # stratum; carrying the row number rather than the archive halves the query's time. The key
        # (64 hex digits) is unique per archive, so no tie is left to break.
        grouped = con.execute(
            duck_sql("draw.sample"),
            {"p": f"{seed}|{plan_id}|", "n": most},
        ).fetchall()
    chosen = dict(grouped)
    rows = [r for stratum in sorted(sizes) for r in (chosen.get(stratum) or [])[: sizes[stratum]["sample"]]]
    picked = frame[rows]
    return [
        {"office_code": o, "case_no": c, "stratum": st, "key": sha256_hex(f"{seed}|{plan_id}|{o}|{c}")}
        for o, c, st in zip(picked["office_code"], picked["case_no"], picked["stratum"])
    ]


def prefix_provinces(codes: Iterable[str]) -> dict[str, str]:
    """Algorithm v1's province of each office: the first two digits of its code."""
    return {c: c[:2] + "0000" for c in codes}


_WORKERS = max(1, min(os.cpu_count() or 1, 8))  # threads hashing the (office, inspector) pairs
CANDIDATES_SLACK = 16  # candidates fetched per office beyond those needed (inspectors at their cap are skipped)


def _candidates(
    offices: list[str],
    *,
    seed: str,
    pool: list[dict],
    top: int,
    own_office: bool,
    own_province: bool,
    provinces: Mapping[str, str],
) -> dict[str, list[str]]:
    """Each office's first `top` unconflicted inspectors by SHA-256(seed|inspector|office|id).

    DuckDB runs a cross join whose probe side is the short office list on one thread, so the
    offices are split into one slice per core, each queried on its own cursor in its own thread
    (DuckDB releases the GIL). The key's prefix is built once per office and the province once per
    row, so that each of the millions of pairs costs one concatenation and one hash.
    """
    slices = [offices[k::_WORKERS] for k in range(_WORKERS) if offices[k::_WORKERS]]
    with contextlib.closing(duckdb.connect(":memory:")) as con:
        con.register(
            "inspectors",
            pl.DataFrame(
                {
                    "id": [i["inspector_id"] for i in pool],
                    "home": [i["office_code"] for i in pool],
                    "province": [provinces[i["office_code"]] for i in pool],
                },
                schema={"id": pl.String, "home": pl.String, "province": pl.String},
            ).to_arrow(),
        )
        con.execute(duck_sql("draw.pool"))

        def one(part: list[str]) -> list[tuple[str, list[str]]]:
            with contextlib.closing(con.cursor()) as cur:
                cur.register(
                    "offices",
                    pl.DataFrame(
                        {"office": part, "province": [provinces[o] for o in part]},
                        schema={"office": pl.String, "province": pl.String},
                    ).with_columns(prefix=pl.lit(f"{seed}|inspector|") + pl.col("office") + pl.lit("|")),
                )
                return cur.execute(
                    duck_sql("draw.candidates"),
                    {"own_office": own_office, "own_province": own_province, "top": top},
                ).fetchall()

        with ThreadPoolExecutor(len(slices)) as pool_of_threads:
            return {office: list(ids) for rows in pool_of_threads.map(one, slices) for office, ids in rows}


def assign_inspectors(
    sample: list[Drawn],
    *,
    seed: str,
    pool: list[dict],
    per_office: int,
    workload_cap: int,
    exclude: list[str],
    provinces: Mapping[str, str],
) -> list[Assignment]:
    """Offices in SHA-256(seed|office|code) order; each takes the first `per_office` eligible inspectors
    by SHA-256(seed|inspector|office|id). Eligible: in the pool, no conflict, under the workload cap
    (the number of offices an inspector is assigned to in this plan). `provinces`: the province of
    every office of the sample and the pool (an office's own province conflicts).

    The keys of every (office, inspector) pair are computed by DuckDB, which returns each office's
    first candidates in key order (keys are unique per pair: no tie is left to break); the
    assignment itself runs in order here. Should the caps
    exhaust an office's fetched candidates, its whole list is computed with hashlib instead, so the
    result is always that of the rule above.
    """
    offices = sorted({s["office_code"] for s in sample}, key=lambda c: (sha256_hex(f"{seed}|office|{c}"), c))
    own_office, own_province = "own_office" in exclude, "own_province" in exclude

    def conflicted(ins: dict, office: str) -> bool:
        return (own_office and ins["office_code"] == office) or (
            own_province and provinces[ins["office_code"]] == provinces[office]
        )

    top = per_office + CANDIDATES_SLACK
    candidates: dict[str, list[str]] = {o: [] for o in offices}
    if offices and pool:
        candidates.update(
            _candidates(
                offices,
                seed=seed,
                pool=pool,
                top=top,
                own_office=own_office,
                own_province=own_province,
                provinces=provinces,
            )
        )
    homes = {i["inspector_id"]: i for i in pool}
    load: Counter[str] = Counter()
    assignments: list[Assignment] = []
    for office in offices:
        eligible = [i for i in candidates[office] if load[i] < workload_cap]
        if len(eligible) < per_office and len(candidates[office]) == top:  # truncated: take the whole list
            whole = sorted(
                (i for i in pool if not conflicted(i, office)),
                key=lambda i: (sha256_hex(f"{seed}|inspector|{office}|{i['inspector_id']}"), i["inspector_id"]),
            )
            eligible = [i["inspector_id"] for i in whole if load[i["inspector_id"]] < workload_cap]
        if len(eligible) < per_office:
            raise DrawError(
                f"office {office} can get only {len(eligible)} eligible inspectors, {per_office} needed "
                "(conflict rules and workload caps leave too few; enlarge the pool or raise the cap)"
            )
        for ident in eligible[:per_office]:
            load[ident] += 1
            assignments.append({"office_code": office, "inspector_id": homes[ident]["inspector_id"]})
    return assignments


def make_manifest(
    *,
    plan: dict,
    population: bytes,
    seed: str,
    pool: list[dict],
    provinces: Mapping[str, str],
    created_at: str,
    created_by: str,
    algorithm: str = ALGORITHM,
) -> Manifest:
    """The whole draw: everything needed to recompute it is in the returned manifest.

    `provinces`: the province of each office in the office tree (at least every office of the
    population and the pool); the manifest keeps those of the offices it names. Under algorithm v1
    (recomputing an old manifest) the province is the code's first two digits instead."""
    frame = population_frame(population)
    sizes = sizes_from_counts(dict(frame.group_by("stratum").len().iter_rows()), plan.get("rule", {}))
    sample = sample_frame(frame, seed=seed, plan_id=plan["plan_id"], sizes=sizes)
    named = sorted({s["office_code"] for s in sample} | {i["office_code"] for i in pool})
    if algorithm == ALGORITHM_V1:
        provinces = prefix_provinces(named)
    missing = [o for o in named if o not in provinces]
    if missing:
        raise DrawError(f"office {missing[0]} is not in the office tree, so its province is unknown")
    ins = plan.get("inspectors", {})
    assignments = assign_inspectors(
        sample,
        seed=seed,
        pool=pool,
        per_office=int(ins.get("per_office", 2)),
        workload_cap=int(ins.get("workload_cap", 6)),
        exclude=list(ins.get("exclude", ["own_office", "own_province"])),
        provinces=provinces,
    )
    manifest: Manifest = {
        "plan_id": plan["plan_id"],
        "seed": seed,
        "algorithm": algorithm,
        "population_sha256": hashlib.sha256(population).hexdigest(),
        "plan": plan,
        "inspector_pool": sorted(pool, key=lambda i: i["inspector_id"]),
        "stratum_sizes": sizes,
        "sample": sample,
        "assignments": assignments,
        "created_at": created_at,
        "created_by": created_by,
    }
    if algorithm != ALGORITHM_V1:
        manifest["provinces"] = {o: provinces[o] for o in named}
    return manifest


def manifest_sha256(manifest: Mapping[str, Any]) -> str:
    return sha256_hex(json.dumps(manifest, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
