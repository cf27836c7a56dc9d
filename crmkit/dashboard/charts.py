"""The dashboards' charts: plotly figure builders, the chart slot, and one chart per dashboard figure.

The builders (:func:`bar_figure`, :func:`funnel_figure` ...) draw with one
palette and one template; the dashboard charts (:func:`funnel_chart`,
:func:`segment_chart` ...) take a frame of :mod:`crmkit.analytics` or
:mod:`crmkit.rfm` and the language, and return a figure, or an
:class:`EmptyChart` when there is nothing to draw.  :func:`show_figure` puts
either in a :func:`chart` slot.  plotly and ipywidgets are imported inside
the functions that need them, so importing this module stays light.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ..i18n import t as _t
from ..schema import RFM_SEGMENT, SOURCE, STAGE, VALUE_TIER
from .formatting import column_label, enum_label, esc, fmt_int, fmt_money, fmt_pct

DASHBOARD_KERNEL_VAR = "CRMKIT_DASHBOARD_KERNEL"   # set by crmkit.dashboard for the kernels it starts

# one palette for every chart: calm blues, with green/red for on/off target
COLORS = ("#2e75b6", "#70ad47", "#ffc000", "#ed7d31", "#5b9bd5", "#a5a5a5", "#264478", "#9e480e",
          "#636363", "#997300", "#43682b", "#7cafdd")
GOOD, BAD, NEUTRAL = "#2e7d32", "#c62828", "#2e75b6"


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


def warm_up_figures() -> None:
    """Build one figure widget of each trace type the dashboards draw, and close it again at once.

    plotly builds its validators on first use, per trace type, and copies the
    template into every figure; a preheated kernel does that before the visit
    (:func:`crmkit.dashboard.context.warm_up`), and nothing is left over in the
    page's widget state.
    """
    _light_plotly_widgets()
    import ipywidgets  # noqa: F401
    import plotly.graph_objects as go

    for trace in (go.Bar(x=["a"], y=[1.0]), go.Funnel(x=[1.0], y=["a"]), go.Pie(labels=["a"], values=[1.0]),
                  go.Heatmap(z=[[1.0]], x=["a"], y=["b"]), go.Scatter(x=["a"], y=[1.0])):
        fw = go.FigureWidget(_layout(_figure(trace), "", 100))
        fw.close()


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


# --------------------------------------------------------------------------- dashboard charts
# Each takes a frame from crmkit.analytics / crmkit.rfm and the language, and returns a figure.


def funnel_chart(funnel: pd.DataFrame, lang: str):
    """Funnel of :func:`crmkit.analytics.funnel`: customers who reached each stage; the weakest step named."""
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
