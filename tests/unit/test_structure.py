"""Structure: SQL checked against the schema, one-way layers, the contract validated on load."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlglot.errors import OptimizeError

from ingest.contract import ContractError, fold, load_contract
from queries.loader import sql, sql_names
from queries.schema import check_sql
from tests import ROOT

CHECKLIST = """version = "t"
[[items]]
id = "a"
zh = "甲"
en = "A"
max = 100
[grades]
excellent = 90
qualified = 70
"""


@pytest.mark.parametrize("name", sql_names())
def test_every_query_qualifies_against_the_declared_schema(name: str) -> None:
    check_sql(sql(name))


def test_the_sql_check_catches_an_unknown_column_and_table() -> None:
    with pytest.raises(OptimizeError, match="closing_date"):
        check_sql("SELECT c.closing_date FROM cases AS c")
    with pytest.raises(OptimizeError):
        check_sql("SELECT x FROM no_such_table")


def test_core_packages_never_import_the_ui() -> None:
    code = (
        "import sys, ingest.run, ingest.demo, queries.store, queries.loader, queries.schema, queries.runner, "
        "inspection.draw, inspection.plans, inspection.sample_size, "
        "metrics.ranking, metrics.monitor, access.users, access.audit, reports.data, reports.workbook, ipdash.cli; "
        "bad = [m for m in ('dash', 'flask', 'plotly', 'flask_login') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


@pytest.mark.parametrize(
    "contract, message",
    [
        ('version = "1"\n[kinds]\n', "contract.toml: kinds.offices: missing"),
        ("[enums]\n", "contract.toml: version: missing"),
        ('version = "1"\n[enums.level]\na = ["x"]\nb = ["X"]\n', "enums.level.b: label 'X' already means 'a'"),
        (
            'version = "1"\n[kinds.offices.columns]\nx = { type = "colour" }\n',
            "kinds.offices.columns.x: unknown type 'colour'",
        ),
        (
            'version = "1"\n[kinds.offices.columns]\nx = { type = "enum:nope" }\n',
            "kinds.offices.columns.x: type 'enum:nope' names an unknown enumeration",
        ),
        ("version = [", "contract.toml: -: not valid TOML"),
        ('version = "1"\nignored_headers = "备注"\n', "contract.toml: ignored_headers: must be a list of header texts"),
    ],
)
def test_contract_errors_name_file_key_and_problem(contract: str, message: str) -> None:
    with pytest.raises(ContractError) as info:
        load_contract(contract, CHECKLIST)
    assert message in str(info.value)


def test_ignored_headers_and_veto_names_come_from_the_contract_file() -> None:
    from inspection.checklist import veto_labels

    shipped = (ROOT / "ingest" / "contract.toml").read_text("utf-8")
    changed = load_contract(shipped.replace('"备注", ', '"附注", '), CHECKLIST)
    assert fold("附注") in changed.kinds["cases"].ignored and fold("备注") not in changed.kinds["cases"].ignored
    assert veto_labels() == {
        "wrong_party": "主体错误",
        "beyond_authority": "超越职权",
        "missing_decision": "缺少决定书",
    }


def test_checklist_errors_name_file_key_and_problem() -> None:
    bad = CHECKLIST.replace("max = 100", "max = -1")
    with pytest.raises(ContractError, match=r"checklist.toml: items\[0\].max: must be a positive number"):
        load_contract('version = "1"', bad)


def test_indicator_expressions_qualify_against_the_case_facts() -> None:
    from metrics.config import default_config
    from metrics.indicators import aggregate_sql

    check_sql(aggregate_sql(default_config()))
    with pytest.raises(OptimizeError, match="no_such_fact"):
        from dataclasses import replace

        cfg = default_config()
        bad = replace(cfg, indicators=(replace(cfg.indicators[0], numerator="sum(no_such_fact)"),))
        check_sql(aggregate_sql(bad))


def test_every_label_names_its_placeholders_alike_in_both_languages() -> None:
    """A label's Chinese and English texts take the same named fields (a field missing from one
    language would raise, or silently drop a number, only when that language is shown)."""
    import re
    import string

    from dashboard.i18n import LABELS

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}

    mismatched = {k: (fields(zh), fields(en)) for k, (zh, en) in LABELS.items() if fields(zh) != fields(en)}
    assert mismatched == {}
    unnamed = sorted(
        k for k, (zh, en) in LABELS.items() if any(f == "" or re.fullmatch(r"p?\d+", f) for f in fields(zh))
    )
    assert unnamed == []
