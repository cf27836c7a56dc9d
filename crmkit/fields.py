"""Custom fields: extra columns an admin declares in the Fields sheet of rules.xlsx.

Each row of the Fields sheet (entity, key, English and Chinese label, type,
options, required, enabled, hints) becomes a :class:`crmkit.schema.Field`
with ``custom=True``.  :meth:`crmkit.workspace.Workspace.fields` appends them
to the schema fields of their entity, so templates, the reader and writer,
validation, import, the rule language, forms, exports and dashboards treat
them exactly like built-in fields.

>>> frame = fields_frame("en", sample=True)
>>> custom, problems = custom_fields(frame.assign(enabled=True))
>>> [f.key for f in custom["customers"]]
['expected_amount', 'need_tags']

Options of a single or multiple choice field are separated by ``;``; an
option may name both languages as ``English|中文`` (its code is then the
English text in snake_case), otherwise the text itself is the code.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache

import pandas as pd

from .i18n import msg
from .io.typing import Problem, coerce_frame, empty_frame
from .schema import (
    CUSTOM_ENTITY,
    CUSTOM_FIELD_TYPE,
    DERIVED_FIELDS,
    ENTITIES,
    YES_NO,
    Choice,
    Entity,
    Enum,
    Field,
    norm_token,
)

#: A custom field key: snake_case ASCII, starting with a letter.
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_OPTION_SPLIT = re.compile(r"[;；\n]+")

#: The sample custom fields shipped (disabled) in the templates' Fields sheet.
SAMPLE_FIELDS: tuple[dict, ...] = (
    {"entity": "customers", "key": "expected_amount", "label_en": "Expected amount", "label_zh": "预计成交金额",
     "type": "money", "options": None, "required": False,
     "hint_en": "Expected value of the first deal.", "hint_zh": "预计首单成交金额。"},
    {"entity": "customers", "key": "need_tags", "label_en": "Needs", "label_zh": "需求标签",
     "type": "multi",
     "options": "product purchase|产品采购; service consulting|服务咨询; technical support|技术支持; "
                "price sensitive|价格敏感",
     "required": False,
     "hint_en": "What the customer is looking for; several separated by ;",
     "hint_zh": "客户的需求类型，可多选，用 ; 分隔。"},
)


def fields_frame(lang: str = "en", *, sample: bool = True) -> pd.DataFrame:
    """The Fields sheet of a new workspace: the sample fields, shipped disabled (enabled = no).

    An admin switches a sample on by setting Enabled to yes, or adds rows.
    """
    ent = ENTITIES["fields"]
    if not sample:
        return empty_frame(ent)
    df = pd.DataFrame([dict(r, enabled=False) for r in SAMPLE_FIELDS])
    df.index = pd.RangeIndex(2, 2 + len(df), name="_row")
    return coerce_frame(df, ent)


def slug(text: str) -> str:
    """``Product purchase`` -> ``product_purchase`` (ASCII text only; other text is kept as typed)."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(text).strip()).strip("_").lower()
    return s or str(text).strip()


def parse_options(text: object, name: str) -> Enum | None:
    """``a; b|乙; ...`` -> an :class:`Enum` named ``name`` (None when there are no options)."""
    if text is None or pd.isna(text) or not str(text).strip():
        return None
    choices: list[Choice] = []
    seen: set[str] = set()
    for item in _OPTION_SPLIT.split(str(text)):
        item = item.strip()
        if not item:
            continue
        if "|" in item:
            en, zh = (p.strip() for p in item.split("|", 1))
            en, zh = en or zh, zh or en
        else:
            en = zh = item
        code = slug(en) if en.isascii() else en
        if norm_token(code) in seen:
            continue
        seen.add(norm_token(code))
        choices.append(Choice(code, en, zh))
    return Enum(name, tuple(choices)) if choices else None


def _taken_names(ent: Entity) -> set[str]:
    """Spellings a custom field may not use on ``ent``: built-in keys and headers, derived keys."""
    out = {norm_token(s) for f in ent.fields for s in (f.key, f.en, f.zh)}
    out |= {norm_token(k) for k in DERIVED_FIELDS}
    out |= {norm_token(v[1]) for v in DERIVED_FIELDS.values()} | {norm_token(v[2]) for v in DERIVED_FIELDS.values()}
    return out


