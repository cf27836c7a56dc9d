"""Batch import of messy source files into a workspace (``crmkit import``).

>>> from crmkit.importer import import_file
>>> res = import_file("leads.csv", "my-crm")          # or .xlsx / .xlsm
>>> res.summary()   # source_rows = imported + updated + merged + rejected

Every non-blank source row below the header is accounted for, exactly once:

* **imported**: a new record, appended with a new ID (or the source's own ID);
* **updated**: the row matched an existing record by ID or by a duplicate key
  (Settings ``dedupe_keys``: phone, e-mail, company + contact) and updated it;
  ``unchanged`` counts those updates that changed nothing;
* **merged**: the row duplicates an earlier row of the same import (same ID or
  duplicate key) and was folded into that row's record;
* **rejected**: the row breaks the data contract (a required value missing for
  a new record, a value that is not of its type, a dangling reference, a
  repeated header row) and was not written; the report lists why.

Survivorship when rows meet (several source rows, or a source row and an
existing record): a non-blank value fills a blank; of two different values
the newer wins (a later source row over an earlier one, the source over the
workspace), except the record ID and ``created_at``, which keep the existing
(or earliest) value; tags are unioned.  Every changed field of an existing
record is written to History (``by = "import:<file name>"``); the replaced
value stays there.

Columns that match no field are never dropped: they are added to the target
sheet as extra columns (the workbook writer keeps them) and listed as
``unmatched_columns``.  Text starting with ``= + - @`` is stored and written
as text, never as a formula.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

import numpy as np
import pandas as pd

from . import dedupe as dd
from .i18n import t
from .schema import ENTITIES, field_label, norm_token
from .sources import SourceTable, read_source
from .validate import ERROR, WARNING, empty_issues, validate_frame, write_report

#: Prefix of generated IDs when a sheet holds no IDs yet to learn the pattern from.
ID_PREFIX = {"customers": "C", "interactions": "I", "orders": "O", "deals": "D", "tasks": "T",
             "tickets": "K", "campaigns": "M", "messages": "S", "rules": "R"}
ID_WIDTH = 5
OUTCOMES = ("imported", "updated", "merged", "rejected")
IMPORTABLE = ("customers", "interactions", "orders", "deals", "tasks", "tickets", "campaigns", "messages", "team")


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do) with every source row."""

    file: str
    entity: str
    sheet: str | None
    header_row: int
    outcome: pd.DataFrame                 # per source row: outcome, record_id (index = source row)
    issues: pd.DataFrame                  # file, sheet, row, column, field, value, severity, reason
    unmatched_columns: list[str]
    column_map: dict[str, str]
    blank_rows: int = 0
    unchanged: int = 0
    history_rows: int = 0
    dry_run: bool = False
    report: str | None = None
    encoding: str | None = None
    created_at_filled: int = 0
    lang: str = "en"
    seconds: dict = dc_field(default_factory=dict)
    completeness: dict = dc_field(default_factory=dict)   # of the accepted source rows
    suggested_map: dict = dc_field(default_factory=dict)  # unmatched header -> likely field key (dry run hint)
    defaults_applied: dict = dc_field(default_factory=dict)
    joined_columns: dict = dc_field(default_factory=dict)  # field key -> source headers joined into it
    map_saved: bool = False

    def count(self, outcome: str) -> int:
        return int((self.outcome["outcome"] == outcome).sum())

    @property
    def source_rows(self) -> int:
        return int(len(self.outcome))

    @property
    def imported(self) -> int:
        return self.count("imported")

    @property
    def updated(self) -> int:
        return self.count("updated")

    @property
    def merged(self) -> int:
        return self.count("merged")

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    @property
    def errors(self) -> int:
        return int((self.issues["severity"] == ERROR).sum()) if len(self.issues) else 0

    @property
    def warnings(self) -> int:
        return int((self.issues["severity"] == WARNING).sum()) if len(self.issues) else 0

    @property
    def exit_code(self) -> int:
        return 1 if self.rejected or self.errors else 0

    def summary(self) -> dict:
        """The JSON of ``crmkit import --json`` (source_rows = imported + updated + merged + rejected)."""
        return {
            "source_rows": self.source_rows, "imported": self.imported, "updated": self.updated,
            "merged": self.merged, "rejected": self.rejected, "unmatched_columns": self.unmatched_columns,
            "unchanged": self.unchanged, "blank_rows": self.blank_rows, "errors": self.errors,
            "warnings": self.warnings, "history_rows": self.history_rows, "dry_run": self.dry_run,
            "file": self.file, "sheet": self.sheet, "header_row": self.header_row, "entity": self.entity,
            "encoding": self.encoding, "column_map": self.column_map, "report": self.report,
            "created_at_filled": self.created_at_filled,
            "completeness": self.completeness.get("overall"),
            "completeness_target": self.completeness.get("target"),
            "suggested_map": self.suggested_map, "defaults_applied": self.defaults_applied,
            "joined_columns": self.joined_columns, "map_saved": self.map_saved,
        }

    def text(self, limit: int = 30) -> str:
        lang = self.lang
        zh = lang == "zh"
        where = (f"（工作表“{self.sheet}”）" if zh else f" (sheet '{self.sheet}')") if self.sheet else ""
        head = f"表头在第 {self.header_row} 行" if zh else f"header row {self.header_row}"
        lines = [f"{Path(self.file).name}{where}, {head}: "
                 f"{self.source_rows} {t('source_rows', lang).lower()} = "
                 f"{self.imported} {t('imported', lang)} + {self.updated} {t('updated', lang)} "
                 f"({self.unchanged} {t('unchanged', lang)}) + {self.merged} {t('merged', lang)} + "
                 f"{self.rejected} {t('rejected', lang)}"]
        if self.blank_rows:
            lines.append(f"  {t('blank_rows', lang)}: {self.blank_rows}")
        if self.unmatched_columns:
            lines.append(f"  {t('unmatched_columns', lang)}: {', '.join(self.unmatched_columns)}")
        if self.suggested_map:
            from .mapping import map_option

            lines.append(f"  {t('suggested_map', lang)}: --map \"{map_option(self.suggested_map)}\"")
        if self.joined_columns:
            lines.append(f"  {t('joined_columns', lang)}: " + ", ".join(
                f"{' + '.join(v)} -> {k}" for k, v in self.joined_columns.items()))
        if self.defaults_applied:
            lines.append(f"  {t('defaults_applied', lang)}: " + ", ".join(
                f"{k}={v}" for k, v in self.defaults_applied.items()))
        if self.map_saved:
            lines.append(f"  {t('map_saved', lang)}")
        if self.errors or self.warnings:
            lines.append(f"  {self.errors} {t('errors', lang)}, {self.warnings} {t('warnings', lang)}")
        c = self.completeness
        if c:
            lines.append(f"  {t('completeness', lang)}: {c['overall']:.0%} ({t('target', lang)} {c['target']:.0%})"
                         + ("" if c["ok"] else ": " + ", ".join(field_label(k, lang, ENTITIES[self.entity])
                                                             for k in c["fields_below_target"][:8])))
        from .validate import format_issue

        for rec in self.issues.head(limit).to_dict("records"):
            lines.append("  " + format_issue(rec, lang))
        if len(self.issues) > limit:
            lines.append(f"  ... {len(self.issues) - limit} more" + (f" (see {self.report})" if self.report else ""))
        if self.dry_run:
            lines.append(f"  {t('dry_run_note', lang)}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- IDs

def next_ids(existing: pd.Series, n: int, entity: str) -> list[str]:
    """``n`` new IDs following the pattern of the existing ones (``C00042`` -> ``C00043``...)."""
    if n <= 0:
        return []
    ids = existing.dropna().astype(str)
    parts = ids.str.extract(r"^([A-Za-z_\-]*)(\d+)$").dropna()
    if len(parts):
        prefix = parts[0].mode().iloc[0]
        same = parts[parts[0] == prefix]
        width = int(same[1].str.len().max())
        start = int(same[1].astype("int64").max()) + 1
    else:
        prefix, width, start = ID_PREFIX.get(entity, entity[:1].upper()), ID_WIDTH, 1
    taken = set(ids)
    out, k = [], start
    while len(out) < n:
        cand = f"{prefix}{k:0{width}d}"
        if cand not in taken:
            out.append(cand)
        k += 1
    return out


# --------------------------------------------------------------------------- the import

def import_file(source: str | os.PathLike, into: str | os.PathLike, *, entity: str = "customers",
                dry_run: bool = False, report: str | os.PathLike | None = None, by: str | None = None,
                at: pd.Timestamp | None = None, sheet: str | None = None,
                progress: bool = False, mapping=(), defaults=(), save_mapping: bool = False) -> ImportResult:
    """Import ``source`` (.xlsx, .xlsm or .csv) into the workspace ``into``.

    Returns an :class:`ImportResult`; writes the changed workbook (and History)
    unless ``dry_run``; writes an Excel report of issues when ``report`` is given.
    Raises :class:`~crmkit.exceptions.UsageError` subclasses for an unreadable
    source or workspace.

    ``entity`` may be named in English or Chinese (``客户``).  ``mapping``
    holds ``--map`` texts (``"Mobile=phone,email_work=email"``), ``defaults``
    ``--default`` texts (``"source=other"``); ``save_mapping`` stores the
    ``--map`` pairs in the ImportMap sheet for later imports (see
    :mod:`crmkit.mapping`).
    """
    import time

    from .safety import workspace_lock
    from .schema import resolve_entity
    from .workspace import open_workspace

    entity = resolve_entity(entity, IMPORTABLE)
    def step(key: str) -> None:
        if progress:
            import sys

            print(f"crmkit import: {t(key, ws.lang)} ...", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    ws = open_workspace(into)          # checks the folder (exit 2 when it is no workspace); reads nothing yet
    lock = contextlib.nullcontext() if dry_run else workspace_lock(ws.path)
    with lock:
        # the workspace's entity carries its custom fields (Fields sheet): their headers match too
        target = ws.entity(entity) if hasattr(ws, "entity") else ENTITIES[entity]
        step("step_read")
        src = read_source(source, target, sheet=sheet)
        t1 = time.perf_counter()
        step("step_check")
        from . import mapping as mp

        explicit = mp.parse_map(mapping, target)
        dflt = mp.settings_defaults(ws.settings, target)
        dflt.update(mp.parse_defaults(defaults, target))
        mplan = mp.apply_mapping(src, target, explicit, mp.saved_map(ws, entity), dflt, ws.lang)
        before = {k: len(ws[k]) for k in (entity, "history")}
        result, changed = plan_import(ws, src, entity, by=by, at=at)
        check_sheet_rows(ws, before)
        result.suggested_map = mp.suggestions(target, [h for h in src.headers if h not in src.matched], src.matched)
        result.defaults_applied = dict(mplan.defaults)
        if mplan.name_rows:
            named = pd.DataFrame({"file": src.file, "sheet": src.sheet, "row": mplan.name_rows,
                                  "column": mplan.name_column, "field": "name", "value": None,
                                  "severity": WARNING, "reason": t("r_name_from_contact", ws.lang)})
            result.issues = (pd.concat([result.issues, named], ignore_index=True)
                             .sort_values("row", kind="stable").reset_index(drop=True))
        result.joined_columns = dict(mplan.joined)
        if save_mapping and explicit:
            mp.save_map(ws, entity, [(s, f) for s, f in _map_specs(mapping, target)])
            result.map_saved = True
            changed = True
        t2 = time.perf_counter()
        result.dry_run = dry_run
        if changed and not dry_run:
            step("step_write")
            ws.save()
        t3 = time.perf_counter()
    if report is not None:
        rep = result.issues
        write_report(report, rep, rows=src.data, outcome=result.outcome, lang=result.lang,
                     summary={t(k, result.lang): v for k, v in result.summary().items()
                              if k not in ("column_map", "report")},
                     completeness=result.completeness or None)
        result.report = str(report)
    result.seconds = {"read": round(t1 - t0, 3), "plan": round(t2 - t1, 3), "write": round(t3 - t2, 3)}
    return result


#: Rows of an Excel (and LibreOffice) sheet, the header row included: more are cut off when the file is opened.
EXCEL_MAX_ROWS = 1_048_576


def check_sheet_rows(ws, before: dict[str, int]) -> None:
    """Refuse (before anything is written) a change that leaves a sheet with more rows than Excel holds."""
    from .exceptions import DataError
    from .schema import workbook_file

    for key, n0 in before.items():
        n = len(ws[key])
        if n + 1 > EXCEL_MAX_ROWS:
            ent = ENTITIES[key]
            raise DataError(
                f"{n0:,} existing + {n - n0:,} new rows = {n:,} rows: an Excel sheet holds {EXCEL_MAX_ROWS - 1:,} "
                f"rows below its header, and Excel and LibreOffice would cut off the rest; nothing was written. "
                f"Import fewer rows, or move old records to an archive workbook first",
                file=str(ws.file(ent.workbook)) if hasattr(ws, "file") else workbook_file(ent.workbook),
                sheet=ent.sheet_name(ws.lang))


def _map_specs(mapping, ent) -> list[tuple[str, str]]:
    from .mapping import parse_map

    return parse_map(mapping, ent)


#: Field types whose column cannot hold a value that did not convert (it goes to Notes instead).
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
    from .validate import REFERENCES

    if issues.empty:
        return out, issues
    ent = ENTITIES[entity]
    fmap = {f.key: f for f in fields}
    hard = {ent.id_field, *REFERENCES}
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


def _content_key(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """All values of ``columns`` as one text key (for matching records that have no ID)."""
    if df.empty:
        return pd.Series(pd.NA, index=df.index, dtype="string")
    parts = [dd.as_text(df[c]).fillna("") if c in df.columns else pd.Series("", index=df.index, dtype="string")
             for c in columns]
    key = parts[0]
    for p in parts[1:]:
        key = key + "\x1f" + p
    return key.astype("string")


def plan_import(ws, src: SourceTable, entity: str = "customers", *, by: str | None = None,
                at: pd.Timestamp | None = None) -> tuple[ImportResult, bool]:
    """Work out (and apply to the in-memory workspace) what importing ``src`` does.

    Returns the result and whether the workspace changed; nothing is written
    to disk here (``ws.save()`` does that).
    """
    ent = ENTITIES[entity]
    lang = ws.lang
    settings = ws.settings
    at = at if at is not None else pd.Timestamp.now().floor("s")
    by = by or f"import:{src.name}"
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

    from .validate import REFERENCES

    wanted = {REFERENCES[k] for k in field_keys if k in REFERENCES} | {"team"}
    existing = {k: ws[k] for k in sorted(wanted)}
    out, issues = validate_frame(frame, entity, settings=settings, fields=fields, existing=existing,
                                 labels=labels, lang=lang, check_required=False, check_unique=False)
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

    cur = ws[entity]
    id_col = ent.id_field
    valid = out[~rejected]
    outcome = pd.DataFrame({"outcome": pd.Series("rejected", index=out.index, dtype="object"),
                            "record_id": pd.Series(pd.NA, index=out.index, dtype="string")})
    new_issues: list[pd.DataFrame] = []
    changed = False
    unchanged = 0
    filled_created = 0
    history = None

    if len(valid):
        # ---- keys: the record ID, plus duplicate keys for customers
        key_cols = {}
        if id_col and id_col in valid.columns:
            key_cols["id"] = valid[id_col].astype("string")
        cur_keys = {}
        if id_col and id_col in cur.columns:
            cur_keys["id"] = cur[id_col].astype("string")
        if entity == "customers":
            keys = dd.parse_keys(settings.get("dedupe_keys"))
            region = settings.get("phone_region")
            kin = dd.key_frame(valid, keys, region, normalized=True)   # validate_frame normalised them
            kcur = dd.key_frame(cur, keys, region) if len(cur) else pd.DataFrame(index=cur.index, columns=keys)
            for k in keys:
                key_cols[k] = kin[k]
                cur_keys[k] = kcur[k].astype("string")
        else:
            # records without an ID whose every imported value equals an existing record's (or an
            # earlier row's) are the same record: importing a file twice creates no duplicates
            content = [f.key for f in fields if f.key in valid.columns and f.key != id_col]
            if content:
                blank_id = valid[id_col].isna() if id_col in valid.columns else pd.Series(True, index=valid.index)
                key_cols["content"] = _content_key(valid, content).where(blank_id)
                cur_keys["content"] = _content_key(cur, content)
        kf = pd.DataFrame(key_cols, index=valid.index)
        comp = pd.Series(dd.components(kf) if len(kf.columns) else np.arange(len(valid)), index=valid.index)
        # ---- match to existing records (ID first, then the keys in order)
        match = pd.Series(pd.NA, index=valid.index, dtype="object")
        for k, s in kf.items():
            if k not in cur_keys or not len(cur):
                continue
            ck = cur_keys[k]
            lookup = pd.Series(cur.index[ck.notna()], index=ck[ck.notna()].to_numpy())
            lookup = lookup[~lookup.index.duplicated(keep="first")]
            m = s.map(lookup)
            match = match.where(match.notna(), m)
        target = match.groupby(comp).transform("first")
        conflict = match.notna() & target.notna() & (match != target)
        if conflict.any():
            other = cur.loc[match[conflict].astype("int64"), id_col] if id_col else match[conflict]
            iss = pd.DataFrame({"row": conflict.index[conflict].astype("int64"), "column": "", "field": "",
                                "value": list(other), "severity": WARNING,
                                "reason": [t("r_conflict", lang).format(other=o) for o in other]})
            new_issues.append(iss)
        # rows that meet the same existing record form one group, whatever key brought them
        group = np.where(target.notna(), "t" + target.astype("string").fillna(""),
                         "c" + comp.astype(str))
        group = pd.Series(group, index=valid.index)
        first_row = pd.Series(valid.index, index=valid.index).groupby(group).transform("min")
        is_first = first_row == valid.index
        # ---- fold duplicate rows into one incoming record per group
        size = group.map(group.value_counts())
        multi = size > 1
        union = [c for c in ("tags",) if c in valid.columns]
        mins = [c for c in ("created_at",) if c in valid.columns]
        firsts = [id_col] if id_col in valid.columns else []
        singles = valid[~multi].copy()
        singles.index = group[~multi].to_numpy()
        if multi.any():
            folded = dd.fold(valid[multi], group[multi], first_cols=firsts, min_cols=mins, union_cols=union)
            incoming = pd.concat([singles, folded])
        else:
            incoming = singles
        group_first = first_row.groupby(group).first()
        tgt_of_group = target.groupby(group).first()
        incoming["_first"] = group_first.reindex(incoming.index).to_numpy()
        incoming["_target"] = tgt_of_group.reindex(incoming.index).to_numpy()
        incoming = incoming.sort_values("_first", kind="stable")

        # ---- new records
        new = incoming[incoming["_target"].isna()].drop(columns=["_target"])
        bad_groups = pd.Series(False, index=new.index)
        for f in fields:
            if not f.required or f.key in (id_col, "created_at"):
                continue
            miss = new[f.key].isna() if f.key in new.columns else pd.Series(True, index=new.index)
            if miss.any() and not _rejects_when_missing(entity, f.key):
                rows = new.loc[miss, "_first"].astype("int64")
                new_issues.append(pd.DataFrame({"row": rows.to_numpy(), "column": labels.get(f.key, f.header(lang)),
                                                "field": f.key, "value": None, "severity": WARNING,
                                                "reason": t("r_required_kept", lang).format(field=f.key)}))
                continue
            if miss.any():
                rows = new.loc[miss, "_first"].astype("int64")
                new_issues.append(pd.DataFrame({"row": rows.to_numpy(), "column": labels.get(f.key, f.header(lang)),
                                                "field": f.key, "value": None, "severity": ERROR,
                                                "reason": t("r_required", lang)}))
                bad_groups |= miss
        if bad_groups.any():
            bad_g = set(new.index[bad_groups])
            in_bad = group.isin(bad_g)
            later = in_bad & ~is_first
            if later.any():
                new_issues.append(pd.DataFrame({
                    "row": later.index[later].astype("int64"), "column": "", "field": "", "value": None,
                    "severity": ERROR,
                    "reason": [t("r_merged_bad", lang).format(other=int(r)) for r in first_row[later]]}))
            new = new[~bad_groups]
            # these rows are rejected: take them out of the groups
            valid_ok = ~in_bad
        else:
            valid_ok = pd.Series(True, index=valid.index)
        if "created_at" in field_keys:
            if "created_at" not in new.columns:
                new["created_at"] = pd.Series(pd.NaT, index=new.index, dtype="datetime64[ns]")
            blank_created = new["created_at"].isna()
            filled_created = int(blank_created.sum())
            f_created = ent.field("created_at") if ent.has("created_at") else None
            stamp = at.normalize() if f_created is not None and f_created.type == "date" else at
            new.loc[blank_created, "created_at"] = stamp
        if id_col:
            if id_col not in new.columns:
                new[id_col] = pd.Series(pd.NA, index=new.index, dtype="string")
            need = new[id_col].isna()
            taken = pd.concat([cur[id_col].astype("string") if id_col in cur.columns else pd.Series(dtype="string"),
                               new[id_col].astype("string")])
            new.loc[need, id_col] = next_ids(taken, int(need.sum()), entity)
        new_ids = new[id_col] if id_col else pd.Series(pd.NA, index=new.index)

        # ---- updates of existing records
        upd = incoming[incoming["_target"].notna()]
        upd_ids = pd.Series(dtype="string")
        if len(upd):
            tgt_rows = upd["_target"].astype("int64").to_numpy()
            old = cur.loc[tgt_rows].copy()
            inc = upd.drop(columns=["_first", "_target"])
            inc.index = old.index
            merged_rec = old.copy()
            for c in inc.columns:
                if c not in merged_rec.columns:
                    merged_rec[c] = pd.Series(pd.NA, index=merged_rec.index, dtype="string")
                if c == id_col:
                    continue
                if c == "created_at":
                    merged_rec[c] = merged_rec[c].where(merged_rec[c].notna(), inc[c])
                elif c in union:
                    both = pd.concat([merged_rec[c], inc[c]])
                    joined = dd.union_tag_groups(both, both.index.to_numpy())
                    merged_rec[c] = joined.reindex(merged_rec.index).astype(merged_rec[c].dtype)
                else:
                    merged_rec[c] = inc[c].where(inc[c].notna(), merged_rec[c])
                    try:
                        merged_rec[c] = merged_rec[c].astype(old[c].dtype) if c in old.columns else merged_rec[c]
                    except (TypeError, ValueError):
                        pass
            ids = old[id_col] if id_col else pd.Series(old.index.astype(str), index=old.index)
            history = dd.changes(old, merged_rec[[c for c in merged_rec.columns]], ids, entity, at, by)
            changed_rows = set(history["record_id"]) if len(history) else set()
            unchanged = int((~ids.astype(str).isin(changed_rows)).sum())
            upd_ids = pd.Series(ids.to_numpy(), index=upd.index)
            if len(history):
                new_cur = cur.copy()
                for c in merged_rec.columns:
                    if c not in new_cur.columns:
                        new_cur[c] = pd.Series(pd.NA, index=new_cur.index, dtype="string")
                new_cur.loc[merged_rec.index, list(merged_rec.columns)] = merged_rec
                ws.replace(entity, new_cur)
                changed = True
        if len(new):
            ws.append(entity, new.drop(columns=["_first"]))
            changed = True
        if history is not None and len(history):
            ws.append("history", history)

        # ---- the outcome of every row
        rec_of_group = pd.concat([pd.Series(new_ids.to_numpy(), index=new.index), upd_ids]).astype("string")
        upd_groups = set(upd.index)
        vg = group[valid_ok]
        outcome.loc[vg.index, "record_id"] = vg.map(rec_of_group).astype("string")
        first = is_first[valid_ok]
        kind = np.where(vg.isin(upd_groups), "updated", "imported")
        outcome.loc[vg.index, "outcome"] = np.where(first, kind, "merged")

    if new_issues:
        issues = pd.concat([issues, *new_issues], ignore_index=True)
    if len(issues):
        issues = issues.sort_values("row", kind="stable").reset_index(drop=True)
        issues.insert(0, "sheet", src.sheet)
        issues.insert(0, "file", src.file)
    else:
        issues = empty_issues()
        issues.insert(0, "sheet", None)
        issues.insert(0, "file", None)
    result = ImportResult(file=src.file, entity=entity, sheet=src.sheet, header_row=src.header_row,
                          outcome=outcome, issues=issues, unmatched_columns=unmatched_names,
                          column_map=dict(matched), blank_rows=src.blank_rows, unchanged=unchanged,
                          history_rows=0 if history is None else int(len(history)), encoding=src.encoding,
                          created_at_filled=filled_created, lang=lang)
    if entity == "customers" and len(valid):
        from .validate import completeness_summary

        result.completeness = completeness_summary(valid, entity, float(settings.get("completeness_target") or 0.9))
    return result, changed

