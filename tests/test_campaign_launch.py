"""Launching a campaign (issue 16): its audience in the rule language, the guards, sending hours,
the Messages rows, the preview, `crmkit campaign` and the Campaigns dashboard's Preview and Launch.

Every test works on a copy of a sample workspace (``crmkit init DIR --sample``, as of Friday
2026-11-20 10:00), in English or in Chinese.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from dashboard_process import running_dashboard

from crmkit.cli import main
from crmkit.delivery.campaign import launch_campaign, preview_campaign
from crmkit.exceptions import DataError, TemplateError, UsageError
from crmkit.io.journal import workspace_lock
from crmkit.workspace import open_workspace

AS_OF = pd.Timestamp("2026-11-20 10:00")      # a Friday; the sample workspaces' Settings as_of


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("campaign-samples")
    out = {}
    for lang in ("en", "zh"):
        assert main(["init", str(root / lang), "--sample", "--lang", lang]) == 0
        out[lang] = root / lang
    return out


@pytest.fixture
def sample_en(samples, tmp_path) -> Path:
    return Path(shutil.copytree(samples["en"], tmp_path / "en"))


@pytest.fixture
def sample_zh(samples, tmp_path) -> Path:
    return Path(shutil.copytree(samples["zh"], tmp_path / "zh"))


def add_campaign(path: Path, campaign_id: str, **fields) -> None:
    """A new Campaigns row, written as a user's edit would be (the workspace API, under the lock)."""
    row = {"campaign_id": campaign_id, "name": f"Test {campaign_id}", "channel": "email",
           "audience": 'stage == "won"', "content": "Hello {name}", **fields}
    with workspace_lock(path):
        ws = open_workspace(path)
        ws.append("campaigns", pd.DataFrame([row]))
        ws.save()


def set_customer(path: Path, customer_id: str, **values) -> None:
    with workspace_lock(path):
        ws = open_workspace(path)
        df = ws["customers"].copy()
        hit = (df["customer_id"] == customer_id).to_numpy()
        for k, v in values.items():
            df.loc[hit, k] = v
        ws.replace("customers", df)
        ws.save()


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file of the workspace but the typed copy of what was read (.crmkit/cache, as any read writes)
    and the empty lock file a command that may write holds."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and not str(p.relative_to(path)).startswith((".crmkit/cache/", ".crmkit/lock"))}


def campaign_messages(path: Path, campaign_id: str) -> pd.DataFrame:
    m = open_workspace(path)["messages"]
    return m[(m["campaign_id"] == campaign_id).fillna(False).to_numpy()]


# --------------------------------------------------------------------------- the audience

def test_audience_is_the_rule_language_over_derived_fields_and_every_customer_is_counted_once(sample_en):
    from crmkit.derived import add_derived
    from crmkit.rules.compiler import evaluate_filter

    ws = open_workspace(sample_en)
    customers = add_derived(ws, AS_OF)
    for cid, audience in zip(ws["campaigns"]["campaign_id"], ws["campaigns"]["audience"]):
        plan = preview_campaign(sample_en, cid)
        assert plan.audience == int(evaluate_filter(audience, customers, AS_OF, ws).sum()) > 0, cid
        assert plan.already + sum(plan.suppressed.values()) + plan.queued == plan.audience, cid
        assert plan.as_of == AS_OF and plan.dry_run and not plan.launched
    # CP04 uses a derived field (days since the last interaction) and the value tier
    assert "days_since" in ws["campaigns"].set_index("campaign_id").loc["CP04", "audience"]


def test_english_and_chinese_field_names_choose_the_same_audience(sample_zh):
    add_campaign(sample_zh, "CP90", audience='value_tier == "high_value" and stage == "won"')
    add_campaign(sample_zh, "CP91", audience='客户价值分层 == "高价值客户" and 客户阶段 == "成交"')
    en, zh = preview_campaign(sample_zh, "CP90"), preview_campaign(sample_zh, "CP91")
    assert en.audience == zh.audience > 0
    assert (en.queued, en.suppressed) == (zh.queued, zh.suppressed)


