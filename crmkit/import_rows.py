"""Import, step 1 (validate): map a source's columns to fields and check its rows.

:func:`source_columns` says which source column fills which field (the
others are kept as extra columns); :func:`check_rows` validates the rows with
the checks of :mod:`crmkit.validate` and the import's own (repeated header
rows, total rows, text longer than a cell), keeping a row whose only problem
is a value that can be kept as typed or in Notes.  :func:`missing_required`
checks the new records once rows are folded into records.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .i18n import t
from .import_merge import INFO
from .io.sources import SourceTable
from .schema import ENTITIES, Field, norm_token
from .validate.checks import ERROR, SOFT_REFERENCES, WARNING, empty_issues, fill_line_amounts, validate_frame


@dataclass
class SourceColumns:
    """How the columns of a source map to the fields of the entity it is imported into."""

    frame: pd.DataFrame            # the source rows, matched columns renamed to field keys
    fields: list[Field]            # the entity's input fields (custom ones included)
    matched: dict[str, str]        # source header -> field key
    labels: dict[str, str]         # field key -> source header (how the report names a column)
    unmatched: list[str]           # extra columns, as they are added to the sheet

    @property
    def field_keys(self) -> set[str]:
        return {f.key for f in self.fields}


def source_columns(ws, src: SourceTable, entity: str) -> SourceColumns:
    """The field each source column fills; the other columns stay, renamed where they would clash."""
    ent = ENTITIES[entity]
    fields = [f for f in ws.fields(entity) if not f.derived]
    field_keys = {f.key for f in fields}
    matched = {h: k for h, k in src.matched.items() if k in field_keys}
    unmatched = [h for h in src.headers if h not in matched]
    labels = {k: h for h, k in matched.items()}
    data = src.data
    frame = data.rename(columns=matched)
    # an extra column whose header equals a field key of another meaning must not clash
    # (or whose header names a field another column fills, e.g. Phone when --map "Mobile=phone")
    tgt_ent = ws.entity(entity) if hasattr(ws, "entity") else ent
    heads = {norm_token(x) for f in tgt_ent.fields for x in (f.key, f.en, f.zh)}
    clash = {h for h in unmatched if h in field_keys or norm_token(h) in heads}
    for h in unmatched:
        if h in clash:
            frame = frame.rename(columns={h: f"{h} (source)"})
    unmatched_names = [h if h not in clash else f"{h} (source)" for h in unmatched]
    return SourceColumns(frame=frame, fields=fields, matched=matched, labels=labels, unmatched=unmatched_names)


def check_rows(ws, src: SourceTable, entity: str, cols: SourceColumns, settings,
               lang: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The rows normalised, their issues, and which rows are rejected (an error among their issues).

    Required values are not checked here (an existing record may have them:
    see :func:`missing_required`), nor unique IDs (rows with one ID are one record).
    """
    fields, labels = cols.fields, cols.labels
    refs = dict(ENTITIES[entity].references)
    wanted = {refs[k] for k in cols.field_keys if k in refs} | {"team"}
    wanted |= {target for k, target in SOFT_REFERENCES.get(entity, ()) if k in cols.field_keys}
    existing = {k: ws[k] for k in sorted(wanted)}
    out, issues = validate_frame(cols.frame, entity, settings=settings, fields=fields, existing=existing,
                                 labels=labels, lang=lang, check_required=False, check_unique=False)
    if entity == "orders":      # an order line with quantity and unit price but no amount: amount = their product
        filled = fill_line_amounts(out, cols.frame)
        if filled.any():
            issues = issues[~(issues["field"].eq("amount") & issues["row"].isin(out.index[filled]))]
            col = labels.get("amount", ENTITIES["orders"].field("amount").header(lang))
            issues = pd.concat([issues, pd.DataFrame({
                "row": out.index[filled].astype("int64"), "column": col, "field": "amount",
                "value": out.loc[filled, "amount"].astype(float).to_numpy(), "severity": INFO,
                "reason": t("r_amount_filled", lang)})], ignore_index=True)
    out, issues = _keep_bad_values(entity, out, issues, fields, labels, lang)
    long = _long_text(out, fields, labels, lang)
    if len(long):
        issues = pd.concat([issues, long], ignore_index=True)
    rep = _repeated_headers(src)
    if rep.any():
        issues = pd.concat([issues, pd.DataFrame({
            "row": rep.index[rep].astype("int64"), "column": "", "field": "", "value": None,
            "severity": ERROR, "reason": t("r_header_repeat", lang)})], ignore_index=True)
    tot = _total_rows(src)
    if tot.any():
        issues = pd.concat([issues, pd.DataFrame({
            "row": tot.index[tot].astype("int64"), "column": "", "field": "", "value": None,
            "severity": ERROR, "reason": t("r_total_row", lang)})], ignore_index=True)
    rejected = pd.Series(out.index.isin(issues.loc[issues["severity"] == ERROR, "row"]), index=out.index)
    return out, issues, rejected


