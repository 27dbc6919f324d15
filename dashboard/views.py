"""What each dashboard page shows, computed and permission-checked in plain functions (no Dash).

Like Datasette's `table_view_data`, every page's data is built here and checked against the user
before any component is made: `access()` (in `viewer.py`, asking `access.policy`) is the one
decision for an office, and every function below calls it (or the scoped query runner) first. The rankings need the whole peer group,
so they are computed on a national connection and then cut down to the rows the user may see:

- national users see every office;
- an office user sees its own subtree in full, and its parent's ranking as ranking rows only
  ("other provinces only as published ranking rows", SPEC §1): names, scores and ranks, never their
  figures, profiles or cases;
- anything else is refused, returns nothing of the office, and is written to the audit log.

Expensive results (rankings, composites, headline figures) are cached per data version.
"""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import polars as pl

from access import policy
from dashboard.cache import VersionedCache
from dashboard.view_types import (
    Crumb,
    Denied,
    Figure,
    OpenByOffice,
    Place,
    Profile,
    ProfileIndicator,
    ProfileMissing,
    ProfileNational,
    RankRow,
    Standing,
    Weak,
)
from dashboard.viewer import (  # noqa: F401  (the viewer and the access decision, used as views.* too)
    Controls,
    Tree,
    Viewer,
    access,
    home,
    office_grant,
    office_resource,
    tree,
)
from metrics.config import DIMENSIONS, Config
from metrics.indicators import compute_indicators
from metrics.monitor import office_monitor, open_cases
from metrics.ranking import Ranking, TableOf, composites, rank_offices, sensitivity
from metrics.results import RankedOffice
from queries.result_cache import shared_value
from queries.statements import duck_sql
from queries.store import Store

LEVEL_BELOW = {"national": "provincial", "provincial": "prefecture", "prefecture": "county", "county": None}
TREND_YEARS = 5


# --- cached computations (on the national connection, with the policy's grant) -------------------


def _weights(controls: Controls) -> dict[str, float] | None:
    return dict(controls.weights) if controls.weights else None


def shared_tables(store: Store, config: Config, cache: VersionedCache) -> TableOf:
    """Every office's indicators for (year, as-of), computed once per data version and shared by all
    rankings, trends and sensitivities of the dashboard, and by its workbook downloads. The table
    holds every office; what a user sees of it is decided by the caller's access check."""

    def table(year: int, as_of: dt.date):
        def compute():
            return compute_indicators(store.thread_reader(), config, year=year, as_of=as_of)

        return cache.get(("indicators", year, as_of), compute)

    return table


def _table_of(viewer: Viewer) -> TableOf:
    return shared_tables(viewer.store, viewer.config, viewer.cache)


def ranking(
    viewer: Viewer,
    grant: policy.Grant | None,
    controls: Controls,
    *,
    level: str,
    within: str | None,
    year: int | None = None,
    runs: int | None = None,
) -> Ranking:
    year = year or controls.year
    c = controls

    def compute() -> Ranking:
        as_of = c.as_of_date if year == c.year else dt.date(year, 12, 31)
        # Last year's indicators (the rank change; the headline's comparison) are independent of this
        # year's: computed beside them in a second thread (DuckDB runs without the GIL), and found
        # in the shared cache when the ranking comes to them.
        threading.Thread(
            target=_table_of(viewer), args=(year - 1, _previous_as_of(as_of)), name="ipdash-last-year", daemon=True
        ).start()

        def rank(con) -> Ranking:
            return rank_offices(
                con,
                viewer.config,
                year=year,
                level=level,
                within=within,
                as_of=c.as_of_date if year == c.year else None,
                method=c.method,
                runs=runs,
                dimension_weights=_weights(c),
                table_of=_table_of(viewer),
            )

        # After an appraisal every worker needs the new ranking: one computes it, the others read it
        # (the key holds the appraisal and draw counters as they are now, and the configuration).
        counters = {k: v for k, v in viewer.ops.versions().items() if k.startswith(("appraisals", "draws"))}
        key = {
            "view": [year, repr(c.key()), level, within, runs],
            "config": viewer.config.methodology(),
            "counters": counters,
        }
        return viewer.national_read(
            grant,
            lambda con: shared_value(
                con, "ranking", key, compute=lambda: rank(con), encode=Ranking.stored, decode=Ranking.from_stored
            ),
        )

    return viewer.cache.get(("ranking", year, c.key(), level, within, runs), compute)


