"""Validation checks: the data contract checked value by value, with a place for every problem.

:func:`validate_frame` checks one entity's frame (text as read from a source,
or typed as loaded from a workspace) and returns the normalised frame plus an
issues table: ``row, column, field, value, severity, reason`` where ``row`` is
the frame's index (the Excel / source row number).

Checks: required fields; types (numbers, whole numbers, ratings 1-5, dates:
real Excel dates, serial numbers, ``2024/5/1``, ``2024-05-01``,
``2024年5月1日``, day-first by setting); enumerations in either language plus
synonyms; phone numbers (``phonenumbers``, default region from Settings, to
E.164); e-mail syntax (``email-validator``, offline); unique IDs; references
(an order's customer exists); people in the Team sheet; completeness against
the Settings target.

Severity: ``error`` for a value that breaks the contract (a required value
missing, a value that is not of its type, a duplicate ID, a dangling
reference); ``warning`` for what can be kept but deserves a look (an
unknown value in an optional enumeration, kept as typed; an owner not in the
Team sheet; a possible duplicate customer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from .. import normalize as nz
from .. import phones
from ..derived import completeness_scores, filled
from ..i18n import t
from ..io.typing import NORMAL_FORM, convert_column
from ..schema import DATE_TYPES, ENTITIES, Field, field_label, norm_token
from ..settings import defaults as settings_defaults
from ..team import names_in

ERROR = "error"
WARNING = "warning"
ISSUE_COLUMNS = ["row", "column", "field", "value", "severity", "reason"]

#: entities validate_workspace checks (the log sheets are written by crmkit only)
CHECKED_ENTITIES = ("customers", "interactions", "orders", "deals", "products", "tasks", "tickets", "campaigns",
                    "messages", "rules", "routing", "team")

#: References that warn instead of refusing: an order's product need not be in the Products sheet
#: (the catalogue may be incomplete; the order still counts).  entity -> ((field, target entity), ...)
SOFT_REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {"orders": (("product_id", "products"),)}

#: Numbers that cannot be negative: (entity, field) -> severity.  Negative stock (oversold, on back
#: order) is possible but deserves a look; a negative price, cost or reorder level is a typing error.
NON_NEGATIVE: dict[tuple[str, str], str] = {
    ("products", "unit_price"): ERROR, ("products", "unit_cost"): ERROR,
    ("products", "reorder_level"): ERROR, ("products", "stock"): WARNING,
    ("orders", "unit_price"): ERROR,
}


def empty_issues() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in ISSUE_COLUMNS})


def _issues(rows: pd.Series, column: str, field_key: str, severity: str, reason: str) -> pd.DataFrame:
    """Issues for the values of ``rows`` (a Series indexed by row number)."""
    return pd.DataFrame({
        "row": rows.index.astype("int64"),
        "column": column,
        "field": field_key,
        "value": [nz.none_if_nan(v) for v in rows.tolist()],
        "severity": severity,
        "reason": reason,
    })


def _is_texty(s: pd.Series) -> bool:
    return s.dtype == object or isinstance(s.dtype, pd.StringDtype)


def fmt_pct(x: float) -> str:
    return f"{x:.0%}"


# --------------------------------------------------------------------------- one frame

def validate_frame(df: pd.DataFrame, entity_key: str, *, settings: Mapping | None = None,
                   fields: Iterable[Field] | None = None, existing: Mapping[str, pd.DataFrame] | None = None,
                   labels: Mapping[str, str] | None = None, lang: str = "en", check_required: bool = True,
                   check_unique: bool = True, skip_required: Iterable[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check and normalise one entity's frame; return (normalised frame, issues).

    ``df`` holds canonical field keys as columns (other columns are passed
    through untouched) and the source row numbers as index.  Text columns are
    converted to their field's type; typed columns are checked as they are.
    ``existing`` maps entity keys to frames used for reference checks (e.g.
    ``{"customers": ws["customers"], "team": ws["team"]}``).  ``labels`` maps
    field keys to the column names to show (e.g. the source headers).
    """
    out, issues, _ = check_frame(df, entity_key, settings=settings, fields=fields, existing=existing,
                                  labels=labels, lang=lang, check_required=check_required,
                                  check_unique=check_unique, skip_required=skip_required)
    return out, issues