def missing_required(new: pd.DataFrame, entity: str, fields: list[Field], id_col: str | None, labels: dict,
                     lang: str) -> tuple[list[pd.DataFrame], pd.Series]:
    """Issues for new records (one per group, ``_first`` = its first row) that lack a required value,
    and which of them are rejected (outside Customers every required value; for Customers the name)."""
    notes: list[pd.DataFrame] = []
    bad_groups = pd.Series(False, index=new.index)
    for f in fields:
        if not f.required or f.key in (id_col, "created_at"):
            continue
        miss = new[f.key].isna() if f.key in new.columns else pd.Series(True, index=new.index)
        if miss.any() and not _rejects_when_missing(entity, f.key):
            rows = new.loc[miss, "_first"].astype("int64")
            notes.append(pd.DataFrame({"row": rows.to_numpy(), "column": labels.get(f.key, f.header(lang)),
                                       "field": f.key, "value": None, "severity": WARNING,
                                       "reason": t("r_required_kept", lang).format(field=f.key)}))
            continue
        if miss.any():
            rows = new.loc[miss, "_first"].astype("int64")
            notes.append(pd.DataFrame({"row": rows.to_numpy(), "column": labels.get(f.key, f.header(lang)),
                                       "field": f.key, "value": None, "severity": ERROR,
                                       "reason": t("r_required", lang)}))
            bad_groups |= miss
    return notes, bad_groups


_TYPED = frozenset({"date", "datetime", "int", "rating", "number", "money", "bool"})
#: Excel's limit of characters in a cell.
CELL_CHARS = 32767


