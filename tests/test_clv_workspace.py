"""crmkit clv on a workspace: the CLV columns written into Customers, the command's text, JSON and exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from crmkit import clv
from crmkit.cli import main
from crmkit.exceptions import ValidationError
from crmkit.workspace import open_workspace

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture
def sample_dir(tmp_path) -> Path:
    return Path(shutil.copytree(SAMPLE, tmp_path / "ws", ignore=shutil.ignore_patterns(".crmkit")))


def few_repeaters(make_workspace) -> Path:
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "name": ["Acme", "Bolt", "Cord"],
                              "source": ["referral"] * 3, "created_at": pd.to_datetime(["2026-01-05"] * 3)})
    orders = pd.DataFrame({"order_id": ["O1", "O2", "O3", "O4"], "customer_id": ["C1", "C1", "C2", "C3"],
                           "order_date": pd.to_datetime(["2026-02-01", "2026-03-01", "2026-02-03", "2026-04-01"]),
                           "amount": [100.0, 120.0, 90.0, 50.0]})
    return make_workspace({"customers": customers, "orders": orders}, settings={"as_of": "2026-11-20 10:00"})


def test_apply_clv_writes_the_four_columns_for_customers_with_purchases(sample_dir):
    result = clv.apply_clv(open_workspace(sample_dir))
    back = open_workspace(sample_dir)["customers"].set_index("customer_id")
    bought = result.table["T"].notna()
    assert bought.sum() == 223 and (result.table["frequency"] > 0).sum() == 171
    cols = list(clv.CUSTOMER_COLUMNS)
    assert cols == ["p_alive", "expected_purchases", "expected_spend", "clv"]
    written = back.loc[bought[bought].index, cols]
    assert np.isfinite(written.to_numpy()).all()
    assert back.loc[bought[~bought].index, cols].isna().all().all()         # no purchase: left blank
    np.testing.assert_allclose(written["clv"], result.table.loc[bought, "clv"].round(2))
    assert ((written["p_alive"] >= 0) & (written["p_alive"] <= 1)).all()     # 4 decimals: 0.0000 for the long gone
    # one-time buyers: P(alive) 1 and the population's expected order value
    once = result.table[bought & (result.table["frequency"] == 0)].index
    assert (back.loc[once, "p_alive"] == 1).all()
    assert back.loc[once, "expected_spend"].nunique() == 1


def test_clv_columns_are_marked_as_computed_and_labelled_in_both_languages(sample_dir):
    clv.apply_clv(open_workspace(sample_dir))
    headers = {c.value: c for c in openpyxl.load_workbook(sample_dir / "customers.xlsx")["Customers"][1]}
    for label in ("P(alive)", "Expected purchases (horizon)", "Expected order value", "CLV (customer lifetime value)"):
        assert headers[label].comment is not None and "crmkit" in headers[label].comment.text
    from crmkit.schema import CUSTOMERS

    zh = {f.key: f.header("zh") for f in CUSTOMERS.fields if f.key in clv.CUSTOMER_COLUMNS}
    assert zh == {"p_alive": "活跃概率", "expected_purchases": "预计购买次数（预测期内）",
                  "expected_spend": "预计客单价", "clv": "客户终身价值（CLV）"}


def test_horizon_and_discount_rate_come_from_settings_unless_given(sample_dir):
    ws = open_workspace(sample_dir)
    assert (ws.settings["clv_horizon_days"], ws.settings["clv_discount_rate"]) == (365, 0.10)
    default = clv.workspace_clv(ws)
    short = clv.workspace_clv(ws, horizon_days=90, discount_rate=0.0)
    assert (default.horizon_days, default.discount_rate) == (365, 0.10)
    assert short.table["clv"].sum() < default.table["clv"].sum()


def test_clv_command_prints_parameters_totals_top_customers_and_calls(sample_dir, capsys):
    assert main(["clv", str(sample_dir), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "Purchases (BG/NBD): r = " in out and "Spend per order (Gamma-Gamma): p = " in out
    assert "Top customers by CLV" in out and "Who to call this week" in out
    assert "C00328 Howell and Sons" in out
    assert main(["--lang", "zh", "clv", str(sample_dir), "--top", "3"]) == 0
    assert "客户终身价值最高的客户" in capsys.readouterr().out


def test_clv_command_json_is_one_stable_object(sample_dir, capsys):
    assert main(["clv", str(sample_dir), "--json", "--horizon-days", "180", "--discount-rate", "8%",
                 "--as-of", "2026-11-20", "--top", "5"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert list(payload) == ["as_of", "horizon_days", "discount_rate", "model", "customers",
                             "customers_with_purchases", "repeat_buyers", "totals", "top", "call"]
    assert (payload["as_of"], payload["horizon_days"], payload["discount_rate"]) == ("2026-11-20 00:00:00", 180, 0.08)
    assert set(payload["model"]["bgnbd"]) >= {"r", "alpha", "a", "b", "converged"}
    assert set(payload["model"]["gamma_gamma"]) >= {"p", "q", "gamma", "converged"}
    assert payload["customers"] == 500 and len(payload["top"]) == 5
    assert payload["top"][0]["clv"] >= payload["top"][-1]["clv"]
    assert set(payload["totals"]) == {"clv", "expected_purchases", "mean_p_alive"}


def test_a_workspace_without_orders_exits_1_with_one_line_in_its_language(make_workspace, capsys):
    empty = make_workspace({}, settings={"as_of": "2026-11-20 10:00"})
    before = (empty / "customers.xlsx").read_bytes()
    assert main(["clv", str(empty)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Orders" in err and "no purchases" in err
    assert "customers.xlsx" in err                                            # the workbook the sheet is in
    assert (empty / "customers.xlsx").read_bytes() == before                  # nothing written
    assert main(["--lang", "zh", "clv", str(empty)]) == 1
    assert "无法根据这些订单估算客户终身价值" in capsys.readouterr().err


def test_too_few_repeat_buyers_exits_1_and_writes_nothing(make_workspace, capsys):
    folder = few_repeaters(make_workspace)
    before = (folder / "customers.xlsx").read_bytes()
    assert main(["clv", str(folder), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "only 1 customers bought again" in captured.err and "at least 10" in captured.err
    assert (folder / "customers.xlsx").read_bytes() == before
    with pytest.raises(ValidationError):
        clv.workspace_clv(open_workspace(folder))


@pytest.mark.parametrize("argv", [["--discount-rate", "abc"], ["--discount-rate", "150%"], ["--horizon-days", "-1"]])
def test_bad_options_are_usage_errors(sample_dir, argv, capsys):
    assert main(["clv", str(sample_dir), *argv]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_call_list_ranks_repeat_buyers_by_value_at_risk(sample_dir):
    result = clv.workspace_clv(open_workspace(sample_dir))
    calls = result.call_list(10)
    assert len(calls) == 10 and (calls["frequency"] > 0).all()
    assert calls["value_at_risk"].is_monotonic_decreasing
    assert (calls["p_alive_next"] <= calls["p_alive"]).all()
    np.testing.assert_allclose(calls["value_at_risk"],
                               calls["clv_if_alive"] * (calls["p_alive"] - calls["p_alive_next"]))
