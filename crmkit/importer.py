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
from .import_merge import (
    INFO,
    count_identical_without_id,
    fold_groups,
    match_rows,
    merge_notes,
    update_existing,
)
from .import_rows import check_rows, missing_required, source_columns
from .io.sources import SourceTable, read_source
from .schema import ENTITIES, IMPORTABLE, field_label
from .validate import ERROR, WARNING, empty_issues, write_report

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
    order_store: dict = dc_field(default_factory=dict)   # orders appended to a Parquet store (crmkit.order_import)

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
            **self.order_store,
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
        if self.order_store:
            lines.append(f"  {t('store_rows_before', lang)}: {self.order_store['store_rows_before']:,}")
            if self.order_store.get("store_part"):
                lines.append(f"  {t('store_part_written', lang)}: {self.order_store['store_part']}")
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

    Orders go to the Parquet order store instead of the Orders sheet when
    Settings ``order_source`` names a folder (:mod:`crmkit.order_import`):
    the same checks, one new part file, an order ID the store has rejected.
    """
    import time

    from .io.journal import workspace_lock
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
        from .io.outputs import check_output_path

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
        # orders go to the Parquet order store when Settings name one (crmkit.order_import), else to the sheet
        from .order_import import store_import

        store = store_import(ws, entity, create=not dry_run)
        if store is not None:
            store.prepare(ws, src)
        before = {k: len(ws[k]) for k in (entity, "history")}
        result, changed = plan_import(ws, src, entity, by=by, at=at, update=update)
        if store is None:
            check_sheet_rows(ws, before)
        else:
            changed = store.settle(ws, result)
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
        if store is not None and not dry_run:
            step("step_write")     # a new part file; the workbooks only for a saved --map (never the Orders sheet)
            part = [str(store.write())] if store.new is not None and len(store.new) else []
            result.written = part + [str(p) for p in (ws.save(["rules"]) if result.map_saved else [])]
        elif changed and not dry_run:
            step("step_write")
            result.written = [str(p) for p in (ws.save() or [])]
        if store is not None:
            result.order_store = store.summary()
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



UPDATE_MODES = ("fill-blanks", "overwrite")
#: Severity of the notes an import lists next to errors and warnings (merges, values kept).


def check_update_mode(update: str | None) -> str:
    """``fill-blanks`` (default) or ``overwrite``; UsageError for anything else."""
    mode = (update or "fill-blanks").strip().lower().replace("_", "-")
    if mode in ("fill", "fill-blank"):
        mode = "fill-blanks"
    if mode not in UPDATE_MODES:
        from .exceptions import UsageError

        raise UsageError(f"--update must be one of {', '.join(UPDATE_MODES)}, not {update!r}")
    return mode



def plan_import(ws, src: SourceTable, entity: str = "customers", *, by: str | None = None,
                at: pd.Timestamp | None = None, update: str = "fill-blanks") -> tuple[ImportResult, bool]:
    """Work out (and apply to the in-memory workspace) what importing ``src`` does.

    ``update`` says how a row changes the existing record it matches:
    ``fill-blanks`` (default) keeps its values and fills its blanks,
    ``overwrite`` lets the row's non-blank values replace them.

    The steps: validate the rows (:mod:`crmkit.import_rows`), match them to
    records, merge them into new and existing records, and list every merge
    and change in History (:mod:`crmkit.import_merge`).  Returns the result
    and whether the workspace changed; nothing is written to disk here
    (``ws.save()`` does that).
    """
    ent = ENTITIES[entity]
    update = check_update_mode(update)
    lang = current_lang() if lang_is_set() else ws.lang
    settings = ws.settings
    at = at if at is not None else pd.Timestamp.now().floor("s")
    by = by or f"import:{src.name}"
    # ---- validate
    cols = source_columns(ws, src, entity)
    out, issues, rejected = check_rows(ws, src, entity, cols, settings, lang)

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
        # ---- match: which rows are one record, and which existing record each group updates
        groups = match_rows(valid, cur, entity, settings, id_col, lang)
        new_issues += groups.notes
        identical = count_identical_without_id(valid, id_col) if entity != "customers" else 0
        # ---- merge: one incoming record per group, then new records and updates of existing ones
        union = [c for c in dd.UNION_FIELDS if c in valid.columns]
        incoming = fold_groups(valid, groups, update, id_col=id_col, union=union)
        new, valid_ok, notes, filled_created = _new_records(incoming, groups, cur, ent, cols, lang, at)
        new_issues += notes
        new_ids = new[id_col] if id_col else pd.Series(pd.NA, index=new.index)
        upd = incoming[incoming["_target"].notna()]
        updates = update_existing(cur, upd, update, id_col=id_col, union=union, labels=cols.labels,
                                  by_key={f.key: f for f in cols.fields}, lang=lang, entity=entity, at=at, by=by)
        new_issues += updates.notes
        history, unchanged = updates.history, updates.unchanged
        if updates.records is not None:
            ws.replace(entity, updates.records)
            changed = True
        if len(new):
            ws.append(entity, new.drop(columns=["_first"]))
            changed = True
        upd_groups = set(upd.index)
        vg = _row_outcomes(outcome, groups, valid_ok, new, new_ids, updates.ids, upd_groups)

        # ---- history: every merge listed, a note in the report and History where the workspace changed
        notes, merge_hist = merge_notes(outcome.loc[vg.index], groups.first_row[valid_ok], groups.link[valid_ok],
                                        groups.link_value[valid_ok], vg.isin(upd_groups), lang, src.name, entity,
                                        at, by, changed_ids=set(new_ids.astype(str)) | updates.changed_ids)
        new_issues += notes
        if len(merge_hist):
            history = merge_hist if history is None else pd.concat([history, merge_hist], ignore_index=True)
            changed = True
        if history is not None and len(history):
            ws.append("history", history)

    result = ImportResult(file=src.file, entity=entity, sheet=src.sheet, header_row=src.header_row,
                          outcome=outcome, issues=_issue_table(issues, new_issues, src),
                          unmatched_columns=cols.unmatched,
                          column_map=dict(cols.matched), blank_rows=src.blank_rows, unchanged=unchanged,
                          history_rows=0 if history is None else int(len(history)), encoding=src.encoding,
                          created_at_filled=filled_created, lang=lang, update=update,
                          identical_without_id=identical)
    if entity == "customers" and len(valid):
        from .validate import completeness_summary

        result.completeness = completeness_summary(valid, entity, float(settings.get("completeness_target") or 0.9))
    return result, changed


def _new_records(incoming: pd.DataFrame, groups, cur: pd.DataFrame, ent, cols, lang: str,
                 at: pd.Timestamp) -> tuple[pd.DataFrame, pd.Series, list[pd.DataFrame], int]:
    """The incoming records that match no existing one, ready to append: required values checked
    (groups missing one are rejected, all their rows), ``created_at`` stamped where blank, IDs given.

    Returns the records, which valid rows are still accepted, the issues and
    how many ``created_at`` were filled.
    """
    entity, id_col = ent.key, ent.id_field
    group, first_row, is_first = groups.group, groups.first_row, groups.is_first
    new = incoming[incoming["_target"].isna()].drop(columns=["_target"])
    notes, bad_groups = missing_required(new, entity, cols.fields, id_col, cols.labels, lang)
    if bad_groups.any():
        bad_g = set(new.index[bad_groups])
        in_bad = group.isin(bad_g)
        later = in_bad & ~is_first
        if later.any():
            notes.append(pd.DataFrame({
                "row": later.index[later].astype("int64"), "column": "", "field": "", "value": None,
                "severity": ERROR,
                "reason": [t("r_merged_bad", lang).format(other=int(r)) for r in first_row[later]]}))
        new = new[~bad_groups]
        # these rows are rejected: take them out of the groups
        valid_ok = ~in_bad
    else:
        valid_ok = pd.Series(True, index=group.index)
    filled_created = 0
    if "created_at" in cols.field_keys:
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
        new.loc[need, id_col] = next_ids(ent.key, taken, int(need.sum()))
    return new, valid_ok, notes, filled_created


def _row_outcomes(outcome: pd.DataFrame, groups, valid_ok: pd.Series, new: pd.DataFrame, new_ids: pd.Series,
                  upd_ids: pd.Series, upd_groups: set) -> pd.Series:
    """Fill in ``outcome`` (imported, updated or merged, and the record ID) for every accepted row;
    returns the group of each accepted row."""
    rec_of_group = pd.concat([pd.Series(new_ids.to_numpy(), index=new.index), upd_ids]).astype("string")
    vg = groups.group[valid_ok]
    outcome.loc[vg.index, "record_id"] = vg.map(rec_of_group).astype("string")
    first = groups.is_first[valid_ok]
    kind = np.where(vg.isin(upd_groups), "updated", "imported")
    outcome.loc[vg.index, "outcome"] = np.where(first, kind, "merged")
    return vg


def _issue_table(issues: pd.DataFrame, new_issues: list[pd.DataFrame], src: SourceTable) -> pd.DataFrame:
    """Every issue of the import, by row, with the file and sheet it is on."""
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
    return issues
