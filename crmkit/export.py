"""Exports: a filtered table of one entity, to Excel or CSV, in the workspace language.

>>> ws = open_workspace("sample_data")
>>> export_frame(ws, "customers", where='value_tier == "high_value"', columns=["name", "phone"])
>>> export(ws, "customers", "vip.xlsx", where='intent_level == "A"')

The filter is the rule language (:mod:`crmkit.rules.compiler`), so custom fields,
Chinese headers and derived fields (``days_since_interaction``,
``value_tier`` ...) work as in rules.  Phone numbers and e-mails are masked
(``138****5678``) unless ``unmasked`` or the ``show_full_contacts`` setting.
CSV files are UTF-8 with a BOM (Excel then reads Chinese text correctly) and
text that Excel would run as a formula (``= + - @``) is neutralised; .xlsx
files hold such text as text cells.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .derived import add_derived
from .exceptions import UsageError
from .i18n import msg
from .schema import ENTITIES, Field

FORMATS = ("xlsx", "csv")
#: Entities that may be exported (the log sheets too: they are read-only records).
EXPORTABLE = tuple(ENTITIES)


@dataclass
class ExportResult:
    """Where an export went and what it holds."""

    path: Path
    entity: str
    rows: int
    columns: list[str]
    format: str
    masked: bool

    def to_dict(self) -> dict:
        return {"file": str(self.path), "entity": self.entity, "rows": self.rows, "columns": self.columns,
                "format": self.format, "masked": self.masked}


def _entity_key(ws, entity: str) -> str:
    from .schema import resolve_entity

    return resolve_entity(entity, EXPORTABLE)


def _frame_with_derived(ws, entity: str, as_of) -> pd.DataFrame:
    """The entity's frame; customers get their derived fields (days_since_interaction, value_tier ...)."""
    if entity == "customers":
        return add_derived(ws, as_of)
    return ws[entity]


def _fieldset(ws, entity: str):
    from .rules.context import FieldSet

    return FieldSet(ws.entity(entity))


def filter_frame(ws, entity: str, frame: pd.DataFrame, where: str | None, as_of) -> pd.DataFrame:
    """Rows of ``frame`` where the rule expression ``where`` holds (all rows when blank)."""
    if where is None or not str(where).strip():
        return frame
    from .rules.compiler import compile_expression
    from .rules.context import EvalContext

    fs = _fieldset(ws, entity)
    expr = compile_expression(where, fields=fs.with_columns(frame.columns))
    customers = _frame_with_derived(ws, "customers", as_of) if entity != "customers" and "customer_id" in frame \
        else None
    ctx = EvalContext(frame, as_of=as_of, entity=entity, settings=ws.settings, messages=ws["messages"],
                      customers=customers, fields=fs, lang=ws.lang)
    mask = expr.evaluate(frame, ctx)
    return frame[mask.to_numpy(dtype=bool)]


def extra_columns(ws, entity: str) -> list[str]:
    """The columns of ``entity``'s sheet that are no field (added by hand in the table, or by an import)."""
    ent = ws.entity(entity)
    return [str(c) for c in ws[entity].columns
            if not ent.has(c) and not str(c).startswith("__UNNAMED__") and not str(c).startswith("_")]


def _extra_field(name: str) -> Field:
    """A plain text Field standing for an extra column (its header is its own name in both languages)."""
    return Field(name, name, name, "text")


def resolve_columns(ws, entity: str, columns, frame_columns) -> list[Field]:
    """The Fields to export: ``columns`` (keys, headers or extra columns' names, in order), or every input
    field followed by the extra columns of the sheet."""
    ent = ws.entity(entity)
    extras = [c for c in extra_columns(ws, entity) if c in frame_columns]
    if not columns:
        return [f for f in ent.fields if not f.derived] + [_extra_field(c) for c in extras]
    names: list[str] = []
    for c in ([columns] if isinstance(columns, str) else list(columns)):
        names += [x.strip() for x in re.split(r"[,;，；]", str(c)) if x.strip()]
    fs = _fieldset(ws, entity).with_columns(extras)
    out: list[Field] = []
    unknown = []
    for n in names:
        key = fs.resolve(n)
        f = fs.field(key) if key else None
        if f is None and key in extras:
            f = _extra_field(key)
        if f is None or key in fs.customer_fields or key not in frame_columns:
            unknown.append(n)
            continue
        if f not in out:
            out.append(f)
    if unknown:
        known = ", ".join([f.key for f in ent.fields if not f.derived] + extras)
        raise UsageError(msg("e_no_columns", entity=entity, unknown=", ".join(map(repr, unknown)), known=known))
    return out


def export_frame(ws, entity: str, *, where: str | None = None, columns=None, as_of=None,
                 unmasked: bool | None = None) -> tuple[pd.DataFrame, list[Field]]:
    """The filtered rows and chosen columns (canonical keys and codes), contacts masked; and their Fields."""
    entity = _entity_key(ws, entity)
    as_of = ws.as_of(as_of)
    frame = _frame_with_derived(ws, entity, as_of)
    rows = filter_frame(ws, entity, frame, where, as_of)
    fields = resolve_columns(ws, entity, columns, frame.columns)
    out = rows[[f.key for f in fields]].copy()
    if unmasked is None:
        unmasked = bool(ws.settings.get("show_full_contacts"))
    if not unmasked:
        from .normalize import mask_contact

        for f in fields:
            if f.type in ("phone", "email"):
                out[f.key] = mask_contact(out[f.key])
    return out, fields


