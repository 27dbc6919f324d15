"""The data contract (SPEC §2) loaded from `contract.toml` and the checklists (`checklist.toml`, the
shipped default, and the files of $IPDASH_CHECKLISTS), validated on load.

Header spellings and enumeration labels are data, not code: a new spelling is one line in the
TOML file and a version bump. Loading checks the files' own shape and names the file, key and
problem, so a bad edit fails at start-up, not in the middle of an ingest.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources

from core import settings

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


class _Named:
    """Something a reader sees by its Chinese or English name."""

    zh: str
    en: str

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class ChecklistItem(_Named):
    """One scored item. `points`: the inspector gives 0..max points. `deduction`: the inspector
    counts defects and the item scores max − per_defect × defects, never below zero."""

    id: str
    zh: str
    en: str
    max: float
    kind: str = "points"
    per_defect: float = 0.0
    section: str | None = None


@dataclass(frozen=True)
class Section(_Named):
    id: str
    zh: str
    en: str
    max: float
    items: tuple[str, ...]


@dataclass(frozen=True)
class Grade(_Named):
    """A grade and the lowest total that earns it (grades run from best to worst)."""

    id: str
    zh: str
    en: str
    min: float


@dataclass(frozen=True)
class Veto(_Named):
    id: str
    zh: str
    en: str


@dataclass(frozen=True)
class Checklist:
    """One version of the archive-appraisal checklist (SPEC §2.3): items (optionally in sections),
    veto items, grades from best to worst, and whether a veto also sets the total to zero."""

    version: str
    items: tuple[ChecklistItem, ...]
    grades: tuple[Grade, ...]
    sections: tuple[Section, ...] = ()
    vetoes: tuple[Veto, ...] = ()
    veto_total_zero: bool = False
    title: str = ""
    file: str = ""

    @property
    def total(self) -> float:
        return sum(i.max for i in self.items)

    @property
    def excellent(self) -> float:
        return self.grades[0].min

    def item(self, item_id: str) -> ChecklistItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def grade(self, grade_id: str) -> Grade | None:
        return next((g for g in self.grades if g.id == grade_id), None)

    def grade_of(self, total: float, vetoed: bool) -> str:
        """The grade of a total (any veto: the worst grade)."""
        if vetoed:
            return self.grades[-1].id
        return next(g.id for g in self.grades if total >= g.min)


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
    checklist: Checklist  # the shipped default: new plans and historical appraisals use it unless told otherwise
    display: dict[str, dict[str, str]] = field(default_factory=dict)  # enum -> value -> first label (Chinese)
    checklists: dict[str, Checklist] = field(default_factory=dict)  # version -> checklist (the default included)

    @property
    def items(self) -> tuple[ChecklistItem, ...]:
        """Every checklist item of every version, once each (each is one column of the appraisal files)."""
        return tuple(every_item(self.checklists).values())

    def checklist_of(self, version: str | None) -> Checklist:
        """The checklist of `version`; the default for None. A stored appraisal whose version is no
        longer configured keeps its stored total and grade; it is shown with the default's names."""
        return self.checklists.get(version or "", self.checklist)

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


ITEM_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ITEM_KINDS = ("points", "deduction")
# A grade's id is its place: three grades are excellent, qualified, unqualified; four add good
# (names and thresholds are the checklist's). The quality indicators count the best grade
# (excellent rate) and the worst (unqualified rate); results and reports count each place.
GRADE_IDS = {3: ("excellent", "qualified", "unqualified"), 4: ("excellent", "good", "qualified", "unqualified")}
# The old form of the grades: a table of two thresholds, named as the shipped default names them.
_OLD_GRADES = {
    "excellent": ("优秀", "Excellent"),
    "qualified": ("合格", "Qualified"),
    "unqualified": ("不合格", "Unqualified"),
}