def composite_trend(
    viewer: Viewer, grant: policy.Grant | None, controls: Controls, *, level: str, within: str | None
) -> dict[int, dict]:
    """Composites of the offices of `level` (within `within`) for each of the last five years."""
    out = {}
    for y in years(viewer):
        if controls.year - TREND_YEARS < y <= controls.year:
            if y == controls.year:
                r = ranking(viewer, grant, controls, level=level, within=within)
                out[y] = {o["office_code"]: o["composite"] for o in r.offices}
            else:
                out[y] = viewer.cache.get(
                    ("composites", y, controls.method, controls.weights, level, within),
                    lambda y=y: viewer.national_read(  # type: ignore[misc]  # mypy cannot type a default-bound lambda
                        grant,
                        lambda con: _composites(con, viewer.config, y, level, within, controls, _table_of(viewer)),
                    ),
                )
    return out


def _composites(con, config: Config, year: int, level: str, within: str | None, controls: Controls, table_of) -> dict:
    if controls.method is None and controls.weights is None:
        return composites(con, config, year=year, level=level, within=within, table_of=table_of)
    r = rank_offices(
        con,
        config,
        year=year,
        level=level,
        within=within,
        method=controls.method,
        runs=1,
        dimension_weights=_weights(controls),
        with_previous=False,
        table_of=table_of,
    )
    return {o["office_code"]: o["composite"] for o in r.offices}


def years(viewer: Viewer) -> list[int]:
    return viewer.cache.get(
        ("years",),
        lambda: viewer.national_read(
            viewer.site(), lambda con: [int(y) for (y,) in con.execute(duck_sql("cases.years")).fetchall()]
        ),
    )


def headline_table(viewer: Viewer, grant: policy.Grant | None, year: int, as_of: dt.date) -> dict[str, dict]:
    """The headline counts of every office with cases in the facts of (year, as-of): computed in the
    indicators' pass (metrics.indicators, queries/place_headline.sql) that the ranking of the same
    view reads, so a new as-of date costs one pass over the cases, not two."""

    def compute() -> dict[str, dict]:
        viewer.granted(grant)
        frame = _table_of(viewer)(year, as_of).frame.select(
            "office_code", pl.col("^headline_.*$").name.map(lambda c: c.removeprefix("headline_"))
        )
        return {r["office_code"]: r for r in frame.filter(pl.col("accepted").is_not_null()).to_dicts()}

    return viewer.cache.get(("headline", year, as_of), compute)


def _previous_as_of(as_of: dt.date) -> dt.date:
    return (
        as_of.replace(year=as_of.year - 1, day=28)
        if (as_of.month, as_of.day) == (2, 29)
        else as_of.replace(year=as_of.year - 1)
    )


