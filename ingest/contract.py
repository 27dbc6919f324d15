"""The data contract (SPEC §2) loaded from `contract.toml` and `checklist.toml`, validated on load.

Header spellings and enumeration labels are data, not code: a new spelling is one line in the
TOML file and a version bump. Loading checks the files' own shape and names the file, key and
problem, so a bad edit fails at start-up, not in the middle of an ingest.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from importlib import resources

KINDS = ("offices", "staffing", "cases", "appraisals", "inspectors")
SCALAR_TYPES = {"code", "text", "date", "timestamp", "int", "decimal", "bool", "list", "year", "score"}


class ContractError(ValueError):
    """The contract or checklist file itself is malformed."""


def fold(text: str) -> str:
    """Fold a header or label for matching: NFKC, trimmed, lower-case, no spaces/_/-."""
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", text)).lower()


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # "code", "enum:level", "enumlist:sector", ...
    required: bool
    headers: tuple[str, ...]
    default: str | None = None

    @property
    def base(self) -> str:
        return self.type.split(":", 1)[0]

    @property
    def enum(self) -> str | None:
        return self.type.split(":", 1)[1] if ":" in self.type else None


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    zh: str
    en: str
    max: float


@dataclass(frozen=True)
class Checklist:
    version: str
    items: tuple[ChecklistItem, ...]
    excellent: float
    qualified: float


@dataclass(frozen=True)
class KindSpec:
    kind: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    header_map: dict[str, str] = field(default_factory=dict)  # folded header -> column name
    ignored: frozenset[str] = frozenset()  # folded headers of columns that hold nothing the store keeps

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class Contract:
    version: str
    enums: dict[str, dict[str, str]]  # enum -> folded label -> canonical value
    enum_values: dict[str, tuple[str, ...]]
    kinds: dict[str, KindSpec]
    checklist: Checklist
    display: dict[str, dict[str, str]] = field(default_factory=dict)  # enum -> value -> first label (Chinese)

    def label(self, enum: str, value: str | None, lang: str) -> str | None:
        """How a report shows a canonical value: its first listed label in Chinese (the contract
        lists the Chinese name first), the value in words in English; unknown values as they are."""
        if value is None or value not in self.enum_values.get(enum, ()):
            return value
        if lang == "zh":
            return self.display[enum].get(value, value)
        return value.replace("_", " ").capitalize()


def _fail(file: str, key: str, problem: str) -> ContractError:
    return ContractError(f"{file}: {key}: {problem}")


def _load_checklist(text: str, file: str = "checklist.toml") -> Checklist:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(file, "-", f"not valid TOML ({exc})") from exc
    items = []
    seen = set()
    for i, raw in enumerate(data.get("items", [])):
        for k in ("id", "zh", "en", "max"):
            if k not in raw:
                raise _fail(file, f"items[{i}]", f"missing '{k}'")
        if raw["id"] in seen:
            raise _fail(file, f"items[{i}].id", f"'{raw['id']}' appears twice")
        if not isinstance(raw["max"], (int, float)) or raw["max"] <= 0:
            raise _fail(file, f"items[{i}].max", "must be a positive number")
        seen.add(raw["id"])
        items.append(ChecklistItem(raw["id"], raw["zh"], raw["en"], float(raw["max"])))
    if not items:
        raise _fail(file, "items", "the checklist has no items")
    grades = data.get("grades", {})
    try:
        excellent, qualified = float(grades["excellent"]), float(grades["qualified"])
    except KeyError as exc:
        raise _fail(file, "grades", f"missing {exc}") from exc
    if not qualified < excellent:
        raise _fail(file, "grades", "qualified must be below excellent")
    if "version" not in data:
        raise _fail(file, "version", "missing")
    return Checklist(str(data["version"]), tuple(items), excellent, qualified)


def load_contract(contract_text: str, checklist_text: str, file: str = "contract.toml") -> Contract:
    """Parse and validate the contract; raise ContractError naming file, key and problem."""
    try:
        data = tomllib.loads(contract_text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(file, "-", f"not valid TOML ({exc})") from exc
    if "version" not in data:
        raise _fail(file, "version", "missing")
    checklist = _load_checklist(checklist_text)
    ignored_headers = data.get("ignored_headers", [])
    if not isinstance(ignored_headers, list) or not all(isinstance(h, str) for h in ignored_headers):
        raise _fail(file, "ignored_headers", "must be a list of header texts")
    ignored = frozenset(fold(h) for h in ignored_headers)

    enums: dict[str, dict[str, str]] = {}
    enum_values: dict[str, tuple[str, ...]] = {}
    display: dict[str, dict[str, str]] = {}
    for name, values in data.get("enums", {}).items():
        labels: dict[str, str] = {}
        for canonical, spellings in values.items():
            for spelling in [canonical, *spellings]:
                folded = fold(spelling)
                if labels.get(folded, canonical) != canonical:
                    raise _fail(
                        file, f"enums.{name}.{canonical}", f"label '{spelling}' already means '{labels[folded]}'"
                    )
                labels[folded] = canonical
        enums[name] = labels
        enum_values[name] = tuple(values)
        display[name] = {canonical: spellings[0] for canonical, spellings in values.items() if spellings}

    kinds: dict[str, KindSpec] = {}
    for kind in KINDS:
        spec = data.get("kinds", {}).get(kind)
        if spec is None:
            raise _fail(file, f"kinds.{kind}", "missing")
        columns = []
        for name, col in spec.get("columns", {}).items():
            where = f"kinds.{kind}.columns.{name}"
            ctype = col.get("type", "")
            base, _, enum = ctype.partition(":")
            if base in ("enum", "enumlist"):
                if enum not in enums:
                    raise _fail(file, where, f"type '{ctype}' names an unknown enumeration")
            elif base not in SCALAR_TYPES:
                raise _fail(file, where, f"unknown type '{ctype}'")
            columns.append(
                Column(name, ctype, bool(col.get("required", False)), tuple(col.get("headers", [])), col.get("default"))
            )
        if kind == "appraisals":
            for item in checklist.items:
                columns.append(Column(item.id, "score", True, (item.zh, item.en)))
            for item in checklist.items:  # the inspector's note on what lost the item's points
                notes = (f"{item.zh}扣分说明", f"{item.zh}说明", f"{item.en} note")
                columns.append(Column(f"note_{item.id}", "text", False, notes))
        header_map: dict[str, str] = {}
        for c in columns:
            for spelling in (c.name, *c.headers):
                folded = fold(spelling)
                if header_map.get(folded, c.name) != c.name:
                    raise _fail(
                        file,
                        f"kinds.{kind}.columns.{c.name}",
                        f"header '{spelling}' already names '{header_map[folded]}'",
                    )
                header_map[folded] = c.name
        key = tuple(spec.get("key", []))
        names = {c.name for c in columns}
        for k in key:
            if k not in names:
                raise _fail(file, f"kinds.{kind}.key", f"'{k}' is not a column")
        kinds[kind] = KindSpec(kind, key, tuple(columns), header_map, ignored)
    return Contract(str(data["version"]), enums, enum_values, kinds, checklist, display)


@functools.cache
def default_contract() -> Contract:
    """The contract shipped with the product."""
    pkg = resources.files("ingest")
    return load_contract((pkg / "contract.toml").read_text("utf-8"), (pkg / "checklist.toml").read_text("utf-8"))