def _not_in(values: pd.Series, known: pd.Series) -> pd.Series:
    """``values`` (text) that are not blank and not among ``known`` (compared as text).

    pandas' ``isin`` on pyarrow strings turns a large lookup set into Python
    scalars one by one; pyarrow hashes both sides in C.
    """
    import pyarrow.compute as pc

    arr = nz.arrow_strings(values)
    keys = nz.arrow_strings(known.dropna().astype(str)).cast(arr.type)
    hit = pc.is_in(arr, value_set=keys).to_numpy(zero_copy_only=False)
    return values.notna() & ~pd.Series(hit, index=values.index, dtype=bool)


def _shared(values: pd.Series) -> pd.Series:
    """``values.notna() & values.duplicated(keep=False)``, at once when the values are in increasing order.

    IDs are mostly written in order: strictly increasing values (blanks
    aside) share nothing, which one pass of pyarrow confirms.
    """
    import pyarrow.compute as pc

    known = pc.drop_null(nz.arrow_strings(values))
    n = len(known)
    if n < 2 or pc.all(pc.less(known.slice(0, n - 1), known.slice(1))).as_py():
        return pd.Series(False, index=values.index)
    return values.notna() & values.duplicated(keep=False)


def _convert_id(s: pd.Series, f: Field) -> tuple[pd.Series, pd.Series]:
    """``convert_column`` of an ID column, converting only the values that are not plain IDs already.

    A plain ID (printable ASCII, no space at either end, not a blank word such
    as ``n/a``, not a number written ``12.0``) is its own normal form; a
    loaded workspace holds nothing else.
    """
    text = s.astype("string")
    plain = (text.str.fullmatch("[!-~](?:[ -~]*[!-~])?").fillna(False)
             & ~text.str.fullmatch("[0-9]+[.]0").fillna(False)
             & ~text.str.lower().isin(sorted(nz._BLANKS)).fillna(False)).to_numpy(dtype=bool)
    todo = ~plain & text.notna().to_numpy(dtype=bool)
    if not todo.any():
        return text, pd.Series(False, index=s.index)
    if todo.all():
        return convert_column(s, f)
    out = text.copy()
    conv, bad = convert_column(s[todo], f)
    out[todo] = conv.astype("string").to_numpy()
    return out, pd.Series(False, index=s.index)


def _enum_codes_are_stable(f: Field) -> bool:
    """Each canonical code of ``f``'s enumeration converts to itself (so a code needs no conversion)."""
    import unicodedata

    return all(f.enum.lookup.get(norm_token(c)) == c and c == unicodedata.normalize("NFKC", c).strip()
               and c.lower() not in nz._BLANKS for c in f.enum.codes)


def _convert_enum(s: pd.Series, f: Field) -> tuple[pd.Series, pd.Series]:
    """``convert_column`` of an enumeration column, converting only the values that are not codes yet.

    A loaded workspace holds codes already; the values that are not (unknown
    values kept as typed, or text from a source) go through the converter.
    """
    if not _enum_codes_are_stable(f):
        return convert_column(s, f)
    text = s.astype("string")
    todo = _not_in(text, pd.Series(list(f.enum.codes), dtype=object)).to_numpy(dtype=bool)
    if todo.all():
        return convert_column(s, f)
    out = text.copy()
    bad = pd.Series(False, index=s.index)
    if todo.any():
        conv, cbad = convert_column(s[todo], f)
        out[todo] = conv.astype("string").to_numpy()
        bad[todo] = cbad.to_numpy(dtype=bool)
    return out, bad