def test_suppressions_by_reason_add_up_and_are_worded_in_both_languages(sample_en):
    add_campaign(sample_en, "CP90", audience='stage in ["won", "negotiation", "proposal"]')
    set_customer(sample_en, "C00001", email=None, unsubscribed=False, marketing_consent=True)
    plan = preview_campaign(sample_en, "CP90")
    assert plan.already == 0
    assert set(plan.suppressed) <= {"unsubscribed", "no_consent", "no_email", "address_bounced", "daily_cap"}
    assert {"unsubscribed", "no_consent"} <= set(plan.suppressed)
    assert sum(plan.suppressed.values()) + plan.queued == plan.audience
    assert plan.reason_labels("en")["no_consent"] == "no marketing consent"
    assert plan.reason_labels("zh")["unsubscribed"] == "已退订"
    written = launch_campaign(sample_en, "CP90")
    rows = campaign_messages(sample_en, "CP90")
    assert len(rows) == plan.audience == written.audience
    assert (rows["status"] == "queued").sum() == plan.queued
    assert (rows["kind"] == "marketing").all() and rows["rule_id"].isna().all()
    reasons = rows.loc[rows["status"] == "suppressed", "suppressed_reason"].value_counts().to_dict()
    assert reasons == {plan.reason_labels("en")[c]: n for c, n in plan.suppressed.items()}
    assert rows.loc[rows["status"] == "suppressed", "scheduled_at"].isna().all()


