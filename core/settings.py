"""Every setting of ipdash, declared once: its environment variable, type, default, help and the
values it accepts.

Settings come from the environment (`IPDASH_<NAME>`), so that a deployment sets them in one place
and secrets never live in the repository. No other module reads the environment: each asks
`current()` for the typed value. An empty variable counts as unset. A value that is not accepted
raises `SettingError`, whose message names the variable, the value and what is accepted, in
Chinese and English; the command line turns it into one line and exit status 2.

docs/settings.md is generated from this declaration (`ipdash settings --markdown`), and a test
holds the two equal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "IPDASH_"
DEFAULT_DB = "./data/ipdash.duckdb"


def _setting(default: Any, text: str, accepted: str = "", *, tests_only: bool = False, **checks: Any) -> Any:
    """A field with its help `text` and, for the error message, what it accepts ("中文 / English")."""
    extra: dict[str, Any] = {"accepted": accepted, "tests_only": tests_only}
    return Field(default, description=text, json_schema_extra=extra, **checks)


WHOLE_HOURS = "1 到 720 之间的整数（小时） / a whole number of hours from 1 to 720"
SWITCH = "1 或 0（也可写 true/false、yes/no、on/off） / 1 or 0 (or true/false, yes/no, on/off)"


class Settings(BaseSettings):
    """The settings in force (read from the environment by `current()`)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, extra="ignore", frozen=True)

    db: str = _setting(DEFAULT_DB, "The analytic DuckDB store; `--db` overrides it.", "文件路径 / a file path")
    ops_db: Path | None = _setting(
        None,
        "The SQLite operational store (users, audit log, plans, draws, appraisals, publications, report jobs); "
        "default `ipdash-ops.sqlite` beside the analytic store.",
        "文件路径 / a file path",
    )
    database_url: str | None = _setting(
        None,
        "A `postgresql://` URL: keep the operational store in PostgreSQL instead of SQLite.",
        "postgresql:// 开头的地址 / a URL starting postgresql://",
    )
    secret_key: SecretStr | None = _setting(
        None, "The key that signs session cookies; if unset, one is generated once into `IPDASH_SECRET_FILE`."
    )
    secret_file: Path = _setting(
        Path.home() / ".config" / "ipdash" / "secret_key",
        "Where the generated session key lives (default `~/.config/ipdash/secret_key`, mode 600), outside the "
        "repository.",
        "文件路径 / a file path",
    )
    audit_key: SecretStr | None = _setting(
        None,
        "The key of the audit log's keyed hash chain; if unset, one is generated once into "
        "`IPDASH_AUDIT_KEY_FILE`. Every host, and whoever verifies the log, needs the same key.",
    )
    audit_key_file: Path | None = _setting(
        None,
        "Where the generated audit key lives (default: the session key's file with `.audit` added, e.g. "
        "`~/.config/ipdash/secret_key.audit`, mode 600), outside the databases.",
        "文件路径 / a file path",
    )
    https: bool = _setting(
        False,
        "`1` when served over HTTPS (behind a TLS proxy): session cookies get the Secure flag and HSTS is sent "
        "(cookies are always HttpOnly, SameSite=Lax).",
        SWITCH,
    )
    ratelimit_storage: str = _setting(
        "memory://",
        "Where failed sign-in counts live: `memory://` (default; per worker process, so with `--workers N` an "
        "attacker gets up to N× the attempts) or a storage URI of the `limits` library such as "
        "`redis://127.0.0.1:6379`, shared by all workers and hosts.",
        "memory:// 或 redis://… / memory:// or redis://…",
    )
    trusted_proxies: int = _setting(
        0,
        "How many reverse proxies in front of the server set X-Forwarded-For/-Proto/-Host (default 0; 1 behind "
        "one nginx); the sign-in throttle counts the client address seen through exactly that many.",
        "0 到 5 之间的整数 / a whole number from 0 to 5",
        ge=0,
        le=5,
    )
    session_hours: int = _setting(
        12,
        "How long a sign-in lasts, in hours (1–720, default 12); signing out ends it at once.",
        WHOLE_HOURS,
        ge=1,
        le=720,
    )
    result_cache: bool = _setting(
        True,
        "`off` turns off the on-disk cache of aggregate results beside the store (`<store>.cache/`, one directory "
        "per publish); on by default.",
        SWITCH,
    )
    schemes: Path | None = _setting(
        None,
        "A folder of assessment-scheme files (`*.toml`) that the dashboard's points-table page offers besides the "
        "shipped example; a file that cannot be used is named, with the key and the problem, to the administrator.",
        "文件夹 / a folder",
    )
    checklists: Path | None = _setting(
        None,
        "A folder of archive-appraisal checklist files (`*.toml`, one version each: veto items, sections, items "
        "scored by points or by deduction per defect, three or four grades) besides the shipped default; a plan's "
        '`checklist = "<version>"` chooses the one its archives are scored under; a bad file stops every command '
        "with its name, key and problem.",
        "文件夹 / a folder",
    )
    extra_pages: str = _setting(
        "",
        "Comma-separated Python modules with more dashboard pages (each defines `PAGES` and optionally "
        "`callbacks`), besides those of `dashboard/pages/`.",
        "以逗号分隔的模块名 / module names separated by commas",
    )
    max_request_mb: int = _setting(
        30,
        "The largest request body the server accepts, in MB (default 30: a 20 MB checklist upload arrives "
        "base64-encoded); a larger one gets HTTP 413 with a message.",
        "1 以上的整数（MB） / a whole number of MB, at least 1",
        ge=1,
        le=4096,
    )
    smtp_host: str | None = _setting(
        None,
        "The SMTP server that delivers digests, workbooks and alerts by e-mail; unset: messages are written as "
        "`.eml` files to `IPDASH_OUTBOX`.",
        "主机名 / a host name",
    )
    smtp_port: int | None = _setting(
        None,
        "The SMTP server's port (default 587 with STARTTLS, else 25).",
        "1 到 65535 之间的整数 / a whole number from 1 to 65535",
        ge=1,
        le=65535,
    )
    smtp_starttls: bool | None = _setting(
        None, "`1` (default when a server is set) upgrades the SMTP connection with STARTTLS; `0` does not.", SWITCH
    )
    smtp_user: str | None = _setting(
        None, "The SMTP user name, when the server wants one (from the environment, never the repository)."
    )
    smtp_password: SecretStr | None = _setting(
        None, "The SMTP password (from the environment or a secret store, never the repository)."
    )
    mail_from: str = _setting("ipdash@localhost", "The sender address of e-mail.", "电子邮件地址 / an e-mail address")
    outbox: Path | None = _setting(
        None,
        "Where e-mail goes as `.eml` files (mode 600) when no SMTP server is set (default `outbox/` beside the store).",
        "文件夹 / a folder",
    )
    notify_minutes: int | None = _setting(
        None,
        "When set, `ipdash serve` runs the deliveries that are due every this many minutes in each worker; each "
        "item still goes out once, whatever the number of workers and hosts. Unset: run `ipdash notify run` from "
        "cron or a systemd timer.",
        "1 到 1440 之间的整数（分钟） / a whole number of minutes from 1 to 1440",
        ge=1,
        le=1440,
    )
    test_database_url: str | None = _setting(
        None, "A PostgreSQL server on which the operational-store tests also run.", tests_only=True
    )
    test_redis_url: str | None = _setting(
        None, "A Redis server (`redis://host:port/db`) for the two-host tests.", tests_only=True
    )
    require_browser: bool = _setting(
        False,
        "`1` makes a missing chromium/chromedriver a failure rather than a skip (CI sets it).",
        SWITCH,
        tests_only=True,
    )
    require_redis: bool = _setting(
        False, "`1` makes a missing Redis a failure rather than a skip (CI sets it).", SWITCH, tests_only=True
    )
    require_nginx: bool = _setting(
        False, "`1` makes a missing nginx a failure rather than a skip (CI sets it).", SWITCH, tests_only=True
    )
    require_postgres: bool = _setting(
        False, "`1` makes a missing PostgreSQL a failure rather than a skip (CI sets it).", SWITCH, tests_only=True
    )

    @field_validator("database_url")
    @classmethod
    def _postgres(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("not a postgresql:// URL")
        return value

    def shown(self) -> dict[str, str | None]:
        """Each setting's variable and the value in force as text (secrets masked, unset: None)."""
        out: dict[str, str | None] = {}
        for field in type(self).model_fields:
            value = getattr(self, field)
            if isinstance(value, SecretStr):
                out[env_name(field)] = "********"
            elif isinstance(value, bool):
                out[env_name(field)] = "1" if value else "0"
            else:
                out[env_name(field)] = None if value is None or value == "" else str(value)
        return out

    @property
    def extra_page_modules(self) -> list[str]:
        """IPDASH_EXTRA_PAGES as a list of module names."""
        return [n.strip() for n in self.extra_pages.split(",") if n.strip()]

    @property
    def audit_key_path(self) -> Path:
        """The audit key's file: IPDASH_AUDIT_KEY_FILE, or the session key's file with `.audit` added."""
        return self.audit_key_file or self.secret_file.with_name(self.secret_file.name + ".audit")


class SettingError(ValueError):
    """A setting's value is not accepted: the message names the variable, the value and what is accepted."""


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def _message(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        name = env_name(field)
        extra = Settings.model_fields[field].json_schema_extra if field in Settings.model_fields else None
        accepted = str(extra.get("accepted", "")) if isinstance(extra, dict) else ""
        given = os.environ.get(name, "")
        zh, _, en = accepted.partition(" / ")
        zh, en = (zh, en or zh) if accepted else (str(error["msg"]), str(error["msg"]))
        lines.append(f"设置 {name} 的值“{given}”不可用：应为 {zh} / {name}={given!r} is not accepted: {en}")
    return "; ".join(lines)


_CURRENT: tuple[tuple[tuple[str, str], ...], Settings] | None = None


def current() -> Settings:
    """The settings in force: read from the environment, again whenever an `IPDASH_*` variable
    changed since the last read (tests set them per test); SettingError when one is not accepted."""
    global _CURRENT
    seen = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(PREFIX)))
    held = _CURRENT
    if held is not None and held[0] == seen:
        return held[1]
    try:
        got = Settings()
    except ValidationError as exc:
        raise SettingError(_message(exc)) from None
    _CURRENT = (seen, got)
    return got


def markdown() -> str:
    """docs/settings.md: every setting with its default and help, the tests' own last."""
    rows = []
    for tests_only in (False, True):
        for field, info in Settings.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if bool(extra.get("tests_only")) != tests_only:
                continue
            default = info.default
            shown = "—" if default in (None, "") else f"`{default}`"
            if field == "secret_file":
                shown = "`~/.config/ipdash/secret_key`"
            help_text = ("Tests only: " if tests_only else "") + str(info.description)
            rows.append(f"| `{env_name(field)}` | {shown} | {help_text} |")
    return "\n".join(
        [
            "# Settings",
            "",
            "<!-- Generated by `ipdash settings --markdown` from core/settings.py; a test holds them equal. -->",
            "",
            "ipdash reads its settings from the environment. An empty variable counts as unset; a value that is "
            "not accepted stops the command with the variable, the value and what is accepted (exit status 2). "
            "`ipdash settings` shows the settings in force on this host (secrets masked).",
            "",
            "| variable | default | what it does |",
            "|---|---|---|",
            *rows,
            "",
        ]
    )