def check_frame(df: pd.DataFrame, entity_key: str, *, settings: Mapping | None = None,
                 fields: Iterable[Field] | None = None, existing: Mapping[str, pd.DataFrame] | None = None,
                 labels: Mapping[str, str] | None = None, lang: str = "en", check_required: bool = True,
                 check_unique: bool = True, skip_required: Iterable[str] = (), values: bool = True
                 ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[pd.Series, pd.Series]]]:
    """:func:`validate_frame`, plus the converted phone and e-mail columns with their bad masks.

    ``values=False`` says the caller wants the issues only: free-text columns
    whose normalised value no later check reads (not required, not an ID, a
    reference or a person) are then not converted, since that conversion
    never reports anything.  A frame as the workspace reader typed it
    (``attrs["normal_form"]``) holds normal forms already: with ``values=False``
    its IDs, text and enumerations are checked as they are, not converted
    again (the reader reported the values it could not convert).
    """
    ent = ENTITIES[entity_key]
    st = dict(settings_defaults())
    st.update(settings or {})
    region = str(st.get("phone_region") or "CN")
    dayfirst = bool(st.get("date_dayfirst"))
    flds = [f for f in (list(fields) if fields is not None else list(ent.input_fields)) if not f.derived]
    labels = dict(labels or {})
    out = df.copy()
    normal = not values and df.attrs.get(NORMAL_FORM) is True
    found: list[pd.DataFrame] = []
    failed: dict[str, pd.Index] = {}            # field -> rows whose value did not convert
    contacts: dict[str, tuple[pd.Series, pd.Series]] = {}

    for f in flds:
        if f.key not in out.columns:
            continue
        s = out[f.key]
        col = labels.get(f.key, f.header(lang))
        bad = None
        reason = ""
        severity = ERROR
        if f.type == "phone":
            if _is_texty(s):
                out[f.key], bad = phones.to_phone(s, region)
                contacts[f.key] = (out[f.key], bad)
                reason = t("r_phone", lang).format(region=region)
                if bad.any():   # kept as typed, never rewritten: a number that only lacks its + is a warning
                    warn = phones.phone_warnings(s[bad], region)
                    if warn.any():
                        key = "r_phone_no_region" if phones.phone_region_code(region) == "ZZ" else "r_phone_plus"
                        found.append(_issues(s[bad][warn], col, f.key, WARNING, t(key, lang).format(region=region)))
                        bad = bad.copy()
                        bad[bad] = ~warn.to_numpy(dtype=bool)
        elif f.type == "email":
            if _is_texty(s):
                out[f.key], bad = nz.to_email(s)
                contacts[f.key] = (out[f.key], bad)
                reason = t("r_email", lang)
        elif f.type in DATE_TYPES:
            if not pd.api.types.is_datetime64_any_dtype(s):
                out[f.key], bad = convert_column(s, f, dayfirst=dayfirst)
                reason = t("r_date", lang)
        elif f.type in ("int", "rating", "number", "money"):
            if _is_texty(s):
                out[f.key], bad = convert_column(s, f)
                reason = t({"int": "r_int", "rating": "r_rating"}.get(f.type, "r_number"), lang)
            elif f.type == "rating":
                bad = s.notna() & ((s < 1) | (s > 5))
                reason = t("r_rating", lang)
        elif f.type == "bool":
            if _is_texty(s):
                out[f.key], bad = convert_column(s, f)
                reason = t("r_bool", lang)
                severity = ERROR if f.required else WARNING
        elif f.type == "enum":
            if _is_texty(s) and not normal:
                out[f.key], bad = _convert_enum(s, f)
                allowed = ", ".join(f.enum.labels(lang))
                if len(allowed) > 120:
                    allowed = allowed[:117] + "..."
                severity = ERROR if f.required else WARNING
                reason = t("r_enum" if f.required else "r_enum_kept", lang).format(allowed=allowed)
        elif _is_texty(s) and not normal and (values or f.required or f.key == ent.id_field
                               or ent.reference(f.key) or f.type == "person"):
            out[f.key], _ = _convert_id(s, f) if f.type == "id" else convert_column(s, f)
        if bad is not None and bad.any():
            found.append(_issues(s[bad], col, f.key, severity, reason))
            failed[f.key] = failed[f.key].append(s.index[bad]) if f.key in failed else s.index[bad]

    blank_amount = _order_line_issues(out, entity_key, labels, lang, found, failed.get("amount"))
    _non_negative_issues(out, entity_key, labels, lang, found)

    # required values
    if check_required:
        skip = set(skip_required)
        for f in flds:
            if not f.required or f.key in skip:
                continue
            if f.key not in out.columns:
                blank = pd.Series(True, index=out.index)
            else:
                blank = nz.is_blank(out[f.key]) if _is_texty(out[f.key]) and not normal else out[f.key].isna()
                if f.key in failed:
                    # a value that failed to convert is already reported: not "missing"
                    blank &= ~out.index.isin(failed[f.key])
                if f.key == "amount" and blank_amount is not None:
                    blank &= ~blank_amount      # reported with the amount the line gives

            if blank.any():
                found.append(_issues(pd.Series([None] * int(blank.sum()), index=out.index[blank]),
                                     labels.get(f.key, f.header(lang)), f.key, ERROR, t("r_required", lang)))

    # unique IDs
    idf = ent.id_field
    if check_unique and idf and idf in out.columns:
        ids = out[idf].astype("string")
        dup = _shared(ids)
        if dup.any():
            first_row = pd.Series(out.index, index=out.index)[dup].groupby(ids[dup]).transform("min")
            later = dup & ids.duplicated(keep="first")
            if later.any():
                rows = ids[later]
                iss = _issues(rows, labels.get(idf, ent.field(idf).header(lang)), idf, ERROR, "")
                iss["reason"] = [t("r_dup_id", lang).format(other=int(r)) for r in first_row[later].tolist()]
                found.append(iss)

    # references to other entities
    existing = existing or {}
    for f in flds:
        target = ent.reference(f.key)
        if f.key not in out.columns or target is None or target == entity_key or target not in existing:
            continue
        tdf = existing[target]
        tid = ENTITIES[target].id_field
        if tdf is None or tid not in tdf.columns:
            continue
        vals = out[f.key].astype("string")
        dangling = _not_in(vals, tdf[tid])
        if dangling.any():
            found.append(_issues(vals[dangling], labels.get(f.key, f.header(lang)), f.key, ERROR,
                                 t("r_ref", lang).format(entity=ENTITIES[target].sheet_name(lang))))

    # soft references: a warning with the place, the record is kept and counts
    for fkey, target in SOFT_REFERENCES.get(entity_key, ()):
        tdf = existing.get(target)
        tid = ENTITIES[target].id_field
        if fkey not in out.columns or tdf is None or tid not in tdf.columns:
            continue
        vals = out[fkey].astype("string")
        dangling = _not_in(vals, tdf[tid])
        if dangling.any():
            found.append(_issues(vals[dangling], labels.get(fkey, ENTITIES[entity_key].field(fkey).header(lang)),
                                 fkey, WARNING, t("r_ref_soft", lang).format(entity=ENTITIES[target].sheet_name(lang))))

    # people should be team members (a warning: the team may simply be incomplete)
    team = existing.get("team")
    if team is not None and "name" in team.columns and team["name"].notna().any():
        for f in flds:
            if f.type != "person" or f.key not in out.columns:
                continue
            vals = out[f.key].astype("string")
            unknown = _not_in(vals, team["name"])
            if unknown.any():
                found.append(_issues(vals[unknown], labels.get(f.key, f.header(lang)), f.key, WARNING,
                                     t("r_person", lang)))
        if entity_key == "team" and "team" in out.columns:      # a manager's Team members cell
            known = set(team["name"].dropna().astype(str).str.strip())
            cells = out["team"].astype("string")
            unknown = cells.map(lambda v: not pd.isna(v) and any(n not in known for n in names_in(v))).astype(bool)
            if unknown.any():
                f = ENTITIES["team"].field("team")
                found.append(_issues(cells[unknown], labels.get("team", f.header(lang)), "team", WARNING,
                                     t("r_person", lang)))

    issues = pd.concat(found, ignore_index=True) if found else empty_issues()
    return out, issues, contacts


