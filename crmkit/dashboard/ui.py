"""Widget and display helpers shared by the dashboard notebooks (``notebooks/``).

Business numbers come from :mod:`crmkit.analytics` and :mod:`crmkit.rfm`;
this module only turns frames into what a person sees: translated labels,
masked contacts, formatted numbers, HTML tables, KPI cards, plotly figures,
filters, a language switch and an "export to Excel" download.  The one
write a dashboard makes (a rep marking a task done) is :func:`mark_task_done`.

ipywidgets and plotly are imported inside the functions that need them, so
``import crmkit.dashboard.ui`` stays light for tests.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..i18n import check_lang
from ..i18n import t as _t
from ..schema import DERIVED_FIELDS, ENTITIES, Enum, field_label

LANG_OPTIONS = (("中文", "zh"), ("English", "en"))
PERIODS = ("7d", "30d", "90d", "365d", "all")
ALL = "__all__"
DASHBOARD_KERNEL_VAR = "CRMKIT_DASHBOARD_KERNEL"   # set by crmkit.dashboard for the kernels it starts

# one palette for every chart: calm blues, with green/red for on/off target
COLORS = ("#2e75b6", "#70ad47", "#ffc000", "#ed7d31", "#5b9bd5", "#a5a5a5", "#264478", "#9e480e",
          "#636363", "#997300", "#43682b", "#7cafdd")
GOOD, BAD, NEUTRAL = "#2e7d32", "#c62828", "#2e75b6"


def t(key: str, lang: str) -> str:
    """A dashboard phrase in ``lang`` (see ``crmkit.i18n.TEXT``)."""
    return _t(key, lang)


# --------------------------------------------------------------------------- context

@dataclass
class Context:
    """What every dashboard holds: the workspace, its settings, the language and 'now'."""

    path: Path
    ws: object
    lang: str
    as_of: pd.Timestamp
    settings: dict = field(default_factory=dict)

    @property
    def show_full_contacts(self) -> bool:
        return bool(self.settings.get("show_full_contacts"))

    def reload(self) -> None:
        """Read the workspace again (after a write)."""
        from ..workspace import open_workspace

        self.ws = open_workspace(self.path)
        self.settings = self.ws.settings


def load_context(workspace: str | os.PathLike | None = None, lang: str | None = None,
                 as_of: object = None) -> Context:
    """Open the dashboard's workspace (``workspace`` or ``$CRMKIT_WORKSPACE`` or ``sample_data/``).

    In a preheated Voila kernel (see :mod:`crmkit.dashboard`) this first
    warms up the libraries a render needs and then waits for a visitor
    (:func:`wait_for_request`), so the workspace is read when the page is
    asked for, never before: what it shows is as fresh as without preheating.
    """
    from ..workspace import open_workspace
    from .server import workspace_path

    if preheated():
        warm_up()
        wait_for_request()

    path = workspace_path(workspace)
    ws = open_workspace(path)
    lang = check_lang(lang) if lang else ws.lang
    return Context(path=path, ws=ws, lang=lang, as_of=ws.as_of(as_of), settings=ws.settings)


def preheated() -> bool:
    """Whether this kernel was started ahead of a visit by Voila's kernel pool."""
    return os.environ.get("VOILA_PREHEAT", "False") != "False"


def wait_for_request() -> None:
    """In a preheated Voila kernel, block until a visitor's request reaches it (a no-op elsewhere).

    The request's details (``QUERY_STRING`` ...) are in ``os.environ`` afterwards.
    """
    if not preheated():
        return
    from voila.utils import wait_for_request as _wait

    _wait()


def warm_up() -> None:
    """Import and exercise what a first render needs, so a preheated kernel has done it before the visit.

    plotly builds its validators on first use, per trace type, and copies the
    template into every figure: one figure widget of each trace type the
    dashboards draw is made and closed again at once (so nothing is left
    over in the page's widget state).
    """
    _light_plotly_widgets()
    import ipywidgets  # noqa: F401
    import plotly.graph_objects as go

    for trace in (go.Bar(x=["a"], y=[1.0]), go.Funnel(x=[1.0], y=["a"]), go.Pie(labels=["a"], values=[1.0]),
                  go.Heatmap(z=[[1.0]], x=["a"], y=["b"]), go.Scatter(x=["a"], y=[1.0])):
        fw = go.FigureWidget(_layout(_figure(trace), "", 100))
        fw.close()
    from .. import analytics, dedupe, rfm  # noqa: F401
    from ..normalize import to_phone

    to_phone(pd.Series(["+8613800138000", "+12015550123"], dtype="string"))  # phone metadata


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
    from ..normalize import mask_contact

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
            from ..schema import RFM_SEGMENT

            enum = RFM_SEGMENT
        if col == "value_tier" and enum is None:
            from ..schema import VALUE_TIER

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


# --------------------------------------------------------------------------- filters

def period_bounds(period: str, as_of: pd.Timestamp) -> tuple[pd.Timestamp | None, pd.Timestamp]:
    """(start, end) of a period code ``7d/30d/90d/365d/all`` ending at ``as_of`` (start None = all time)."""
    end = pd.Timestamp(as_of)
    if period in (None, "", "all", ALL):
        return None, end
    days = int(str(period).rstrip("d"))
    return (end - pd.Timedelta(days=days)).normalize(), end


def in_period(values: pd.Series, period: str, as_of: pd.Timestamp) -> pd.Series:
    """Boolean mask: the dates of ``values`` inside the period (blank dates only for 'all')."""
    start, end = period_bounds(period, as_of)
    v = pd.to_datetime(values, errors="coerce")
    if start is None:
        return pd.Series(True, index=values.index)
    return ((v >= start) & (v <= end)).fillna(False).astype(bool)


def equals_or_all(values: pd.Series, choice: object) -> pd.Series:
    """Boolean mask: ``values == choice``, or everything when the choice is 'all'."""
    if choice in (None, "", ALL):
        return pd.Series(True, index=values.index)
    return (values.astype("string") == str(choice)).fillna(False).astype(bool)