def _diff(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


HEADLINE_KEYS = ("accepted", "closed", "on_time_rate", "open_cases", "overdue", "appraised")


def headline(viewer: Viewer, grant: policy.Grant | None, code: str, controls: Controls) -> dict[str, Figure]:
    """The place's headline figures with last year's and the change: {key: {value, previous, change}}."""
    now = headline_table(viewer, grant, controls.year, controls.as_of_date).get(code, {})
    before = headline_table(viewer, grant, controls.year - 1, _previous_as_of(controls.as_of_date)).get(code, {})

    def figures(rec: dict) -> dict[str, float | None]:
        if not rec:
            return dict.fromkeys(HEADLINE_KEYS)
        rate = rec["closed_on_time"] / rec["closed_with_limit"] if rec["closed_with_limit"] else None
        return {
            "accepted": rec["accepted"],
            "closed": rec["closed"],
            "on_time_rate": rate,
            "open_cases": rec["open_cases"],
            "overdue": rec["overdue"],
            "appraised": rec["appraised"],
        }

    a, b = figures(now), figures(before)
    return {k: {"value": a[k], "previous": b[k], "change": _diff(a[k], b[k])} for k in HEADLINE_KEYS}


# --- pages --------------------------------------------------------------------------------------


def _rank_row(o: RankedOffice, *, linked: bool, full: bool) -> RankRow:
    return {
        "office_code": o["office_code"],
        "name": o["name"],
        "level": o["level"],
        "composite": o["composite"],
        "rank": o["rank"],
        "rank_interval": o["rank_interval"],
        "rank_change": o["rank_change"],
        "composite_change": o["composite_change"],
        "dimensions": o["dimensions"],
        "linked": linked,
        "has_figures": full,
    }


def peers_within(viewer: Viewer, controls: Controls, level: str, parent: str | None) -> str | None:
    """The `within` of the ranking that holds the offices of `level` below `parent` among their
    peers. Sibling peers: the offices below the same parent (every office of the level below the
    nation). The configured peer groups: the province, where the level's groups are provinces
    (counties by default), else every office of the level. Either way the page ranks one peer group
    on its own, with the same intervals it has ranked beside every other group of its level (each
    group resamples from its own random stream: metrics.ranking.group_rng)."""
    offices = tree(viewer).offices
    if parent is None or parent not in offices or offices[parent]["level"] == "national":
        return None
    if controls.peer == "siblings":
        return parent
    if viewer.config.scoring.peer_groups.get(level) == "province":
        return offices[parent]["province_code"] or parent
    return None


def _child_ranking(viewer: Viewer, grant: policy.Grant | None, code: str, level: str, controls: Controls) -> Ranking:
    return ranking(viewer, grant, controls, level=level, within=peers_within(viewer, controls, level, code))


def place(viewer: Viewer, code: str, controls: Controls) -> Place | Denied:
    """The drill-down page of office `code`: breadcrumb, headline figures, ranking of the level below,
    composites over the years, and the province tiles at national level."""
    how = access(viewer, code, what="place")
    grant = office_grant(viewer, code, how)
    if grant is None:
        return {"denied": True, "code": code}
    t = tree(viewer)
    office = t.offices[code]
    trail = crumbs(viewer, code)
    child_level = LEVEL_BELOW[office["level"]]
    rows: list[RankRow] = []
    methodology = None
    r: Ranking | None = None
    trend: dict[int, list[float]] = {}
    if child_level:
        r = _child_ranking(viewer, grant, code, child_level, controls)
        methodology = r.methodology
        kids = set(t.children.get(code, []))
        for o in r.offices:
            if o["office_code"] in kids:
                mine = how == "full"
                rows.append(_rank_row(o, linked=mine or (o["office_code"] == viewer.user.scope_code), full=mine))
        if how == "full":
            within = peers_within(viewer, controls, child_level, code)
            for y, values in composite_trend(viewer, grant, controls, level=child_level, within=within).items():
                trend[y] = [values[c] for c in kids if values.get(c) is not None]
    return {
        "denied": False,
        "code": code,
        "name": office["name"],
        "level": office["level"],
        "access": how,
        "crumbs": trail,
        "child_level": child_level,
        "rows": rows,
        "methodology": methodology,
        "headline": headline(viewer, grant, code, controls) if how == "full" else None,
        "trend": trend,
        "national": office["level"] == "national",
        "standing": standing(viewer, grant, code, controls) if how == "full" else None,
        "peers": peer_count(r) if child_level and r is not None else 0,
        "peer_group": r.within if r is not None else None,
        "peer_group_name": t.offices[r.within]["name"] if r is not None and r.within in t.offices else None,
    }


def peer_count(r: Ranking) -> int:
    """How many offices a ranking's rows are ranked among (a page's ranking is one peer group)."""
    return sum(1 for o in r.offices if o["rank"] is not None)


SEARCH_SHOWN = 20  # offices the search box offers at once


def _search_keys(viewer: Viewer) -> list[tuple[str, str, str, str, str]]:
    """(code, name, level, pinyin initials, full pinyin) of every office, computed once per data version."""

    def build() -> list[tuple[str, str, str, str, str]]:
        from pypinyin import Style, lazy_pinyin

        return [
            (
                code,
                o["name"],
                o["level"],
                "".join(lazy_pinyin(o["name"], style=Style.FIRST_LETTER)).lower().replace(" ", ""),
                "".join(lazy_pinyin(o["name"])).lower().replace(" ", ""),
            )
            for code, o in tree(viewer).offices.items()
        ]

    return viewer.cache.get(("office-search",), build)


def search_start(viewer: Viewer) -> list[dict]:
    """What the search box offers before anything is typed: the user's home office, the offices
    above it and those directly below it."""
    home_code = home(viewer)
    if not home_code:
        return []
    t_ = tree(viewer)
    codes = [*t_.chain(home_code), *t_.children.get(home_code, [])]
    keys = {k[0]: k for k in _search_keys(viewer)}
    return [_search_option(keys[c]) for c in codes if c in keys]


def _search_option(key: tuple[str, str, str, str, str]) -> dict:
    """An office as the search box offers it; `search` is what the box matches typed text against."""
    code, name, level, initials, full = key
    return {"code": code, "name": name, "level": level, "search": f"{name} {code} {initials} {full}"}


def search_offices(viewer: Viewer, text: str) -> list[dict]:
    """Offices the user may open whose name, code, pinyin initials or pinyin hold `text` (the code
    or the initials it begins with first), at most SEARCH_SHOWN; each {code, name, level}."""
    q = "".join(text.split()).lower()
    if not q:
        return []
    order = {"national": 0, "provincial": 1, "prefecture": 2, "county": 3}
    found = []
    for key in _search_keys(viewer):
        code, name, level, initials, full = key
        if q in name or q in code or q in initials or q in full:
            first = (
                0 if code == q or initials.startswith(q) or name.startswith(text.strip()) or code.startswith(q) else 1
            )
            found.append((first, order.get(level, 4), code, key))
    found.sort()
    out = []
    mine = viewer.user.scope_code
    chain = tree(viewer).chain(mine) if mine else []
    for _, _, code, key in found:
        if access(viewer, code, what="search", need="full", log=False) is None and code not in chain:
            continue  # an office the user may not open is not offered (its own chain is: ranking rows)
        out.append(_search_option(key))
        if len(out) >= SEARCH_SHOWN:
            break
    return out


WEAKEST = 3  # indicators named on the first screen


def standing(viewer: Viewer, grant: policy.Grant | None, code: str, controls: Controls) -> Standing:
    """Where office `code` stands and why (`grant`: the caller's full access to it)."""
    t = tree(viewer)
    office = t.offices[code]
    level = office["level"]
    out: Standing = {
        "rank": None,
        "peers": 0,
        "level": level,
        "group": None,
        "group_name": None,
        "rank_interval": None,
        "rank_change": None,
        "weakest": [],
        "open_by_office": open_by_office(viewer, grant, code, controls),
    }
    if level == "national":
        return out
    within = peers_within(viewer, controls, level, office["parent_code"])
    r = ranking(viewer, grant, controls, level=level, within=within)
    me = next((o for o in r.offices if o["office_code"] == code), None)
    if me is None:
        return out
    peers = [o for o in r.offices if o["rank"] is not None]
    weak: list[Weak] = []
    for ind in viewer.config.indicators:
        mine = me["indicators"][ind.id]["score"]
        median = _median([o["indicators"][ind.id]["score"] for o in peers])
        if mine is None or median is None or mine >= median:
            continue
        weak.append(
            {
                "id": ind.id,
                "zh": ind.zh,
                "en": ind.en,
                "value_kind": ind.value,
                "value": me["indicators"][ind.id]["value"],
                "peer_median": _median([o["indicators"][ind.id]["value"] for o in peers]),
                "gap": mine - median,
            }
        )
    weak.sort(key=lambda w: w["gap"])
    out["rank"], out["peers"], out["group"] = me["rank"], len(peers), within
    out["group_name"] = t.offices[within]["name"] if within in t.offices else None
    out["rank_interval"], out["rank_change"], out["weakest"] = me["rank_interval"], me["rank_change"], weak[:WEAKEST]
    return out


def open_by_office(viewer: Viewer, grant: policy.Grant | None, code: str, controls: Controls) -> list[OpenByOffice]:
    """The open overdue and near-deadline (warning) cases below `code` at the as-of date, by the
    office directly below it whose subtree holds them (the office's own cases under its own name);
    most overdue first. Every office directly below is listed, with zeros where it has none."""
    as_of = controls.as_of_date
    frame = viewer.cache.get(
        ("open", as_of, code),
        lambda: viewer.national_read(grant, lambda con: open_cases(con, viewer.config, scope=code, as_of=as_of)),
    )
    t = tree(viewer)
    counts: dict[str, list[int]] = {c: [0, 0] for c in [*t.children.get(code, [])]}
    if frame.height:
        got = frame.filter(pl.col("status").is_in(["overdue", "warning"])).group_by("office_code", "status").len()
        for office, status, n in got.iter_rows():
            chain = t.chain(office)
            below = chain[chain.index(code) + 1] if code in chain and chain[-1] != code else code
            counts.setdefault(below, [0, 0])[0 if status == "overdue" else 1] += int(n)
    rows: list[OpenByOffice] = [
        {"code": c, "name": t.offices[c]["name"] if c in t.offices else c, "overdue": o, "warning": w}
        for c, (o, w) in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r["overdue"], -r["warning"], r["code"]))


