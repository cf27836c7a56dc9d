"""The sample workspace generator, ``crmkit sample``, ``crmkit init --sample`` and ``crmkit demo``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from crmkit import demo
from crmkit.cli import main
from crmkit.exceptions import UsageError, WorkspaceExists
from crmkit.rules import engine
from crmkit.rules.defaults import DEFAULT_RULES
from crmkit.sample import DEFAULT_AS_OF, generate_tables, generate_workspace, summary_text
from crmkit.schema import ENTITIES, WORKBOOKS
from crmkit.validate import validate_workspace
from crmkit.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
TODAY = DEFAULT_AS_OF.normalize()
DATA_ENTITIES = ("customers", "interactions", "orders", "deals", "tasks", "tickets", "campaigns", "messages")


def read_back(folder: Path) -> dict[str, pd.DataFrame]:
    ws = open_workspace(folder)
    return {k: ws[k] for k in ENTITIES if k not in ("rule_log", "history")}


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory) -> Path:
    return generate_workspace(tmp_path_factory.mktemp("sample") / "ws", customers=160, seed=3, lang="en")


@pytest.fixture(scope="module")
def frames(sample_ws) -> dict[str, pd.DataFrame]:
    return read_back(sample_ws)


def days_before_today(values: pd.Series) -> pd.Series:
    return (TODAY - values.dt.normalize()).dt.days


# --------------------------------------------------------------------------- reproducibility

def test_same_seed_gives_the_same_workspace_and_another_seed_does_not(tmp_path, frames):
    again = read_back(generate_workspace(tmp_path / "again", customers=160, seed=3, lang="en"))
    for key, df in frames.items():
        pd.testing.assert_frame_equal(df, again[key], check_exact=True, obj=key)
    other = generate_tables(160, seed=4, lang="en")
    assert not other["customers"]["name"].reset_index(drop=True).equals(
        frames["customers"]["name"].reset_index(drop=True))


REGENERATE = "(regenerate it with 'crmkit sample sample_data --customers 500 --seed 7 --lang en --force')"


@pytest.fixture(scope="module")
def committed_and_fresh(tmp_path_factory):
    fresh = generate_workspace(tmp_path_factory.mktemp("fresh") / "ws", customers=500, seed=7, lang="en")
    return read_back(SAMPLE), read_back(fresh)


def test_committed_sample_data_matches_the_generator_with_seed_7(committed_and_fresh):
    committed, fresh = committed_and_fresh
    for key in DATA_ENTITIES:
        pd.testing.assert_frame_equal(committed[key], fresh[key], obj=f"sample_data {key} {REGENERATE}")


def test_committed_sample_data_ships_the_current_default_rules_team_and_settings(committed_and_fresh):
    committed, fresh = committed_and_fresh
    for key in ("rules", "routing", "team", "settings"):
        pd.testing.assert_frame_equal(committed[key], fresh[key], obj=f"sample_data {key} {REGENERATE}")


#: sha256 of generate_tables(n, seed=7, lang) (each table's key and CSV text, in order), recorded before the
#: generator was split into a package; the committed sample_data covers only en with 500 customers.
#: Other numpy / Faker / pandas versions may draw or print differently: then re-record them from a
#: generator known to be unchanged.  Re-recorded 2026-12-03 when Campaigns gained subject and Messages gained
#: the delivery columns (kind ... unsubscribed_at): every value of every earlier column was checked equal.
#: Re-recorded 2026-12-03 when Orders gained product_id, quantity, unit_price and Products was added (the
#: earlier tables and columns hashed to the old values).
#: Re-recorded 2026-12-03 when Settings gained clv_horizon_days and clv_discount_rate (the two rows appended at
#: the end of the settings table): without those two rows every table hashed to the old values.
#: Re-recorded 2026-12-03 when the sample got its
#: catalogue (Products, 24 rows) and order lines (product_id, quantity, unit_price, from their own random
#: stream): every value of every earlier column of every table was checked equal for zh/200, en/60, en/30
#: and en/500; the Rules table gained one row (R13, low stock) after its unchanged rows.
#: Re-recorded 2026-12-03 when Settings gained order_source and order_source_table (order store): four
#: Settings rows in all after the others, with the two of clv; every other table's CSV text unchanged.
#: Merged: without those four Settings rows the tables hash to the product catalogue's values above.
FROZEN_TABLES = {
    ("zh", 200): "6710f15168e31fcd65422b44e96885a355b59137f1957598c7c5580a12d1dbf2",  # every planted scenario
    ("en", 60): "b7060429231a1e2c4e645e13dab95295ecaf9160fa0f8c8f36ec0e093a183702",   # one of each
    ("en", 30): "adc92797d9e5bd424e538d0bc2a26c163f913280a57d195cfeeb0f45e229e5a9",   # none planted
}


@pytest.mark.parametrize(("lang", "n"), list(FROZEN_TABLES))
def test_seed_7_still_gives_the_same_tables_byte_for_byte(lang, n):
    digest = hashlib.sha256()
    for key, df in generate_tables(n, seed=7, lang=lang).items():
        digest.update(key.encode())
        digest.update(df.to_csv().encode())
    assert digest.hexdigest() == FROZEN_TABLES[(lang, n)]


def test_committed_sample_data_stays_small():
    size = sum(p.stat().st_size for p in SAMPLE.glob("*.xlsx"))
    assert size < 5_000_000


# --------------------------------------------------------------------------- shape and integrity

def test_generated_workspace_has_every_sheet_with_rows_and_an_as_of(sample_ws, frames):
    ws = open_workspace(sample_ws)
    for key in DATA_ENTITIES + ("rules", "routing", "team", "settings"):
        assert len(frames[key]) > 0, key
    assert len(frames["customers"]) == 160
    assert ws["rule_log"].empty and ws["history"].empty
    assert ws.as_of() == DEFAULT_AS_OF
    assert ws.lang == "en"
    assert 3 <= len(frames["campaigns"]) <= 6
    for wb in WORKBOOKS:
        assert (sample_ws / f"{wb}.xlsx").exists()


def test_every_record_points_at_an_existing_customer(frames):
    ids = set(frames["customers"]["customer_id"])
    assert frames["customers"]["customer_id"].is_unique
    for key in ("interactions", "orders", "deals", "tasks", "tickets", "messages"):
        linked = frames[key]["customer_id"].dropna()
        assert set(linked) <= ids, key
    campaigns = set(frames["campaigns"]["campaign_id"])
    assert set(frames["messages"]["campaign_id"].dropna()) <= campaigns
    for key in ("interactions", "orders", "deals", "tasks", "tickets", "messages"):
        id_field = ENTITIES[key].id_field
        assert frames[key][id_field].is_unique, key


def test_nothing_happens_after_as_of(frames):
    assert (frames["interactions"]["at"] <= DEFAULT_AS_OF).all()
    assert (frames["orders"]["order_date"] <= DEFAULT_AS_OF).all()
    assert (frames["customers"]["created_at"] <= DEFAULT_AS_OF).all()
    for col in ("sent_at", "opened_at", "clicked_at", "converted_at"):
        assert (frames["messages"][col].dropna() <= DEFAULT_AS_OF).all(), col
    done = frames["tasks"]["done_at"].dropna()
    assert (done <= DEFAULT_AS_OF).all()


def test_funnel_loses_customers_stage_by_stage(frames):
    c = frames["customers"]
    order = ["lead", "qualified", "proposal", "negotiation", "won"]
    stage = c["stage"].value_counts()
    assert set(stage.index) == set(order) | {"lost"}
    deals = frames["deals"]
    assert deals["stage_changed_at"].notna().all()
    assert (deals.loc[deals["stage"].isin(["won", "lost"]), "closed_at"].notna()).all()


def test_orders_are_skewed_with_repeat_buyers_and_prospects_without_orders(frames):
    per_customer = frames["orders"].groupby("customer_id").size()
    assert per_customer.max() >= 25
    assert (per_customer <= 3).sum() >= 10
    assert len(per_customer) < len(frames["customers"])
    amount = frames["orders"]["amount"]
    assert amount.mean() > amount.median()


def test_messages_have_realistic_outcomes(frames):
    m = frames["messages"]
    assert {"sent", "failed", "suppressed"} <= set(m["status"])
    assert m["opened_at"].notna().any() and m["clicked_at"].notna().any()
    assert m.loc[m["status"] == "suppressed", "suppressed_reason"].notna().all()
    assert m.loc[m["revenue"].notna(), "converted_at"].notna().all()
    c = frames["customers"].set_index("customer_id")
    opted_out = c.index[c["unsubscribed"].fillna(False) | ~c["marketing_consent"].fillna(True)]
    marketing = m[m["campaign_id"].notna() & m["customer_id"].isin(opted_out)]
    assert (marketing["status"] != "sent").all()


def test_tasks_include_overdue_and_due_today_and_tickets_breach_sla(frames):
    tasks = frames["tasks"]
    open_ = tasks[tasks["status"] == "open"]
    assert (open_["due_at"] < DEFAULT_AS_OF).any()
    assert (open_["due_at"].dt.normalize() == TODAY).any()
    tickets = frames["tickets"]
    breached = tickets["first_response_at"] > tickets["sla_due_at"]
    assert breached.any() and not breached.all()
    closed = tickets[tickets["status"] == "closed"]
    assert closed["satisfaction"].notna().any()
    assert tickets.loc[tickets["status"] != "closed", "satisfaction"].isna().all()


# --------------------------------------------------------------------------- planted scenarios

def test_some_customers_were_quiet_for_90_days_and_some_for_89(frames):
    last = frames["interactions"].groupby("customer_id")["at"].max()
    days = days_before_today(last)
    assert (days == 90).sum() >= 2
    assert (days == 89).sum() >= 1


def test_contracts_end_within_30_days_for_some_and_later_for_others(frames):
    until = (frames["customers"]["contract_end"] - TODAY).dt.days
    assert until.between(0, 30).any()
    assert until.between(31, 60).any()


def test_hot_web_leads_and_new_customers_were_created_today(frames):
    c = frames["customers"]
    today = c[c["created_at"] == TODAY]
    hot = today[(today["source"] == "website_form") & (today["intent_level"] == "A") & today["owner"].isna()]
    assert len(hot) >= 2
    assert len(today) > len(hot)


def test_stale_leads_have_no_interaction_4_days_after_creation(frames):
    c = frames["customers"]
    seen = set(frames["interactions"]["customer_id"])
    stale = c[(c["stage"] == "lead") & (days_before_today(c["created_at"]) == 4) & ~c["customer_id"].isin(seen)]
    fresh = c[(c["stage"] == "lead") & (days_before_today(c["created_at"]) == 2) & ~c["customer_id"].isin(seen)]
    assert len(stale) >= 2 and len(fresh) >= 1


def test_latest_feedback_of_some_customers_asks_for_technical_support(frames):
    it = frames["interactions"].dropna(subset=["customer_feedback"]).sort_values("at")
    latest = it.groupby("customer_id")["customer_feedback"].last()
    assert latest.str.contains("technical support").sum() >= 2


def test_deals_entered_negotiation_today(frames):
    d = frames["deals"]
    assert ((d["stage"] == "negotiation") & (d["stage_changed_at"] == TODAY)).sum() >= 2


def test_high_value_customers_have_birthdays_in_two_days():
    from crmkit.rfm import rfm_scores

    t = generate_tables(160, seed=3, lang="en")
    scores = rfm_scores(t["orders"], DEFAULT_AS_OF, customers=t["customers"])
    c = t["customers"]
    soon = c[(c["birthday"].dt.month == 11) & (c["birthday"].dt.day == 22)]
    tiers = scores.reindex(soon["customer_id"])["value_tier"]
    assert (tiers == "high_value").sum() >= 2
    assert (tiers != "high_value").any()


def test_dormant_customers_last_ordered_more_than_90_days_ago_and_got_wake_up_messages(frames):
    m = frames["messages"]
    r11a = m[m["rule_id"] == "R11A"]
    assert len(r11a) >= 3 and r11a["clicked_at"].isna().any() and r11a["clicked_at"].notna().any()
    assert (m["rule_id"] == "R11B").any()
    last_order = frames["orders"].groupby("customer_id")["order_date"].max()
    assert (days_before_today(last_order.reindex(r11a["customer_id"])) > 90).all()
    r02a = m[m["rule_id"] == "R02A"]
    assert (days_before_today(r02a["sent_at"]) >= 7).all() and r02a["clicked_at"].isna().all()
    tagged = frames["customers"]["tags"].fillna("").str.contains("to_reactivate")
    assert set(r02a["customer_id"]) == set(frames["customers"].loc[tagged, "customer_id"])


def test_orders_of_4_days_ago_and_low_satisfaction_tickets_exist(frames):
    assert (days_before_today(frames["orders"]["order_date"]) == 4).sum() >= 2
    t = frames["tickets"]
    low = t[t["satisfaction"] <= 3]
    assert len(low) >= 2 and (t["satisfaction"] >= 4).any()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_default_rule_finds_some_work_on_as_of_but_not_everywhere(lang, sample_ws, tmp_path):
    folder = sample_ws if lang == "en" else generate_workspace(tmp_path / "zh", customers=160, seed=3, lang="zh")
    ws = open_workspace(folder)
    by_rule = engine.run_rules(ws, dry_run=True).summary()["by_rule"]
    idle = [rid for rid, *_ in DEFAULT_RULES if by_rule.get(rid, 0) == 0]
    assert idle == []
    n = len(ws["customers"])
    busy = [rid for rid, _p, entity, *_ in DEFAULT_RULES if entity == "customers" and by_rule[rid] > 0.6 * n]
    assert busy == []


# --------------------------------------------------------------------------- data quality

def test_duplicates_share_a_phone_and_validation_finds_warnings_not_errors(sample_ws, frames):
    phones = frames["customers"]["phone"].dropna()
    dup = phones[phones.duplicated(keep=False)]
    assert 2 <= dup.nunique() <= 5
    names = frames["customers"].loc[dup.index].groupby("phone")["name"].nunique()
    assert (names == 2).all()
    report = validate_workspace(open_workspace(sample_ws))
    assert report.errors == 0
    assert report.warnings > 0


def test_chinese_sample_has_chinese_names_and_feedback_and_summary(tmp_path):
    ws_dir = generate_workspace(tmp_path / "zh", customers=60, seed=5, lang="zh")
    ws = open_workspace(ws_dir)
    assert ws.lang == "zh"
    assert ws["customers"]["name"].str.contains("公司").mean() > 0.9
    assert ws["interactions"]["customer_feedback"].dropna().str.contains("技术支持").any()
    text = summary_text(ws_dir)
    assert "客户 60" in text and "2026-11-20 10:00" in text and "中文" in text


# --------------------------------------------------------------------------- safety and CLI

def test_sample_refuses_to_overwrite_a_workspace_unless_forced(tmp_path):
    folder = generate_workspace(tmp_path / "ws", customers=40, seed=1)
    with pytest.raises(WorkspaceExists, match="already holds a workspace"):
        generate_workspace(folder, customers=40, seed=2)
    generate_workspace(folder, customers=45, seed=2, overwrite=True)
    assert len(open_workspace(folder)["customers"]) == 45


def test_too_many_orders_for_one_excel_sheet_is_refused_before_any_work():
    with pytest.raises(UsageError, match="do not fit in one Excel sheet"):
        generate_tables(300_000, orders_per_customer=5)
    with pytest.raises(UsageError, match="Customers"):
        generate_tables(1_100_000, orders_per_customer=0.5)


def test_cli_sample_prints_a_summary(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "s"), "--customers", "50", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "Customers 50" in out and "2026-11-20 10:00" in out
    assert main(["sample", str(tmp_path / "s"), "--customers", "50"]) == 2
    assert str(tmp_path / "s") in capsys.readouterr().err


def test_init_with_sample_works_and_init_refuses_an_existing_workspace(tmp_path, capsys):
    folder = tmp_path / "crm"
    assert main(["init", str(folder), "--sample"]) == 0
    assert len(open_workspace(folder)["orders"]) > 0
    assert main(["init", str(folder)]) == 2
    err = capsys.readouterr().err
    assert str(folder) in err and "already holds a workspace" in err


def test_demo_builds_a_workspace_and_replaces_only_its_own_folder(tmp_path, capsys):
    from crmkit.demo import run_demo

    folder = tmp_path / "crm-demo"
    result = run_demo(folder, customers=60)
    assert result["path"] == str(folder)
    assert len(open_workspace(folder)["customers"]) == 60
    (folder / "my-notes.txt").write_text("keep me")
    run_demo(folder, customers=70)
    assert len(open_workspace(folder)["customers"]) == 70
    assert (folder / "my-notes.txt").read_text() == "keep me"
    other = tmp_path / "not-a-demo"
    other.mkdir()
    (other / "important.xlsx").write_text("x")
    with pytest.raises(WorkspaceExists, match="did not create"):
        run_demo(other, customers=60)
    assert (other / "important.xlsx").read_text() == "x"
    mine = generate_workspace(tmp_path / "my-sample", customers=40, seed=1)
    with pytest.raises(WorkspaceExists, match="did not create"):
        run_demo(mine, customers=60)
    assert len(open_workspace(mine)["customers"]) == 40


def test_demo_goes_on_when_the_rules_and_rfm_steps_fail_and_then_serves_the_dashboards(tmp_path, monkeypatch,
                                                                                        capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("step broke")

    served = []
    monkeypatch.setattr(demo, "run_rules", broken)
    monkeypatch.setattr(demo, "apply_rfm", broken)
    monkeypatch.setattr(demo, "serve_dashboards", lambda folder, **kw: served.append((Path(folder), kw)))
    folder = tmp_path / "demo"
    result = demo.run_demo(folder, customers=40, serve=True, port=8999)
    assert result["rules"] is None and result["rfm"] is None
    assert len(open_workspace(folder)["customers"]) == 40
    err = capsys.readouterr().err
    assert "rules failed: RuntimeError: step broke" in err and "RFM failed: RuntimeError: step broke" in err
    assert served == [(folder, {"port": 8999, "open_browser": False})]


@pytest.mark.parametrize("n", [1, 5, 39])
def test_tiny_workspaces_generate_without_planted_scenarios(n):
    tables = generate_tables(n, seed=n, lang="zh")
    assert len(tables["customers"]) == n
    assert set(tables["orders"]["customer_id"]) <= set(tables["customers"]["customer_id"])
    assert tables["messages"]["message_id"].is_unique