# --------------------------------------------------------------------------- order lines and numbers

def line_amount(frame: pd.DataFrame) -> pd.Series:
    """``quantity x unit_price`` of each order line, rounded to cents (NaN where either is blank).

    >>> line_amount(pd.DataFrame({"quantity": [3, None], "unit_price": [19.99, 5.0]})).tolist()
    [59.97, nan]
    """
    if "quantity" not in frame.columns or "unit_price" not in frame.columns:
        return pd.Series(float("nan"), index=frame.index)
    q = pd.to_numeric(frame["quantity"], errors="coerce").astype("float64")
    p = pd.to_numeric(frame["unit_price"], errors="coerce").astype("float64")
    return (q * p).round(2)


def amount_disagrees(frame: pd.DataFrame) -> pd.Series:
    """Order lines whose amount is not ``quantity x unit_price`` beyond rounding.

    Rounding allowed: one cent plus half a cent per unit (a unit price rounded
    to cents).  A return may be written with a positive quantity and a negative
    amount (or both negative): ``-(quantity x unit_price)`` agrees too.  Lines
    without quantity, unit price or amount are never flagged.
    """
    expected = line_amount(frame)
    if "amount" not in frame.columns:
        return pd.Series(False, index=frame.index)
    amount = pd.to_numeric(frame["amount"], errors="coerce").astype("float64")
    q = pd.to_numeric(frame["quantity"], errors="coerce").astype("float64").abs()
    tol = 0.01 + 0.005 * q
    off = ((amount - expected).abs() > tol) & ((amount + expected).abs() > tol)
    return off.fillna(False).astype(bool)


