"""A realistic, seeded, synthetic demo data set (SPEC §2, CALIBRATION.md).

The office tree and the cases' geography are in `demo_offices`; design and utility-model patents
dominate infringement disputes. Each office has latent strengths (timeliness, quality,
mediation, proactivity) that persist from year to year with drift, so scores differ meaningfully.

Everything is vectorised with NumPy so that 5,000,000 cases build in well under a minute, and the
same seed always gives the same data. The data are synthetic and say so wherever they are shown.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass

import numpy as np
import polars as pl
from tqdm import tqdm

from ingest.apply import apply_rows
from ingest.contract import default_contract
from ingest.demo_offices import office_tree, office_weights, province_of
from queries.statements import duck_sql, op_sql
from queries.store import Store

YEARS = (2021, 2022, 2023, 2024, 2025)
YEAR_WEIGHT = np.array([45, 50, 55, 60, 65], dtype=float)  # ~55,000 a year on average
DATA_END = dt.date(2025, 12, 31)
SYNTHETIC_SOURCE = "synthetic-demo"

# Design share among infringement disputes (2016, CALIBRATION.md); others take the national mix.
DESIGN_SHARE = {
    "31": 0.78,
    "44": 0.69,
    "33": 0.66,
    "11": 0.55,
    "12": 0.48,
    "51": 0.40,
    "32": 0.37,
    "37": 0.34,
    "50": 0.18,
    "41": 0.15,
}
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力飞斌宇浩凯健俊帆帅博")
FIELDS = ["mechanical", "electrical", "chemical", "design", "communication", "biomedical"]


@dataclass(frozen=True)
class DemoSpec:
    """What to build: total cases over the five years and the random seed."""

    cases: int = 275_000
    seed: int = 20240101


def _add_days(d: np.ndarray, days: np.ndarray) -> np.ndarray:
    return d + days.astype("timedelta64[D]")


def build_frames(spec: DemoSpec, progress: bool = False) -> dict[str, pl.DataFrame]:
    """Generate offices, staffing, cases, inspectors and appraisals as typed frames."""
    rng = np.random.default_rng(spec.seed)
    offices = office_tree()
    n_off = offices.height
    codes = offices["office_code"].to_numpy()
    level = offices["level"].to_numpy()
    prov = province_of(offices)
    bar = tqdm(total=6, desc="生成演示数据 building demo data", file=sys.stderr, disable=not progress, leave=False)

    # Latent strengths per office and year: a persistent part plus a random walk.
    skills = {}
    for name in ("time", "quality", "mediation", "proactive"):
        base = rng.normal(0, 1, n_off)
        walk = np.cumsum(rng.normal(0, 0.3, (len(YEARS), n_off)), axis=0)
        skills[name] = base[None, :] + walk
    weights = office_weights(offices, rng)

    # Staffing: certified officers per office and year.
    base_staff = np.where(level == "provincial", 18, np.where(level == "prefecture", 5, 1.5))
    base_staff = base_staff * (1 + 40 * weights)
    staff = []
    for yi, year in enumerate(YEARS):
        s = rng.poisson(base_staff * (1 + 0.05 * yi))
        s[level == "national"] = rng.integers(40, 60)
        staff.append(
            pl.DataFrame(
                {
                    "office_code": codes,
                    "year": np.full(n_off, year, dtype=np.int32),
                    "certified_staff": s.astype(np.int32),
                }
            )
        )
    staffing = pl.concat(staff)
    bar.update()

    # Cases.
    n = spec.cases
    year_idx = rng.choice(len(YEARS), size=n, p=YEAR_WEIGHT / YEAR_WEIGHT.sum())
    office = rng.choice(n_off, size=n, p=weights)
    order = np.lexsort((year_idx, office))
    year_idx, office = year_idx[order], office[order]
    years = np.array(YEARS)[year_idx]
    t_skill = skills["time"][year_idx, office]
    q_skill = skills["quality"][year_idx, office]
    m_skill = skills["mediation"][year_idx, office]
    p_skill = skills["proactive"][year_idx, office]

    u = rng.random(n)
    kind = np.where(u < 0.85, "infringement_dispute", np.where(u < 0.97, "counterfeit", "other_dispute"))
    infr, cf = kind == "infringement_dispute", kind == "counterfeit"
    design_share = np.array([DESIGN_SHARE.get(p, 0.53) for p in prov])[office]
    u = rng.random(n)
    inv_share = 0.11
    patent = np.where(u < design_share, "design", np.where(u < design_share + inv_share, "invention", "utility_model"))

    src = np.empty(n, dtype=object)
    u = rng.random(n)
    src[:] = np.where(u < 0.82, "request", np.where(u < 0.90, "online", np.where(u < 0.95, "exhibition", "referral")))
    proactive_p = 1 / (1 + np.exp(-(0.3 + 0.9 * p_skill)))
    u, v = rng.random(n), rng.random(n)
    cf_src = np.where(
        u < proactive_p,
        np.where(v < 0.5, "ex_officio", np.where(v < 0.8, "report", "online")),
        np.where(v < 0.6, "referral", "exhibition"),
    )
    src = np.where(cf, cf_src, src).astype(str)

    start = np.array([np.datetime64(f"{y}-01-01") for y in YEARS])[year_idx]
    days_in_year = np.where(np.isin(years, [2024]), 366, 365)
    received = _add_days(start, np.floor(rng.random(n) * days_in_year))
    delay = np.clip(np.round(rng.exponential(np.clip(3.2 - 0.9 * t_skill, 0.8, 9.0))), 0, 40)
    accepted = _add_days(received, delay)
    accepted = np.where(
        accepted.astype("datetime64[Y]").astype(int) + 1970 > years, _add_days(start, days_in_year - 1), accepted
    ).astype("datetime64[D]")
    received = np.minimum(received, accepted)

    # Closing type and duration.
    mediate_p = 1 / (1 + np.exp(-(-0.1 + 0.7 * m_skill)))
    u, v = rng.random(n), rng.random(n)
    inf_close = np.where(
        u < mediate_p * 0.8,
        "mediated",
        np.where(
            v < 0.62,
            "decided_infringing",
            np.where(v < 0.78, "decided_not_infringing", np.where(v < 0.93, "withdrawn", "terminated")),
        ),
    )
    cf_close = np.where(
        u < 0.80, "penalized", np.where(u < 0.80 + 0.05 + 0.04 * (p_skill > 1), "transferred", "terminated")
    )
    oth_close = np.where(u < 0.5, "mediated", np.where(u < 0.8, "withdrawn", "terminated"))
    closing = np.where(infr, inf_close, np.where(cf, cf_close, oth_close)).astype(str)
    mean_days = np.select(
        [
            closing == "mediated",
            np.char.startswith(closing, "decided"),
            closing == "withdrawn",
            closing == "terminated",
            closing == "penalized",
            closing == "transferred",
        ],
        [32, 70, 28, 20, 38, 45],
        50,
    ).astype(float)
    speed = np.exp(-0.22 * t_skill + rng.normal(0, 0.25, n))
    duration = np.round(rng.gamma(3.0, mean_days * speed / 3.0)).astype(int) + 1
    suspended = np.where(infr & (rng.random(n) < 0.06), rng.integers(15, 91, n), 0)
    limit = np.where(infr, 92, np.where(cf, 90, 10_000))
    cap = np.where(infr, np.where(accepted >= np.datetime64("2025-02-01"), 59, 30), 30)
    need_ext = duration > limit
    ext = np.where(need_ext & (rng.random(n) < 0.8), np.minimum(duration - limit + rng.integers(0, 10, n), cap), 0)
    overcap = need_ext & (rng.random(n) < 0.03)
    ext = np.where(overcap, cap + rng.integers(5, 30, n), ext)
    closed = _add_days(accepted, duration + suspended)
    never = rng.random(n) < 0.004  # forgotten cases: open and long overdue
    is_open = (closed > np.datetime64(DATA_END)) | never
    bar.update()

    review = np.full(n, "none", dtype=object)
    u, v = rng.random(n), rng.random(n)
    decided = np.char.startswith(closing, "decided")
    reviewed = (decided & (u < 0.09)) | ((closing == "penalized") & (u < 0.03))
    review = np.where(
        reviewed,
        np.where(v < 0.78 + 0.05 * q_skill.clip(-2, 2), "upheld", np.where(v < 0.93, "reversed", "pending")),
        "none",
    ).astype(str)
    hearing = np.where(
        decided,
        np.where(rng.random(n) < 0.7, "oral", "written"),
        np.where(closing == "mediated", np.where(rng.random(n) < 0.45, "oral", "none"), "none"),
    )
    fine = np.where(closing == "penalized", np.round(rng.lognormal(8.6, 0.9, n) / 100) * 100, 0.0)
    sector_e = (src == "online") | (rng.random(n) < 0.12)
    sector_f = rng.random(n) < 0.03
    sector_v = rng.random(n) < 0.01
    sector_s = rng.random(n) < 0.01

    staff_of = staffing.filter(pl.col("year") == YEARS[-1])["certified_staff"].to_numpy()
    handler_pool = np.maximum(staff_of[office], 2)
    h1 = rng.integers(0, 10_000, n) % handler_pool + 1
    h2 = (h1 % handler_pool) + 1
    bar.update()

    frame = pl.DataFrame(
        {
            "office_code": codes[office],
            "year": years.astype(np.int32),
            "case_kind": kind,
            "patent_type": patent,
            "source": src,
            "received_date": received,
            "accepted_date": accepted,
            "closed_date": closed,
            "closing_type": closing,
            "suspended_days": suspended.astype(np.int32),
            "extension_days": ext.astype(np.int32),
            "extension_collective": np.zeros(n, dtype=bool),  # the demo's extensions stay within the maximum
            "hearing": hearing,
            "on_the_spot": rng.random(n) < 0.04,
            "cross_region": rng.random(n) < 0.08,
            "review_outcome": review,
            "fine_cny": fine,
            "_open": is_open,
            "_e": sector_e,
            "_f": sector_f,
            "_v": sector_v,
            "_s": sector_s,
            "_h1": h1.astype(np.int32),
            "_h2": h2.astype(np.int32),
        }
    )
    prefix = pl.when(pl.col("case_kind") == "counterfeit").then(pl.lit("知罚字")).otherwise(pl.lit("知纠字"))
    cases = (
        frame.with_columns(
            (
                prefix
                + "〔"
                + pl.col("year").cast(pl.String)
                + "〕"
                + (pl.int_range(pl.len()).over("office_code", "year") + 1).cast(pl.String).str.zfill(5)
                + "号"
            ).alias("case_no"),
            pl.when(pl.col("_open")).then(None).otherwise(pl.col("closed_date")).alias("closed_date"),
            pl.when(pl.col("_open")).then(None).otherwise(pl.col("closing_type")).alias("closing_type"),
            pl.when(pl.col("_open")).then(pl.lit("none")).otherwise(pl.col("review_outcome")).alias("review_outcome"),
            pl.when(pl.col("_open")).then(0.0).otherwise(pl.col("fine_cny")).alias("fine_cny"),
            pl.concat_list(
                pl.when(pl.col("_e")).then(pl.lit("e_commerce")),
                pl.when(pl.col("_v")).then(pl.lit("environment")),
                pl.when(pl.col("_f")).then(pl.lit("food_drug")),
                pl.when(pl.col("_s")).then(pl.lit("safe_production")),
            )
            .list.drop_nulls()
            .alias("sectors"),
            pl.concat_list(
                pl.col("office_code") + "-" + pl.col("_h1").cast(pl.String).str.zfill(2),
                pl.col("office_code") + "-" + pl.col("_h2").cast(pl.String).str.zfill(2),
            )
            .list.unique(maintain_order=True)
            .alias("handlers"),
        )
        .with_columns(
            pl.coalesce("closed_date", "accepted_date").cast(pl.Datetime("us")).dt.offset_by("17h").alias("updated_at"),
            # Open cases that are still being handled cannot already be reviewed.
        )
        .drop("year", "_open", "_e", "_f", "_v", "_s", "_h1", "_h2")
    )
    bar.update()

    # Inspectors: a pool per province and two per prefecture.
    insp = []
    for i in range(n_off):
        if level[i] in ("provincial", "prefecture"):
            k = 24 if level[i] == "provincial" else 2
            for j in range(k):
                insp.append((f"INS{codes[i]}{j + 1:02d}", codes[i]))
    m = len(insp)
    names = [
        SURNAMES[a] + GIVEN[b] + (GIVEN[c] if c % 3 else "")
        for a, b, c in zip(
            rng.integers(0, len(SURNAMES), m), rng.integers(0, len(GIVEN), m), rng.integers(0, len(GIVEN), m)
        )
    ]
    field_pick = rng.integers(0, len(FIELDS), (m, 2))
    inspectors = pl.DataFrame(
        {
            "inspector_id": [x[0] for x in insp],
            "name": names,
            "office_code": [x[1] for x in insp],
            "certified": rng.random(m) < 0.95,
            "active": rng.random(m) < 0.92,
            "fields": [sorted({FIELDS[a], FIELDS[b]}) for a, b in field_pick],
        }
    )
    bar.update()

    # Historical appraisals of about 5% of closed cases, scored by an inspector of another province.
    closed_cases = cases.with_row_index("_i").filter(pl.col("closed_date").is_not_null())
    pick = closed_cases.filter(pl.Series(rng.random(closed_cases.height) < 0.05))
    k = pick.height
    idx = pick["_i"].to_numpy()
    q = q_skill[idx]
    contract = default_contract()
    insp_codes = np.array([x[1][:2] for x in insp])
    insp_ids = np.array([x[0] for x in insp])
    chosen = rng.integers(0, m, k)
    same = insp_codes[chosen] == np.array([c[:2] for c in pick["office_code"].to_list()])
    chosen = np.where(same, (chosen + 24 * 3) % m, chosen)
    scores = {}
    for item in contract.checklist.items:
        frac = 1 / (1 + np.exp(-(2.1 + 0.9 * q + rng.normal(0, 0.8, k))))
        scores[item.id] = np.round(frac * item.max * 2) / 2
    veto_p = 0.012 * np.exp(-0.6 * q)
    veto_kind = rng.choice(["wrong_party", "beyond_authority", "missing_decision"], k)
    veto = [[v] if r < p else [] for v, r, p in zip(veto_kind, rng.random(k), veto_p)]
    inspected = _add_days(pick["closed_date"].to_numpy().astype("datetime64[D]"), rng.integers(20, 200, k))
    appraisals = pl.DataFrame(
        {
            "draw_id": [""] * k,
            "office_code": pick["office_code"],
            "case_no": pick["case_no"],
            "inspector_id": insp_ids[chosen],
            **scores,
            "veto": pl.Series(veto, dtype=pl.List(pl.String)),
            "inspected_at": inspected,
        }
    )
    bar.update()
    bar.close()
    return {
        "offices": offices,
        "staffing": staffing,
        "cases": cases,
        "inspectors": inspectors,
        "appraisals": appraisals,
    }


def build_demo(store: Store, spec: DemoSpec, progress: bool = True) -> dict[str, int]:
    """Build the demo data set into `store` in one published change (the historical appraisals into
    its operational store, replacing the demo's earlier ones, with their audit entry); return row counts."""
    from access import audit
    from ingest.appraisals import record_run, session, write_back
    from ingest.parse import finish_appraisals

    frames = build_frames(spec, progress=progress)
    contract = default_contract()
    counts = {}

    def apply(con, kind: str, run_id: int) -> None:
        frame = frames[kind]
        if kind == "appraisals":
            frame = finish_appraisals(frame, contract)
        frame = frame.with_columns(
            pl.lit(None, pl.String).alias("_sheet"), (pl.int_range(pl.len()) + 1).cast(pl.String).alias("_row")
        )
        applied = apply_rows(
            con,
            kind=kind,
            frame=frame,
            key=list(contract.kinds[kind].key),
            sha=f"{SYNTHETIC_SOURCE}-seed-{spec.seed}",
            run_id=run_id,
            contract=contract,
        )
        if applied.errors.height:  # the generator broke the contract: a bug, not bad input
            raise AssertionError(f"demo {kind} violate the contract: {applied.errors.head(5)}")
        counts[kind] = applied.counts.loaded

    with store.writer() as con:
        for kind in ("offices", "staffing", "inspectors", "cases"):
            apply(con, kind, 0)
        con.execute(
            duck_sql("meta.set_demo"),
            {"v": f"synthetic demo data, seed {spec.seed}, {spec.cases} cases"},
        )
    with session(store) as (con, ocon, run_id):
        ocon.execute(op_sql("appraisals.delete_demo"))
        con.execute(duck_sql("inspection.delete_synthetic_appraisals"), {"s": f"{SYNTHETIC_SOURCE}%"})
        apply(con, "appraisals", run_id)
        write_back(con, ocon, run_id=run_id, actor="demo")
        from ingest.apply import Counts

        record_run(
            ocon,
            run_id=run_id,
            started=dt.datetime.now(),
            actor="demo",
            contract_version=contract.version,
            files=[{"path": SYNTHETIC_SOURCE}],
            counts=Counts(read=counts["appraisals"], loaded=counts["appraisals"]),
            rejects_file=None,
            quarantine=None,
        )
        audit.append(
            ocon,
            actor="demo",
            action="ingest.appraisals",
            target=f"run {run_id}",
            detail={"synthetic": True, "loaded": counts["appraisals"], "seed": spec.seed},
        )
    return counts


def export_frames(frames: dict[str, pl.DataFrame], directory: str, fmt: str = "csv") -> dict[str, str]:
    """Write the demo frames as ingestable files (`csv` with English headers, or `parquet`).

    Used by the benchmarks and the crash tests, and by anyone who wants sample input files.
    List columns become `;`-separated text in CSV.
    """
    from pathlib import Path

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for kind, frame in frames.items():
        path = out / f"{kind}.{fmt}"
        if fmt == "parquet":
            frame.write_parquet(path)
        else:
            flat = frame.with_columns(
                [pl.col(c).list.join(";") for c, t in frame.schema.items() if isinstance(t, pl.List)]
            )
            flat.write_csv(path, datetime_format="%Y-%m-%d %H:%M:%S", date_format="%Y-%m-%d")
        written[kind] = str(path)
    return written