def test_a_bad_audience_is_an_error_of_the_campaign_with_its_place_and_nothing_is_written(sample_en, capsys):
    add_campaign(sample_en, "CP90", audience='stage == "won" and no_such_field > 3')
    before = snapshot(sample_en)
    with pytest.raises(DataError) as info:
        preview_campaign(sample_en, "CP90")
    text = str(info.value)
    assert "CP90" in text and "no_such_field" in text and "campaigns.xlsx" in text and "row 7" in text
    assert "character 20" in text                       # where in the expression
    assert main(["campaign", str(sample_en), "CP90"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CP90" in err and "Traceback" not in err
    assert snapshot(sample_en) == before


# --------------------------------------------------------------------------- content

def test_three_samples_are_rendered_with_the_customers_fields(sample_en):
    add_campaign(sample_en, "CP90", subject="News for {name}", content="Hi {contact_name}, {name} is {value_tier}.")
    plan = preview_campaign(sample_en, "CP90")
    ws = open_workspace(sample_en)
    customers = ws["customers"].set_index("customer_id")
    assert len(plan.samples) == 3
    for s in plan.samples:
        c = customers.loc[s["customer_id"]]
        assert s["name"] == c["name"] and s["subject"] == f"News for {c['name']}"
        contact = c["contact_name"] if pd.notna(c["contact_name"]) else ""
        assert s["text"].startswith(f"Hi {contact}, {c['name']} is ")
        assert "{" not in s["text"] and s["status"] == "queued"
        assert s["address"] == c["email"]


def test_chinese_content_and_a_blank_subject_render_in_a_chinese_workspace(sample_zh):
    add_campaign(sample_zh, "CP90", name="冬季关怀", channel="sms", content="{联系人}您好，{客户名称}的冬季礼包已备好，回复TD退订")
    plan = preview_campaign(sample_zh, "CP90")
    customers = open_workspace(sample_zh)["customers"].set_index("customer_id")
    assert len(plan.samples) == 3
    for s in plan.samples:
        c = customers.loc[s["customer_id"]]
        assert s["text"] == f"{c['contact_name']}您好，{c['name']}的冬季礼包已备好，回复TD退订"
        assert s["subject"] == "冬季关怀"
    text = plan.text("zh")
    assert "目标人群" in text and "已拦截" in text and "消息示例" in text and plan.samples[0]["text"] in text


def test_an_unknown_field_in_the_content_is_an_error_before_anything_is_queued(sample_en, capsys):
    add_campaign(sample_en, "CP90", content="Hi {contact_name}, your {favourite_colour} gift")
    before = snapshot(sample_en)
    with pytest.raises(TemplateError) as info:
        launch_campaign(sample_en, "CP90")
    assert "favourite_colour" in str(info.value) and "CP90" in str(info.value)
    assert main(["campaign", str(sample_en), "CP90"]) == 1
    assert "favourite_colour" in capsys.readouterr().err
    assert snapshot(sample_en) == before
    add_campaign(sample_en, "CP91", subject="For {nobody}")
    with pytest.raises(TemplateError):
        launch_campaign(sample_en, "CP91")
    ws = open_workspace(sample_en)
    assert not ws["messages"]["campaign_id"].isin(["CP90", "CP91"]).any()


# --------------------------------------------------------------------------- launching

def test_launching_twice_queues_nothing_new(sample_en):
    first = launch_campaign(sample_en, "CP04")
    assert first.launched and first.queued > 0 and first.written
    rows = campaign_messages(sample_en, "CP04")
    new = rows[rows["queued_at"] == AS_OF]
    assert (new["status"] == "queued").sum() == first.queued
    second = launch_campaign(sample_en, "CP04")
    assert second.queued == 0 and second.already == first.already + first.queued and second.written == []
    assert len(campaign_messages(sample_en, "CP04")) == len(rows)


def test_a_customer_suppressed_before_is_queued_once_the_reason_is_gone_and_not_suppressed_twice(sample_en):
    add_campaign(sample_en, "CP90", audience='stage in ["won", "negotiation"]')
    first = launch_campaign(sample_en, "CP90")
    rows = campaign_messages(sample_en, "CP90")
    no_consent = rows.loc[rows["suppressed_reason"] == "no marketing consent", "customer_id"].tolist()
    assert no_consent and first.suppressed["no_consent"] == len(no_consent)
    set_customer(sample_en, no_consent[0], marketing_consent=True, unsubscribed=False)
    second = launch_campaign(sample_en, "CP90", as_of=AS_OF + pd.Timedelta(hours=1))
    after = campaign_messages(sample_en, "CP90")
    assert second.queued == 1 and len(after) == len(rows) + 1          # the others stay suppressed, unrepeated
    assert after.iloc[-1]["customer_id"] == no_consent[0] and after.iloc[-1]["status"] == "queued"
    assert second.suppressed["no_consent"] == first.suppressed["no_consent"] - 1


def test_a_dry_run_leaves_every_file_byte_identical(sample_en):
    before = snapshot(sample_en)
    plan = launch_campaign(sample_en, "CP04", dry_run=True)
    assert plan.queued > 0 and plan.dry_run and not plan.launched
    assert main(["campaign", str(sample_en), "CP04", "--dry-run"]) == 0
    assert snapshot(sample_en) == before


def test_a_launch_at_eight_in_the_evening_is_scheduled_the_next_working_morning(sample_en):
    plan = launch_campaign(sample_en, "CP04", as_of="2026-11-20 20:00")        # Friday evening
    assert plan.scheduled_at == pd.Timestamp("2026-11-23 09:00")              # Monday, send window opens
    rows = campaign_messages(sample_en, "CP04")
    queued = rows[(rows["queued_at"] == pd.Timestamp("2026-11-20 20:00")) & (rows["status"] == "queued")]
    assert len(queued) == plan.queued > 0
    assert (queued["scheduled_at"] == pd.Timestamp("2026-11-23 09:00")).all()


def test_send_at_later_than_the_launch_is_the_earliest_time(sample_en):
    add_campaign(sample_en, "CP90", send_at=pd.Timestamp("2026-11-28 11:00"))      # a Saturday
    plan = preview_campaign(sample_en, "CP90")
    assert plan.scheduled_at == pd.Timestamp("2026-11-30 09:00")
    add_campaign(sample_en, "CP91", send_at=pd.Timestamp("2026-11-01 11:00"))      # in the past: now
    assert preview_campaign(sample_en, "CP91").scheduled_at == AS_OF


def test_the_daily_cap_counts_messages_already_going_out_that_day(sample_en):
    add_campaign(sample_en, "CP90")
    add_campaign(sample_en, "CP91")
    add_campaign(sample_en, "CP92")
    a = launch_campaign(sample_en, "CP90")
    b = launch_campaign(sample_en, "CP91")
    c = preview_campaign(sample_en, "CP92")
    assert a.queued > 0 and b.queued <= a.queued
    assert c.queued < b.queued and c.suppressed.get("daily_cap", 0) > 0          # Settings: 2 a day
    assert "daily message cap reached (2)" in c.reason_labels("en")["daily_cap"]


# --------------------------------------------------------------------------- the command line

def test_cli_prints_the_preview_then_what_was_queued(sample_en, capsys):
    assert main(["campaign", str(sample_en), "CP04"]) == 0
    out = capsys.readouterr().out
    assert out.index("Audience:") < out.index("Suppressed:") < out.index("Sample messages:") < out.index("Queued:")
    assert "scheduled for 2026-11-20 10:00" in out


def test_cli_json_is_one_object_of_the_documented_shape(sample_zh, capsys):
    assert main(["campaign", str(sample_zh), "CP04", "--json", "--dry-run", "--as-of", "2026-11-21 10:00"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert {"campaign_id", "audience", "suppressed", "already", "queued", "samples", "dry_run"} <= set(payload)
    assert payload["campaign_id"] == "CP04" and payload["dry_run"] is True
    assert payload["scheduled_at"] == "2026-11-23T09:00:00"                  # Saturday: Monday morning
    assert payload["already"] + sum(payload["suppressed"].values()) + payload["queued"] == payload["audience"]
    assert all(isinstance(v, int) for v in payload["suppressed"].values())
    assert len(payload["samples"]) == 3
    assert set(payload["samples"][0]) >= {"customer_id", "name", "address", "subject", "text"}
    assert "您好" in payload["samples"][0]["text"]


def test_cli_unknown_campaign_is_a_one_line_usage_error(sample_zh, capsys):
    before = snapshot(sample_zh)
    assert main(["campaign", str(sample_zh), "CP99"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CP99" in err and "没有编号为" in err
    assert main(["--lang", "en", "campaign", str(sample_zh), "CP99", "--json"]) == 2
    assert "no campaign with the ID CP99" in capsys.readouterr().err
    with pytest.raises(UsageError):
        preview_campaign(sample_zh, "CP99")
    assert snapshot(sample_zh) == before


# --------------------------------------------------------------------------- the dashboard

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium")
def test_campaigns_dashboard_previews_and_launches_a_campaign(sample_en, tmp_path):
    from playwright.sync_api import sync_playwright
    from test_browser import ARGS, LOAD_TIMEOUT, screenshot

    from crmkit.dashboard.pages import campaign_options

    expected = preview_campaign(sample_en, "CP04")
    assert expected.queued > 0
    before = len(campaign_messages(sample_en, "CP04"))
    with running_dashboard(sample_en, tmp_path / "dashboard.log") as dash:
        url = dash.url
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + "voila/render/campaigns.ipynb", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT)
            page.wait_for_selector("#loading", state="detached", timeout=LOAD_TIMEOUT)
            page.wait_for_selector('.crmkit-ready[data-render="1"]', state="attached", timeout=60_000)
            label = dict((v, k) for k, v in campaign_options(open_workspace(sample_en)["campaigns"]))["CP04"]
            page.locator(".crmkit-campaign-pick select").select_option(label=label)
            page.locator("button.crmkit-campaign-preview").click()
            plan = page.locator(".crmkit-campaign-plan")
            plan.wait_for(timeout=60_000)
            assert int(plan.get_attribute("data-audience")) == expected.audience
            assert int(plan.get_attribute("data-queued")) == expected.queued
            assert plan.get_attribute("data-launched") == "0"
            samples = page.inner_text("#crmkit-campaign-samples")
            assert expected.samples[0]["text"] in samples and expected.samples[0]["customer_id"] in samples
            assert "@" not in page.inner_text(".crmkit-campaign-plan") or "***@" in samples   # contacts masked

            page.locator("button.crmkit-campaign-launch").click()
            ok = page.locator(".crmkit-msg-ok")
            ok.wait_for(timeout=60_000)
            assert int(ok.get_attribute("data-queued")) == expected.queued
            assert f"{expected.queued} messages of CP04 queued" in ok.inner_text()
            page.wait_for_selector('.crmkit-campaign-plan[data-launched="1"]', timeout=60_000)
            assert page.locator(".crmkit-msg-err").count() == 0
            assert "There was an error when executing cell" not in page.inner_text("body")
            screenshot(page, "campaign-launch")
            page.goto("about:blank")
            browser.close()
    rows = campaign_messages(sample_en, "CP04")
    assert len(rows) - before >= expected.queued
    assert int(((rows["queued_at"] == AS_OF) & (rows["status"] == "queued")).sum()) == expected.queued
