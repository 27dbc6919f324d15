"""Settings shared by the command line and the dashboard, each with its help text.

Settings come from the environment so that a deployment sets them in one place (and secrets never
live in the repository). Every one is listed here and documented in the README; a test checks
that no `IPDASH_*` variable is read anywhere without being listed.
"""

from __future__ import annotations

DEFAULT_DB = "./data/ipdash.duckdb"

SETTINGS: dict[str, str] = {
    "IPDASH_DB": "The analytic DuckDB store (default ./data/ipdash.duckdb); --db overrides it.",
    "IPDASH_OPS_DB": "The SQLite operational store (users, audit log, plans, draws, appraisals, publications, "
    "report jobs); default ipdash-ops.sqlite beside the analytic store.",
    "IPDASH_DATABASE_URL": "A postgresql:// URL: keep the operational store in PostgreSQL instead of SQLite.",
    "IPDASH_SECRET_KEY": "The key that signs session cookies. If unset, one is generated once into IPDASH_SECRET_FILE.",
    "IPDASH_SECRET_FILE": "Where the generated session key lives (default ~/.config/ipdash/secret_key, mode 600), "
    "outside the repository.",
    "IPDASH_AUDIT_KEY": "The key of the audit log's keyed hash chain. If unset, one is generated once into "
    "IPDASH_AUDIT_KEY_FILE. Every host and the verifier need the same key.",
    "IPDASH_AUDIT_KEY_FILE": "Where the generated audit key lives (default: the session key's file with .audit "
    "added, mode 600), outside the databases.",
    "IPDASH_HTTPS": "Set to 1 when served over HTTPS (behind a TLS proxy): session cookies get the Secure flag.",
    "IPDASH_TEST_DATABASE_URL": "Tests only: a PostgreSQL server on which the operational-store tests also run.",
    "IPDASH_RATELIMIT_STORAGE": "Where failed sign-in counts live: memory:// (default, per worker process) or a "
    "storage URI of the limits library such as redis://host:6379, shared by all workers and hosts.",
    "IPDASH_TRUSTED_PROXIES": "How many reverse proxies in front of the server set X-Forwarded-For/-Proto/-Host "
    "(default 0); the client address the sign-in throttle counts is taken through exactly that many.",
    "IPDASH_SESSION_HOURS": "How long a sign-in lasts, in hours (1-720, default 12); signing out ends it at once.",
    "IPDASH_RESULT_CACHE": "off turns off the on-disk cache of aggregate results beside the store "
    "(<store>.cache/, one directory per publish); on by default.",
    "IPDASH_SCHEMES": "A folder of assessment-scheme files (*.toml) the dashboard's points-table page offers "
    "besides the shipped example.",
    "IPDASH_CHECKLISTS": "A folder of archive-appraisal checklist files (*.toml, one version each) besides the "
    "shipped default; a plan names the version its archives are scored under. A bad file stops start-up with "
    "its name, key and problem.",
    "IPDASH_EXTRA_PAGES": "Comma-separated Python modules with more dashboard pages (each defines PAGES and "
    "optionally callbacks), besides those of dashboard/pages/.",
    "IPDASH_MAX_REQUEST_MB": "The largest request body the server accepts, in MB (default 30: a 20 MB checklist "
    "upload arrives base64-encoded); larger ones get HTTP 413 with a message.",
    "IPDASH_SMTP_HOST": "The SMTP server that delivers e-mail (digests, workbooks, alerts). Unset: messages are "
    "written as .eml files to IPDASH_OUTBOX instead.",
    "IPDASH_SMTP_PORT": "The SMTP server's port (default 587 with STARTTLS, else 25).",
    "IPDASH_SMTP_STARTTLS": "1 (default when a server is set) upgrades the SMTP connection with STARTTLS; 0 does not.",
    "IPDASH_SMTP_USER": "The SMTP user name, when the server wants one (from the environment, never the repository).",
    "IPDASH_SMTP_PASSWORD": "The SMTP password (from the environment or a secret store, never the repository).",
    "IPDASH_MAIL_FROM": "The sender address of e-mail (default ipdash@localhost).",
    "IPDASH_OUTBOX": "Where e-mail goes as .eml files when no SMTP server is set (default outbox/ beside the store).",
    "IPDASH_NOTIFY_MINUTES": "When set, `ipdash serve` runs the deliveries that are due every this many minutes "
    "in-process (each item is delivered once, whatever the number of workers and hosts); unset: use cron and "
    "`ipdash notify run`.",
    "IPDASH_REQUIRE_BROWSER": "Tests only: 1 makes a missing chromium/chromedriver a failure, not a skip (CI).",
    "IPDASH_TEST_REDIS_URL": "Tests only: a Redis server (redis://host:port/db) for the two-host tests.",
    "IPDASH_REQUIRE_REDIS": "Tests only: 1 makes a missing IPDASH_TEST_REDIS_URL a failure, not a skip (CI).",
    "IPDASH_REQUIRE_NGINX": "Tests only: 1 makes a missing nginx a failure, not a skip (CI).",
    "IPDASH_REQUIRE_POSTGRES": "Tests only: 1 makes a missing IPDASH_TEST_DATABASE_URL a failure, not a skip (CI).",
}
