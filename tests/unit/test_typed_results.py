"""The typed results are the real shapes: rankings, sensitivities, the pages' data and draw manifests,
computed on the golden data, are checked value by value against their TypedDicts at run time.

mypy checks every reader against the types; this checks the types against what the code produces,
so a key added, dropped or changed in type without its declaration fails here.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from pathlib import Path
from typing import Any, Literal, NotRequired, Union, get_args, get_origin, get_type_hints, is_typeddict

import polars as pl
import pytest

from access.opstore import OpStore
from access.users import User
from dashboard import case_views, views
from dashboard.cache import VersionedCache
from dashboard.view_types import (
    CasesPage,
    Denied,
    Monitor,
    Place,
    Profile,
    ProfileNational,
)
from inspection.draw import Manifest, make_manifest, population_file
from metrics.config import default_config
from metrics.ranking import rank_offices, sensitivity
from metrics.results import RankingJson, Sensitivity
from tests.integration.test_inspection import ITEMS, PLAN, POOL, TREE


def problems(value: Any, kind: Any, where: str = "result") -> list[str]:
    """Every place where `value` does not have type `kind` (TypedDicts, lists, dicts, tuples,
    unions, literals and plain classes; an int is a float, as for mypy)."""
    if kind is Any:
        return []
    origin, args = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType):
        found = [problems(value, a, where) for a in args]
        return [] if any(not f for f in found) else min(found, key=len)
    if origin is Literal:
        return [] if value in args else [f"{where}: {value!r} is not one of {args}"]
    if is_typeddict(kind):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not a {kind.__name__}"]
        # With postponed annotations Python 3.11 counts every key as required in __required_keys__,
        # so required-ness is read from the hints themselves.
        hints = get_type_hints(kind, include_extras=True)
        optional = {k for k, h in hints.items() if get_origin(h) is NotRequired}
        hints = {k: get_args(h)[0] if k in optional else h for k, h in hints.items()}
        out = [f"{where}: key {k!r} is not declared in {kind.__name__}" for k in value if k not in hints]
        out += [f"{where}: {kind.__name__} key {k!r} is missing" for k in hints if k not in optional and k not in value]
        for k, v in value.items():
            if k in hints:
                out += problems(v, hints[k], f"{where}[{k!r}]")
        return out
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__}, not a list"]
        return [p for n, v in enumerate(value) for p in problems(v, args[0], f"{where}[{n}]")]
    if origin is tuple:
        if not isinstance(value, tuple) or len(value) != len(args):
            return [f"{where}: {value!r} is not a tuple of {len(args)}"]
        return [p for n, (v, a) in enumerate(zip(value, args)) for p in problems(v, a, f"{where}[{n}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not a dict"]
        return [
            p
            for k, v in value.items()
            for p in problems(k, args[0], f"{where} key") + problems(v, args[1], f"{where}[{k!r}]")
        ]
    if kind is float:
        return (
            []
            if isinstance(value, int | float) and not isinstance(value, bool)
            else [f"{where}: {value!r} is not a number"]
        )
    if kind is type(None):
        return [] if value is None else [f"{where}: {value!r} is not None"]
    return [] if isinstance(value, kind) else [f"{where}: {value!r} is not a {kind.__name__}"]


def test_the_checker_catches_what_it_should() -> None:
    """The checker itself can fail: an undeclared key, a missing key, a wrong type, a bad literal."""

    class Row(typing.TypedDict):
        a: int
        b: list[float | None]
        c: NotRequired[Literal["x", "y"]]

    assert problems({"a": 1, "b": [1.5, None, 2]}, Row) == []
    assert problems({"a": 1, "b": [], "c": "y"}, Row) == []
    assert problems({"a": 1, "b": [], "z": 0}, Row) == ["result: key 'z' is not declared in Row"]
    assert problems({"b": []}, Row) == ["result: Row key 'a' is missing"]
    assert problems({"a": "1", "b": ["n"]}, Row) == [
        "result['a']: '1' is not a int",
        "result['b'][0]: 'n' is not a number",
    ]
    assert problems({"a": 1, "b": [], "c": "q"}, Row) == ["result['c']: 'q' is not one of ('x', 'y')"]


def test_a_ranking_and_a_sensitivity_have_their_declared_shapes(golden_metrics) -> None:
    config = default_config()
    with golden_metrics.reader() as con:
        for level in ("provincial", "prefecture", "county"):
            got = rank_offices(con, config, year=2024, level=level).as_json()
            assert got["offices"], level
            assert problems(got, RankingJson) == [], level
        sens = sensitivity(con, config, office_code="110100", year=2024, level="prefecture")
    assert problems(sens, Sensitivity) == []


@pytest.fixture
def viewer(golden_metrics, tmp_path: Path) -> views.Viewer:
    user = User(1, "leader", "national_leader", None, False, 1)
    ops = OpStore(tmp_path / "ops.sqlite")
    return views.Viewer(user, golden_metrics, ops, default_config(), VersionedCache(golden_metrics.path))


def test_the_pages_data_have_their_declared_shapes(viewer: views.Viewer) -> None:
    controls = views.Controls(2024)
    for code in ("100000", "110000", "130100", "130101"):
        place = views.place(viewer, code, controls)
        assert not place["denied"]
        assert problems(place, Place) == [], code
    assert problems(views.profile(viewer, "100000", controls), ProfileNational) == []
    for code in ("110000", "130100", "130201"):
        profile = views.profile(viewer, code, controls)
        assert not profile["denied"] and not profile["national"]
        assert problems(profile, Profile) == [], code
    monitor = case_views.monitor(viewer, views.Controls(2024, as_of=dt.date(2024, 12, 31)), "100000")
    assert not monitor["denied"] and monitor["cases"].height
    assert problems(monitor, Monitor) == [] and isinstance(monitor["cases"], pl.DataFrame)
    page = case_views.cases_page(viewer, {"startRow": 0, "endRow": 20})
    assert page["rowCount"] == 157 and problems(page, CasesPage) == []


def test_a_refusal_has_the_denied_shape(viewer: views.Viewer) -> None:
    viewer.user = User(2, "p1", "provincial", "110000", False, 1)
    for got in (
        views.place(viewer, "120000", views.Controls(2024)),
        views.profile(viewer, "120000", views.Controls(2024)),
        case_views.monitor(viewer, views.Controls(2024), "120000"),
    ):
        assert got == {"denied": True, "code": "120000"} and problems(got, Denied) == []


def test_a_manifest_has_its_declared_shape() -> None:
    manifest = make_manifest(
        plan=PLAN,
        population=population_file(ITEMS),
        seed="20241231",
        pool=POOL,
        provinces=TREE,
        created_at="2025-01-05T10:00:00",
        created_by="admin",
    )
    assert manifest["sample"] and manifest["assignments"] and "provinces" in manifest
    assert problems(manifest, Manifest) == []
