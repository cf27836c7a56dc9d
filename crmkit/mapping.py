"""Column mappings, defaults and name parts for imports of other systems' exports.

An export of another CRM names its columns its own way (``Mobile``,
``email_work``, ``first_name``) and often lacks a field crmkit requires
(``source``).  This module bridges that, before any value is checked:

* **mapping**: ``crmkit import --map "Mobile=phone,email_work=email"``; the
  field may be named by key, English or Chinese header; ``A+B=field`` joins
  two columns with a space.  ``--save-map`` stores the mapping in the
  ImportMap sheet of rules.xlsx (entity, source column, field), and every
  later import into the same entity applies the saved rows whose source
  column the file has (``--map`` wins over a saved row).
* **defaults**: ``--default source=other`` (repeatable) fills a field's blank
  cells, or adds the column when the file has none.  The Settings sheet may
  hold the same as ``default_<field>`` rows (e.g. ``default_source`` =
  ``其他``); ``--default`` wins over Settings.
* **name parts**: first-name and last-name columns (``first_name`` /
  ``last_name``, ``名`` / ``姓``) that nothing else maps are joined into the
  contact's name; when the row has no customer name (a person without a
  company), the person's full name is used as the customer name.
* **suggestions**: for each column that matches no field, the closest field
  by spelling (``difflib``) among the keys, English and Chinese headers and
  synonyms of the fields no column fills yet; shown by the dry run.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import pandas as pd

from .exceptions import UsageError
from .schema import Entity, match_header, norm_token

FIRST_NAME = ("first_name", "firstname", "first name", "given name", "given_name", "forename", "名字", "名")
LAST_NAME = ("last_name", "lastname", "last name", "surname", "family name", "family_name", "姓氏", "姓")
SETTINGS_PREFIX = "default_"


@dataclass
class Plan:
    """What the mapping step did to a source table (reported by the import)."""

    mapped: dict[str, str] = field(default_factory=dict)       # source header -> field key (from --map / saved)
    joined: dict[str, list[str]] = field(default_factory=dict)  # field key -> source headers joined
    defaults: dict[str, str] = field(default_factory=dict)     # field key -> default value applied
    name_from_contact: int = 0                                  # rows whose customer name is the person's name
    name_rows: list = field(default_factory=list)               # rows whose blank name was filled so
    name_column: str | None = None
    saved: bool = False


# --------------------------------------------------------------------------- parsing

def _split_pairs(texts) -> list[tuple[str, str]]:
    pairs = []
    for text in texts or ():
        for part in re.split(r"[,，\n]", str(text)):
            if not part.strip():
                continue
            if "=" not in part:
                raise UsageError(f"--map/--default: {part.strip()!r} is not NAME=VALUE")
            a, b = part.split("=", 1)
            pairs.append((a.strip(), b.strip()))
    return pairs


def resolve_field(ent: Entity, name: str, *, option: str = "--map") -> str:
    """The key of the field ``name`` names (key, English or Chinese header, synonym)."""
    key = match_header(ent, name)
    if key is None:
        close = suggest_field(ent, name, set())
        hint = f" (did you mean {close!r}?)" if close else ""
        raise UsageError(f"{option}: {ent.en} has no field {name!r}{hint}; fields: "
                         + ", ".join(f.key for f in ent.input_fields))
    if ent.field(key).derived:
        raise UsageError(f"{option}: {key!r} is computed by crmkit and cannot be imported")
    return key


def parse_map(texts, ent: Entity) -> list[tuple[str, str]]:
    """``("Mobile=phone,email_work=E-mail",)`` -> ``[("Mobile", "phone"), ("email_work", "email")]``."""
    return [(src, resolve_field(ent, f)) for src, f in _split_pairs(texts) if src and f]


def parse_defaults(texts, ent: Entity) -> dict[str, str]:
    """``("source=other",)`` -> ``{"source": "other"}`` (``--default``; repeatable)."""
    out = {}
    for f, v in _split_pairs(texts):
        out[resolve_field(ent, f, option="--default")] = v
    return out


def settings_defaults(settings: dict, ent: Entity) -> dict[str, str]:
    """``default_<field>`` rows of the Settings sheet that name a field of ``ent`` and hold a value."""
    out = {}
    for k, v in (settings or {}).items():
        if not isinstance(k, str) or not k.startswith(SETTINGS_PREFIX):
            continue
        if v is None or (not isinstance(v, str) and pd.isna(v)) or not str(v).strip():
            continue
        key = k[len(SETTINGS_PREFIX):]
        if ent.has(key) and not ent.field(key).derived:
            out[key] = str(v).strip()
    return out


# --------------------------------------------------------------------------- saved mappings

def saved_map(ws, entity: str) -> list[tuple[str, str]]:
    """The ImportMap rows of ``entity`` as (source column, field key); rows naming no field are skipped."""
    from .schema import resolve_entity

    try:
        df = ws["import_map"]
    except Exception:  # noqa: BLE001 - a workspace without the sheet has no saved mapping
        return []
    if df is None or df.empty:
        return []
    ent = ws.entity(entity)
    out = []
    for rec in df.to_dict("records"):   # a handful of rows
        e, src, f = rec.get("entity"), rec.get("source_column"), rec.get("field")
        if any(v is None or (not isinstance(v, str) and pd.isna(v)) for v in (e, src, f)):
            continue
        try:
            if resolve_entity(str(e)) != entity:
                continue
        except UsageError:
            continue
        key = match_header(ent, f)
        if key is not None and not ent.field(key).derived:
            out.append((str(src).strip(), key))
    return out


def save_map(ws, entity: str, pairs: list[tuple[str, str]]) -> None:
    """Store ``pairs`` as ImportMap rows of ``entity`` (replacing rows of the same source column)."""
    df = ws["import_map"]
    cols = ["entity", "source_column", "field"]
    if df is None:
        df = pd.DataFrame(columns=cols, dtype="string")
    names = {norm_token(s) for s, _ in pairs}
    from .schema import resolve_entity

    def same(rec) -> bool:
        try:
            return resolve_entity(str(rec["entity"])) == entity and norm_token(rec["source_column"]) in names
        except UsageError:
            return False

    keep = df[[not same(r) for r in df.to_dict("records")]] if len(df) else df
    new = pd.DataFrame({"entity": [entity] * len(pairs), "source_column": [s for s, _ in pairs],
                        "field": [f for _, f in pairs]}, dtype="string")
    out = pd.concat([keep, new], ignore_index=True) if len(keep) else new
    out.index = pd.RangeIndex(2, 2 + len(out), name="_row")
    ws.replace("import_map", out)


# --------------------------------------------------------------------------- applying

def _find_column(headers: list[str], name: str) -> str | None:
    want = norm_token(name)
    for h in headers:
        if h == name:
            return h
    for h in headers:
        if norm_token(h) == want:
            return h
    return None


def _join(cols: list[pd.Series], sep: str) -> pd.Series:
    parts = [c.astype("string").str.strip() for c in cols]
    out = parts[0].fillna("")
    for p in parts[1:]:
        p = p.fillna("")
        out = out + pd.Series(sep, index=out.index, dtype="string").where((out != "") & (p != ""), "") + p
    return out.mask(out == "").astype("string")


def apply_mapping(src, ent: Entity, explicit: list[tuple[str, str]], saved: list[tuple[str, str]],
                  defaults: dict[str, str], lang: str = "en") -> Plan:
    """Apply mappings, name parts and defaults to ``src`` (a :class:`~crmkit.io.sources.SourceTable`) in place.

    A column named in ``--map`` that the file lacks is a usage error; a saved
    row whose column the file lacks is skipped (saved rows serve many files).
    """
    plan = Plan()
    headers = list(src.headers)
    matched = dict(src.matched)
    data = src.data
    explicit_fields = {f for _, f in explicit}
    todo = [(s, f, True) for s, f in explicit] + [(s, f, False) for s, f in saved if f not in explicit_fields]
    for spec, key, strict in todo:
        names = [n.strip() for n in spec.split("+")] if "+" in spec and _find_column(headers, spec) is None else [spec]
        cols = [_find_column(headers, n) for n in names]
        if any(c is None for c in cols):
            if strict:
                missing = [n for n, c in zip(names, cols, strict=True) if c is None]
                raise UsageError(f"--map: the file has no column {', '.join(map(repr, missing))} "
                                 f"(columns: {', '.join(headers)})", file=src.file)
            continue
        if key in matched.values() and matched.get(cols[0]) != key:
            # the field was filled by another column: that column becomes an extra column
            for h, k in list(matched.items()):
                if k == key:
                    del matched[h]
        for c in cols:
            matched.pop(c, None)
        if len(cols) == 1:
            matched[cols[0]] = key
            plan.mapped[cols[0]] = key
        else:
            joined = f"{' + '.join(cols)}"
            data[joined] = _join([data[c] for c in cols], " ")
            headers.append(joined)
            matched[joined] = key
            plan.joined[key] = cols
    # first and last name columns nothing maps: the contact's (or the person's) name
    if ent.key == "customers":
        first = next((h for h in headers if h not in matched and norm_token(h) in {norm_token(x) for x in FIRST_NAME}), None)
        last = next((h for h in headers if h not in matched and norm_token(h) in {norm_token(x) for x in LAST_NAME}), None)
        if first or last:
            cols = [c for c in (first, last) if c]
            zh_order = first is not None and last is not None and norm_token(first) in ("名", "名字")
            cols = [last, first] if zh_order else cols
            person = _join([data[c] for c in cols], "" if zh_order else " ")
            target = "contact_name" if "contact_name" not in matched.values() else None
            label = " + ".join(cols)
            data[label] = person
            headers.append(label)
            for c in cols:
                matched.pop(c, None)
            if target:
                matched[label] = target
                plan.joined[target] = cols
            name_col = next((h for h, k in matched.items() if k == "name"), None)
            if name_col is None:
                data["name"] = person
                headers.append("name")
                matched["name"] = "name"
                plan.joined["name"] = cols
                plan.name_from_contact = int(person.notna().sum())
            else:
                blank = data[name_col].isna() | (data[name_col].astype("string").str.strip() == "").fillna(False)
                fill = blank & person.notna()
                if fill.any():
                    data.loc[fill, name_col] = person[fill]
                    plan.name_from_contact = int(fill.sum())
                    plan.name_rows = [int(r) for r in data.index[fill]]
                    plan.name_column = name_col
    # defaults
    for key, value in defaults.items():
        col = next((h for h, k in matched.items() if k == key), None)
        if col is None:
            col = f"({key})"
            data[col] = pd.Series(value, index=data.index, dtype="string")
            headers.append(col)
            matched[col] = key
        else:
            s = data[col]
            blank = s.isna() | (s.astype("string").str.strip() == "").fillna(False)
            if blank.any():
                data[col] = s.astype("string").mask(blank, value)
        plan.defaults[key] = value
    src.headers = headers
    src.matched = matched
    src.data = data
    return plan


# --------------------------------------------------------------------------- suggestions

def _candidates(ent: Entity, taken: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in ent.input_fields:
        if f.key in taken:
            continue
        for s in (f.key, f.en, f.zh, *f.synonyms):
            out.setdefault(norm_token(s), f.key)
    return out


def suggest_field(ent: Entity, header: str, taken: set[str]) -> str | None:
    """The field a column header most likely means, or None (spelling only, never applied on its own)."""
    cands = _candidates(ent, taken)
    tok = norm_token(header)
    if not tok or not cands:
        return None
    close = difflib.get_close_matches(tok, list(cands), n=1, cutoff=0.82)
    if close:
        return cands[close[0]]
    # a header made of a field's spelling and a qualifier: email_work, phone_number, 客户电话
    words = [w for w in re.split(r"[\s_\-./()]+", str(header).lower()) if w]
    for w in words:
        if len(w) >= 3 and norm_token(w) in cands:
            return cands[norm_token(w)]
    best, best_len = None, 0
    for c, key in cands.items():
        if len(c) >= 2 and c in tok and len(c) > best_len and (len(c) * 2 >= len(tok) or not c.isascii()):
            best, best_len = key, len(c)
    return best


def suggestions(ent: Entity, unmatched: list[str], matched: dict[str, str]) -> dict[str, str]:
    """Unmatched header -> suggested field key (each field suggested once, to the closest header)."""
    taken = set(matched.values())
    out = {}
    for h in unmatched:
        key = suggest_field(ent, h, taken)
        if key is not None and key not in out.values():
            out[h] = key
    return out


def map_option(sugg: dict[str, str]) -> str:
    """The ``--map`` text that applies ``sugg``."""
    return ",".join(f"{h}={k}" for h, k in sugg.items())
