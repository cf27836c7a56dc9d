"""Batch import of messy source files into a workspace (``crmkit import``).

>>> from crmkit.importer import import_file
>>> res = import_file("leads.csv", "my-crm")          # or .xlsx / .xlsm
>>> res.summary()   # source_rows = imported + updated + merged + rejected

Every non-blank source row below the header is accounted for, exactly once:

* **imported**: a new record, appended with a new ID (or the source's own ID);
* **updated**: the row matched an existing record and updated it: by its own
  ID first (a row's existing ID always wins), else by a duplicate key
  (Settings ``dedupe_keys``: phone, e-mail, company + contact; placeholders
  and values shared too widely never match, and the company and contact must
  agree: see :mod:`crmkit.dedupe`); ``unchanged`` counts those updates that
  changed nothing;
* **merged**: the row is the same record as an earlier row of the import
  (same ID, or a duplicate key as above) and was folded into that row's
  record.  Rows with different IDs are never merged; rows of other entities
  without an ID are never merged (two equal orders are two purchases);
* **rejected**: the row breaks the data contract (a required value missing for
  a new record, a value that is not of its type, a dangling reference, a
  repeated header row) and was not written; the report lists why.

Every merge is listed: a note (severity ``info``) on the row, naming the row
or record it joined and the key that matched, and a History row
(``merged_from``) where the workspace changed.

Survivorship, ``update="fill-blanks"`` (the default, ``--update fill-blanks``):
the existing record keeps its non-blank values and only its blanks are
filled; differing notes are appended; a value of the file that was not taken
is listed as a note.  Several rows of one record: the first row's values
stay, later rows fill its blanks.  ``update="overwrite"``: a non-blank value of
the file replaces the existing one (a later row over an earlier one).  Either
way the record ID and ``created_at`` keep the existing (or earliest) value,
tags are unioned, a blank never erases, and every changed field of an
existing record is written to History (``by = "import:<file name>"``) with
the replaced value.

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
from .i18n import TEXT, current_lang, lang_is_set, msg, t
from .ids import next_ids
from .io.sources import SourceTable, read_source
from .schema import ENTITIES, IMPORTABLE, field_label, norm_token
from .validate import ERROR, WARNING, empty_issues, validate_frame, write_report

OUTCOMES = ("imported", "updated", "merged", "rejected")


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
    written: list = dc_field(default_factory=list)   # the workbooks a real import wrote
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
    update: str = "fill-blanks"
    identical_without_id: int = 0         # rows without an ID repeating another's values (all kept)

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
    def notes(self) -> int:
        return int((self.issues["severity"] == INFO).sum()) if len(self.issues) else 0

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
            "update": self.update, "notes": self.notes, "identical_without_id": self.identical_without_id,
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
        if self.identical_without_id:
            lines.append(f"  {t('identical_without_id', lang)}: {self.identical_without_id}")
        from .validate import format_issue

        # errors and warnings first, then the notes (merges, values kept)
        shown = self.issues
        if len(shown):
            shown = shown.assign(_n=(shown["severity"] == INFO).to_numpy()).sort_values(
                "_n", kind="stable").drop(columns="_n")
        for rec in shown.head(limit).to_dict("records"):
            lines.append("  " + format_issue(rec, lang))
        if len(self.issues) > limit:
            lines.append("  " + msg("more_issues_see" if self.report else "more_issues", n=len(self.issues) - limit,
                                    report=str(self.report)).render(lang))
        if self.dry_run:
            lines.append(f"  {t('dry_run_note', lang)}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- the import

def import_file(source: str | os.PathLike, into: str | os.PathLike, *, entity: str = "customers",
                dry_run: bool = False, report: str | os.PathLike | None = None, by: str | None = None,
                at: pd.Timestamp | None = None, sheet: str | None = None,
                progress: bool = False, mapping=(), defaults=(), save_mapping: bool = False,
                force: bool = False, update: str = "fill-blanks") -> ImportResult:
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

    from .io.safety import workspace_lock
    from .schema import resolve_entity
    from .workspace import open_workspace

    entity = resolve_entity(entity, IMPORTABLE)
    update = check_update_mode(update)
    def step(key: str) -> None:
        if progress:
            import sys

            print(f"crmkit import: {t(key, ws.lang)} ...", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    ws = open_workspace(into)          # checks the folder (exit 2 when it is no workspace); reads nothing yet
    if report is not None:             # before anything is imported: never over the workspace or the source
        from .io.safety import check_output_path

        check_output_path(report, workspace=ws.path, inputs=[source], force=force, option="--report")
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
        result, changed = plan_import(ws, src, entity, by=by, at=at, update=update)
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
            result.written = [str(p) for p in (ws.save() or [])]
        t3 = time.perf_counter()
    if report is not None:
        rep = result.issues
        write_report(report, rep, rows=src.data, outcome=result.outcome, lang=result.lang,
                     summary={t(f"sum_{k}" if f"sum_{k}" in TEXT else k, result.lang): v for k, v in result.summary().items()
                              if k not in ("column_map", "report")},
                     completeness=result.completeness or None, workspace=ws.path, inputs=[source],
                     force=force)
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


UPDATE_MODES = ("fill-blanks", "overwrite")
#: Severity of the notes an import lists next to errors and warnings (merges, values kept).
INFO = "info"


def check_update_mode(update: str | None) -> str:
    """``fill-blanks`` (default) or ``overwrite``; UsageError for anything else."""
    mode = (update or "fill-blanks").strip().lower().replace("_", "-")
    if mode in ("fill", "fill-blank"):
        mode = "fill-blanks"
    if mode not in UPDATE_MODES:
        from .exceptions import UsageError

        raise UsageError(f"--update must be one of {', '.join(UPDATE_MODES)}, not {update!r}")
    return mode


def _linked_by(frame: pd.DataFrame, group: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """Per record, the first key column (in order) whose value it shares with another member of its group."""
    key = pd.Series(pd.NA, index=frame.index, dtype="object")
    value = pd.Series(pd.NA, index=frame.index, dtype="object")
    multi = np.bincount(group, minlength=len(group))[group] > 1 if len(group) else np.zeros(0, dtype=bool)
    if not multi.any():
        return key, value
    sub, g = frame[multi], group[multi]
    k = pd.Series(pd.NA, index=sub.index, dtype="object")
    v = pd.Series(pd.NA, index=sub.index, dtype="object")
    for c in sub.columns:
        col = sub[c]
        pair = pd.DataFrame({"g": g, "v": col.to_numpy()}, index=sub.index)
        shared = col.notna() & pair.duplicated(keep=False) & k.isna()
        k[shared] = c
        v[shared] = col[shared]
    key[multi] = k.to_numpy()
    value[multi] = v.to_numpy()
    return key, value


def _match_customers(valid: pd.DataFrame, cur: pd.DataFrame, settings, id_col: str):
    """Groups of rows that are one customer, the existing record each group updates, and the link.

    Returns ``group`` (a label per row), ``target`` (the existing record's
    index, or NA for a new record), ``link`` (the key that joined the row to
    its group: ``id``, a dedupe key, or NA), ``link_value``, and ``apart``
    (key and existing ID a row shares but was kept apart from, or NA).  A row's own
    existing ID wins: it updates that record whatever its other values.  Rows
    sharing an ID are one record.  The rest are matched by the dedupe keys,
    placeholders and widely shared values excepted, and only where the members
    agree (:func:`crmkit.dedupe.agreeing_groups`): an ID that differs, or a
    company or contact that differs, keeps records apart.
    """
    keys = dd.parse_keys(settings.get("dedupe_keys"))
    region = settings.get("phone_region")
    sid = valid[id_col].astype("string") if id_col in valid.columns else pd.Series(pd.NA, index=valid.index,
                                                                                 dtype="string")
    cid = cur[id_col].astype("string") if id_col in cur.columns and len(cur) else pd.Series(dtype="string")
    cur_pos = pd.Series(np.arange(len(cid)), index=cid.to_numpy())
    cur_pos = cur_pos[~cur_pos.index.duplicated(keep="first")] if len(cur_pos) else cur_pos
    exists = pd.Series(dd.isin(sid, pd.Series(cur_pos.index, dtype="string")), index=sid.index)
    # one node per foreign ID (its first row) and per row without an ID; rows with an existing ID are fixed
    node = (sid.isna() | ~sid.duplicated()) & ~exists
    kin = dd.key_frame(valid[node], keys, region, normalized=True)   # validate_frame normalised them
    kin.insert(0, "id", sid[node])
    if len(cur):
        kcur = dd.key_frame(cur, keys, region)
        relevant = pd.Series(False, index=cur.index)
        for k in keys:
            vals = kin[k].dropna()
            if len(vals):
                relevant |= dd.isin(kcur[k], vals)
        kcur = kcur[relevant.to_numpy()]
        kcur.insert(0, "id", cid[relevant.to_numpy()].to_numpy())
        e_rows = cur.index[relevant.to_numpy()]
    else:
        kcur = pd.DataFrame(columns=["id", *keys], dtype="string")
        e_rows = cur.index[:0]
    ne = len(kcur)
    both = pd.concat([kcur.reset_index(drop=True), kin.reset_index(drop=True)], ignore_index=True)
    both = dd.mask_keys(both, settings.get("dedupe_max_shared"))
    nodes = valid[node]

    def agree(at: np.ndarray) -> pd.DataFrame:      # the agreement values of linked records only
        e, r = at[at < ne], at[at >= ne] - ne
        out = pd.concat([dd.agree_frame(cur.loc[e_rows[e]]), dd.agree_frame(nodes.iloc[r])], ignore_index=True)
        out.insert(0, "id", both["id"].iloc[at].to_numpy())
        return out

    label = dd.agreeing_groups(both, agree)
    link, link_value = _linked_by(both, label)
    # rows kept apart from an existing record they share a key value with (company or contact differ)
    apart_key = pd.Series(pd.NA, index=valid.index, dtype="object")
    apart_id = pd.Series(pd.NA, index=valid.index, dtype="object")
    if ne:
        node_idx0 = valid.index[node.to_numpy()]
        for k in keys:
            ev = both[k].iloc[:ne]
            ok = ev.notna().to_numpy()
            if not ok.any():
                continue
            lookup = pd.Series(np.flatnonzero(ok), index=ev[ok].to_numpy())
            lookup = lookup[~lookup.index.duplicated(keep="first")]
            m = both[k].iloc[ne:].map(lookup)
            hit = np.array(m.notna().to_numpy(), dtype=bool)
            if hit.any():
                mm = m.to_numpy()[hit].astype(np.int64)
                hit[hit] = label[ne:][hit] != label[mm]
            hit = hit & apart_key.reindex(node_idx0).isna().to_numpy()
            if hit.any():
                apart_key[node_idx0[hit]] = k
                apart_id[node_idx0[hit]] = both["id"].iloc[m.to_numpy()[hit].astype(np.int64)].to_numpy()
    lab_nodes = label[ne:]
    is_upd = lab_nodes < ne
    tgt_nodes = np.full(len(lab_nodes), -1, dtype=np.int64)
    tgt_nodes[is_upd] = np.asarray(e_rows, dtype=np.int64)[lab_nodes[is_upd]]
    node_group = pd.Series(tgt_nodes).astype(str).radd("t").where(
        is_upd, pd.Series(lab_nodes).astype(str).radd("c")).to_numpy()
    node_target = pd.Series(tgt_nodes)
    group = pd.Series("", index=valid.index, dtype="object")
    target = pd.Series(pd.NA, index=valid.index, dtype="object")
    lk = pd.Series(pd.NA, index=valid.index, dtype="object")
    lv = pd.Series(pd.NA, index=valid.index, dtype="object")
    node_idx = valid.index[node.to_numpy()]
    group[node_idx] = node_group
    target[node_idx] = node_target.where(node_target >= 0).astype("object").to_numpy()
    lk[node_idx] = link.iloc[ne:].to_numpy()
    lv[node_idx] = link_value.iloc[ne:].to_numpy()
    # rows with an existing ID: that record
    if exists.any():
        rows = cur.index[cur_pos.reindex(sid[exists]).to_numpy()]
        group[exists] = "t" + pd.Series(rows).astype(str).to_numpy()
        target[exists] = rows.to_numpy()
        lk[exists] = "id"
        lv[exists] = sid[exists]
    # later rows of a foreign ID: the group of its first row
    later = sid.notna() & ~exists & ~node
    if later.any():
        first_of_id = pd.Series(group[node & sid.notna()].to_numpy(), index=sid[node & sid.notna()].to_numpy())
        tgt_of_id = pd.Series(target[node & sid.notna()].to_numpy(), index=sid[node & sid.notna()].to_numpy())
        group[later] = first_of_id.reindex(sid[later]).to_numpy()
        target[later] = tgt_of_id.reindex(sid[later]).to_numpy()
        lk[later] = "id"
        lv[later] = sid[later]
    target = target.where(target.notna(), pd.NA)
    return group, target, lk, lv, (apart_key, apart_id)


def _match_by_id(valid: pd.DataFrame, cur: pd.DataFrame, id_col: str | None):
    """Rows of other entities: a row with an existing ID updates that record, rows sharing an ID are one
    record, and every row without an ID is a record of its own (two identical purchases are two)."""
    sid = valid[id_col].astype("string") if id_col and id_col in valid.columns else \
        pd.Series(pd.NA, index=valid.index, dtype="string")
    group = pd.Series("r" + pd.Series(valid.index).astype(str).to_numpy(), index=valid.index, dtype="object")
    target = pd.Series(pd.NA, index=valid.index, dtype="object")
    has = sid.notna()
    group[has] = "i" + sid[has]
    if id_col and id_col in cur.columns and len(cur) and has.any():
        cid = cur[id_col].astype("string")
        lookup = pd.Series(cur.index[cid.notna()], index=cid[cid.notna()].to_numpy())
        lookup = lookup[~lookup.index.duplicated(keep="first")]
        hit = sid.map(lookup)
        target = target.where(hit.isna(), hit.astype("object"))
    link = pd.Series(np.where(has & sid.duplicated(keep=False), "id", None), index=valid.index, dtype="object")
    link[target.notna()] = "id"
    return group, target, link, sid.astype("object"), None


def _merge_notes(outcome: pd.DataFrame, first_row: pd.Series, link: pd.Series, link_value: pd.Series,
                 updates: pd.Series, lang: str, source: str, entity: str, at, by: str, *,
                 changed_ids: set) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """Notes (severity ``info``) for rows merged into another row's record or matched to an existing
    record by a duplicate key, and History rows (``merged_from``) for those whose record changed."""
    from . import normalize as nz

    later = outcome["outcome"] == "merged"
    fuzzy = (outcome["outcome"] == "updated") & link.notna() & (link != "id")
    listed = later | fuzzy
    if not listed.any():
        return [], pd.DataFrame()
    key = link[listed].fillna("id").astype(str)
    value = link_value[listed].astype("string")
    contact = key.isin(["phone", "email"]).to_numpy()
    if contact.any():
        value[contact] = nz.mask_contact(value[contact])
    key_text = [t("key_" + k, lang) for k in key]
    rec = outcome.loc[listed, "record_id"].astype("string")
    reasons = [t("r_merged_into_row", lang).format(other=int(f), key=k, value=v) if m else
               t("r_matched_existing", lang).format(other=r, key=k, value=v)
               for m, f, k, v, r in zip(later[listed], first_row[listed], key_text, value.fillna(""), rec.fillna(""))]
    notes = [pd.DataFrame({"row": listed.index[listed].astype("int64"), "column": "", "field": "",
                           "value": None, "severity": INFO, "reason": reasons})]
    hit = dd.isin(rec, pd.Series(list(changed_ids), dtype="string"))
    rows = listed.index[listed][hit]
    hist = dd.history_frame(at, entity, rec[hit], "merged_from",
                            pd.Series([f"{source} row {int(r)}" for r in rows], dtype="string"), rec[hit], by) \
        if hit.any() else pd.DataFrame()
    return notes, hist


def _label(f, text: str, lang: str) -> str:
    """A stored value as the user reads it: an enumeration's code as its label in ``lang``."""
    if f is None or f.enum is None or f.type == "bool" or not isinstance(text, str):
        return text
    return ";".join(f.enum.label(x, lang) for x in text.split(";"))


