"""Importing a corpus of messy sources through the CLI: counts add up, messages name the place,
exit codes follow DESIGN §7, and no input produces a traceback."""

from __future__ import annotations

import json
import shutil

import pytest
from messy import CASES, Case

from crmkit.cli import main

COUNT_KEYS = ("imported", "updated", "merged", "rejected")


@pytest.fixture(scope="module")
def blank_workspace(tmp_path_factory):
    from crmkit.templates import write_workspace

    return write_workspace(tmp_path_factory.mktemp("blank") / "ws", {})


def _workspace(case: Case, tmp_path, blank_workspace):
    if case.existing is None and case.settings is None:
        target = tmp_path / "ws"
        shutil.copytree(blank_workspace, target)
        return target
    from crmkit.templates import write_workspace

    return write_workspace(tmp_path / "ws", case.existing or {}, settings=case.settings)


def test_corpus_has_at_least_thirty_messy_inputs():
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_import_of_messy_source_accounts_for_every_row(case: Case, tmp_path, blank_workspace, capsys):
    ws_dir = _workspace(case, tmp_path, blank_workspace)
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    source = case.build(src_dir)
    report = tmp_path / "report.xlsx"
    args = ["import", str(source), "--into", str(ws_dir), "--entity", case.entity, "--json"]
    if case.messages and case.exit_code != 2:
        args += ["--report", str(report)]
    code = main(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == case.exit_code, f"exit {code}; stderr: {err}; stdout: {out[:500]}"
    if case.exit_code == 2:
        assert out == ""
        assert err.startswith("crmkit: error:")
        assert str(source.name) in err
        for frag in case.messages:
            assert frag in err
        return
    payload = json.loads(out)
    assert payload["source_rows"] == sum(payload[k] for k in COUNT_KEYS)
    for k, v in case.counts.items():
        assert payload[k] == v, f"{k}: {payload[k]!r} != {v!r}"
    reasons = " | ".join(_issue_reasons(report)) if case.messages else ""
    for frag in case.messages:
        assert frag in reasons, f"{frag!r} not in {reasons!r}"
    if case.check is not None:
        case.check(ws_dir, payload)


def _issue_reasons(report) -> list[str]:
    import openpyxl

    wb = openpyxl.load_workbook(report, read_only=True)
    ws = wb["Issues"]
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    return [" ".join(str(v) for v in r if v is not None) for r in rows[1:]]