def owner_options(ctx: Context, lang: str, *, include_all: bool = True) -> list[tuple[str, str]]:
    """(label, value) pairs: the Team's members, then other owners found in customers and tasks."""
    names: list[str] = []
    team = ctx.ws["team"]
    if "name" in team:
        names.extend(team["name"].dropna().astype(str).tolist())
    for ent, col in (("customers", "owner"), ("tasks", "owner")):
        df = ctx.ws[ent]
        if col in df:   # distinct values first: a few owners over 100,000 rows
            names.extend(sorted({str(v) for v in df[col].dropna().unique()} - set(names)))
    seen = list(dict.fromkeys(n for n in names if n.strip()))
    opts = [(n, n) for n in seen]
    return ([(_t("dash_all_owners", lang), ALL)] if include_all else []) + opts


def enum_options(enum: Enum, lang: str, all_key: str = "dash_all") -> list[tuple[str, str]]:
    return [(_t(all_key, lang), ALL)] + [(nice(c.label(lang), lang), c.code) for c in enum.choices]


def period_options(lang: str) -> list[tuple[str, str]]:
    return [(_t(f"dash_period_{p}", lang), p) for p in PERIODS]


def set_options(widget, options: list[tuple[str, object]], keep: bool = True) -> None:
    """Replace a selection widget's options (labels change with the language) keeping its value.

    Nothing happens when the options are unchanged.  Call inside a :class:`Renderer`, which ignores
    the value changes this makes on the way.
    """
    options = list(options)
    if list(widget.options) == options:
        return
    value = widget.value
    values = [v for _, v in options]
    widget.options = options
    if keep and value in values:
        widget.value = value
    elif values:
        widget.value = values[0]


def language_switch(lang: str):
    """The zh/en switch at the top of every dashboard."""
    import ipywidgets as w

    return w.ToggleButtons(options=list(LANG_OPTIONS), value=check_lang(lang), style={"button_width": "80px"},
                           layout=w.Layout(width="auto"))


def dropdown(options, value=None, width: str = "220px"):
    import ipywidgets as w

    dd = w.Dropdown(options=options, value=value if value is not None else options[0][1],
                    layout=w.Layout(width=width), style={"description_width": "auto"})
    return dd


def on_change(widgets: Iterable, callback: Callable[..., None]) -> None:
    """Call ``callback()`` whenever one of ``widgets`` changes its value."""
    for wdg in widgets:
        wdg.observe(lambda change: callback(), names="value")


# --------------------------------------------------------------------------- export

def excel_bytes(df: pd.DataFrame, sheet: str = "Sheet1") -> bytes:
    """An .xlsx file of ``df`` in memory: bold header, frozen, filters, widths; text never runs as a formula."""
    buf = io.BytesIO()
    safe_sheet = "".join(ch for ch in str(sheet) if ch not in '[]:*?/\\')[:31] or "Sheet1"
    with pd.ExcelWriter(buf, engine="xlsxwriter",
                        engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False,
                                                   "nan_inf_to_errors": True}}) as xw:
        out = df.copy()
        for c in out.columns:
            if isinstance(out[c].dtype, pd.StringDtype) or out[c].dtype == object:
                out[c] = out[c].astype(object).where(out[c].notna(), None)
        out.to_excel(xw, sheet_name=safe_sheet, index=False)
        wsx = xw.sheets[safe_sheet]
        wsx.freeze_panes(1, 0)
        if len(out.columns):
            wsx.autofilter(0, 0, max(len(out), 1), len(out.columns) - 1)
        for i, c in enumerate(out.columns):
            width = max([len(str(c))] + [len(str(v)) for v in out[c].head(200).tolist()])
            wsx.set_column(i, i, min(max(10, width + 2), 50))
    return buf.getvalue()


def download_html(data: bytes, filename: str, label: str) -> str:
    """A link that offers ``data`` as a file download (data URI; nothing leaves the machine)."""
    b64 = base64.b64encode(data).decode("ascii")
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return (f'<a class="crmkit-download" download="{esc(filename)}" '
            f'href="data:{mime};base64,{b64}">⬇ {esc(label)}</a>')


def export_filename(stem: str, as_of: pd.Timestamp) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem).strip("_") or "export"
    return f"{safe}_{pd.Timestamp(as_of):%Y%m%d}.xlsx"


class ExportButton:
    """A button that writes the current table to Excel and offers it for download.

    ``get_frame()`` returns the (already translated and masked) frame to export;
    ``get_name()`` the file stem.  The link appears next to the button.
    """

    def __init__(self, get_frame: Callable[[], pd.DataFrame], get_name: Callable[[], str], ctx: Context):
        import ipywidgets as w

        self.ctx = ctx
        self.get_frame = get_frame
        self.get_name = get_name
        self.button = w.Button(icon="file-excel", button_style="success", layout=w.Layout(width="auto"))
        self.button.add_class("crmkit-export")
        self.link = w.HTML()
        self.link.add_class("crmkit-export-link")
        self.button.on_click(lambda _b: self.export())
        self.widget = w.HBox([self.button, self.link], layout=w.Layout(align_items="center"))
        self.relabel(ctx.lang)

    def relabel(self, lang: str) -> None:
        self.button.description = _t("dash_export", lang)
        self.link.value = ""

    def export(self) -> bytes:
        df = self.get_frame()
        name = export_filename(self.get_name(), self.ctx.as_of)
        data = excel_bytes(df, sheet=self.get_name())
        label = _t("dash_download", self.ctx.lang).format(file=name, rows=len(df))
        self.link.value = download_html(data, name, label)
        return data


# --------------------------------------------------------------------------- figures

