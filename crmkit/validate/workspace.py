"""Validation of a workspace, one workbook or a source file: :class:`ValidationReport`.

:func:`validate_workspace` runs the checks of :mod:`crmkit.validate.checks`
over every user sheet (each table as it is read), adds the checks across
tables (references, duplicate customers, expressions, custom fields) and
returns a :class:`ValidationReport`; :func:`validate_path` picks the right
one for a folder, a crmkit workbook or a file to import.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

import pandas as pd

from ..dedupe import find_duplicates
from ..exceptions import CrmkitError, ExpressionError, WorkbookError
from ..fields import field_problems
from ..i18n import current_lang, lang_is_set, msg, t, tr
from ..io.sources import read_source
from ..rules.compiler import compile_expression
from ..schema import DATE_TYPES, ENTITIES, Field, field_label, norm_token
from ..settings import defaults as settings_defaults
from ..settings import parse_settings
from ..workspace import Workspace, open_workspace, read_workbook_file
from .checks import (
    CHECKED_ENTITIES,
    ERROR,
    ISSUE_COLUMNS,
    WARNING,
    check_frame,
    completeness_scores,
    completeness_summary,
    empty_issues,
    fmt_pct,
    incomplete_records,
    validate_frame,
)

# --------------------------------------------------------------------------- workspace

@dataclass
class ValidationReport:
    """The outcome of :func:`validate_workspace`."""

    path: str
    issues: pd.DataFrame
    completeness: dict
    sheets: dict = dc_field(default_factory=dict)
    duplicates: int = 0
    lang: str = "en"
    rows: pd.DataFrame | None = None     # a source file's cells (for the report), None for workspaces
    incomplete: pd.DataFrame | None = None   # customers below the completeness target

    @property
    def errors(self) -> int:
        return int((self.issues["severity"] == ERROR).sum())

    @property
    def warnings(self) -> int:
        return int((self.issues["severity"] == WARNING).sum())

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def to_json(self) -> dict:
        return {"path": self.path, "errors": self.errors, "warnings": self.warnings,
                "completeness": self.completeness, "duplicate_groups": self.duplicates,
                "sheets": self.sheets}

    def text(self, limit: int = 50) -> str:
        lang = self.lang
        lines = [f"{self.path}: {self.errors} {t('errors', lang)}, {self.warnings} {t('warnings', lang)}"]
        for ent, d in self.sheets.items():
            if not d["rows"] and not d["errors"]:
                continue
            lines.append(f"  {d.get('sheet') or ent}: {d['rows']} {t('records', lang)}, "
                         f"{d['errors']} {t('errors', lang)}, {d['warnings']} {t('warnings', lang)}")
        c = self.completeness
        if c:
            lines.append(f"  {t('completeness', lang)}: {fmt_pct(c['overall'])} "
                         f"({t('target', lang)} {fmt_pct(c['target'])}"
                         f"{'' if c['ok'] else ', ' + ', '.join(field_label(k, lang, ENTITIES['customers']) for k in c['fields_below_target'][:8])})")
        if self.duplicates:
            lines.append(f"  {t('duplicate_groups', lang)}: {self.duplicates}")
        for rec in self.issues.head(limit).to_dict("records"):
            lines.append("  " + format_issue(rec, lang))
        if len(self.issues) > limit:
            lines.append("  " + msg("more_issues", n=len(self.issues) - limit).render(lang))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<ValidationReport {self.path!r} errors={self.errors} warnings={self.warnings}>"


def format_issue(rec: Mapping, lang: str = "en") -> str:
    """``file, sheet 'X', row 5, column 'Phone': error: reason (value: '123')`` (or in Chinese)."""
    zh = lang == "zh"
    parts = []
    if rec.get("file"):
        parts.append(Path(str(rec["file"])).name)
    if rec.get("sheet"):
        parts.append(f"工作表“{rec['sheet']}”" if zh else f"sheet '{rec['sheet']}'")
    if rec.get("row") is not None and not pd.isna(rec.get("row")):
        parts.append(f"第 {int(rec['row'])} 行" if zh else f"row {int(rec['row'])}")
    if rec.get("column"):
        parts.append(f"列“{rec['column']}”" if zh else f"column '{rec['column']}'")
    sev = t(str(rec.get("severity")), lang)
    sep = "，" if zh else ", "
    colon = "：" if zh else ": "
    text = f"{sep.join(parts)}{colon}{sev}{colon}{rec.get('reason')}"
    v = rec.get("value")
    if v is not None and not (isinstance(v, float) and pd.isna(v)):
        text += f"（值：{str(v)!r}）" if zh else f" (value: {str(v)!r})"
    return text


def validate_workspace(ws) -> ValidationReport:
    """Validate every user sheet of a workspace (a :class:`~crmkit.workspace.Workspace` or a path).

    >>> report = validate_workspace("sample_data")
    >>> report.errors, report.warnings
    (0, 2)
    >>> report.issues[["sheet", "row", "column", "severity", "reason"]]   # one row per problem, with its place
    """
    if not isinstance(ws, Workspace):
        ws = open_workspace(ws)
    with ws.reading_ahead(CHECKED_ENTITIES):   # each table is checked while the sheets after it are read
        lang = current_lang() if lang_is_set() else ws.lang
        found: list[pd.DataFrame] = []
        try:
            settings = ws.settings
        except Exception as exc:  # noqa: BLE001 - a bad setting is one issue, not a crash
            if not isinstance(exc, CrmkitError):
                raise
            settings = settings_defaults()
            found.append(pd.DataFrame([{"file": str(ws.file("rules")),
                                        "sheet": ENTITIES["settings"].sheet_name(lang),
                                        "row": None, "column": "value", "field": "value", "value": exc.value,
                                        "severity": ERROR,
                                        "reason": t("r_setting", lang).format(detail=exc.message)}]))
        found += order_source_issues(ws, settings, lang)
        tables = _WorkspaceTables(ws, CHECKED_ENTITIES)
        return _validate_tables(tables, str(ws.path), settings, lang, found, fields_of=ws.fields,
                                arriving=ws.tables_as_read(CHECKED_ENTITIES),
                                late=lambda: custom_field_issues(ws))


def order_source_issues(ws, settings: Mapping, lang: str) -> list[pd.DataFrame]:
    """The order source of Settings (:mod:`crmkit.orderstore`): an error when it cannot be read, a warning
    when the Orders sheet holds rows as well (they are not counted while a source is set)."""
    from ..orderstore import read_source as read_orders
    from ..orderstore import source_path, unreadable_values

    raw = settings.get("order_source")
    if raw is None or not str(raw).strip():
        return []
    path = source_path(ws)
    base = {"row": None, "field": "value", "column": "value"}
    out = []
    table = settings.get("order_source_table") or "orders"
    try:
        read_orders(path, table=table)
    except CrmkitError as exc:
        out.append({**base, "file": str(path), "sheet": None, "value": str(raw), "severity": ERROR,
                    "reason": tr(exc.message, lang)})
    else:       # text that is no number or date reads as blank: say so, with the column and an example
        for bad in unreadable_values(path, table=table, dayfirst=bool(settings.get("date_dayfirst"))):
            out.append({"row": None, "file": str(path), "sheet": None, "field": bad["field"],
                        "column": bad["column"], "value": bad["example"], "severity": WARNING,
                        "reason": msg("w_order_source_unreadable", rows=bad["rows"], column=bad["column"],
                                      example=bad["example"]).render(lang)})
    n = len(ws["orders"])
    if n:
        out.append({**base, "file": str(ws.file("customers")), "sheet": ENTITIES["orders"].sheet_name(lang),
                    "column": None, "field": None, "value": None, "severity": WARNING,
                    "reason": msg("w_orders_sheet_ignored", n=n, source=str(raw)).render(lang)})
    return [pd.DataFrame(out)] if out else []


class _WorkspaceTables(Mapping):
    """The tables ``keys`` of a workspace, each read when first looked up (``in`` reads nothing)."""

    def __init__(self, ws, keys: Iterable[str]):
        self._ws, self._keys = ws, tuple(keys)

    def __getitem__(self, key: str) -> pd.DataFrame:
        if key not in self._keys:
            raise KeyError(key)
        return self._ws[key]

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def custom_field_issues(ws) -> list[pd.DataFrame]:
    """Rows of the Fields sheet that were refused (bad key, clash with a built-in field, unknown type)."""
    problems = field_problems(ws)
    if not problems:
        return []
    return [pd.DataFrame([{"file": p.file, "sheet": p.sheet, "row": p.row, "column": p.column, "field": p.column,
                           "value": None if p.value is None else str(p.value), "severity": ERROR,
                           "reason": tr(p.reason, current_lang() if lang_is_set() else ws.lang)} for p in problems])]


#: entity -> (expression field, the entity its names refer to; None = the row's own 'entity' column)
EXPRESSION_FIELDS = {"rules": ("when", None), "campaigns": ("audience", "customers"), "routing": ("match", "customers")}


def expression_issues(tables: Mapping[str, pd.DataFrame], lang: str = "en") -> list[pd.DataFrame]:
    """Rule, audience and routing expressions that do not parse (a handful of rows each)."""
    out = []
    for key, (col, target) in EXPRESSION_FIELDS.items():
        df = tables.get(key)
        if df is None or col not in df.columns or df.empty:
            continue
        rows = []
        for row, text in df[col].dropna().items():   # a few configuration rows
            ent = target or (str(df.at[row, "entity"]) if "entity" in df.columns and pd.notna(df.at[row, "entity"])
                             else "customers")
            rid = df.at[row, ENTITIES[key].id_field] if ENTITIES[key].id_field else None
            try:
                compile_expression(text, fields=ent if ent in ENTITIES else None,
                                   rule_id=None if rid is None or pd.isna(rid) else str(rid))
            except ExpressionError as exc:
                rows.append({"row": int(row), "column": ENTITIES[key].field(col).header(lang), "field": col,
                             "value": str(text), "severity": ERROR, "reason": str(exc)})
            except Exception as exc:  # noqa: BLE001 - a checker bug must not hide the other issues
                rows.append({"row": int(row), "column": ENTITIES[key].field(col).header(lang), "field": col,
                             "value": str(text), "severity": WARNING, "reason": f"cannot check: {exc}"})
        if rows:
            iss = pd.DataFrame(rows)
            iss.insert(0, "sheet", tables[key].attrs.get("sheet") or ENTITIES[key].sheet_name(lang))
            iss.insert(0, "file", tables[key].attrs.get("file") or "")
            out.append(iss)
    return out


def _validate_tables(tables: Mapping[str, pd.DataFrame], path: str, settings: Mapping, lang: str,
                     found: list[pd.DataFrame] | None = None, fields_of=None, *,
                     arriving: Iterable[tuple[str, pd.DataFrame]] | None = None,
                     late: Callable[[], list[pd.DataFrame]] | None = None) -> ValidationReport:
    """Check every table of ``tables``; ``found`` holds issues found before (settings).

    ``arriving`` gives the tables in the order they are read (each is checked
    as it comes, and the work that needs only that table is done then, while
    the next sheets are read; the report keeps the order of ``tables``);
    ``late`` finds more issues once every table is in (custom fields).
    """
    pre = list(found or [])
    per_table: dict[str, pd.DataFrame] = {}
    expressions: dict[str, list[pd.DataFrame]] = {}
    sheets = {}
    dups = None                          # duplicate customers, found once for the issues and the count
    target = float(settings.get("completeness_target") or 0.9)
    scores = comp = incomplete = None
    for key, df in (arriving if arriving is not None else tables.items()):
        ent = ENTITIES[key]
        file = df.attrs.get("file") or ""
        sheet = df.attrs.get("sheet") or ent.sheet_name(lang)
        flds = [f for f in (fields_of(key) if fields_of else ent.fields) if not f.derived]
        labels = {f.key: f.header(lang) for f in flds}
        # values the reader could not convert (dates, numbers, enumerations)
        probs = df.attrs.get("problems") or []
        reader_issues = []
        byfield = {f.key: f for f in flds}
        for p in probs:
            fkey = next((f.key for f in flds if p.column in (f.key, f.en, f.zh) or
                         (ENTITIES[key].header_lookup.get(_nt(p.column)) == f.key)), p.column)
            f = byfield.get(fkey)
            sev = WARNING if f is not None and f.type in ("enum", "bool", "multi") and not f.required else ERROR
            reader_issues.append({"row": p.row, "column": p.column, "field": fkey, "value": p.value,
                                  "severity": sev, "reason": _problem_reason(f, lang) if f else p.reason})
        _, iss, contacts = check_frame(df, key, settings=settings, fields=flds, existing=tables, labels=labels,
                                        lang=lang, values=False)
        if reader_issues:
            iss = pd.concat([pd.DataFrame(reader_issues), iss], ignore_index=True)
        if key == "customers":
            if len(df):
                dups = _customer_duplicates(df, settings, contacts)
                if len(dups):
                    iss = pd.concat([iss, duplicate_issues(dups, df, lang)], ignore_index=True)
            scores = completeness_scores(df, "customers")
            comp = completeness_summary(df, "customers", target, lang, scores=scores)
            incomplete = incomplete_records(df, "customers", target, lang, scores=scores)
        if key in EXPRESSION_FIELDS:
            expressions[key] = expression_issues({key: df}, lang)
        if len(iss):
            iss = iss.drop_duplicates(subset=["row", "field"], keep="first")
            iss.insert(0, "sheet", sheet)
            iss.insert(0, "file", file)
        per_table[key] = iss
        sheets[key] = {"file": file, "sheet": sheet, "rows": int(len(df)),
                       "errors": int((iss["severity"] == ERROR).sum()) if len(iss) else 0,
                       "warnings": int((iss["severity"] == WARNING).sum()) if len(iss) else 0}
    for key in EXPRESSION_FIELDS:
        pre.extend(expressions.get(key, ()))
    if late is not None:
        pre.extend(late())
    order = [k for k in tables if k in per_table]
    sheets = {k: sheets[k] for k in order}
    found = pre + [per_table[k] for k in order]
    for one in pre:                  # issues found before (settings, expressions) count for their sheet
        for d in sheets.values():
            if len(one) and "sheet" in one.columns:
                mine = one[one["sheet"] == d["sheet"]]
                d["errors"] += int((mine["severity"] == ERROR).sum())
                d["warnings"] += int((mine["severity"] == WARNING).sum())
    issues = pd.concat([f for f in found if len(f)], ignore_index=True) if any(len(f) for f in found) else \
        pd.DataFrame(columns=["file", "sheet", *ISSUE_COLUMNS])
    dup_groups = int(dups["group"].nunique()) if dups is not None and len(dups) else 0
    return ValidationReport(path=path, issues=issues.reset_index(drop=True), completeness=comp or {},
                            sheets=sheets, duplicates=dup_groups, lang=lang, incomplete=incomplete)


def _customer_duplicates(customers: pd.DataFrame, settings: Mapping,
                         contacts: Mapping[str, tuple[pd.Series, pd.Series]]) -> pd.DataFrame:
    """:func:`crmkit.dedupe.find_duplicates` of the customers, reusing the phones and e-mails validation converted.

    Validation converts phone and e-mail with the same settings as the key
    builder would; their good values (bad ones blanked) are the match keys.
    """
    keys, region = settings.get("dedupe_keys"), settings.get("phone_region")
    contact_cols = [k for k in ("phone", "email") if k in customers.columns]
    if not all(k in contacts for k in contact_cols):
        return find_duplicates(customers, keys=keys, region=region)
    prepared = customers.copy(deep=False)
    for k in contact_cols:
        values, bad = contacts[k]
        prepared[k] = values.mask(bad)
    return find_duplicates(prepared, keys=keys, region=region, normalized=True)


def _nt(s):
    return norm_token(s)


def _problem_reason(f: Field, lang: str) -> str:
    if f.type in DATE_TYPES:
        return t("r_date", lang)
    if f.type == "bool":
        return t("r_bool", lang)
    if f.type == "enum" or (f.type == "multi" and f.enum is not None):
        allowed = ", ".join(f.enum.labels(lang))
        return t("r_enum" if f.required else "r_enum_kept", lang).format(allowed=allowed[:120])
    if f.type == "multi":
        return t("r_multi", lang)
    return t({"int": "r_int", "rating": "r_rating"}.get(f.type, "r_number"), lang)


def duplicate_issues(dups: pd.DataFrame, customers: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Warnings for every customer but the first of each duplicate group."""
    d = dups.copy()
    first = d.groupby("group")["customer_id"].transform("first")
    later = d[d["customer_id"] != first]
    if later.empty:
        return empty_issues()
    return pd.DataFrame({
        "row": later["row"].astype("int64").to_numpy(),
        "column": ENTITIES["customers"].field("customer_id").header(lang),
        "field": "customer_id",
        "value": later["customer_id"].to_numpy(),
        "severity": WARNING,
        "reason": [t("r_dup_customer", lang).format(other=o, key=t("key_" + k, lang))
                   for o, k in zip(first[later.index], later["key"])],
    })


