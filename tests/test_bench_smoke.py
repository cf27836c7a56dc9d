"""A small smoke run of the benchmark suite, so that its code does not rot (no timing assertions)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks import results, run, stages, synth

ROOT = Path(__file__).resolve().parent.parent

# a Voila server each: covered by the full run
SKIP_IN_PROCESS = {"generate", "dashboard", "baseline_voila", "baseline_voila_preheated"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 300-customer synthetic workspace and a 300-row import file."""
    base = tmp_path_factory.mktemp("bench")
    ws = synth.generate(base / "ws", 300, orders_per_customer=3)
    src = synth.write_import_file(base / "import.xlsx", 300)
    return ws, src


@pytest.mark.parametrize("name", sorted(set(stages.STAGES) - SKIP_IN_PROCESS))
def test_every_stage_and_baseline_runs_on_a_tiny_workspace(tiny, name):
    ws, src = tiny
    res = stages.run_stage(name, ws, {"import_file": str(src), "slice_rows": 500})
    assert res["status"] == "ok", res.get("traceback") or res.get("reason")
    assert res["seconds"] >= 0
    assert res["peak_mb"] > 0


def test_appending_tasks_and_messages_leaves_customers_xlsx_untouched(tiny):
    ws, src = tiny
    res = stages.run_stage("append", ws, {})
    assert res["status"] == "ok"
    assert res["extra"]["customers_untouched"] is True
    assert "tasks.xlsx" in res["extra"]["rewritten"]


def test_quick_run_writes_the_results_table_with_machine_and_baselines(tmp_path):
    out, store = tmp_path / "RESULTS.md", tmp_path / "results.json"
    code = run.main(["--quick", "--sizes", "300", "--generator", "synth", "--import-rows", "300",
                     "--stages", "load,rfm,append", "--data-dir", str(tmp_path / "data"),
                     "--out", str(out), "--json", str(store)])
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert "## 300 customers" in text
    assert "Machine:" in text and "cores" in text
    assert "raw fastexcel read" in text and "iterrows RFM" in text
    data = json.loads(store.read_text())
    section = data["sizes"]["300 customers"]
    assert section["stages"]["load"]["status"] == "ok"
    assert section["baselines"]["baseline_fastexcel"]["status"] == "ok"
    assert section["stages"]["append"]["extra"]["customers_untouched"] is True


def test_a_second_run_reuses_the_generated_workspace(tmp_path):
    data = tmp_path / "data"
    ws1, meta1 = run.ensure_workspace(data, 200, None, "synth", 7, timeout=300)
    ws2, meta2 = run.ensure_workspace(data, 200, None, "synth", 7, timeout=300)
    assert ws1 == ws2
    assert meta1["cached"] is False and meta2["cached"] is True


def _store(stage_status: dict, seconds: float = 1.0) -> dict:
    ok = {"status": "ok", "seconds": seconds, "cpu_seconds": seconds, "runs": 3, "peak_mb": 100.0, "extra": {}}
    section = {"label": "10 customers", "customers": 10, "runs": 3, "generator": "synth",
               "stages": {"generate": dict(ok)}, "baselines": {"baseline_fastexcel": dict(ok, seconds=0.1,
                                                                                        cpu_seconds=0.1)}}
    for name, status in stage_status.items():
        section["stages"][name] = dict(ok, stage=name) if status == "ok" else {"status": status, "reason": "x"}
    return {"machine": {"cores": 2}, "sizes": {"10 customers": section}}


def test_a_stage_whose_module_has_not_landed_reads_not_available_yet():
    text = results.render(_store({"validate": "unavailable"}))
    assert "not available yet" in text


def test_a_stage_slower_than_its_target_ratio_is_marked_fail():
    text = results.render(_store({"load": "ok"}, seconds=1.0))  # 10x the raw read, target 1.5x
    line = next(row for row in text.splitlines() if row.startswith("| load") and "fastexcel" in row)
    assert "FAIL" in line and "10.00x" in line


def test_merging_a_parallel_run_keeps_both_sets_of_stages():
    store = _store({"load": "ok"})
    other = _store({"rules_write": "ok"})
    run.merge_store(store, other)
    assert set(store["sizes"]["10 customers"]["stages"]) >= {"load", "rules_write", "generate"}


def test_a_stage_can_be_profiled_with_pyinstrument(tiny, tmp_path, capsys):
    ws, _ = tiny
    out = tmp_path / "load.txt"
    assert stages.main(["load", str(ws), "--profile", str(out)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["status"] == "ok"
    assert "load_all" in out.read_text(encoding="utf-8")


def test_a_dashboard_page_can_be_profiled_as_a_preheated_kernel_runs_it(tmp_path, monkeypatch):
    from benchmarks import profile_page

    monkeypatch.setenv("CRMKIT_WORKSPACE", "")            # restored afterwards: main() sets both
    monkeypatch.setenv("CRMKIT_DASHBOARD_KERNEL", "")
    out = tmp_path / "overview.txt"
    try:
        assert profile_page.main([str(ROOT / "sample_data"), "--page", "overview", "--out", str(out)]) == 0
    finally:
        if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
            del sys.modules["rfc3987_syntax"]                 # marked absent for the dashboard kernel only
    text = out.read_text(encoding="utf-8")
    assert text.startswith("overview at") and "kpi_summary" in text
