"""Indicator, time-limit and scoring configuration, loaded from TOML and validated on load.

Every problem names the file, the key and what is wrong, so a bad edit fails at start-up rather
than producing wrong numbers. Indicators are data: a new one is an entry in indicators.toml whose
expressions use the columns of `queries/case_facts.sql`.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

import sqlglot
from sqlglot import exp

from metrics.results import ConfigMethodology

DIMENSIONS = ("effort", "level", "timeliness", "quality")
VALUE_KINDS = ("ratio", "count", "per_staff", "median", "shrunk_mean")
METHODS = ("minmax", "zscore", "percentile", "target")
CASE_KINDS = ("infringement_dispute", "counterfeit", "other_dispute")
LEVELS = ("provincial", "prefecture", "county")


class ConfigError(ValueError):
    """A configuration file is malformed; the message names file, key and problem."""


def _fail(file: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{file}: {key}: {problem}")


@dataclass(frozen=True)
class Indicator:
    id: str
    zh: str
    en: str
    dimension: str
    direction: str  # higher / lower
    weight: float
    value: str  # one of VALUE_KINDS
    numerator: str
    denominator: str | None
    min_count: float
    shrinkage: float = 0.0
    interval: str | None = None
    bootstrap: str | None = None  # "total" or "grade:<grade>": resampled by the Monte Carlo
    formula_zh: str = ""  # the formula in words (the methodology page)
    formula_en: str = ""

    def formula(self, lang: str) -> str:
        return self.formula_zh if lang == "zh" else self.formula_en


@dataclass(frozen=True)
class Duration:
    months: int = 0
    days: int = 0

    def sql(self, date: str) -> str:
        """DuckDB expression adding this duration to `date` (months clamp to the month's end)."""
        if self.months:
            return f"CAST({date} + INTERVAL {int(self.months)} MONTH AS DATE)"
        return f"CAST({date} + INTERVAL {int(self.days)} DAY AS DATE)"

    def label(self, lang: str = "en") -> str:
        """In words: "3 个月", "90 天"; "1 month", "30 days"."""
        n, unit = (self.months, "month") if self.months else (self.days, "day")
        if lang == "zh":
            return f"{n} 个月" if unit == "month" else f"{n} 天"
        return f"{n} {unit}" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class TimeRule:
    case_kind: str
    start: dt.date
    limit: Duration
    max_extension: Duration
    acceptance_working_days: int | None
    collective_extension: bool = False  # a collective decision may extend beyond max_extension


@dataclass(frozen=True)
class TimeLimits:
    version: str
    rules: tuple[TimeRule, ...]


@dataclass(frozen=True)
class MonteCarlo:
    runs: int
    seed: int
    concentration: float
    methods: tuple[str, ...]
    resample_appraisals: bool
    interval: tuple[float, float]


@dataclass(frozen=True)
class Scoring:
    version: str
    method: str
    dimension_weights: dict[str, float]
    targets: dict[str, float]
    peer_groups: dict[str, str]
    monte_carlo: MonteCarlo


@dataclass(frozen=True)
class Config:
    indicators_version: str
    indicators: tuple[Indicator, ...]
    time_limits: TimeLimits
    scoring: Scoring

    def indicator(self, ind_id: str) -> Indicator:
        return next(i for i in self.indicators if i.id == ind_id)

    def methodology(self) -> ConfigMethodology:
        """What every computed result carries: config versions, weights, method."""
        return {
            "indicators_version": self.indicators_version,
            "time_limits_version": self.time_limits.version,
            "scoring_version": self.scoring.version,
            "method": self.scoring.method,
            "dimension_weights": dict(self.scoring.dimension_weights),
            "indicator_weights": {i.id: i.weight for i in self.indicators},
            "peer_groups": dict(self.scoring.peer_groups),
            "monte_carlo": {
                "runs": self.scoring.monte_carlo.runs,
                "seed": self.scoring.monte_carlo.seed,
                "concentration": self.scoring.monte_carlo.concentration,
                "methods": list(self.scoring.monte_carlo.methods),
                "interval": list(self.scoring.monte_carlo.interval),
                "resample_appraisals": self.scoring.monte_carlo.resample_appraisals,
            },
        }


def _toml(text: str, file: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(file, "-", f"not valid TOML ({exc})") from exc


def _aggregate_expression(text: str, file: str, key: str) -> str:
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise _fail(file, key, f"not a valid SQL expression ({str(exc).splitlines()[0]})") from exc
    if isinstance(tree, (exp.Select, exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop)):
        raise _fail(file, key, "must be an aggregate expression, not a statement")
    if tree.find(exp.AggFunc) is None:
        raise _fail(file, key, f"'{text}' must aggregate over the cases (count, sum, avg, median …)")
    known = _fact_columns()
    unknown = sorted({c.name for c in tree.find_all(exp.Column)} - known)
    if unknown:
        raise _fail(file, key, f"unknown column {', '.join(unknown)}; the case facts have {', '.join(sorted(known))}")
    return text


@functools.cache
def _fact_columns() -> frozenset[str]:
    """The columns of `case_facts` (queries/case_facts.sql), which every indicator expression reads."""
    from queries.schema import declared_schema

    facts = declared_schema()["case_facts"]
    assert isinstance(facts, dict)
    return frozenset(facts)


def load_indicators(text: str, file: str = "indicators.toml") -> tuple[str, tuple[Indicator, ...]]:
    data = _toml(text, file)
    if "version" not in data:
        raise _fail(file, "version", "missing")
    out: list[Indicator] = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("indicator", [])):
        where = f"indicator[{i}]" + (f" ({raw['id']})" if "id" in raw else "")
        for k in ("id", "zh", "en", "dimension", "direction", "value", "numerator"):
            if k not in raw:
                raise _fail(file, where, f"missing '{k}'")
        if raw["id"] in seen:
            raise _fail(file, where, f"id '{raw['id']}' appears twice")
        seen.add(raw["id"])
        if raw["dimension"] not in DIMENSIONS:
            raise _fail(file, f"{where}.dimension", f"'{raw['dimension']}' is not one of {', '.join(DIMENSIONS)}")
        if raw["direction"] not in ("higher", "lower"):
            raise _fail(file, f"{where}.direction", "must be 'higher' or 'lower'")
        if raw["value"] not in VALUE_KINDS:
            raise _fail(file, f"{where}.value", f"'{raw['value']}' is not one of {', '.join(VALUE_KINDS)}")
        needs_den = raw["value"] in ("ratio", "median", "shrunk_mean")
        if needs_den and "denominator" not in raw:
            raise _fail(file, f"{where}.denominator", f"required for value = '{raw['value']}'")
        weight = raw.get("weight", 1)
        if not isinstance(weight, (int, float)) or weight < 0:
            raise _fail(file, f"{where}.weight", "must be a number of 0 or more")
        min_count = raw.get("min_count", 10)
        if not isinstance(min_count, (int, float)) or min_count < 0:
            raise _fail(file, f"{where}.min_count", "must be a number of 0 or more")
        if raw["value"] == "shrunk_mean" and not isinstance(raw.get("shrinkage"), (int, float)):
            raise _fail(file, f"{where}.shrinkage", "required (a number) for value = 'shrunk_mean'")
        boot = raw.get("bootstrap")
        if boot is not None and boot != "total" and not (isinstance(boot, str) and boot.startswith("grade:")):
            raise _fail(file, f"{where}.bootstrap", "must be 'total' or 'grade:<grade>'")
        out.append(
            Indicator(
                id=raw["id"],
                zh=raw["zh"],
                en=raw["en"],
                dimension=raw["dimension"],
                direction=raw["direction"],
                weight=float(weight),
                value=raw["value"],
                numerator=_aggregate_expression(raw["numerator"], file, f"{where}.numerator"),
                denominator=_aggregate_expression(raw["denominator"], file, f"{where}.denominator")
                if raw.get("denominator")
                else None,
                min_count=float(min_count),
                shrinkage=float(raw.get("shrinkage", 0)),
                interval=raw.get("interval"),
                formula_zh=str(raw.get("formula_zh", "")),
                formula_en=str(raw.get("formula_en", "")),
                bootstrap=boot,
            )
        )
    if not out:
        raise _fail(file, "indicator", "no indicators defined")
    return str(data["version"]), tuple(out)


def _duration(raw: object, file: str, key: str) -> Duration:
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("months", "days"):
        raise _fail(file, key, "must be { months = N } or { days = N }")
    unit, n = next(iter(raw.items()))
    if not isinstance(n, int) or n < 0:
        raise _fail(file, key, "must be a whole number of 0 or more")
    return Duration(months=n) if unit == "months" else Duration(days=n)


def load_time_limits(text: str, file: str = "time_limits.toml") -> TimeLimits:
    data = _toml(text, file)
    if "version" not in data:
        raise _fail(file, "version", "missing")
    rules = []
    for i, raw in enumerate(data.get("rule", [])):
        where = f"rule[{i}]"
        if raw.get("case_kind") not in CASE_KINDS:
            raise _fail(file, f"{where}.case_kind", f"must be one of {', '.join(CASE_KINDS)}")
        start = raw.get("from")
        if not isinstance(start, dt.date):
            raise _fail(file, f"{where}.from", "must be a date (YYYY-MM-DD)")
        awd = raw.get("acceptance_working_days")
        if awd is not None and (not isinstance(awd, int) or awd < 0):
            raise _fail(file, f"{where}.acceptance_working_days", "must be a whole number of 0 or more")
        collective = raw.get("collective_extension", False)
        if not isinstance(collective, bool):
            raise _fail(file, f"{where}.collective_extension", "must be true or false")
        rules.append(
            TimeRule(
                raw["case_kind"],
                start,
                _duration(raw.get("limit"), file, f"{where}.limit"),
                _duration(raw.get("max_extension"), file, f"{where}.max_extension"),
                awd,
                collective,
            )
        )
    keys = [(r.case_kind, r.start) for r in rules]
    if len(keys) != len(set(keys)):
        raise _fail(file, "rule", "two rules for the same case_kind start on the same date")
    return TimeLimits(str(data["version"]), tuple(sorted(rules, key=lambda r: (r.case_kind, r.start))))


def load_scoring(text: str, indicator_ids: set[str], file: str = "scoring.toml") -> Scoring:
    data = _toml(text, file)
    if "version" not in data:
        raise _fail(file, "version", "missing")
    method = data.get("method", "minmax")
    if method not in METHODS:
        raise _fail(file, "method", f"'{method}' is not one of {', '.join(METHODS)}")
    weights = data.get("dimension_weights", {})
    if set(weights) != set(DIMENSIONS):
        raise _fail(file, "dimension_weights", f"must give exactly {', '.join(DIMENSIONS)}")
    for k, v in weights.items():
        if not isinstance(v, (int, float)) or v < 0:
            raise _fail(file, f"dimension_weights.{k}", "must be a number of 0 or more")
    if sum(weights.values()) <= 0:
        raise _fail(file, "dimension_weights", "must not all be zero")
    targets = data.get("targets", {})
    for k, v in targets.items():
        if k not in indicator_ids:
            raise _fail(file, f"targets.{k}", "is not an indicator id")
        if not isinstance(v, (int, float)):
            raise _fail(file, f"targets.{k}", "must be a number")
    peers = data.get("peer_groups", {})
    for lvl in LEVELS:
        if peers.get(lvl) not in ("national", "province"):
            raise _fail(file, f"peer_groups.{lvl}", "must be 'national' or 'province'")
    mc = data.get("monte_carlo", {})
    runs = mc.get("runs", 1000)
    if not isinstance(runs, int) or runs < 1:
        raise _fail(file, "monte_carlo.runs", "must be a whole number of 1 or more")
    methods = tuple(mc.get("methods", METHODS))
    for m in methods:
        if m not in METHODS:
            raise _fail(file, "monte_carlo.methods", f"'{m}' is not one of {', '.join(METHODS)}")
    interval = tuple(mc.get("interval", [5, 95]))
    if len(interval) != 2 or not 0 <= interval[0] < interval[1] <= 100:
        raise _fail(file, "monte_carlo.interval", "must be two percentiles, low < high, within 0..100")
    conc = mc.get("concentration", 50)
    if not isinstance(conc, (int, float)) or conc <= 0:
        raise _fail(file, "monte_carlo.concentration", "must be a positive number")
    return Scoring(
        str(data["version"]),
        method,
        {k: float(v) for k, v in weights.items()},
        {k: float(v) for k, v in targets.items()},
        dict(peers),
        MonteCarlo(
            runs,
            int(mc.get("seed", 0)),
            float(conc),
            methods,
            bool(mc.get("resample_appraisals", True)),
            (float(interval[0]), float(interval[1])),
        ),
    )


def load_config(*, indicators: str, time_limits: str, scoring: str) -> Config:
    """Load and cross-check the three configuration texts."""
    version, inds = load_indicators(indicators)
    limits = load_time_limits(time_limits)
    score = load_scoring(scoring, {i.id for i in inds})
    return Config(version, inds, limits, score)


@functools.cache
def default_config() -> Config:
    """The configuration shipped with the product."""
    pkg = resources.files("metrics")
    return load_config(
        indicators=(pkg / "indicators.toml").read_text("utf-8"),
        time_limits=(pkg / "time_limits.toml").read_text("utf-8"),
        scoring=(pkg / "scoring.toml").read_text("utf-8"),
    )