PLOT_CONFIG = {"displaylogo": False,
               "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]}


_TRACE_TYPES = ("bar", "funnel", "pie", "heatmap", "scatter")   # what the dashboards draw
_TEMPLATE: list = []


def _template():
    """plotly's "plotly_white" look, with the trace defaults of the charts crmkit draws only.

    Every figure copies its template; the full one carries defaults for some
    forty trace types, and copying it was a fifth of a dashboard's render.
    """
    if not _TEMPLATE:
        import plotly.graph_objects as go
        import plotly.io as pio

        white = pio.templates["plotly_white"]
        _TEMPLATE.append(go.layout.Template(layout=white.layout, data={k: white.data[k] for k in _TRACE_TYPES}))
    return _TEMPLATE[0]


def _figure(data=None):
    """A plotly figure with crmkit's template from the start (plotly's default is never copied in)."""
    import plotly.graph_objects as go

    return go.Figure(data, layout={"template": _template()})


def _layout(fig, title: str, height: int = 360, **kw):
    fig.update_layout(title={"text": title, "x": 0.01, "font": {"size": 16}}, height=height,
                      margin={"l": 60, "r": 20, "t": 50, "b": 50},
                      font={"family": "Segoe UI, PingFang SC, Microsoft YaHei, WenQuanYi Micro Hei, Arial, sans-serif",
                            "size": 13},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
                      **kw)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def wrap(label: object, width: int = 14) -> str:
    """Break a long category label over lines (<br>) so axis labels stay level and readable."""
    text = str(label)
    if len(text) <= width:
        return text
    if " " not in text:  # Chinese: cut every ``width // 2 + 2`` characters
        step = max(4, width // 2 + 2)
        return "<br>".join(text[i:i + step] for i in range(0, len(text), step))
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(lines)


def bar_figure(labels: Sequence[str], values: Sequence[float], title: str, *, horizontal: bool = False,
               text: Sequence[str] | None = None, colors: Sequence[str] | str | None = None,
               value_title: str = "", height: int = 360, target: float | None = None, target_label: str = ""):
    """A bar chart (values labelled on the bars); an optional dashed target line."""
    import plotly.graph_objects as go

    labels = [str(x) for x in labels] if horizontal else [wrap(x) for x in labels]
    values = [None if pd.isna(v) else float(v) for v in values]
    bar = go.Bar(x=values if horizontal else labels, y=labels if horizontal else values,
                 orientation="h" if horizontal else "v", text=list(text) if text is not None else None,
                 textposition="auto", marker_color=colors if colors is not None else COLORS[0],
                 cliponaxis=False)
    fig = _figure(bar)
    _layout(fig, title, height)
    if horizontal:
        fig.update_yaxes(autorange="reversed", automargin=True)
        fig.update_xaxes(title_text=value_title)
    else:
        fig.update_yaxes(title_text=value_title)
        fig.update_xaxes(automargin=True)
    if target is not None and not pd.isna(target):
        line = {"line_dash": "dash", "line_color": BAD, "annotation_text": target_label,
                "annotation_position": "bottom right" if horizontal else "top right",
                "annotation_font": {"color": BAD, "size": 12}}
        (fig.add_vline(x=float(target), **line) if horizontal else fig.add_hline(y=float(target), **line))
    return fig


def funnel_figure(stages: Sequence[str], counts: Sequence[float], title: str, *, text: Sequence[str] | None = None,
                  height: int = 360):
    import plotly.graph_objects as go

    fig = _figure(go.Funnel(y=list(stages), x=[float(c) for c in counts], textinfo="value+percent initial",
                              text=list(text) if text is not None else None,
                              marker={"color": list(COLORS[: len(stages)])}))
    return _layout(fig, title, height)


def line_figure(x: Sequence, series: dict[str, Sequence[float]], title: str, *, value_title: str = "",
                height: int = 340, secondary: Sequence[str] = ()):
    """Lines over time; series named in ``secondary`` use a right-hand axis."""
    import plotly.graph_objects as go

    fig = _figure()
    for i, (name, ys) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=list(x), y=[None if pd.isna(v) else float(v) for v in ys], name=name,
                                 mode="lines+markers", line={"color": COLORS[i % len(COLORS)], "width": 2},
                                 yaxis="y2" if name in secondary else "y"))
    _layout(fig, title, height)
    fig.update_yaxes(title_text=value_title, rangemode="tozero")
    if secondary:
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False})
    return fig


def grouped_bar_figure(labels: Sequence[str], series: dict[str, Sequence[float]], title: str, *,
                       value_title: str = "", pct: bool = False, height: int = 360, stacked: bool = False):
    import plotly.graph_objects as go

    fig = _figure()
    for i, (name, ys) in enumerate(series.items()):
        vals = [None if pd.isna(v) else float(v) for v in ys]
        fig.add_trace(go.Bar(x=[wrap(x) for x in labels], y=vals, name=name, marker_color=COLORS[i % len(COLORS)],
                             text=[fmt_pct(v, 0) if pct else fmt_int(v) for v in vals],
                             textposition="inside" if stacked else "outside", textangle=0, cliponaxis=False))
    _layout(fig, title, height, barmode="stack" if stacked else "group")
    fig.update_yaxes(title_text=value_title, tickformat=".0%" if pct else None)
    return fig


def heatmap_figure(z: pd.DataFrame, title: str, *, x_title: str, y_title: str, text: pd.DataFrame | None = None,
                   height: int = 380, colorscale: str = "Blues"):
    """A heat map of a small grid (e.g. RFM: R score by F score), values printed in the cells."""
    import plotly.graph_objects as go

    fig = _figure(go.Heatmap(z=z.to_numpy(dtype=float), x=[str(c) for c in z.columns], y=[str(i) for i in z.index],
                               colorscale=colorscale, text=(text if text is not None else z).to_numpy(),
                               texttemplate="%{text}", hovertemplate=f"{y_title} %{{y}} · {x_title} %{{x}}: %{{z}}"
                               "<extra></extra>", showscale=False))
    _layout(fig, title, height)
    fig.update_xaxes(title_text=x_title, type="category")
    fig.update_yaxes(title_text=y_title, type="category")
    return fig


def pie_figure(labels: Sequence[str], values: Sequence[float], title: str, *, height: int = 360):
    import plotly.graph_objects as go

    fig = _figure(go.Pie(labels=list(labels), values=[float(v) for v in values], hole=0.45, sort=False,
                           marker={"colors": list(COLORS)}, textinfo="percent+label"))
    return _layout(fig, title, height, showlegend=False)


def chart(height: int = 360):
    """A chart slot of a dashboard: :func:`show_figure` puts a plotly FigureWidget in it (drawn offline
    by anywidget), replacing the previous one in place."""
    import ipywidgets as w

    box = w.Box(layout=w.Layout(width="100%", min_height=f"{height}px"))
    box.add_class("crmkit-chart")
    return box


def _light_plotly_widgets() -> None:
    """Keep ``go.FigureWidget``'s first import cheap in a dashboard kernel.

    plotly's renderers import nbformat, whose jsonschema format checkers import
    ``rfc3987_syntax``, which compiles some forty lark grammars on import (about
    2.5 s of CPU, more than the rest of a dashboard's first render).  Nothing in
    a dashboard kernel validates IRIs, and jsonschema skips a format checker
    whose module is missing, so the module is marked absent there.  Only in the
    kernels crmkit's dashboard server starts (``CRMKIT_DASHBOARD_KERNEL``), and
    only when no one imported it before; a person's own notebook is untouched.
    """
    import sys

    if os.environ.get(DASHBOARD_KERNEL_VAR) and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # an import of it raises ImportError