def validate_path(path: str | os.PathLike) -> ValidationReport:
    """Validate a workspace folder, one crmkit workbook, or a source file to be imported."""
    p = Path(path)
    if p.is_dir():
        return validate_workspace(open_workspace(p))
    if not p.exists():
        raise WorkbookError(msg("e_file_not_found"), file=str(p))
    if p.stat().st_size == 0:
        raise WorkbookError(msg("e_file_empty"), file=str(p))
    settings = dict(settings_defaults())
    lang = current_lang()
    parent = p.resolve().parent
    if (parent / "rules.xlsx").exists() and p.name != "rules.xlsx":
        try:
            ws = open_workspace(parent)
            settings, lang = ws.settings, (current_lang() if lang_is_set() else ws.lang)
        except Exception:  # noqa: BLE001 - the neighbouring workspace is only a hint
            pass
    tables = None
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            tables = read_workbook_file(p)
        except WorkbookError as exc:
            if "no crmkit sheet" not in exc.message:
                raise
    if tables is None:
        return validate_source(p, settings=settings, lang=lang)
    if "settings" in tables:
        settings = parse_settings(tables["settings"])
    tables = {k: v for k, v in tables.items() if k in CHECKED_ENTITIES}
    return _validate_tables(tables, str(p), settings, lang)


