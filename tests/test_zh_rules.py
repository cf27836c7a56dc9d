"""The default rules of a Chinese workspace are written in Chinese (headers, labels, tags) and select exactly
what their English twins select."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import crmkit
from crmkit.rules.compiler import compile_expression
from crmkit.rules.context import FieldSet
from crmkit.rules.defaults import TAG_LABELS, default_rules, zh_expression
from crmkit.rules.engine import InMemoryWorkspace, run_rules

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("customers", "interactions", "orders", "deals", "tasks", "tickets", "campaigns", "messages", "team",
          "routing", "rule_log", "history")


def test_zh_rules_use_chinese_headers_labels_and_tags():
    zh = default_rules("zh").set_index("rule_id")
    assert zh.loc["R01A", "when"].startswith('客户来源 == "官网表单" and 意向等级 == ')
    assert "website_form" not in " ".join(zh["when"])
    assert zh.loc["R02A", "when"] == '距上次活动天数 >= 90 and not has_tag("待激活") and 客户阶段 != "流失"'
    assert zh.loc["R02B", "params"] == "tag=待激活" and zh.loc["R11C", "params"] == "tag=深度沉睡"
    assert zh.loc["R06", "when"] == 'changed_to(商机阶段, "商务谈判")'
    # nothing canonical is left but function names and rule ids
    for when in zh["when"]:
        words = {w for w in __import__("re").findall(r"[A-Za-z_]+", when)}
        assert words <= {"and", "or", "not", "in", "is_blank", "days_since", "days_until", "has_tag", "contains",
                         "days_since_message", "changed_to", "days_until_anniversary", "opened_since", "clicked",
                         "cadence_days", "low_stock", "R", "A", "B", "technical", "support", "tech"}, when


@pytest.mark.parametrize("rule", default_rules("zh").itertuples(index=False), ids=lambda r: r.rule_id)
def test_every_zh_default_rule_compiles(rule):
    compile_expression(rule.when, fields=FieldSet(rule.entity))


def test_zh_expression_keeps_free_text_with_chinese_characters():
    text = 'contains(last_feedback, "技术支持") or stage == "won"'
    assert zh_expression(text) == 'contains(最近客户反馈, "技术支持") or 客户阶段 == "成交"'


def selection(ws, rules: pd.DataFrame, lang: str):
    mem = InMemoryWorkspace({k: ws[k] for k in TABLES} | {"rules": rules}, settings=dict(ws.settings), lang=lang)
    a = run_rules(mem).actions
    return sorted(zip(a["rule_id"], a["record_id"].astype(str), a["action"], a["outcome"]))


@pytest.fixture(scope="module")
def zh_sample(tmp_path_factory):
    from crmkit.sample import generate_workspace

    return crmkit.open_workspace(generate_workspace(tmp_path_factory.mktemp("zh") / "ws", customers=300, seed=7,
                                                    lang="zh"))


def test_zh_rules_select_the_same_records_as_the_en_rules_on_the_sample_workspace():
    ws = crmkit.open_workspace(ROOT / "sample_data")
    en = selection(ws, default_rules("en"), "en")
    zh = selection(ws, default_rules("zh"), "en")
    assert len(en) > 100 and {r[0] for r in en} >= {"R01A", "R02A", "R02C", "R06", "R11A", "R12"}
    assert zh == en


def test_zh_rules_select_the_same_records_in_a_chinese_workspace(zh_sample):
    en = selection(zh_sample, default_rules("en"), "zh")
    zh = selection(zh_sample, default_rules("zh"), "zh")
    assert len(en) > 50 and {r[0] for r in en} >= {"R02A", "R02C", "R12"}
    assert zh == en


@pytest.mark.parametrize("written, asked", [("to_reactivate", "待激活"), ("待激活", "to_reactivate"),
                                            ("vip;深度沉睡", "deep_dormant"), ("vip", "待激活")])
def test_has_tag_accepts_a_default_tag_or_its_label(written, asked):
    from crmkit.rules.compiler import evaluate_filter

    frame = pd.DataFrame({"customer_id": ["C1"], "tags": [written]})
    got = evaluate_filter(f'has_tag("{asked}")', frame, as_of=pd.Timestamp("2026-11-20"))
    assert got.tolist() == [written != "vip"]


def test_zh_rule_writes_the_chinese_tag_once_even_when_the_english_one_is_there(zh_sample):
    ws = zh_sample
    cust = ws["customers"].copy()
    quiet = pd.Timestamp(ws.as_of()) - pd.Timedelta(days=400)
    cust = cust.head(2).assign(created_at=quiet, tags=["to_reactivate", None], stage="won")
    rules = default_rules("zh")
    rules = rules[rules["rule_id"] == "R02B"]
    mem = InMemoryWorkspace({"customers": cust, "rules": rules}, settings=dict(ws.settings), lang="zh")
    res = run_rules(mem)
    done = res.actions[res.actions["outcome"] == "done"]
    assert done["record_id"].tolist() == [cust["customer_id"].iloc[1]]       # the first already has the tag
    assert TAG_LABELS["to_reactivate"][1] in done["detail"].iloc[0]
