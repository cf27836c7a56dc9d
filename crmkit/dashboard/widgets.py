"""The dashboards' widgets: filters and their options, the language switch, the Excel download,
the render wrapper and the page frame (header, sections, rows, filter bar).

ipywidgets is imported inside the functions that need it, so importing this module stays light.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterable

import pandas as pd

from ..i18n import t as _t
from ..schema import Enum
from ..settings import check_lang
from .context import Context
from .formatting import esc, h2, nice, title_html
from .server import DASHBOARDS

LANG_OPTIONS = (("中文", "zh"), ("English", "en"))
PERIODS = ("7d", "30d", "90d", "365d", "all")
ALL = "__all__"


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
    seen = list(dict.fromkeys(n for n in names if n.strip() and ctx.sees_owner(n)))   # team mode: the scope only
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


def set_html(widget, value: str) -> None:
    if widget.value != value:
        widget.value = value


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


def subtitle(ctx: Context) -> str:
    return _t("dash_subtitle", ctx.lang).format(workspace=ctx.path.name, as_of=f"{ctx.as_of:%Y-%m-%d %H:%M}")


def header(ctx: Context, dashboard: str):
    """The title row of a dashboard: title and subtitle (HTML) and the language switch."""
    import ipywidgets as w

    title = w.HTML()
    switch = language_switch(ctx.lang)
    switch.add_class("crmkit-lang")
    who = w.HTML()
    who.add_class("crmkit-user")
    right = w.HBox([who, switch], layout=w.Layout(align_items="center", grid_gap="12px"))
    box = w.HBox([title, right if ctx.user else switch],
                 layout=w.Layout(justify_content="space-between", align_items="center", width="100%"))

    def update(lang: str) -> None:
        name = next((d.title(lang) for d in DASHBOARDS if d.key == dashboard), dashboard)
        set_html(title, title_html(f"{name} · crmkit", subtitle(ctx)))
        if ctx.user:
            set_html(who, user_html(ctx.user, ctx.role, lang))

    update(ctx.lang)
    return box, switch, update


def user_html(user: str, role: str | None, lang: str) -> str:
    """Team mode: who is signed in, and the sign-out link (pages live at ``voila/render/``)."""
    from ..schema import ROLE

    label = ROLE.label(role, lang) if role else ""
    return (f'<span class="crmkit-signed-in">{esc(_t("login_signed_in_as", lang).format(name=user, role=label))}</span>'
            f' · <a class="crmkit-sign-out" href="../../logout">{esc(_t("login_sign_out", lang))}</a>')


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