def _text(raw: dict, key: str, file: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(file, f"{where}.{key}" if where else key, "missing, or not a text")
    return value.strip()


def _positive(raw: dict, key: str, file: str, where: str) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise _fail(file, f"{where}.{key}", "must be a positive number")
    return float(value)


def _grades(data: dict, file: str) -> tuple[Grade, ...]:
    raw = data.get("grades")
    if isinstance(raw, dict):  # the old form: excellent = 90, qualified = 70
        try:
            excellent, qualified = float(raw["excellent"]), float(raw["qualified"])
        except KeyError as exc:
            raise _fail(file, "grades", f"missing {exc}") from exc
        if not qualified < excellent:
            raise _fail(file, "grades", "qualified must be below excellent")
        raw = [
            {"id": g, "zh": _OLD_GRADES[g][0], "en": _OLD_GRADES[g][1], "min": m}
            for g, m in (("excellent", excellent), ("qualified", qualified), ("unqualified", 0))
        ]
    if not isinstance(raw, list) or not 3 <= len(raw) <= 4:
        raise _fail(file, "grades", "give three or four [[grades]], from the best to the worst")
    grades: list[Grade] = []
    for k, g in enumerate(raw):
        where = f"grades[{k}]"
        gid = _text(g, "id", file, where)
        if not ITEM_ID.match(gid) or any(x.id == gid for x in grades):
            raise _fail(file, f"{where}.id", f"'{gid}': lower-case letters, digits and '_', once each")
        low = g.get("min")
        if isinstance(low, bool) or not isinstance(low, (int, float)) or low < 0:
            raise _fail(file, f"{where}.min", "the lowest total of the grade: a number, 0 or more")
        if grades and not low < grades[-1].min:
            raise _fail(file, f"{where}.min", f"must be below the grade above ({grades[-1].min:g}): best grade first")
        grades.append(Grade(gid, _text(g, "zh", file, where), _text(g, "en", file, where), float(low)))
    if tuple(g.id for g in grades) != GRADE_IDS[len(grades)]:
        raise _fail(
            file,
            "grades",
            f"the ids of {len(grades)} grades, best first, are {', '.join(GRADE_IDS[len(grades)])} (name them as you like)",
        )
    if grades[-1].min != 0:
        raise _fail(file, f"grades[{len(grades) - 1}].min", "the worst grade takes every total: its min must be 0")
    return tuple(grades)


def _load_checklist(text: str, file: str = "checklist.toml") -> Checklist:
    """One checklist file, checked; ContractError naming the file, key and problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(file, "-", f"not valid TOML ({exc})") from exc
    if "version" not in data:
        raise _fail(file, "version", "missing")
    sections: list[dict] = []
    for k, raw in enumerate(data.get("sections", [])):
        where = f"sections[{k}]"
        sid = _text(raw, "id", file, where)
        if any(x["id"] == sid for x in sections):
            raise _fail(file, f"{where}.id", f"'{sid}' appears twice")
        sections.append(
            {
                "id": sid,
                "zh": _text(raw, "zh", file, where),
                "en": _text(raw, "en", file, where),
                "max": _positive(raw, "max", file, where),
            }
        )
    items = []
    seen = set()
    for i, raw in enumerate(data.get("items", [])):
        where = f"items[{i}]"
        for key in ("id", "zh", "en", "max"):
            if key not in raw:
                raise _fail(file, where, f"missing '{key}'")
        if raw["id"] in seen:
            raise _fail(file, f"{where}.id", f"'{raw['id']}' appears twice")
        if not isinstance(raw["id"], str) or not ITEM_ID.match(raw["id"]):
            raise _fail(file, f"{where}.id", "lower-case letters, digits and '_', starting with a letter")
        mx = _positive(raw, "max", file, where)
        kind = raw.get("kind", "points")
        if kind not in ITEM_KINDS:
            raise _fail(file, f"{where}.kind", f"unknown kind '{kind}'; use points or deduction")
        per_defect = _positive(raw, "per_defect", file, where) if kind == "deduction" else 0.0
        section = raw.get("section")
        if sections and not any(x["id"] == section for x in sections):
            raise _fail(file, f"{where}.section", f"'{section}' is not one of the [[sections]]")
        if not sections and section is not None:
            raise _fail(file, f"{where}.section", "names a section, but the checklist has no [[sections]]")
        seen.add(raw["id"])
        items.append(
            ChecklistItem(
                raw["id"], _text(raw, "zh", file, where), _text(raw, "en", file, where), mx, kind, per_defect, section
            )
        )
    if not items:
        raise _fail(file, "items", "the checklist has no items")
    built: list[Section] = []
    for k, sec in enumerate(sections):
        mine = [i for i in items if i.section == sec["id"]]
        added = round(sum(i.max for i in mine), 6)
        if not mine:
            raise _fail(file, f"sections[{k}]", f"section '{sec['id']}' has no items")
        if added != sec["max"]:
            raise _fail(
                file,
                f"sections[{k}].max",
                f"the maxima of its items add up to {added:g}, not the section's {sec['max']:g}",
            )
        built.append(Section(sec["id"], sec["zh"], sec["en"], sec["max"], tuple(i.id for i in mine)))
    total = round(sum(i.max for i in items), 6)
    if "total" in data and (isinstance(data["total"], bool) or data["total"] != total):
        raise _fail(file, "total", f"the maxima add up to {total:g}, not {data['total']}")
    grades = _grades(data, file)
    if grades[0].min > total:
        raise _fail(file, "grades[0].min", f"above the checklist's total of {total:g}")
    vetoes: list[Veto] = []
    for k, raw in enumerate(data.get("vetoes", [])):
        where = f"vetoes[{k}]"
        vid = _text(raw, "id", file, where)
        if not ITEM_ID.match(vid) or any(v.id == vid for v in vetoes):
            raise _fail(file, f"{where}.id", f"'{vid}': lower-case letters, digits and '_', once each")
        vetoes.append(Veto(vid, _text(raw, "zh", file, where), _text(raw, "en", file, where)))
    zero = data.get("veto_total_zero", False)
    if not isinstance(zero, bool):
        raise _fail(file, "veto_total_zero", "true or false")
    title = data.get("title", "")
    if not isinstance(title, str):
        raise _fail(file, "title", "a text")
    return Checklist(str(data["version"]), tuple(items), grades, tuple(built), tuple(vetoes), zero, title, file)


def every_item(checklists: dict[str, Checklist]) -> dict[str, ChecklistItem]:
    """Item id -> the item, for every item of every checklist version, once each, in order."""
    seen: dict[str, ChecklistItem] = {}
    for cl in checklists.values():
        for item in cl.items:
            seen.setdefault(item.id, item)
    return seen


def checklist_folder() -> list[tuple[str, str]]:
    """(file name, text) of every checklist file of the folder $IPDASH_CHECKLISTS (*.toml)."""
    folder = settings.current().checklists
    if not folder:
        return []
    if not folder.is_dir():
        raise ContractError(f"IPDASH_CHECKLISTS: {folder}: not a folder")
    return [(str(p), p.read_text("utf-8")) for p in sorted(folder.glob("*.toml"))]


def _combine(default: Checklist, extra: list[Checklist], vetoes: dict[str, str]) -> dict[str, Checklist]:
    """Every checklist by version; the ones without [[vetoes]] get the contract's veto items. An
    item id is one column of the appraisal files, so it must mean the same item in every version."""
    out: dict[str, Checklist] = {}
    named: dict[str, tuple[str, str, str]] = {}
    for cl in (default, *extra):
        if cl.version in out:
            raise _fail(cl.file, "version", f"'{cl.version}' is already the version of {out[cl.version].file}")
        for item in cl.items:
            was = named.setdefault(item.id, (item.zh, item.en, cl.file))
            if was[:2] != (item.zh, item.en):
                raise _fail(
                    cl.file, f"items.{item.id}", f"named '{was[0]}' / '{was[1]}' in {was[2]}: an id keeps its names"
                )
        if not cl.vetoes:
            cl = replace(cl, vetoes=tuple(Veto(v, zh, v.replace("_", " ").capitalize()) for v, zh in vetoes.items()))
        out[cl.version] = cl
    return out


def load_contract(
    contract_text: str, checklist_text: str, file: str = "contract.toml", extra: Sequence[tuple[str, str]] = ()
) -> Contract:
    """Parse and validate the contract with the default checklist and the `extra` ones (file name,
    text); raise ContractError naming file, key and problem."""
    try:
        data = tomllib.loads(contract_text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(file, "-", f"not valid TOML ({exc})") from exc
    if "version" not in data:
        raise _fail(file, "version", "missing")
    checklist = _load_checklist(checklist_text)
    extras = [_load_checklist(text, name) for name, text in extra]
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

    own_vetoes = dict(display.get("veto", {}))  # the contract's: those of a checklist without [[vetoes]]
    for cl in extras:  # a checklist's own veto items join the veto labels the files may use
        labels, values = enums.setdefault("veto", {}), list(enum_values.get("veto", ()))
        for k, v in enumerate(cl.vetoes):
            for spelling in (v.id, v.zh, v.en):
                if labels.get(fold(spelling), v.id) != v.id:
                    raise _fail(cl.file, f"vetoes[{k}]", f"label '{spelling}' already means '{labels[fold(spelling)]}'")
                labels[fold(spelling)] = v.id
            if v.id not in values:
                values.append(v.id)
                display.setdefault("veto", {})[v.id] = v.zh
        enum_values["veto"] = tuple(values)
    checklists = _combine(checklist, extras, own_vetoes)
    checklist = checklists[checklist.version]
    every = every_item(checklists)
    needed = {i for i in every if all(cl.item(i) for cl in checklists.values())}

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
            # one column per item of any checklist; required in the file where every checklist has it,
            # and in each row where the row's checklist has it (ingest/parse.py)
            for item in every.values():
                headers: tuple[str, ...] = (item.zh, item.en)
                if any(x.kind == "deduction" for cl in checklists.values() if (x := cl.item(item.id))):
                    headers += (
                        f"{item.zh}（缺陷数）",
                        f"{item.zh}缺陷数",
                        f"{item.en} (defects)",
                    )  # the workbook's header
                columns.append(Column(item.id, "score", item.id in needed, headers))
            for item in every.values():  # the inspector's note on what lost the item's points
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
    return Contract(str(data["version"]), enums, enum_values, kinds, checklist, display, checklists)


@functools.cache
def default_contract() -> Contract:
    """The contract shipped with the product."""
    pkg = resources.files("ingest")
    return load_contract(
        (pkg / "contract.toml").read_text("utf-8"),
        (pkg / "checklist.toml").read_text("utf-8"),
        extra=checklist_folder(),
    )