_FIGURE_WIDGETS: dict[str, type] = {}


def _figure_widget_class():
    """plotly's FigureWidget, loading its JavaScript module by URL when the dashboard server serves it.

    Set up by :func:`crmkit.dashboard.server.plotly_static_root`: ``CRMKIT_PLOTLY_BUNDLE`` is the module's
    path on the server, and Voila tells the kernel the host and port the page was asked from.
    Elsewhere (JupyterLab, tests) the module travels with each chart, as plotly does it.
    """
    import plotly.graph_objects as go

    path = os.environ.get("CRMKIT_PLOTLY_BUNDLE")
    host, port = os.environ.get("SERVER_NAME"), os.environ.get("SERVER_PORT")
    if not (path and host and port):
        return go.FigureWidget
    base = os.environ.get("VOILA_SERVER_URL") or os.environ.get("VOILA_BASE_URL") or "/"
    prefix = f"/{base.strip('/')}/" if base.strip("/") else "/"
    url = f"http://{host}:{port}{prefix}{path}"
    if url not in _FIGURE_WIDGETS:
        _FIGURE_WIDGETS[url] = type("FigureWidget", (go.FigureWidget,), {"_esm": url, "__module__": __name__})
    return _FIGURE_WIDGETS[url]


@dataclass(frozen=True)
class EmptyChart:
    """What a chart function returns when there is nothing to draw: :func:`show_figure` then shows
    the chart's title and "No data yet" (in ``lang``) instead of empty axes."""

    title: str
    lang: str = "en"

    def html(self) -> str:
        return (f'<div class="crmkit-chart-empty" data-empty="1"><div class="title">{esc(self.title)}</div>'
                f'<div class="msg">{esc(_t("dash_no_data_yet", self.lang))}</div>'
                f'<div class="hint">{esc(_t("dash_no_data_hint", self.lang))}</div></div>')


def is_empty_chart(fig) -> bool:
    return isinstance(fig, EmptyChart)


def _nothing(*values) -> bool:
    """True when every value is missing or zero (nothing a chart could draw)."""
    total = 0.0
    for v in values:
        arr = pd.to_numeric(pd.Series(v), errors="coerce").abs()
        total += float(arr.sum(skipna=True))
    return total == 0.0


def show_figure(slot, fig) -> None:
    """Show ``fig`` in a :func:`chart` slot (a new FigureWidget, replacing the previous one).

    An :class:`EmptyChart` shows its "no data yet" message instead of a figure.

    A FigureWidget built from the figure carries its data and layout in its state, which reaches the
    page even while it loads (incremental FigureWidget updates reach only a browser already drawing
    it).  The relayout sent right after (autosize) makes plotly.js size a replacement to its slot once shown."""
    if isinstance(fig, EmptyChart):
        import ipywidgets as w

        old = slot.children
        box = w.HTML(fig.html(), layout=w.Layout(width="100%"))
        box.add_class("crmkit-chart-empty-box")
        slot.children = (box,)
        for widget in old:
            widget.close()
        return
    _light_plotly_widgets()
    fw = _figure_widget_class()(fig)
    fw._config = dict(PLOT_CONFIG)
    old = slot.children
    slot.children = (fw,)
    for widget in old:
        widget.close()
    if old:
        fw.layout.autosize = True


def set_html(widget, value: str) -> None:
    if widget.value != value:
        widget.value = value


# --------------------------------------------------------------------------- the one write: task done

def mark_task_done(workspace: str | os.PathLike, task_id: str, *, by: str = "", at: object = None,
                   wait: float = 10) -> bool:
    """Mark the task ``task_id`` done in tasks.xlsx and record it in History (log.xlsx).

    Goes through the workspace lock and the safe writer (backup, atomic
    replace, refuses while the workbook is open in Excel).  Returns False when
    the task was already done or cancelled; raises ValidationError for an
    unknown task id.
    """
    from ..exceptions import ValidationError
    from ..io.journal import workspace_lock
    from ..workspace import open_workspace

    path = Path(workspace)
    when = pd.Timestamp.now().floor("s") if at is None else pd.Timestamp(at)
    with workspace_lock(path, wait=wait):
        ws = open_workspace(path)
        tasks = ws["tasks"].copy()
        hit = tasks["task_id"].astype("string") == str(task_id)
        if not hit.any():
            raise ValidationError(f"no task with id {task_id!r}", file=str(ws.file("tasks")), column="task_id",
                                  value=str(task_id))
        old = tasks.loc[hit, "status"].iloc[0]
        if not pd.isna(old) and str(old) in ("done", "cancelled"):
            return False
        tasks.loc[hit, "status"] = "done"
        tasks.loc[hit, "done_at"] = when
        ws.replace("tasks", tasks)
        ws.append("history", pd.DataFrame([{
            "at": when, "entity": "tasks", "record_id": str(task_id), "field": "status",
            "old": None if pd.isna(old) else str(old), "new": "done",
            "by": f"{by} (dashboard)" if by else "dashboard",
        }]))
        ws.save()
    return True


# --------------------------------------------------------------------------- dashboard pieces
# Each takes a frame from crmkit.analytics / crmkit.rfm and the language, and returns a figure or HTML.

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


def funnel_chart(funnel: pd.DataFrame, lang: str):
    """Funnel of :func:`crmkit.analytics.funnel`: customers who reached each stage; the weakest step named."""
    from ..schema import STAGE

    if funnel is None or funnel.empty or _nothing(funnel["reached"]):
        return EmptyChart(_t("dash_funnel", lang), lang)
    stages = [enum_label(STAGE, s, lang) for s in funnel["stage"]]
    fig = funnel_figure(stages, funnel["reached"].tolist(), _t("dash_funnel", lang))
    weak = funnel.loc[funnel["weakest"].astype(bool), "stage"]
    if len(weak):
        row = funnel[funnel["stage"] == weak.iloc[0]].iloc[0]
        note = _t("dash_weakest_step", lang).format(stage=STAGE.label(str(row["stage"]), lang),
                                                     rate=fmt_pct(row["conversion"]))
        fig.add_annotation(text=note, xref="paper", yref="paper", x=1, y=-0.12, showarrow=False,
                           font={"color": BAD, "size": 12}, xanchor="right")
    return fig