def _keep_bad_values(entity: str, out: pd.DataFrame, issues: pd.DataFrame, fields, labels: dict,
                     lang: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Value problems that need not lose the row: the row is kept, the problem becomes a warning.

    A value that does not convert (a bad phone or e-mail, an unknown source,
    an impossible date) is kept as typed where its column holds text (phone,
    e-mail, choice, text), or written into Notes (``Birthday: 31/02/2024``)
    where the column is typed (date, number, yes/no).  Every problem of the
    row is still reported.  What still rejects a row: the record's own ID, a
    reference to another record (``customer_id`` of an order) that does not
    resolve, a repeated header row, and (outside Customers) a required typed
    value that cannot be kept, or any typed value when the sheet has no Notes.
    """
    if issues.empty:
        return out, issues
    ent = ENTITIES[entity]
    fmap = {f.key: f for f in fields}
    hard = {ent.id_field, *dict(ent.references)}
    has_notes = "notes" in fmap
    sev = issues["severity"].copy()
    reason = issues["reason"].astype("object").copy()
    to_notes = pd.Series(False, index=issues.index)
    for key, idx in issues.groupby("field").groups.items():   # one pass per field with problems
        f = fmap.get(key)
        if f is None or key in hard:
            continue
        sub = issues.loc[idx]
        with_value = sub["value"].notna()
        if not with_value.any():
            continue
        idx = sub.index[with_value]
        if f.type in _TYPED:
            if not has_notes or (f.required and entity != "customers"):
                continue
            to_notes[idx] = True
            sev[idx] = WARNING
            reason[idx] = reason[idx].astype(str) + "; " + t("r_kept_notes", lang)
        elif (issues.loc[idx, "severity"] == ERROR).any():
            if f.required and entity != "customers":
                continue
            err = idx[issues.loc[idx, "severity"] == ERROR]
            sev[err] = WARNING
            reason[err] = reason[err].astype(str) + "; " + t("r_kept", lang)
    issues = issues.assign(severity=sev, reason=reason)
    if to_notes.any():
        moved = issues[to_notes]
        text = (moved["column"].astype(str) + ": " + moved["value"].astype(str))
        add = text.groupby(moved["row"].to_numpy()).agg("; ".join)
        add.index = add.index.astype(out.index.dtype)
        add = add[add.index.isin(out.index)]
        if "notes" not in out.columns:
            out["notes"] = pd.Series(pd.NA, index=out.index, dtype="string")
        cur = out["notes"].astype("string")
        extra = add.reindex(out.index).astype("string")
        joined = cur.where(cur.isna(), cur + "\n").fillna("") + extra
        out["notes"] = cur.where(extra.isna(), joined)
    return out, issues


def _long_text(out: pd.DataFrame, fields, labels: dict, lang: str) -> pd.DataFrame:
    """Warnings for text longer than an Excel cell holds (it is cut when written)."""
    found = []
    for f in fields:
        if f.key not in out.columns or f.type in _TYPED:
            continue
        s = out[f.key]
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            continue
        n = s.astype("string").str.len()
        long = (n > CELL_CHARS).fillna(False)
        if long.any():
            found.append(pd.DataFrame({
                "row": s.index[long].astype("int64"), "column": labels.get(f.key, f.header(lang)), "field": f.key,
                "value": [v[:60] + "..." for v in s[long].astype(str)], "severity": WARNING,
                "reason": [t("r_too_long", lang).format(n=f"{int(k):,}") for k in n[long]]}))
    return pd.concat(found, ignore_index=True) if found else empty_issues()


def _rejects_when_missing(entity: str, key: str) -> bool:
    """Whether a new record without ``key`` is rejected: for Customers only the name (the ID is generated)."""
    if entity == "customers":
        return key == "name"
    return True


_TOTAL_WORDS = frozenset({"合计", "总计", "小计", "汇总", "总数", "total", "totals", "grandtotal", "subtotal", "sum"})


def _total_rows(src: SourceTable) -> pd.Series:
    """Rows whose first non-blank cell is a total word (合计, Total): a sum below a list, not a record."""
    data = src.data
    if data.empty:
        return pd.Series(False, index=data.index)
    first = data.iloc[:, 0]
    lead_blank = first.isna()
    if lead_blank.any():   # few rows start with a blank cell: look further along those only
        first = first.astype("object").copy()
        first[lead_blank] = data[lead_blank].bfill(axis=1).iloc[:, 0].to_numpy()
    cand = first.notna() & (first.astype("string").str.len() <= 12).fillna(False)
    out = pd.Series(False, index=data.index)
    if cand.any():
        out[cand] = first[cand].map(lambda v: norm_token(v).rstrip(":：") in _TOTAL_WORDS).astype(bool)
    return out


def _repeated_headers(src: SourceTable) -> pd.Series:
    """Rows that repeat the header (two exports pasted together)."""
    data = src.data
    out = pd.Series(False, index=data.index)
    if not src.matched or data.empty:
        return out
    first = next(iter(src.matched))
    cand = data[first].astype("string").str.strip() == first
    cand = cand.fillna(False)
    if not cand.any():
        return out
    sub = data[cand]
    eq = pd.DataFrame({h: sub[h].map(lambda v, h=h: pd.notna(v) and norm_token(v) == norm_token(h))
                       for h in sub.columns})
    nonblank = sub.notna().sum(axis=1)
    hits = eq.sum(axis=1)
    out[sub.index] = (hits >= 2) & (hits * 2 >= nonblank)
    return out