def fill_line_amounts(frame: pd.DataFrame, source: pd.DataFrame | None = None) -> pd.Series:
    """Fill a blank amount of an order line from ``quantity x unit_price`` (in place); returns the rows filled.

    ``crmkit import`` does this before it checks required values, so an order
    list with quantity and unit price but no total imports complete.
    ``source`` (the rows as read) tells a blank amount from one that did not
    convert: only a blank one is filled (a bad value stays reported).
    """
    if "quantity" not in frame.columns or "unit_price" not in frame.columns:
        return pd.Series(False, index=frame.index)
    if "amount" not in frame.columns:
        frame["amount"] = pd.Series(float("nan"), index=frame.index)
    expected = line_amount(frame)
    given = source["amount"] if source is not None and "amount" in source.columns else frame["amount"]
    blank = nz.is_blank(given) if _is_texty(given) else given.isna()
    fill = (blank & expected.notna()).astype(bool)
    if fill.any():
        if _is_texty(frame["amount"]):
            frame["amount"] = frame["amount"].astype("object")
        frame.loc[fill, "amount"] = expected[fill]
    return fill


def _order_line_issues(out: pd.DataFrame, entity_key: str, labels: Mapping[str, str], lang: str,
                       found: list[pd.DataFrame], unconverted: pd.Index | None = None) -> pd.Series | None:
    """Warnings for amounts that disagree with quantity x unit price; errors for a blank amount the line gives.

    Returns the rows whose amount is blank though quantity and unit price are
    there (their "required" error is this one, with the amount to type);
    ``unconverted`` rows hold an amount that is not a number (reported already).
    """
    if entity_key != "orders" or "quantity" not in out.columns or "unit_price" not in out.columns:
        return None
    ent = ENTITIES["orders"]
    col = labels.get("amount", ent.field("amount").header(lang))
    expected = line_amount(out)
    off = amount_disagrees(out)
    if off.any():
        iss = _issues(out["amount"][off], col, "amount", WARNING, "")
        iss["reason"] = [t("r_amount_line", lang).format(expected=f"{e:,.2f}") for e in expected[off]]
        found.append(iss)
    amount = out["amount"] if "amount" in out.columns else pd.Series(None, index=out.index, dtype="object")
    blank = (nz.is_blank(amount) if _is_texty(amount) else amount.isna()) & expected.notna()
    blank = blank.astype(bool)
    if unconverted is not None:
        blank &= ~out.index.isin(unconverted)
    if blank.any():
        iss = _issues(pd.Series([None] * int(blank.sum()), index=out.index[blank]), col, "amount", ERROR, "")
        iss["reason"] = [t("r_amount_blank_line", lang).format(expected=f"{e:,.2f}") for e in expected[blank]]
        found.append(iss)
    return blank