def _identical_without_id(valid: pd.DataFrame, id_col: str | None) -> int:
    """Rows without an ID whose values repeat an earlier such row (kept: two equal purchases are two)."""
    blank = valid[id_col].isna() if id_col and id_col in valid.columns else pd.Series(True, index=valid.index)
    if blank.sum() < 2:
        return 0
    cols = [c for c in valid.columns if c != id_col]
    return int(valid.loc[blank, cols].duplicated().sum()) if cols else 0


def _fold_rows(rows: pd.DataFrame, labels: pd.Series, update: str, *, firsts, mins, union) -> pd.DataFrame:
    """One incoming record per group of rows: with ``fill-blanks`` the first row's values stay and later
    rows fill its blanks (notes appended); with ``overwrite`` the last non-blank value wins."""
    if update == "overwrite":
        return dd.fold(rows, labels, first_cols=firsts, min_cols=mins, union_cols=union)
    out = dd.fold(rows, labels, first_cols=firsts, min_cols=mins, union_cols=union)
    g = rows.groupby(labels, sort=False)
    for c in rows.columns:
        if c in firsts or c in mins or c in union:
            continue
        if c in dd.APPEND_FIELDS:
            v = dd.join_notes(rows[c], labels.to_numpy()).reindex(out.index)
        else:
            v = g[c].first().reindex(out.index)
        try:
            out[c] = v.astype(rows[c].dtype)
        except (TypeError, ValueError):
            out[c] = v
    return out