def validate_source(path: str | os.PathLike, entity: str = "customers", *, settings: Mapping | None = None,
                    lang: str = "en") -> ValidationReport:
    """Validate a messy source file (as :func:`crmkit.importer.import_file` would read it)."""
    src = read_source(path, entity)
    frame = src.data.rename(columns=src.matched)
    labels = {v: k for k, v in src.matched.items()}
    st = dict(settings_defaults())
    st.update(settings or {})
    # import gives new records an ID and a creation date: not missing in a source
    out, iss = validate_frame(frame, entity, settings=st, labels=labels, lang=lang,
                              skip_required=(ENTITIES[entity].id_field, "created_at"))
    if len(iss):
        iss.insert(0, "sheet", src.sheet)
        iss.insert(0, "file", str(path))
    comp = completeness_summary(out, entity, float(st.get("completeness_target") or 0.9), lang) \
        if entity == "customers" else {}
    sheets = {entity: {"file": str(path), "sheet": src.sheet, "rows": int(len(out)),
                       "errors": int((iss["severity"] == ERROR).sum()) if len(iss) else 0,
                       "warnings": int((iss["severity"] == WARNING).sum()) if len(iss) else 0,
                       "header_row": src.header_row, "unmatched_columns": src.unmatched}}
    return ValidationReport(path=str(path), issues=iss if len(iss) else pd.DataFrame(
        columns=["file", "sheet", *ISSUE_COLUMNS]), completeness=comp, sheets=sheets, lang=lang, rows=src.data)