def display_frame(df: pd.DataFrame, fields: list[Field], lang: str) -> pd.DataFrame:
    """Values as a person reads them in ``lang`` (labels, yes/no, dates as text), headers as labels."""
    from .i18n import t

    data = {}
    for f in fields:
        s = df[f.key]
        if f.type == "bool":
            v = s.astype("boolean").map({True: t("yes", lang), False: t("no", lang)}).astype("object")
        elif f.enum is not None and f.type == "multi":
            labels = {c.code: c.label(lang) for c in f.enum.choices}
            v = s.astype("string").str.split(";").map(
                lambda xs, labels=labels: ";".join(labels.get(x, x) for x in xs) if isinstance(xs, list) else None)
        elif f.enum is not None:
            labels = {c.code: c.label(lang) for c in f.enum.choices}
            v = s.astype("string").map(lambda x, labels=labels: labels.get(x, x) if isinstance(x, str) else None)
        elif pd.api.types.is_datetime64_any_dtype(s):
            fmt = "%Y-%m-%d" if f.type == "date" else "%Y-%m-%d %H:%M"
            v = s.dt.strftime(fmt)
        else:
            v = s
        data[f.header(lang)] = v.reset_index(drop=True)
    return pd.DataFrame(data)


def _default_out(ws, entity: str, fmt: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return ws.path / "reports" / f"{entity}-{stamp}.{fmt}"


def export(ws, entity: str, out: str | os.PathLike | None = None, *, where: str | None = None, columns=None,
           fmt: str | None = None, unmasked: bool | None = None, as_of=None, force: bool = False) -> ExportResult:
    """Write the filtered table of ``entity`` to ``out`` (.xlsx or .csv); see the module docs.

    ``out`` is checked by :func:`crmkit.io.outputs.check_output_path`: never a
    workspace workbook; an existing file only when crmkit wrote it (else
    ``force``).
    """
    from .io.outputs import check_output_path
    from .workspace import Workspace, open_workspace

    if not isinstance(ws, Workspace):
        ws = open_workspace(ws)
    if out is not None:
        check_output_path(out, workspace=ws.path, force=force)
    suffix = Path(out).suffix.lower().lstrip(".") if out is not None else ""
    if fmt is None:
        fmt = suffix if suffix in FORMATS else "xlsx"
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise UsageError(msg("e_format", fmt=repr(fmt)))
    if suffix in FORMATS and suffix != fmt:
        raise UsageError(msg("e_out_suffix", suffix=suffix, fmt=fmt), file=str(out))
    entity = _entity_key(ws, entity)
    df, fields = export_frame(ws, entity, where=where, columns=columns, as_of=as_of, unmasked=unmasked)
    masked = not (unmasked if unmasked is not None else bool(ws.settings.get("show_full_contacts")))
    path = Path(out) if out is not None else _default_out(ws, entity, fmt)
    if path.is_dir():
        raise UsageError(msg("e_out_folder"), file=str(path))
    lang = ws.lang
    from .io.safety import replace_file

    if fmt == "csv":
        table = _neutralise(display_frame(df, fields, lang))
        replace_file(path, lambda target: table.to_csv(target, index=False, encoding="utf-8-sig"),
                     workspace=ws.path)
        from .io.outputs import record_output

        record_output(path, ws.path)
    else:
        _write_xlsx(path, df, fields, ENTITIES[entity], lang, ws.path)
    return ExportResult(path, entity, int(len(df)), [f.key for f in fields], fmt, masked)


def _neutralise(table: pd.DataFrame) -> pd.DataFrame:
    """Formula-like text, in cells and headers, gets a leading ``'`` (:func:`crmkit.io.neutralise.looks_like_formula`)."""
    from .io.neutralise import neutralise_csv

    return neutralise_csv(table)


def _write_xlsx(path: Path, df: pd.DataFrame, fields: list[Field], ent, lang: str, workspace) -> None:
    import xlsxwriter

    from .io.outputs import mark_output
    from .io.safety import replace_file
    from .io.writer import SheetWriter

    # an export carries no required marks and no derived styling: it is a report, not a template
    plain = [dataclasses.replace(f, required=False, derived=False) for f in fields]

    def produce(target: Path) -> None:
        wb = xlsxwriter.Workbook(str(target), {
            "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
            "nan_inf_to_errors": False, "default_date_format": "yyyy-mm-dd"})
        mark_output(wb, "export")
        sw = SheetWriter(wb, lang, fast=None)   # big exports: cells written in bulk (crmkit.io.bulk)
        try:
            sw.write(ent, df, fields=plain, extra_columns=[], validation_rows=0)
        finally:
            wb.close()
        sw.complete(target)

    replace_file(path, produce, workspace=workspace)
    from .io.outputs import record_output

    record_output(path, workspace)


def column_names(ws, entity: str) -> list[str]:
    """Keys a user may pass to ``--columns`` for ``entity`` (input fields, then derived ones)."""
    entity = _entity_key(ws, entity)
    keys = [f.key for f in ws.fields(entity) if not f.derived]
    if entity == "customers":
        from .schema import DERIVED_FIELDS

        keys += [k for k in DERIVED_FIELDS if k not in keys]
    return keys + [c for c in extra_columns(ws, entity) if c not in keys]