def _update_records(old: pd.DataFrame, inc: pd.DataFrame, update: str, *, id_col: str | None,
                    union) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Existing records ``old`` updated from the aligned incoming records ``inc``.

    ``fill-blanks``: the existing non-blank values stay, blanks are filled,
    notes that differ are appended; ``overwrite``: a non-blank incoming value
    replaces the existing one.  Tags are unioned and ``created_at`` keeps the
    existing date either way.  Returns the records and, for ``fill-blanks``,
    the incoming values not taken (``at, field, old, new``: ``at`` is the index).
    """
    merged_rec = old.copy()
    kept = []
    for c in inc.columns:
        if c not in merged_rec.columns:
            merged_rec[c] = pd.Series(pd.NA, index=merged_rec.index, dtype="string")
        if c == id_col:
            continue
        if c == "created_at":
            merged_rec[c] = merged_rec[c].where(merged_rec[c].notna(), inc[c])
            continue
        if c in union:
            both = pd.concat([merged_rec[c], inc[c]])
            joined = dd.union_tag_groups(both, both.index.to_numpy())
            merged_rec[c] = joined.reindex(merged_rec.index).astype(merged_rec[c].dtype)
            continue
        if update == "overwrite":
            v = inc[c].where(inc[c].notna(), merged_rec[c])
        elif c in dd.APPEND_FIELDS:
            both = pd.concat([merged_rec[c], inc[c]])
            v = dd.join_notes(both, both.index.to_numpy()).reindex(merged_rec.index)
        else:
            v = merged_rec[c].where(merged_rec[c].notna(), inc[c])
            o_text, n_text = dd.as_text(merged_rec[c]), dd.as_text(inc[c])
            differ = o_text.notna() & n_text.notna() & (o_text != n_text)
            if differ.any():
                kept.append(pd.DataFrame({"at": merged_rec.index[differ.to_numpy()], "field": c,
                                          "old": o_text[differ].to_numpy(), "new": n_text[differ].to_numpy()}))
        try:
            merged_rec[c] = v.astype(old[c].dtype) if c in old.columns else v
        except (TypeError, ValueError):
            merged_rec[c] = v
    kept_df = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=["at", "field", "old", "new"])
    return merged_rec, kept_df


def plan_import(ws, src: SourceTable, entity: str = "customers", *, by: str | None = None,
                at: pd.Timestamp | None = None, update: str = "fill-blanks") -> tuple[ImportResult, bool]:
    """Work out (and apply to the in-memory workspace) what importing ``src`` does.

    ``update`` says how a row changes the existing record it matches:
    ``fill-blanks`` (default) keeps its values and fills its blanks,
    ``overwrite`` lets the row's non-blank values replace them.

    Returns the result and whether the workspace changed; nothing is written
    to disk here (``ws.save()`` does that).
    """
    ent = ENTITIES[entity]
    update = check_update_mode(update)
    lang = current_lang() if lang_is_set() else ws.lang
    settings = ws.settings
    at = at if at is not None else pd.Timestamp.now().floor("s")
    by = by or f"import:{src.name}"
    fields = [f for f in ws.fields(entity) if not f.derived]
    field_keys = {f.key for f in fields}
    by_key = {f.key: f for f in fields}
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

    refs = dict(ent.references)
    wanted = {refs[k] for k in field_keys if k in refs} | {"team"}
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
    identical = 0
    history = None

    if len(valid):
        # ---- which rows are one record, and which existing record each group updates (see crmkit.dedupe)
        if entity == "customers":
            group, target, link, link_value, apart = _match_customers(valid, cur, settings, id_col)
        else:
            group, target, link, link_value, apart = _match_by_id(valid, cur, id_col)
        if apart is not None and apart[0].notna().any():
            ak, aid = apart[0].dropna(), apart[1][apart[0].notna()]
            new_issues.append(pd.DataFrame({
                "row": ak.index.astype("int64"), "column": "", "field": "", "value": None, "severity": INFO,
                "reason": [t("r_not_merged", lang).format(key=t("key_" + k, lang), other=o)
                           for k, o in zip(ak, aid)]}))
        first_row = pd.Series(valid.index, index=valid.index).groupby(group).transform("min")
        is_first = first_row == valid.index
        identical = _identical_without_id(valid, id_col) if entity != "customers" else 0
        # ---- fold duplicate rows into one incoming record per group
        size = group.map(group.value_counts())
        multi = size > 1
        union = [c for c in dd.UNION_FIELDS if c in valid.columns]
        mins = [c for c in ("created_at",) if c in valid.columns]
        firsts = [id_col] if id_col in valid.columns else []
        singles = valid[~multi].copy()
        singles.index = group[~multi].to_numpy()
        if multi.any():
            folded = _fold_rows(valid[multi], group[multi], update, firsts=firsts, mins=mins, union=union)
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
            new.loc[need, id_col] = next_ids(entity, taken, int(need.sum()))
        new_ids = new[id_col] if id_col else pd.Series(pd.NA, index=new.index)

        # ---- updates of existing records
        upd = incoming[incoming["_target"].notna()]
        upd_ids = pd.Series(dtype="string")
        changed_rows: set = set()
        if len(upd):
            tgt_rows = upd["_target"].astype("int64").to_numpy()
            old = cur.loc[tgt_rows].copy()
            inc = upd.drop(columns=["_first", "_target"])
            inc.index = old.index
            merged_rec, kept = _update_records(old, inc, update, id_col=id_col, union=union)
            ids = old[id_col] if id_col else pd.Series(old.index.astype(str), index=old.index)
            if len(kept):
                first_of = pd.Series(upd["_first"].to_numpy(), index=old.index)
                new_issues.append(pd.DataFrame({
                    "row": first_of.loc[kept["at"]].astype("int64").to_numpy(),
                    "column": [labels.get(c, c) for c in kept["field"]], "field": kept["field"].to_numpy(),
                    "value": kept["new"].to_numpy(), "severity": INFO,
                    "reason": [t("r_kept_existing", lang).format(old=repr(_label(by_key.get(c), o, lang)))
                               for c, o in zip(kept["field"], kept["old"])]}))
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

        # ---- the outcome of every row
        rec_of_group = pd.concat([pd.Series(new_ids.to_numpy(), index=new.index), upd_ids]).astype("string")
        upd_groups = set(upd.index)
        vg = group[valid_ok]
        outcome.loc[vg.index, "record_id"] = vg.map(rec_of_group).astype("string")
        first = is_first[valid_ok]
        kind = np.where(vg.isin(upd_groups), "updated", "imported")
        outcome.loc[vg.index, "outcome"] = np.where(first, kind, "merged")

        # ---- every merge listed: a note in the report, and History where the workspace changed
        notes, merge_hist = _merge_notes(outcome.loc[vg.index], first_row[valid_ok], link[valid_ok],
                                         link_value[valid_ok], vg.isin(upd_groups), lang, src.name, entity, at, by,
                                         changed_ids=set(new_ids.astype(str)) | changed_rows)
        new_issues += notes
        if len(merge_hist):
            history = merge_hist if history is None else pd.concat([history, merge_hist], ignore_index=True)
            changed = True
        if history is not None and len(history):
            ws.append("history", history)

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
                          created_at_filled=filled_created, lang=lang, update=update,
                          identical_without_id=identical)
    if entity == "customers" and len(valid):
        from .validate import completeness_summary

        result.completeness = completeness_summary(valid, entity, float(settings.get("completeness_target") or 0.9))
    return result, changed

