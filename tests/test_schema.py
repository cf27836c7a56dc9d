"""The data contract is consistent: unique keys, bilingual labels, derived lookups."""

from __future__ import annotations

import re

import pytest

from crmkit import schema
from crmkit.schema import ENTITIES, ENUMS, WORKBOOKS, match_header, norm_token


def test_every_entity_lives_in_exactly_one_workbook():
    listed = [e for keys in WORKBOOKS.values() for e in keys]
    assert sorted(listed) == sorted(ENTITIES)
    for wb, keys in WORKBOOKS.items():
        for k in keys:
            assert ENTITIES[k].workbook == wb


@pytest.mark.parametrize("entity", list(ENTITIES.values()), ids=lambda e: e.key)
def test_field_keys_are_unique_snake_case_and_headers_unique_per_language(entity):
    keys = [f.key for f in entity.fields]
    assert len(keys) == len(set(keys))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", k) for k in keys)
    for lang in ("en", "zh"):
        headers = [norm_token(f.header(lang)) for f in entity.fields]
        assert len(headers) == len(set(headers)), f"duplicate {lang} header in {entity.key}"
    assert entity.en and entity.zh


@pytest.mark.parametrize("entity", list(ENTITIES.values()), ids=lambda e: e.key)
def test_every_header_spelling_maps_back_to_its_own_field(entity):
    for f in entity.fields:
        for spelling in (f.key, f.en, f.zh, f.en.upper(), f" {f.zh} *"):
            assert match_header(entity, spelling) == f.key, (entity.key, spelling)


@pytest.mark.parametrize("enum", list(ENUMS.values()), ids=lambda e: e.name)
def test_every_enumeration_has_both_labels_and_unambiguous_spellings(enum):
    codes = enum.codes
    assert len(codes) == len(set(codes))
    for c in enum.choices:
        assert c.en.strip() and c.zh.strip()
        # code, English and Chinese label all map to the code
        for s in (c.code, c.en, c.zh):
            assert enum.lookup[norm_token(s)] == c.code
    # no spelling of one choice is a spelling of another
    spellings = [{norm_token(x) for x in (c.code, c.en, c.zh, *c.synonyms)} for c in enum.choices]
    for i, a in enumerate(spellings):
        for b in spellings[i + 1:]:
            assert not (a & b), (enum.name, a & b)


def test_required_fields_of_the_design_are_marked_required():
    assert ENTITIES["customers"].required == ["customer_id", "name", "source", "created_at"]
    assert set(ENTITIES["orders"].required) == {"order_id", "customer_id", "order_date", "amount"}
    assert set(ENTITIES["tasks"].required) == {"task_id", "title", "owner", "due_at", "status", "created_at"}


def test_design_enumerations_are_present_with_design_chinese_labels():
    stage = schema.STAGE
    assert stage.codes == ("lead", "qualified", "proposal", "negotiation", "won", "lost")
    assert stage.labels("zh") == ["初步接触", "需求分析", "方案报价", "商务谈判", "成交", "流失"]
    assert set(schema.SOURCE.codes) == {"website_form", "trade_show", "referral", "online_ad", "social_media",
                                        "ecommerce", "cold_call", "other"}
    assert schema.VALUE_TIER.labels("zh") == ["高价值客户", "潜力客户", "普通客户", "流失风险客户"]
    assert schema.SOURCE.lookup[norm_token("官网表单")] == "website_form"
    assert schema.INTENT_LEVEL.lookup[norm_token("A级")] == "A"


def test_entity_lookup_accepts_sheet_names_in_both_languages():
    assert schema.entity("客户").key == "customers"
    assert schema.entity("Orders").key == "orders"
    assert schema.entity("跟进记录").key == "interactions"
    with pytest.raises(KeyError):
        schema.entity("nothing")


def test_derived_fields_have_labels_in_both_languages():
    for key, (typ, en, zh) in schema.DERIVED_FIELDS.items():
        assert typ in schema.FIELD_TYPES
        assert en and zh
        assert schema.field_label(key, "zh") == zh or ENTITIES["customers"].has(key)
