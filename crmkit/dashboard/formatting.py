"""What a person sees of a frame: formatted numbers, translated labels, masked contacts, HTML.

Numbers are formatted (:func:`fmt_value`), headers and enumeration codes
translated (:func:`display_frame`), phone numbers and e-mails masked
(:func:`mask_contacts`), and tables, titles and KPI cards written as HTML
with the one stylesheet of the dashboards (:data:`STYLE`).  Nothing here
imports ipywidgets or plotly.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..i18n import t as _t
from ..normalize import mask_contact
from ..schema import DERIVED_FIELDS, ENTITIES, RFM_SEGMENT, VALUE_TIER, Enum, field_label


def t(key: str, lang: str) -> str:
    """A dashboard phrase in ``lang`` (see ``crmkit.i18n.TEXT``)."""
    return _t(key, lang)


# --------------------------------------------------------------------------- formatting

def fmt_int(v: object) -> str:
    if v is None or pd.isna(v):
        return "–"
    return f"{int(round(float(v))):,}"


def fmt_money(v: object) -> str:
    if v is None or pd.isna(v):
        return "–"
    v = float(v)
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def fmt_pct(v: object, digits: int = 1) -> str:
    if v is None or pd.isna(v):
        return "–"
    return f"{float(v) * 100:.{digits}f}%"


def fmt_number(v: object, digits: int = 1) -> str:
    if v is None or pd.isna(v):
        return "–"
    return f"{float(v):,.{digits}f}"


def fmt_value(v: object, kind: str) -> str:
    """Format a number as ``kind``: int, money, pct, days, number."""
    if kind == "int":
        return fmt_int(v)
    if kind == "money":
        return fmt_money(v)
    if kind == "pct":
        return fmt_pct(v)
    if kind == "days":
        return fmt_number(v, 1)
    return fmt_number(v, 2)


# --------------------------------------------------------------------------- labels

def column_label(key: str, lang: str, entity: str | None = None) -> str:
    """A column header: a schema field, a derived field, or a dashboard phrase ``col_<key>``."""
    ent = ENTITIES.get(entity) if entity else None
    if ent is not None and ent.has(key):
        return ent.field(key).header(lang)
    if key in ("sheet", "row", "column", "value", "severity", "reason", "file"):
        return _t(key, lang)
    phrase = _t(f"col_{key}", lang)
    if phrase != f"col_{key}":
        return phrase
    if key in DERIVED_FIELDS:
        return field_label(key, lang)
    label = field_label(key, lang)
    return label


def nice(label: str, lang: str) -> str:
    """A label as a heading shows it: English labels start with a capital ("website form" -> "Website form")."""
    return label[:1].upper() + label[1:] if lang == "en" and label else label


def enum_label(enum: Enum | None, code: object, lang: str) -> str:
    """The label of an enumeration code in ``lang`` (the code itself when unknown)."""
    if code is None or (not isinstance(code, str) and pd.isna(code)):
        return ""
    return nice(enum.label(str(code), lang), lang) if enum is not None else str(code)


def translate_codes(values: pd.Series, enum: Enum, lang: str) -> pd.Series:
    """Enumeration codes -> labels in ``lang`` (unknown codes kept; vectorised by mapping)."""
    mapping = {c.code: nice(c.label(lang), lang) for c in enum.choices}
    s = values.astype("string")
    return s.map(lambda v: mapping.get(v, v) if not pd.isna(v) else v).astype("string")


def mask_contacts(df: pd.DataFrame, show_full: bool = False) -> pd.DataFrame:
    """Phone numbers and e-mails masked (138****5678, ab***@x.com) unless ``show_full``."""
    if show_full or df.empty:
        return df
    out = df.copy()
    contact_cols = {f.key for e in ENTITIES.values() for f in e.fields if f.type in ("phone", "email")}
    for col in out.columns:
        if col in contact_cols:
            out[col] = mask_contact(out[col])
    return out


def display_frame(df: pd.DataFrame, lang: str, *, entity: str | None = None,
                  columns: Sequence[str] | None = None, show_full_contacts: bool = False,
                  enums: dict[str, Enum] | None = None) -> pd.DataFrame:
    """A frame ready for people: chosen columns, enumeration labels, yes/no, dates, masked contacts,
    headers in ``lang``.  Numbers stay numbers (tables and Excel format them)."""
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    out = mask_contacts(df[cols], show_full_contacts).copy()
    ent = ENTITIES.get(entity) if entity else None
    enums = dict(enums or {})
    for col in cols:
        f = ent.field(col) if ent is not None and ent.has(col) else None
        enum = enums.get(col) or (f.enum if f is not None else None)
        if col in ("rfm_segment", "segment") and enum is None:
            enum = RFM_SEGMENT
        if col == "value_tier" and enum is None:
            enum = VALUE_TIER
        s = out[col]
        if f is not None and f.type == "bool" or pd.api.types.is_bool_dtype(s):
            out[col] = s.map(lambda v: "" if pd.isna(v) else _t("yes" if v else "no", lang)).astype("string")
        elif enum is not None:
            out[col] = translate_codes(s, enum, lang)
        elif pd.api.types.is_datetime64_any_dtype(s):
            has_time = f is not None and f.type == "datetime" or (
                f is None and (s.dropna().dt.normalize() != s.dropna()).any())
            out[col] = s.dt.strftime("%Y-%m-%d %H:%M" if has_time else "%Y-%m-%d").astype("string")
    out.columns = [column_label(c, lang, entity) for c in cols]
    out.index = pd.RangeIndex(len(out))
    return out


# --------------------------------------------------------------------------- HTML pieces

STYLE = """
<style>
.crmkit-title { font-size: 26px; font-weight: 600; color: #1f4e79; margin: 4px 0 2px; }
.crmkit-sub { color: #52606d; font-size: 14px; margin-bottom: 6px; }
.crmkit-h2 { font-size: 18px; font-weight: 600; color: #1f4e79; margin: 18px 0 6px;
             border-bottom: 2px solid #dbe4ee; padding-bottom: 4px; }
.crmkit-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px; margin: 6px 0 10px; }
.crmkit-card { background: #fff; border: 1px solid #dbe4ee; border-left: 6px solid #2e75b6; border-radius: 8px;
               padding: 10px 14px; box-shadow: 0 1px 2px rgba(0,0,0,.06); }
.crmkit-card.ok { border-left-color: #2e7d32; } .crmkit-card.miss { border-left-color: #c62828; }
.crmkit-card .label { font-size: 13px; color: #52606d; }
.crmkit-card .value { font-size: 26px; font-weight: 600; color: #1f2933; line-height: 1.25; }
.crmkit-card .target { font-size: 12px; color: #52606d; }
.crmkit-card.ok .target b { color: #2e7d32; } .crmkit-card.miss .target b { color: #c62828; }
.crmkit-table-wrap { max-height: 420px; overflow: auto; border: 1px solid #dbe4ee; border-radius: 6px; }
table.crmkit-table { border-collapse: collapse; width: 100%; font-size: 13px; }
table.crmkit-table th { position: sticky; top: 0; background: #1f4e79; color: #fff; text-align: left;
                        padding: 6px 8px; font-weight: 600; white-space: nowrap; }
table.crmkit-table td { padding: 5px 8px; border-bottom: 1px solid #eef2f6; white-space: nowrap; }
table.crmkit-table tr:nth-child(even) td { background: #f7f9fb; }
table.crmkit-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.crmkit-table tr.flag td { background: #fdecea; }
.crmkit-chart > * { flex: 1 1 100%; width: 100%; min-width: 0; }
.crmkit-empty { color: #7b8794; font-style: italic; padding: 8px; }
.crmkit-chart-empty { box-sizing: border-box; width: 100%; min-height: 300px; display: flex; flex-direction: column;
                      align-items: center; justify-content: center; text-align: center; gap: 6px;
                      border: 1px dashed #c9d3dd; border-radius: 8px; background: #fafbfc; padding: 16px; }
.crmkit-chart-empty .title { font-size: 16px; font-weight: 600; color: #1f4e79; }
.crmkit-chart-empty .msg { font-size: 22px; color: #7b8794; }
.crmkit-chart-empty .hint { font-size: 13px; color: #7b8794; }
.crmkit-scope { color: #52606d; font-size: 13px; background: #eef4fa; border-left: 4px solid #2e75b6;
                padding: 6px 10px; margin: 2px 0 8px; border-radius: 4px; }
.crmkit-note { color: #52606d; font-size: 12px; margin: 4px 0; }
.crmkit-msg-ok { color: #2e7d32; font-weight: 600; } .crmkit-msg-err { color: #c62828; font-weight: 600; }
a.crmkit-download { display: inline-block; background: #2e7d32; color: #fff !important; padding: 5px 12px;
                    border-radius: 4px; text-decoration: none; font-size: 13px; margin-left: 6px; }
</style>
"""


def esc(v: object) -> str:
    return html.escape("" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))


def title_html(title: str, subtitle: str = "") -> str:
    return (STYLE + f'<div class="crmkit-title">{esc(title)}</div>'
            + (f'<div class="crmkit-sub">{esc(subtitle)}</div>' if subtitle else ""))


def h2(text: str) -> str:
    return f'<div class="crmkit-h2">{esc(text)}</div>'


def table_html(df: pd.DataFrame, *, max_rows: int = 200, empty: str = "", formats: dict[str, str] | None = None,
               flags: pd.Series | Sequence[bool] | None = None, table_id: str | None = None,
               lang: str = "en") -> str:
    """An HTML table of ``df`` (first ``max_rows`` rows; numbers right-aligned and formatted).

    ``formats`` maps a column to a kind of :func:`fmt_value`; ``flags`` marks rows to highlight.
    """
    tid = f' id="{esc(table_id)}"' if table_id else ""
    if df is None or df.empty:
        return f'<div class="crmkit-empty"{tid} data-rows="0">{esc(empty or _t("dash_no_rows", lang))}</div>'
    formats = formats or {}
    shown = df.head(max_rows)
    flag_arr = np.asarray(flags, dtype=bool)[: len(shown)] if flags is not None else np.zeros(len(shown), bool)
    head = "".join(f"<th>{esc(c)}</th>" for c in shown.columns)
    body_cols = []
    for c in shown.columns:
        s = shown[c]
        kind = formats.get(c)
        if kind is None and pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            kind = "int" if pd.api.types.is_integer_dtype(s) or (s.dropna() % 1 == 0).all() else "number"
        if kind:
            body_cols.append(([fmt_value(v, kind) for v in s], True))
        else:
            body_cols.append(([esc(v) for v in s], False))
    rows = []
    for i in range(len(shown)):
        cells = "".join(f'<td class="num">{col[i]}</td>' if num else f"<td>{col[i]}</td>" for col, num in body_cols)
        rows.append(f'<tr class="flag">{cells}</tr>' if flag_arr[i] else f"<tr>{cells}</tr>")
    more = ""
    if len(df) > max_rows:
        more = f'<div class="crmkit-note">{esc(_t("dash_rows_shown", lang).format(shown=max_rows, total=len(df)))}</div>'
    return (f'<div class="crmkit-table-wrap"><table class="crmkit-table"{tid} data-rows="{len(df)}">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{more}")


@dataclass(frozen=True)
class Card:
    """One KPI card: key (for tests: data-kpi), label, value, kind, optional target and ok."""

    key: str
    label: str
    value: object
    kind: str = "number"
    target: object = None
    ok: object = None
    higher_is_better: bool = True


def cards_html(cards: Iterable[Card], lang: str) -> str:
    """KPI cards; each carries ``data-kpi`` and the raw ``data-value`` so a test can read it."""
    out = []
    for c in cards:
        cls = ""
        if c.ok is not None and not pd.isna(c.ok):
            cls = " ok" if bool(c.ok) else " miss"
        raw = "" if c.value is None or pd.isna(c.value) else repr(float(c.value))
        target = ""
        if c.target is not None and not pd.isna(c.target):
            mark = ("✔" if bool(c.ok) else "✘") if c.ok is not None and not pd.isna(c.ok) else ""
            target = (f'<div class="target">{esc(_t("dash_target", lang))}: '
                      f"{esc(fmt_value(c.target, c.kind))} <b>{mark}</b></div>")
        out.append(f'<div class="crmkit-card{cls}" data-kpi="{esc(c.key)}" data-value="{raw}">'
                   f'<div class="label">{esc(c.label)}</div>'
                   f'<div class="value">{esc(fmt_value(c.value, c.kind))}</div>{target}</div>')
    return '<div class="crmkit-cards">' + "".join(out) + "</div>"


def kpi_label(code: str, lang: str) -> str:
    """Label of a KPI code of :func:`crmkit.analytics.kpi_summary`."""
    label = _t(f"kpi_{code}", lang)
    return label if label != f"kpi_{code}" else code.replace("_", " ")


KIND_FORMAT = {"rate": "pct", "count": "int", "money": "money", "score": "number"}


def kpi_cards(kpis: pd.DataFrame, lang: str, codes: Sequence[str] | None = None) -> str:
    """KPI cards from :func:`crmkit.analytics.kpi_summary` (value, target, on/off target)."""
    k = kpis if codes is None else kpis.set_index("kpi").loc[[c for c in codes if c in set(kpis["kpi"])]].reset_index()
    cards = [Card(str(r.kpi), kpi_label(str(r.kpi), lang), r.value, KIND_FORMAT.get(str(r.kind), "number"),
                  r.target, r.ok) for r in k.itertuples(index=False)]
    return cards_html(cards, lang)


def meets(value: object, target: object, higher_is_better: bool = True) -> object:
    """value >= target (or <= when lower is better); None when either is missing."""
    if value is None or target is None or pd.isna(value) or pd.isna(target):
        return None
    return bool(value >= target) if higher_is_better else bool(value <= target)


def rate_formats(lang: str) -> dict[str, str]:
    """Formats of the campaign table's columns (by their label in ``lang``)."""
    pct = ["reach", "target_reach", "open_rate", "target_open", "conversion", "target_conversion", "roi"]
    out = {column_label(c, lang, "campaigns"): "pct" for c in pct}
    out.update({column_label(c, lang, "campaigns"): "money" for c in ("revenue", "cost")})
    return out


def share_formats(lang: str) -> dict[str, str]:
    return {column_label("customers_share", lang): "pct", column_label("revenue_share", lang): "pct",
            column_label("revenue", lang): "money"}