def conversion_chart(conv: pd.DataFrame, lang: str, target: float | None = None):
    """Lead conversion by source channel (:func:`crmkit.analytics.conversion_by_source`)."""
    from ..schema import SOURCE

    if conv is None or conv.empty or _nothing(conv["customers"]):
        return EmptyChart(_t("dash_conversion_by_channel", lang), lang)
    labels = [enum_label(SOURCE, s, lang) for s in conv["source"]]
    text = [f"{fmt_pct(c)} ({fmt_int(w)}/{fmt_int(n)})" for c, w, n in zip(conv["conversion"], conv["won"],
                                                                           conv["customers"])]
    colors = [GOOD if target is not None and not pd.isna(c) and c >= target else NEUTRAL for c in conv["conversion"]]
    fig = bar_figure(labels, conv["conversion"].fillna(0).tolist(), _t("dash_conversion_by_channel", lang),
                     horizontal=True, text=text, colors=colors, target=target,
                     target_label=_t("dash_target", lang))
    fig.update_traces(textposition="outside")   # a 0 % bar has no inside: its label still shows
    fig.update_xaxes(tickformat=".0%", rangemode="tozero")
    return fig


def trend_chart(trend: pd.DataFrame, lang: str):
    """New customers, orders and revenue per period (:func:`crmkit.analytics.trend`); revenue on the right axis."""
    if trend is None or trend.empty or _nothing(trend["new_customers"], trend["orders"], trend["revenue"]):
        return EmptyChart(_t("dash_trend", lang), lang)
    series = {_t("col_new_customers", lang): trend["new_customers"], _t("col_orders", lang): trend["orders"],
              _t("col_revenue", lang): trend["revenue"]}
    fig = line_figure(trend["period"].dt.strftime("%Y-%m-%d").tolist(), series, _t("dash_trend", lang),
                      secondary=[_t("col_revenue", lang)])
    fig.update_layout(yaxis2_title_text=_t("col_revenue", lang), yaxis_title_text=_t("dash_count", lang))
    return fig


def overdue_chart(by_owner: pd.DataFrame, lang: str):
    """Overdue / due today / later open tasks per owner (:func:`crmkit.analytics.tasks_by_owner`)."""
    if by_owner is None or by_owner.empty or _nothing(by_owner["overdue"], by_owner["due_today"], by_owner["later"]):
        return EmptyChart(_t("dash_overdue_by_owner", lang), lang)
    owners = by_owner["owner"].fillna(_t("dash_unassigned", lang)).tolist()
    series = {_t("col_overdue", lang): by_owner["overdue"], _t("col_due_today", lang): by_owner["due_today"],
              _t("col_later", lang): by_owner["later"]}
    fig = grouped_bar_figure(owners, series, _t("dash_overdue_by_owner", lang), stacked=True,
                             value_title=_t("dash_tasks", lang))
    fig.data[0].marker.color = BAD
    fig.data[1].marker.color = "#ffc000"
    fig.data[2].marker.color = "#a5a5a5"
    return fig


