"""Every setting is declared once (core/settings.py): read nowhere else, documented from the
declaration, and refused with its name, value and what it accepts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core import settings
from tests import PRODUCT, ROOT
from tests.conftest import ipdash_cli


def test_the_settings_reference_is_generated_from_the_declaration() -> None:
    assert (ROOT / "docs" / "settings.md").read_text(encoding="utf-8") == settings.markdown(), (
        "docs/settings.md is out of date: run `ipdash settings --markdown > docs/settings.md`"
    )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/settings.md" in readme


def test_no_product_module_reads_the_environment_itself() -> None:
    readers = []
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "core" / "settings.py":
                continue
            text = path.read_text(encoding="utf-8")
            if re.search(r"os\.environ|os\.getenv|getenv\(", text):
                readers.append(str(path.relative_to(ROOT)))
    assert readers == []


def test_every_setting_named_anywhere_is_declared() -> None:
    declared = {settings.env_name(f) for f in settings.Settings.model_fields}
    named: dict[str, str] = {}
    files = [*ROOT.glob("*.md"), *(ROOT / "docs").glob("*.md"), ROOT / ".ci" / "run"]
    for folder in (*PRODUCT, "tests", "benchmarks", "scripts"):
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md", ".sh", ".toml")]
    for path in files:
        for name in re.findall(r"IPDASH_[A-Z_]*[A-Z]", path.read_text(encoding="utf-8")):
            named.setdefault(name, str(path.relative_to(ROOT)))
    unknown = {n: where for n, where in named.items() if n not in declared}
    assert unknown == {}


def test_a_value_not_accepted_stops_the_command_naming_variable_value_and_what_is_accepted() -> None:
    got = ipdash_cli("settings", env={"IPDASH_SESSION_HOURS": "0", "IPDASH_HTTPS": "maybe"})
    assert got.returncode == 2 and "Traceback" not in got.stderr
    assert "设置 IPDASH_SESSION_HOURS 的值“0”不可用：应为 1 到 720 之间的整数（小时）" in got.stderr
    assert "IPDASH_SESSION_HOURS='0' is not accepted: a whole number of hours from 1 to 720" in got.stderr
    assert "IPDASH_HTTPS='maybe' is not accepted: 1 or 0" in got.stderr
    refused = ipdash_cli("report", "--year", "2024", env={"IPDASH_DATABASE_URL": "mysql://db/ipdash"})
    assert refused.returncode == 2 and "IPDASH_DATABASE_URL='mysql://db/ipdash' is not accepted" in refused.stderr


def test_the_settings_in_force_are_shown_with_secrets_masked() -> None:
    got = ipdash_cli(
        "settings",
        "--json",
        env={"IPDASH_SECRET_KEY": "do-not-show", "IPDASH_SESSION_HOURS": "8", "IPDASH_SMTP_HOST": ""},
    )
    assert got.returncode == 0, got.stderr
    shown = json.loads(got.stdout)
    assert "do-not-show" not in got.stdout and shown["IPDASH_SECRET_KEY"] == "********"
    assert shown["IPDASH_SESSION_HOURS"] == "8"
    assert shown["IPDASH_SMTP_HOST"] is None  # empty counts as unset


def test_settings_follow_the_environment_as_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPDASH_RESULT_CACHE", "off")
    assert settings.current().result_cache is False
    monkeypatch.setenv("IPDASH_RESULT_CACHE", "on")
    assert settings.current().result_cache is True
    monkeypatch.setenv("IPDASH_EXTRA_PAGES", " a.b , c ,")
    assert settings.current().extra_page_modules == ["a.b", "c"]
    monkeypatch.setenv("IPDASH_SECRET_FILE", "/k/secret")
    assert settings.current().audit_key_path == Path("/k/secret.audit")
