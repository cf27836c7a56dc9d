"""Validation: the data contract checked value by value, with a place for every problem.

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

:func:`validate_workspace` runs it over a workspace (or one workbook) and
returns a :class:`ValidationReport`; :func:`write_report` writes issues to an
Excel report with the bad cells highlighted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

import pandas as pd

from . import normalize as nz
from . import phones
from .derived import completeness_scores, filled
from .exceptions import ExpressionError
from .fields import field_problems
from .i18n import TEXT, current_lang, lang_is_set, msg, t, tr
from .io.workbook import NORMAL_FORM
from .rules.compiler import compile_expression
from .schema import DATE_TYPES, ENTITIES, Field, field_label
from .settings import defaults as settings_defaults

ERROR = "error"
WARNING = "warning"
ISSUE_COLUMNS = ["row", "column", "field", "value", "severity", "reason"]

#: entities validate_workspace checks (the log sheets are written by crmkit only)
CHECKED_ENTITIES = ("customers", "interactions", "orders", "deals", "tasks", "tickets", "campaigns",
                    "messages", "rules", "routing", "team")


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


def _fmt_pct(x: float) -> str:
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
    out, issues, _ = _check_frame(df, entity_key, settings=settings, fields=fields, existing=existing,
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
    from .io.workbook import convert_column

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

    from .schema import norm_token

    return all(f.enum.lookup.get(norm_token(c)) == c and c == unicodedata.normalize("NFKC", c).strip()
               and c.lower() not in nz._BLANKS for c in f.enum.codes)


def _convert_enum(s: pd.Series, f: Field) -> tuple[pd.Series, pd.Series]:
    """``convert_column`` of an enumeration column, converting only the values that are not codes yet.

    A loaded workspace holds codes already; the values that are not (unknown
    values kept as typed, or text from a source) go through the converter.
    """
    from .io.workbook import convert_column

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


def _check_frame(df: pd.DataFrame, entity_key: str, *, settings: Mapping | None = None,
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

    from .io.workbook import convert_column

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

    issues = pd.concat(found, ignore_index=True) if found else empty_issues()
    return out, issues, contacts


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
            lines.append(f"  {t('completeness', lang)}: {_fmt_pct(c['overall'])} "
                         f"({t('target', lang)} {_fmt_pct(c['target'])}"
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
    """Validate every user sheet of a workspace (a :class:`~crmkit.workspace.Workspace` or a path)."""
    from .workspace import Workspace, open_workspace

    if not isinstance(ws, Workspace):
        ws = open_workspace(ws)
    with ws.reading_ahead(CHECKED_ENTITIES):   # each table is checked while the sheets after it are read
        lang = current_lang() if lang_is_set() else ws.lang
        found: list[pd.DataFrame] = []
        try:
            settings = ws.settings
        except Exception as exc:  # noqa: BLE001 - a bad setting is one issue, not a crash
            from .exceptions import CrmkitError

            if not isinstance(exc, CrmkitError):
                raise
            settings = settings_defaults()
            found.append(pd.DataFrame([{"file": str(ws.file("rules")),
                                        "sheet": ENTITIES["settings"].sheet_name(lang),
                                        "row": None, "column": "value", "field": "value", "value": exc.value,
                                        "severity": ERROR,
                                        "reason": t("r_setting", lang).format(detail=exc.message)}]))
        tables = _WorkspaceTables(ws, CHECKED_ENTITIES)
        return _validate_tables(tables, str(ws.path), settings, lang, found, fields_of=ws.fields,
                                arriving=ws.tables_as_read(CHECKED_ENTITIES),
                                late=lambda: custom_field_issues(ws))


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
        _, iss, contacts = _check_frame(df, key, settings=settings, fields=flds, existing=tables, labels=labels,
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
    from .dedupe import find_duplicates

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
    from .schema import norm_token

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
    from .exceptions import WorkbookError
    from .workspace import open_workspace, read_workbook_file

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
        from .settings import parse_settings

        settings = parse_settings(tables["settings"])
    tables = {k: v for k, v in tables.items() if k in CHECKED_ENTITIES}
    return _validate_tables(tables, str(p), settings, lang)


def validate_source(path: str | os.PathLike, entity: str = "customers", *, settings: Mapping | None = None,
                    lang: str = "en") -> ValidationReport:
    """Validate a messy source file (as :func:`crmkit.importer.import_file` would read it)."""
    from .io.sources import read_source

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


# --------------------------------------------------------------------------- Excel report

def write_report(path: str | os.PathLike, issues: pd.DataFrame, *, rows: pd.DataFrame | None = None,
                 summary: Mapping[str, object] | None = None, completeness: Mapping | None = None,
                 outcome: pd.DataFrame | None = None, incomplete: pd.DataFrame | None = None,
                 lang: str = "en", workspace: str | os.PathLike | None = None, inputs=(),
                 force: bool = False) -> Path:
    """An Excel report: Summary, Issues, and (given ``rows``) the flagged source rows with bad cells
    filled red (errors) or yellow (warnings).

    ``rows`` holds source cells as text, indexed by source row number, with the
    source headers as columns; ``issues`` names cells by ``row`` and ``column``
    (a source header).  ``outcome`` (indexed by row) adds outcome and record ID
    columns.  Cell text is always written as text, never as a formula.
    ``path`` is checked by :func:`crmkit.io.safety.check_output_path`: never a
    workspace workbook or one of ``inputs``; an existing file only when crmkit
    wrote it (else ``force``).
    """
    import xlsxwriter

    from .io.safety import check_output_path, mark_output, replace_file

    path = check_output_path(path, workspace=workspace, inputs=inputs, force=force, option="--report")

    def produce(target: Path) -> None:
        wb = xlsxwriter.Workbook(str(target), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False, "nan_inf_to_errors": False})
        mark_output(wb, "report")
        try:
            head = wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78", "border": 1})
            red = wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
            yellow = wb.add_format({"bg_color": "#FFEB9C", "font_color": "#9C5700"})
            bold = wb.add_format({"bold": True})
            # Summary
            ws = wb.add_worksheet(t("summary", lang))
            r = 0
            for k, v in (summary or {}).items():
                ws.write_string(r, 0, t(f"sum_{k}", lang) if f"sum_{k}" in TEXT else t(str(k), lang), bold)
                v = t("yes" if v else "no", lang) if isinstance(v, bool) else v
                _write_cell(ws, r, 1, v)
                r += 1
            if completeness:
                r += 1
                ws.write_string(r, 0, t("completeness", lang), bold)
                _write_cell(ws, r, 1, completeness.get("overall"))
                ws.write_string(r, 2, t("target", lang))
                _write_cell(ws, r, 3, completeness.get("target"))
                r += 1
                for k, v in (completeness.get("by_field") or {}).items():
                    ws.write_string(r, 0, field_label(k, lang, ENTITIES["customers"]))
                    ws.write_number(r, 1, float(v), yellow if v < completeness.get("target", 0) else None)
                    r += 1
            ws.set_column(0, 0, 28)
            ws.set_column(1, 3, 16)
            # Issues
            ws = wb.add_worksheet(t("issues", lang))
            cols = [c for c in ("file", "sheet", "row", "column", "value", "severity", "reason") if c in issues.columns]
            ws.write_row(0, 0, [t(c, lang) if c != "sheet" else t("sheet", lang) for c in cols], head)
            for i, rec in enumerate(issues[cols].itertuples(index=False), start=1):
                for j, v in enumerate(rec):
                    fmt = None
                    if cols[j] == "severity":
                        fmt = red if v == ERROR else yellow
                        v = t(str(v), lang)
                    elif cols[j] == "file" and v:
                        v = Path(str(v)).name
                    _write_cell(ws, i, j, v, fmt)
            ws.autofilter(0, 0, max(len(issues), 1), max(len(cols) - 1, 0))
            ws.freeze_panes(1, 0)
            widths = {"file": 18, "sheet": 12, "row": 7, "column": 16, "value": 24, "severity": 9, "reason": 60}
            for j, c in enumerate(cols):
                ws.set_column(j, j, widths.get(c, 14))
            # Flagged rows, source layout
            if rows is not None:
                ws = wb.add_worksheet(t("flagged_rows", lang))
                flagged = sorted(set(int(x) for x in issues["row"].dropna())) if len(issues) else []
                flagged = [x for x in flagged if x in rows.index]
                headers = [str(c) for c in rows.columns]
                extra = [t("row", lang)]
                if outcome is not None:
                    extra += [t("outcome", lang), t("record_id", lang)]
                extra.append(t("reason", lang))
                ws.write_row(0, 0, headers + extra, head)
                colpos = {h: j for j, h in enumerate(headers)}
                marks: dict[tuple[int, int], str] = {}
                reasons: dict[int, list[str]] = {}
                for rec in issues.to_dict("records"):
                    if rec.get("row") is None or pd.isna(rec.get("row")):
                        continue
                    rr = int(rec["row"])
                    j = colpos.get(str(rec.get("column")))
                    if j is not None and marks.get((rr, j)) != ERROR:
                        marks[(rr, j)] = rec["severity"]
                    reasons.setdefault(rr, []).append(f"{rec.get('column')}: {rec.get('reason')}")
                sub = rows.loc[flagged]
                for i, (rr, vals) in enumerate(zip(sub.index, sub.itertuples(index=False)), start=1):
                    for j, v in enumerate(vals):
                        sev = marks.get((int(rr), j))
                        fmt = red if sev == ERROR else yellow if sev == WARNING else None
                        _write_cell(ws, i, j, v, fmt, blank_fmt=fmt is not None)
                    k = len(headers)
                    ws.write_number(i, k, int(rr))
                    if outcome is not None and int(rr) in outcome.index:
                        o = outcome.loc[int(rr)]
                        _write_cell(ws, i, k + 1, t(str(o.get("outcome")), lang))
                        _write_cell(ws, i, k + 2, o.get("record_id"))
                    _write_cell(ws, i, len(headers) + len(extra) - 1, "; ".join(reasons.get(int(rr), [])))
                ws.freeze_panes(1, 0)
                ws.set_column(0, len(headers) - 1, 16)
                ws.set_column(len(headers) + len(extra) - 1, len(headers) + len(extra) - 1, 60)
            # records below the completeness target
            if incomplete is not None and len(incomplete):
                ws = wb.add_worksheet(t("incomplete_records", lang))
                cols = ["row", "record_id", "name", "completeness", "missing"]
                ws.write_row(0, 0, [t(c, lang) for c in cols], head)
                pct = wb.add_format({"num_format": "0%"})
                for i, rec in enumerate(incomplete[cols].itertuples(index=False), start=1):
                    for j, v in enumerate(rec):
                        _write_cell(ws, i, j, v, pct if cols[j] == "completeness" else None)
                ws.autofilter(0, 0, len(incomplete), len(cols) - 1)
                ws.freeze_panes(1, 0)
                for j, w in enumerate((7, 12, 24, 12, 60)):
                    ws.set_column(j, j, w)
        finally:
            wb.close()

    replace_file(path, produce, workspace=path.parent)
    from .io.safety import record_output

    record_output(path, workspace)
    return path


def _write_cell(ws, r: int, c: int, v, fmt=None, blank_fmt: bool = False) -> None:
    """Write one value: numbers as numbers, everything else as text (never a formula)."""
    v = nz.none_if_nan(v)
    if v is None:
        if blank_fmt:
            ws.write_blank(r, c, None, fmt)
        return
    if isinstance(v, bool):
        ws.write_string(r, c, str(v), fmt)
    elif isinstance(v, (int, float)):
        ws.write_number(r, c, v, fmt)
    elif isinstance(v, (list, tuple)):
        ws.write_string(r, c, ", ".join(map(str, v)), fmt)
    elif isinstance(v, dict):
        ws.write_string(r, c, ", ".join(f"{k}={x}" for k, x in v.items()), fmt)
    else:
        ws.write_string(r, c, str(v), fmt)