def segment_chart(segments: pd.DataFrame, lang: str):
    """Customers and revenue per RFM segment (:func:`crmkit.rfm.segment_summary`)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from ..schema import RFM_SEGMENT

    if segments is None or segments.empty or _nothing(segments["customers"]):
        return EmptyChart(_t("dash_segments", lang), lang)
    labels = [enum_label(RFM_SEGMENT, s, lang) for s in segments["segment"]]
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_t("col_customers", lang), _t("col_revenue", lang)),
                        horizontal_spacing=0.18)
    fig.add_trace(go.Bar(y=labels, x=segments["customers"], orientation="h", marker_color=COLORS[0],
                         text=[fmt_int(v) for v in segments["customers"]], textposition="auto"), 1, 1)
    fig.add_trace(go.Bar(y=labels, x=segments["revenue"], orientation="h", marker_color=COLORS[1],
                         text=[fmt_money(v) for v in segments["revenue"]], textposition="auto"), 1, 2)
    _layout(fig, _t("dash_segments", lang), 420, showlegend=False)
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_yaxes(showticklabels=False, row=1, col=2)
    return fig


def tier_chart(tiers: pd.DataFrame, lang: str):
    """Customers per value tier (:func:`crmkit.rfm.tier_summary`) as a donut."""
    from ..schema import RFM_SEGMENT, VALUE_TIER

    labels = [enum_label(VALUE_TIER, c, lang) if c in VALUE_TIER.codes else enum_label(RFM_SEGMENT, c, lang)
              for c in tiers["value_tier"]]
    keep = tiers["customers"] > 0
    if not keep.any():
        return EmptyChart(_t("dash_value_tiers", lang), lang)
    return pie_figure([lab for lab, k in zip(labels, keep) if k], tiers.loc[keep, "customers"].tolist(),
                      _t("dash_value_tiers", lang))


def rfm_grid_chart(scores: pd.DataFrame, lang: str):
    """Customers on the R score x F score grid (1-5 each); buyers only."""
    s = scores.dropna(subset=["r_score", "f_score"])
    if s.empty:
        return EmptyChart(_t("dash_rfm_grid", lang), lang)
    grid = pd.crosstab(s["r_score"].astype(int), s["f_score"].astype(int)).reindex(
        index=[1, 2, 3, 4, 5], columns=[1, 2, 3, 4, 5], fill_value=0)  # plotly draws the first row at the bottom
    return heatmap_figure(grid, _t("dash_rfm_grid", lang), x_title=_t("col_f_score", lang),
                          y_title=_t("col_r_score", lang))


def campaign_rates_chart(kpis: pd.DataFrame, lang: str):
    """Reach, open and conversion rates per campaign (:func:`crmkit.analytics.campaign_kpis`)."""
    if kpis is None or kpis.empty or kpis[["reach", "open_rate", "conversion"]].isna().all().all():
        return EmptyChart(_t("dash_campaign_rates", lang), lang)
    names = kpis["name"].fillna(kpis["campaign_id"]).tolist()
    series = {_t("col_reach", lang): kpis["reach"], _t("col_open_rate", lang): kpis["open_rate"],
              _t("col_conversion", lang): kpis["conversion"]}
    return grouped_bar_figure(names, series, _t("dash_campaign_rates", lang), pct=True, height=380)


def campaign_roi_chart(kpis: pd.DataFrame, lang: str):
    if kpis is None or kpis.empty or kpis["roi"].isna().all():
        return EmptyChart(_t("dash_roi", lang), lang)
    names = kpis["name"].fillna(kpis["campaign_id"]).tolist()
    roi = kpis["roi"]
    colors = [GOOD if (not pd.isna(v) and v >= 0) else BAD for v in roi]
    fig = bar_figure(names, roi.fillna(0).tolist(), _t("dash_roi", lang), text=[fmt_pct(v, 0) for v in roi],
                     colors=colors)
    fig.update_yaxes(tickformat=".0%")
    return fig


def completeness_chart(comp: pd.DataFrame, lang: str, target: float):
    """Filled share per customer field against the target (:func:`crmkit.analytics.completeness`)."""
    if comp is None or comp.empty or comp["rate"].isna().all():
        return EmptyChart(_t("dash_completeness_by_field", lang), lang)
    labels = [column_label(str(f), lang, "customers") for f in comp["field"]]
    colors = [GOOD if bool(ok) else BAD for ok in comp["ok"].fillna(False)]
    fig = bar_figure(labels, comp["rate"].fillna(0).tolist(), _t("dash_completeness_by_field", lang),
                     horizontal=True, text=[fmt_pct(v) for v in comp["rate"]], colors=colors, target=target,
                     target_label=f"{_t('dash_target', lang)} {fmt_pct(target, 0)}", height=440)
    fig.update_xaxes(tickformat=".0%", range=[0, 1.05])
    return fig


def under_performance(kpis: pd.DataFrame, lang: str) -> pd.Series:
    """Per campaign, the rates below target in words ('' when on target everywhere)."""
    parts = []
    for col, key in (("reach_ok", "col_reach"), ("open_ok", "col_open_rate"), ("conversion_ok", "col_conversion")):
        miss = (kpis[col] == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712 - NA stays unflagged
        parts.append(np.where(miss, _t(key, lang), ""))
    joined = ["、".join(p for p in row if p) if lang == "zh" else ", ".join(p for p in row if p)
              for row in zip(*parts)] if parts and len(kpis) else []
    return pd.Series(joined, index=kpis.index, dtype="string")


# --------------------------------------------------------------------------- page plumbing

class Renderer:
    """Wraps a dashboard's ``render()``: never re-entered (filters relabelled during a render do not
    trigger another one) and errors shown on the page as one readable line, not a traceback."""

    def __init__(self, fn: Callable[[], None], message_widget=None):
        self.fn = fn
        self.busy = False
        self.rendered = False
        self.count = 0
        self.message = message_widget

    def __call__(self, *_args) -> None:
        if self.busy:
            return
        self.busy = True
        try:
            self.fn()
            self.rendered = True
            self.count += 1
            if self.message is not None:  # a marker a browser test can wait for: render n is on the page
                self.message.value = f'<span class="crmkit-ready" data-render="{self.count}"></span>'
        except Exception as exc:  # noqa: BLE001 - shown to the user, the page stays usable
            if self.message is None or not self.rendered:
                raise  # the first render fails loudly (the cell shows an error, tests catch it)
            self.message.value = f'<div class="crmkit-msg-err">⚠ {esc(exc)}</div>'
        finally:
            self.busy = False


def relabel(widget, key: str, lang: str) -> None:
    """Set a widget's caption to the phrase ``key`` in ``lang``."""
    text = _t(key, lang)
    if widget.description != text:
        widget.description = text


def kpi_period_options(lang: str) -> list[tuple[str, str]]:
    return [(_t("dash_this_month", lang), "month"), (_t("dash_this_week", lang), "week")]


def trend_freq(period: str) -> tuple[str, int]:
    """The trend's bucket and length for a period filter: days for short periods, weeks, months."""
    return {"7d": ("D", 7), "30d": ("D", 30), "90d": ("W", 13), "365d": ("M", 12)}.get(period, ("M", 24))


def subtitle(ctx: Context) -> str:
    return _t("dash_subtitle", ctx.lang).format(workspace=ctx.path.name, as_of=f"{ctx.as_of:%Y-%m-%d %H:%M}")


def header(ctx: Context, dashboard: str):
    """The title row of a dashboard: title and subtitle (HTML) and the language switch."""
    import ipywidgets as w

    title = w.HTML()
    switch = language_switch(ctx.lang)
    switch.add_class("crmkit-lang")
    box = w.HBox([title, switch], layout=w.Layout(justify_content="space-between", align_items="center",
                                                  width="100%"))

    def update(lang: str) -> None:
        from .server import DASHBOARDS

        name = next((d.title(lang) for d in DASHBOARDS if d.key == dashboard), dashboard)
        set_html(title, title_html(f"{name} · crmkit", subtitle(ctx)))

    update(ctx.lang)
    return box, switch, update


def section(key: str, lang: str) -> str:
    return h2(_t(key, lang))


def row(*children, columns: str | None = None):
    """Children side by side (a grid of equal columns unless ``columns`` says otherwise)."""
    import ipywidgets as w

    cols = columns or " ".join(["minmax(0, 1fr)"] * len(children))
    return w.GridBox(list(children), layout=w.Layout(grid_template_columns=cols, grid_gap="16px", width="100%"))


def filter_bar(*widgets):
    import ipywidgets as w

    box = w.HBox(list(widgets), layout=w.Layout(flex_flow="row wrap", grid_gap="8px 18px", align_items="center",
                                                 padding="6px 0", width="100%"))
    box.add_class("crmkit-filters")
    return box


def scoped(ctx: Context, period: str, owner: object, source: object):
    """The workspace as the Overview's filters choose it (:func:`crmkit.analytics.scope_workspace`):
    customers of ``owner`` from ``source`` created in ``period``; their orders, tickets, tasks ..."""
    from ..analytics import scope_workspace

    start, end = period_bounds(period, ctx.as_of)
    return scope_workspace(ctx.ws, owner=None if owner in (None, "", ALL) else str(owner),
                           source=None if source in (None, "", ALL) else str(source),
                           created=None if start is None else (start, end))