def custom_fields(frame: pd.DataFrame, *, file: str = "", sheet: str = "") -> tuple[dict[str, list[Field]],
                                                                                       list[Problem]]:
    """Entity key -> custom fields declared in a Fields frame, plus the rows that were refused.

    Refused rows (bad key, a name already used by a built-in field, an
    unknown type, a choice field without options, ...) are reported as
    :class:`crmkit.io.typing.Problem` with the Excel row and left out; the
    other fields still work.  Rows with Enabled = no are skipped silently.
    """
    out: dict[str, list[Field]] = {}
    problems: list[Problem] = []
    if frame is None or frame.empty:
        return out, problems
    file = file or frame.attrs.get("file", "")
    sheet = sheet or frame.attrs.get("sheet", "") or ENTITIES["fields"].en
    used: dict[str, set[str]] = {}
    # the Fields sheet is a short configuration table: one pass over its rows is clear and cheap
    for row, r in frame.iterrows():
        def bad(column: str, value: object, reason: str, row=row) -> None:
            problems.append(Problem(file, sheet, int(row), column, value, reason))

        enabled = r.get("enabled")
        if enabled is not None and not pd.isna(enabled) and not bool(enabled):
            continue
        entity, key, ftype = r.get("entity"), r.get("key"), r.get("type")
        if entity is None or pd.isna(entity) or entity not in CUSTOM_ENTITY.codes:
            bad("entity", entity, msg("e_f_entity", codes=", ".join(CUSTOM_ENTITY.codes)))
            continue
        key = "" if key is None or pd.isna(key) else str(key).strip()
        if not KEY_RE.match(key):
            bad("key", key or None, msg("e_f_key"))
            continue
        ent = ENTITIES[entity]
        taken = _taken_names(ent) | used.setdefault(entity, set())
        if norm_token(key) in taken:
            bad("key", key, msg("e_f_taken", entity=entity, key=repr(key)))
            continue
        if ftype is None or pd.isna(ftype) or ftype not in CUSTOM_FIELD_TYPE.codes:
            bad("type", ftype, msg("e_f_type", codes=", ".join(CUSTOM_FIELD_TYPE.codes)))
            continue
        en = _text(r.get("label_en")) or key
        zh = _text(r.get("label_zh")) or en
        clash = [lab for lab in {en, zh} if norm_token(lab) in taken and norm_token(lab) != norm_token(key)]
        if clash:
            bad("label_zh" if zh in clash else "label_en", clash[0],
                msg("e_f_clash", label=repr(clash[0]), entity=entity))
            continue
        enum = None
        if ftype == "bool":
            enum = YES_NO
        elif ftype in ("enum", "multi"):
            enum = parse_options(r.get("options"), f"custom_{entity}_{key}")
            if enum is None and ftype == "enum":
                bad("options", r.get("options"), msg("e_f_options"))
                continue
        required = r.get("required")
        out.setdefault(entity, []).append(Field(
            key, en, zh, str(ftype), bool(required) if required is not None and not pd.isna(required) else False,
            enum=enum, hint_en=_text(r.get("hint_en")), hint_zh=_text(r.get("hint_zh")) or _text(r.get("hint_en")),
            custom=True))
        used[entity] |= {norm_token(key), norm_token(en), norm_token(zh)}
    return out, problems


def _text(v: object) -> str:
    return "" if v is None or pd.isna(v) else str(v).strip()


@lru_cache(maxsize=256)
def extend_entity(ent: Entity, custom: tuple[Field, ...]) -> Entity:
    """``ent`` with ``custom`` fields appended.

    Built-in header synonyms that equal a custom field's key or label are
    dropped (e.g. 需求标签 is a synonym of Tags until an admin declares a
    field with that label), so each header names exactly one column.
    """
    if not custom:
        return ent
    names = {norm_token(s) for f in custom for s in (f.key, f.en, f.zh)}
    base = tuple(
        dataclasses.replace(f, synonyms=tuple(s for s in f.synonyms if norm_token(s) not in names))
        if any(norm_token(s) in names for s in f.synonyms) else f
        for f in ent.fields)
    return dataclasses.replace(ent, fields=base + tuple(custom))


def field_options(f: Field, lang: str) -> list[tuple[str, str]]:
    """(label, code) pairs for a choice field, in ``lang``; empty for other fields."""
    if f.enum is None:
        return []
    return [(c.label(lang), c.code) for c in f.enum.choices]


def field_problems(ws) -> list[Problem]:
    """Rows of the workspace's Fields sheet that were refused (bad key, clash, unknown type ...)."""
    frame = ws.table("fields")
    ws.entity("customers")              # parses the Fields sheet (and records its problems) once
    return [p for p in frame.attrs.get("problems", []) if isinstance(p, Problem)]