def _non_negative_issues(out: pd.DataFrame, entity_key: str, labels: Mapping[str, str], lang: str,
                         found: list[pd.DataFrame]) -> None:
    """Negative prices, costs, reorder levels (errors) and stock (a warning), and cost above price."""
    ent = ENTITIES[entity_key]
    for (ek, fkey), severity in NON_NEGATIVE.items():
        if ek != entity_key or fkey not in out.columns:
            continue
        vals = pd.to_numeric(out[fkey], errors="coerce")
        neg = (vals < 0).fillna(False).astype(bool)
        if neg.any():
            found.append(_issues(out[fkey][neg], labels.get(fkey, ent.field(fkey).header(lang)), fkey, severity,
                                 t("r_negative" if severity == ERROR else "r_negative_stock", lang)))
    if entity_key == "products" and {"unit_price", "unit_cost"} <= set(out.columns):
        price = pd.to_numeric(out["unit_price"], errors="coerce")
        cost = pd.to_numeric(out["unit_cost"], errors="coerce")
        below = ((cost > price) & (price >= 0)).fillna(False).astype(bool)
        if below.any():
            found.append(_issues(out["unit_cost"][below], labels.get("unit_cost", ent.field("unit_cost").header(lang)),
                                 "unit_cost", WARNING, t("r_cost_above_price", lang)))


# --------------------------------------------------------------------------- completeness

def incomplete_records(df: pd.DataFrame, entity_key: str, target: float, lang: str = "en", *,
                       scores: tuple[pd.Series, pd.Series] | None = None) -> pd.DataFrame:
    """Records below the completeness target: row, ID, name, completeness and the blank fields.

    ``scores`` is :func:`completeness_scores` of ``df`` when already computed.
    """
    keys = list(ENTITIES[entity_key].completeness_fields)
    per_record, _ = scores if scores is not None else completeness_scores(df, entity_key, keys)
    below = per_record < target
    if not below.any():
        return pd.DataFrame(columns=["row", "record_id", "name", "completeness", "missing"])
    sub = df[below]
    ent = ENTITIES[entity_key]
    labels = {k: field_label(k, lang, ent) for k in keys}
    missing = pd.Series("", index=sub.index, dtype="object")
    for k in keys:
        blank = ~filled(sub[k]) if k in sub.columns else pd.Series(True, index=sub.index)
        missing[blank] = missing[blank] + labels[k] + "; "
    idf = ent.id_field
    return pd.DataFrame({
        "row": sub.index.astype("int64"),
        "record_id": sub[idf].astype("string").to_numpy() if idf and idf in sub.columns else None,
        "name": sub["name"].astype("string").to_numpy() if "name" in sub.columns else None,
        "completeness": per_record[below].round(4).to_numpy(),
        "missing": missing.str.rstrip("; ").to_numpy(),
    })


def completeness_summary(df: pd.DataFrame, entity_key: str, target: float, lang: str = "en", *,
                         scores: tuple[pd.Series, pd.Series] | None = None) -> dict:
    per_record, per_field = scores if scores is not None else completeness_scores(df, entity_key)
    overall = float(per_record.mean()) if len(per_record) else 1.0
    return {
        "entity": entity_key,
        "records": int(len(df)),
        "overall": round(overall, 4),
        "target": float(target),
        "ok": bool(overall >= target),
        "records_below_target": int((per_record < target).sum()),
        "by_field": {k: round(float(v), 4) for k, v in per_field.items()},
        "fields_below_target": [k for k, v in per_field.items() if v < target],
    }