def scope_note(lang: str, kpi_period: str, owner: object, source: object, period: str) -> str:
    """The line under the Overview's filters that says what every figure on the page covers."""
    from ..schema import SOURCE

    who = _t("dash_all_owners", lang) if owner in (None, "", ALL) else str(owner)
    channel = _t("dash_all", lang) if source in (None, "", ALL) else enum_label(SOURCE, source, lang)
    created = dict((v, k) for k, v in period_options(lang)).get(period, str(period))
    kpi = dict((v, k) for k, v in kpi_period_options(lang)).get(kpi_period, str(kpi_period))
    text = _t("dash_scope", lang).format(owner=who, channel=channel, created=created, kpi_period=kpi)
    return f'<div class="crmkit-scope" data-scope="1">{esc(text)}</div>'


def for_customers(frame: pd.DataFrame, customers: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """Rows of ``frame`` (orders, tickets, ...) whose customer is selected by ``mask`` (all rows when all are)."""
    if bool(mask.all()):
        return frame
    ids = customers.loc[mask, "customer_id"].astype("string")
    return frame[frame["customer_id"].astype("string").isin(ids).fillna(False).to_numpy(dtype=bool)]


# --------------------------------------------------------------------------- dashboard tables

TASK_COLUMNS = ["task_id", "title", "customer_name", "due_at", "priority", "days_overdue", "created_by"]
FOLLOW_UP_COLUMNS = ["customer_id", "name", "contact_name", "phone", "stage", "last_contact", "due_at", "days_late"]
ACTION_COLUMNS = ["at", "rule_id", "rule_name", "record_id", "customer_name", "action", "outcome", "detail"]
CAMPAIGN_COLUMNS = ["campaign_id", "name", "channel", "target_count", "sent", "opened", "clicked", "reach", "target_reach",
                    "open_rate", "target_open", "conversion", "target_conversion", "revenue", "cost", "roi",
                    "below_target"]
SEGMENT_COLUMNS = ["customer_id", "name", "contact_name", "phone", "email", "owner", "stage", "recency_days",
                   "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_segment", "value_tier"]
DUPLICATE_COLUMNS = ["group", "key", "match_value", "customer_id", "name", "contact_name", "phone", "email", "owner"]
ISSUE_COLUMNS = ["sheet", "row", "column", "value", "severity", "reason"]
ISSUE_COUNT_COLUMNS = ["sheet", "column", "severity", "problems"]


def meets(value: object, target: object, higher_is_better: bool = True) -> object:
    """value >= target (or <= when lower is better); None when either is missing."""
    if value is None or target is None or pd.isna(value) or pd.isna(target):
        return None
    return bool(value >= target) if higher_is_better else bool(value <= target)


def task_enums() -> dict[str, Enum]:
    from ..schema import TASK_PRIORITY, TASK_STATUS

    return {"priority": TASK_PRIORITY, "status": TASK_STATUS}


def default_rep(ctx: Context) -> str | None:
    """The rep a 'My day' page opens on: the first rep of the Team sheet who has open tasks, else the first one."""
    options = [v for _, v in owner_options(ctx, ctx.lang, include_all=False)]
    if not options:
        return None
    team = ctx.ws["team"]
    reps = team.loc[team["role"].astype("string") == "rep", "name"].astype(str).tolist() if "role" in team else []
    tasks = ctx.ws["tasks"]
    busy = set(tasks.loc[(tasks["status"].astype("string") == "open").fillna(False), "owner"].dropna().astype(str))
    for name in reps + options:
        if name in busy and name in options:
            return name
    return reps[0] if reps and reps[0] in options else options[0]


def customer_names(customers: pd.DataFrame) -> pd.Series:
    return customers.drop_duplicates("customer_id").set_index("customer_id")["name"]


def with_customer_names(frame: pd.DataFrame, customers: pd.DataFrame, column: str = "customer_id") -> pd.DataFrame:
    """``frame`` plus ``customer_name`` looked up from ``customers`` by ``column``."""
    out = frame.copy()
    names = customer_names(customers)
    out["customer_name"] = names.reindex(out[column].astype("string")).to_numpy() if len(out) else pd.Series(
        dtype="string")
    return out


def task_options(open_tasks: pd.DataFrame, lang: str) -> list[tuple[str, str]]:
    """(label, task_id) pairs for the 'mark done' picker: soonest due first."""
    if open_tasks.empty:
        return [(_t("dash_no_open_tasks", lang), "")]
    due = open_tasks["due_at"].dt.strftime("%m-%d %H:%M").fillna("")
    labels = open_tasks["task_id"].astype(str) + " · " + open_tasks["title"].fillna("").astype(str) + " · " + due
    return list(zip(labels.tolist(), open_tasks["task_id"].astype(str).tolist()))


def follow_ups_due(status: pd.DataFrame, customers: pd.DataFrame, owner: str | None,
                   as_of: pd.Timestamp) -> pd.DataFrame:
    """Customers of ``owner`` past their stage's follow-up cadence (rows of
    :func:`crmkit.analytics.cadence_status` with ``on_cadence`` False), most late first, with contact
    details and ``days_late`` (whole days since the follow-up was due)."""
    late = status[~status["on_cadence"].astype(bool)]
    if owner not in (None, ALL):
        late = late[(late["owner"] == owner).fillna(False).to_numpy(dtype=bool)]
    info = customers.drop_duplicates("customer_id").set_index("customer_id")
    out = late[["customer_id", "stage", "last_contact", "due_at"]].copy()
    ids = out["customer_id"].astype("string")
    for col in ("name", "contact_name", "phone"):
        out[col] = info[col].reindex(ids).to_numpy() if col in info else None
    out["days_late"] = ((pd.Timestamp(as_of) - out["due_at"]).dt.total_seconds() // 86400).astype("Int64")
    return out.sort_values("due_at", kind="stable")


def rule_actions(rule_log: pd.DataFrame, rules: pd.DataFrame, customer_ids: pd.Series, period: str,
                 as_of: pd.Timestamp, limit: int = 50) -> pd.DataFrame:
    """RuleLog rows about the given customers (entity customers) in the period, latest first, with rule names."""
    log = rule_log
    about = (log["entity"].astype("string").isin(["customers", "customer"]).fillna(False)
             & log["record_id"].astype("string").isin(customer_ids.astype("string")).fillna(False))
    when = in_period(log["at"], period, as_of) & (pd.to_datetime(log["at"], errors="coerce") <= as_of).fillna(True)
    out = log[about & when].sort_values("at", ascending=False).head(limit).copy()
    names = rules.drop_duplicates("rule_id").set_index("rule_id")["name"] if len(rules) else pd.Series(dtype="string")
    out["rule_name"] = names.reindex(out["rule_id"].astype("string")).to_numpy() if len(out) else pd.Series(
        dtype="string")
    return out


def with_record_names(log: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """RuleLog rows plus ``customer_name`` for rows about a customer."""
    return with_customer_names(log, customers, column="record_id")


def rate_formats(lang: str) -> dict[str, str]:
    """Formats of the campaign table's columns (by their label in ``lang``)."""
    pct = ["reach", "target_reach", "open_rate", "target_open", "conversion", "target_conversion", "roi"]
    out = {column_label(c, lang, "campaigns"): "pct" for c in pct}
    out.update({column_label(c, lang, "campaigns"): "money" for c in ("revenue", "cost")})
    return out


def share_formats(lang: str) -> dict[str, str]:
    return {column_label("customers_share", lang): "pct", column_label("revenue_share", lang): "pct",
            column_label("revenue", lang): "money"}


def with_customers(scores: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """RFM scores (indexed by customer_id) joined to the customers' own columns, one row per customer."""
    base = customers.drop_duplicates("customer_id").drop(
        columns=[c for c in scores.columns if c in customers.columns and c != "customer_id"])
    sc = scores.copy()
    if "customer_id" not in sc.columns:
        sc = sc.rename_axis("customer_id").reset_index()
    sc["customer_id"] = sc["customer_id"].astype("string")
    base = base.assign(customer_id=base["customer_id"].astype("string"))
    return base.merge(sc, on="customer_id", how="left")


def segment_options(lang: str) -> list[tuple[str, str]]:
    from ..schema import RFM_SEGMENT

    return enum_options(RFM_SEGMENT, lang, "dash_all_segments")


def segment_name(code: str, lang: str) -> str:
    from ..schema import RFM_SEGMENT

    return _t("dash_all_segments", lang) if code in (None, "", ALL) else enum_label(RFM_SEGMENT, code, lang)


def tier_name(code: str, lang: str) -> str:
    from ..schema import VALUE_TIER

    return enum_label(VALUE_TIER, code, lang)


def invalid_values(ws) -> pd.DataFrame:
    """Every problem :func:`crmkit.validate.validate_workspace` finds (file, sheet, row, column, value,
    severity, reason), for the data quality page."""
    from ..validate import validate_workspace

    return validate_workspace(ws).issues


def issues_of(issues: pd.DataFrame, customers: pd.DataFrame, everything: bool) -> pd.DataFrame:
    """The issues of the chosen customers' rows (Customers sheet) — or all issues when nothing is filtered."""
    if everything or issues.empty:
        return issues
    from ..schema import ENTITIES as _E

    sheet_names = {_E["customers"].en, _E["customers"].zh}
    rows = pd.to_numeric(issues["row"], errors="coerce")
    keep = issues["sheet"].astype("string").isin(sheet_names).fillna(False) & rows.isin(customers.index)
    return issues[keep.to_numpy(dtype=bool)]


def issue_counts(issues: pd.DataFrame) -> pd.DataFrame:
    """Problems per sheet, column and severity, most first."""
    if issues.empty:
        return pd.DataFrame(columns=["sheet", "column", "severity", "problems"])
    g = issues.groupby(["sheet", "column", "severity"], dropna=False).size().rename("problems").reset_index()
    return g.sort_values("problems", ascending=False, kind="stable", ignore_index=True)


def issue_frame(issues: pd.DataFrame, lang: str, columns: Sequence[str] = tuple(ISSUE_COLUMNS),
                show_full_contacts: bool = False) -> pd.DataFrame:
    """Problems (or their counts) as a table for people: severity in words, headers in ``lang``,
    phone numbers and e-mails masked like everywhere else."""
    out = issues.copy()
    if not show_full_contacts and {"field", "value"} <= set(out.columns):
        from ..normalize import mask_contact

        contact = out["field"].astype("string").isin(["phone", "email"]).fillna(False).to_numpy(dtype=bool)
        out["value"] = out["value"].astype("string").where(~contact, mask_contact(out["value"]))
    if "severity" in out:
        out["severity"] = out["severity"].map(lambda v: _t(str(v), lang) if isinstance(v, str) else v)
    return display_frame(out, lang, columns=list(columns))


def duplicate_rows(customers: pd.DataFrame, keys=None, show_full_contacts: bool = False,
                   lang: str = "en", region: str | None = None) -> pd.DataFrame:
    """The customers in duplicate groups (:func:`crmkit.dedupe.find_duplicates`) with their details;
    matching phone numbers and e-mails are masked like the contact columns.  ``region`` is
    Settings ``phone_region`` (how numbers without a country code are read; CN when None)."""
    from ..dedupe import find_duplicates

    found = find_duplicates(customers, keys=keys, region=region or "CN")
    if found is None or not len(found):
        return pd.DataFrame(columns=DUPLICATE_COLUMNS)
    info = customers.drop_duplicates("customer_id").set_index("customer_id")
    out = found.copy()
    for col in ("name", "contact_name", "phone", "email", "owner"):
        out[col] = info[col].reindex(out["customer_id"].astype("string")).to_numpy()
    if not show_full_contacts:
        from ..normalize import mask_contact

        contact = out["key"].astype("string").isin(["phone", "email"]).fillna(False).to_numpy(dtype=bool)
        out["match_value"] = out["match_value"].astype("string").where(~contact, mask_contact(out["match_value"]))
    out["key"] = out["key"].astype("string").map(lambda k: _t(f"key_{k}", lang) if isinstance(k, str) else k)
    return out.sort_values(["group", "customer_id"], kind="stable", ignore_index=True)


def action_enums() -> dict[str, Enum]:
    from ..schema import ACTION, OUTCOME

    return {"action": ACTION, "outcome": OUTCOME}


def campaign_frame(kpis: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The campaign table: :func:`crmkit.analytics.campaign_kpis` plus the rates below target, in ``lang``."""
    shown = kpis.rename(columns={"target": "target_count"}).assign(below_target=under_performance(kpis, lang))
    return display_frame(shown, lang, entity="campaigns", columns=CAMPAIGN_COLUMNS)