def profile(viewer: Viewer, code: str, controls: Controls) -> Profile | ProfileNational | ProfileMissing | Denied:
    """An office's indicators against its peers, dimension scores, trend, what drives its rank,
    integrity signals and inspection history."""
    grant = office_grant(viewer, code, access(viewer, code, what="profile", need="full"))
    if grant is None:
        return {"denied": True, "code": code}
    t = tree(viewer)
    office = t.offices[code]
    level = office["level"]
    if level == "national":
        return {"denied": False, "code": code, "national": True, "name": office["name"]}
    within = peers_within(viewer, controls, level, office["parent_code"])
    r = ranking(viewer, grant, controls, level=level, within=within)
    me = next((o for o in r.offices if o["office_code"] == code), None)
    if me is None:
        return {
            "denied": False,
            "code": code,
            "national": False,
            "name": office["name"],
            "missing": True,
            "level": level,
            "crumbs": crumbs(viewer, code),
        }
    peers = r.offices
    indicators: list[ProfileIndicator] = []
    for ind in viewer.config.indicators:
        e = me["indicators"][ind.id]
        indicators.append(
            {
                "id": ind.id,
                "zh": ind.zh,
                "en": ind.en,
                "dimension": ind.dimension,
                "direction": ind.direction,
                "value_kind": ind.value,
                **e,
                "peer_median": _median([o["indicators"][ind.id]["value"] for o in peers]),
            }
        )
    dims_median = {d: _median([o["dimensions"][d] for o in peers]) for d in DIMENSIONS}
    peer_codes = {o["office_code"] for o in peers}
    trend = composite_trend(viewer, grant, controls, level=level, within=within)
    sens = viewer.cache.get(
        ("sensitivity", controls.key(), code, level, within),
        lambda: viewer.national_read(
            grant,
            lambda con: sensitivity(
                con,
                viewer.config,
                office_code=code,
                year=controls.year,
                level=level,
                within=within,
                as_of=controls.as_of_date,
                method=controls.method,
                table_of=_table_of(viewer),
            ),
        ),
    )
    signals = viewer.cache.get(
        ("monitor", controls.year, controls.as_of_date, level, within),
        lambda: viewer.national_read(
            grant,
            lambda con: office_monitor(
                con, viewer.config, year=controls.year, level=level, within=within, as_of=controls.as_of_date
            ),
        ),
    )
    sig = signals.filter(pl.col("office_code") == code).to_dicts()
    return {
        "denied": False,
        "national": False,
        "missing": False,
        "code": code,
        "name": office["name"],
        "level": level,
        "crumbs": crumbs(viewer, code),
        "office": me,
        "peers": len(peers),
        "within": within,
        "indicators": indicators,
        "dimension_median": dims_median,
        "trend": {y: v.get(code) for y, v in trend.items()},
        # the peers' median composite each year (the same peer group, the province where it is one)
        "trend_median": {y: _median([c for k, c in v.items() if k in peer_codes]) for y, v in trend.items()},
        "sensitivity": sens,
        "signals": sig[0] if sig else {},
        "methodology": r.methodology,
        "inspections": inspection_history(viewer, grant, code, controls),
    }


def _median(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.median(vals)) if vals else None


def crumbs(viewer: Viewer, code: str) -> list[Crumb]:
    t = tree(viewer)
    return [
        {
            "code": c,
            "name": t.offices[c]["name"],
            "level": t.offices[c]["level"],
            "linked": access(viewer, c, what="place", log=False) is not None,
        }
        for c in t.chain(code)
    ]


def inspection_history(viewer: Viewer, grant: policy.Grant | None, code: str, controls: Controls) -> list[dict]:
    """Appraisal results of the office's subtree for each year on record up to the chosen one."""
    from reports.data import inspection_results

    out = []
    for y in years(viewer):
        if y > controls.year:
            continue
        frame = viewer.cache.get(
            ("inspections", y),
            lambda y=y: viewer.national_read(  # type: ignore[misc]  # mypy cannot type a default-bound lambda
                grant,
                lambda con: inspection_results(
                    con, viewer.config, year=y, as_of=dt.date(y, 12, 31), offices=list(tree(viewer).offices)
                ),
            ),
        )
        rec = frame.filter(pl.col("office_code") == code).to_dicts()
        if rec and rec[0]["appraised"]:
            out.append({"year": y, **rec[0]})
    return out
