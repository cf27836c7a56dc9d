"""The forms page of the dashboards: one Voila page per form of the Forms sheet, and their index.

The form configuration and the submission are :mod:`crmkit.forms`; this
module builds the ipywidgets page on top of them (:func:`form_app`), one
widget per field matched to its type, and the bilingual index of the forms
(:func:`form_index_html`).  ``notebooks/form.ipynb`` only calls it.
"""

from __future__ import annotations

import html
import os
import urllib.parse
from pathlib import Path

import pandas as pd

from ..exceptions import CrmkitError, FileLockedError, UsageError
from ..forms import (
    SEED_FORMS,
    SubmitResult,
    default_text,
    form_fields,
    get_form,
    load_forms,
    submit,
    submitters,
    team_names,
)
from ..i18n import t
from ..normalize import mask_contact
from ..schema import ENTITIES, Field, norm_token
from ..settings import check_lang
from .context import open_scoped, preheated, signed_in_user, wait_for_request, warm_up
from .widgets import language_switch


def query_params() -> dict[str, str]:
    """The page's query string (Voila passes it to the kernel as ``QUERY_STRING``).

    A preheated kernel learns it when the visit arrives, so this waits for it there.
    """
    if preheated():
        warm_up()
        wait_for_request()
    q = os.environ.get("QUERY_STRING", "")
    return {k: v[0] for k, v in urllib.parse.parse_qs(q).items() if v}


def form_app(workspace, form_name: str | None = None, *, prefill: dict | None = None, as_of=None):
    """The form page as an ipywidgets box: one widget per field, matched to its type.

    Dropdowns come from the enumerations and the Team sheet, dates use date
    pickers, ratings a 1-5 selector; labels are in the workspace language.
    Submitting calls :func:`submit` and shows field messages next to the
    widgets, duplicate candidates, or what the rules did.

    In team mode (``crmkit dashboard --team``) the page is the signed-in member's: the
    submitter is them (not a choice), the person lists and the customer list hold only their
    scope, and :func:`submit` checks the same again (``as_user``).
    """
    import ipywidgets as w

    user = signed_in_user()
    ws = open_scoped(workspace, user)
    asked = (prefill or {}).get("lang")
    try:
        lang = check_lang(asked) if asked else ws.lang     # ?lang=zh|en from the index page's switch
    except UsageError:
        lang = ws.lang
    if not form_name:
        return _form_index(ws, w, lang)
    form = get_form(ws, form_name)
    fields = form_fields(ws, form)
    now = ws.as_of(as_of)
    prefill = dict(prefill or {})
    allowed = submitters(ws, form)
    scope = getattr(ws, "scope", None) if user else None
    if user is not None:
        allowed = [n for n in allowed if n == user]

    who = w.Dropdown(options=([] if user else [("", None)]) + [(n, n) for n in allowed], description="",
                     layout=w.Layout(width="260px"), disabled=user is not None)
    who.add_class("crmkit-submitter")
    defaults = {k: default_text(v, now, "") for k, v in form.defaults}
    inputs: dict[str, object] = {}
    errors: dict[str, object] = {}
    rows = []
    for f in fields:
        widget = _widget_for(w, ws, f, lang, scope)
        initial = prefill.get(f.key, defaults.get(f.key))
        _set_initial(widget, f, initial)
        widget.add_class(f"crmkit-field-{f.key}")
        inputs[f.key] = widget
        err = w.HTML("", layout=w.Layout(min_width="200px"))
        err.add_class(f"crmkit-error-{f.key}")
        errors[f.key] = err
        star = " <span style='color:#c00'>*</span>" if f.required else ""
        label = w.HTML(f"<b>{_esc(f.header(lang))}</b>{star}", layout=w.Layout(width="170px"))
        rows.append(w.HBox([label, widget, err]))
    button = w.Button(description=t("form_submit", lang), button_style="primary", icon="")
    button.add_class("crmkit-submit")
    status = w.HTML("")
    status.add_class("crmkit-status")
    extra = w.VBox([])

    def collect() -> dict:
        return {k: _widget_value(inputs[k], ws.entity(form.entity).field(k)) for k in inputs}

    def show(result: SubmitResult) -> None:
        for k, e in errors.items():
            msg = result.errors.get(k)
            e.value = f"<span style='color:#c00'>{_esc(msg)}</span>" if msg else ""
        lines = result.messages(lang)
        color = "#1a7f37" if result.ok else "#c00"
        status.value = (f"<div style='color:{color}'><b>{_esc(lines[0])}</b><ul>"
                        + "".join(f"<li>{_esc(x)}</li>" for x in lines[1:]) + "</ul></div>")
        extra.children = ()
        if len(result.duplicates):
            extra.children = (_duplicates_box(w, ws, result, lang, lambda: do_submit(allow_duplicate=True)),)
        if result.ok:
            for k in inputs:
                _set_initial(inputs[k], ws.entity(form.entity).field(k), defaults.get(k))

    def do_submit(*_, allow_duplicate: bool = False) -> None:
        button.disabled = True
        status.value = f"<i>{_esc(t('form_saving', lang))}</i>"
        try:
            result = submit(ws.path, form.name, collect(), who.value or "", as_of=as_of,
                            allow_duplicate=allow_duplicate, as_user=user)
            show(result)
        except FileLockedError:
            status.value = f"<div style='color:#c00'><b>{_esc(t('form_busy', lang))}</b></div>"
        except CrmkitError as exc:
            status.value = f"<div style='color:#c00'><b>{_esc(str(exc))}</b></div>"
        finally:
            button.disabled = False

    button.on_click(do_submit)
    header = w.HTML(f"<h2>{_esc(form.name)}</h2><p>{_esc(form.description)}</p>")
    who_row = w.HBox([w.HTML(f"<b>{_esc(t('form_submitted_by', lang))}</b> <span style='color:#c00'>*</span>",
                             layout=w.Layout(width="170px")), who])
    return w.VBox([header, who_row, *rows, button, status, extra], layout=w.Layout(max_width="900px"))


INDEX_STYLE = """<style>
.crmkit-forms { background: #f4f6f9; color: #1f2933; border-radius: 10px; overflow: hidden;
  font-family: "Segoe UI", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Helvetica Neue", Arial, sans-serif; }
.crmkit-forms header { background: #1f4e79; color: #fff; padding: 24px 36px; }
.crmkit-forms header h1 { margin: 0; font-size: 26px; font-weight: 600; }
.crmkit-forms header p { margin: 6px 0 0; opacity: .85; }
.crmkit-forms main { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 20px;
  padding: 28px 36px; }
.crmkit-forms a.card { display: block; background: #fff; border-radius: 10px; padding: 20px 22px; text-decoration: none;
  color: inherit; box-shadow: 0 1px 3px rgba(0,0,0,.12); border-top: 5px solid #2e75b6; transition: box-shadow .15s; }
.crmkit-forms a.card:hover { box-shadow: 0 4px 14px rgba(0,0,0,.18); }
.crmkit-forms .name { font-size: 21px; font-weight: 600; }
.crmkit-forms .other { font-size: 15px; color: #52606d; margin-top: 2px; }
.crmkit-forms .desc { font-size: 14px; color: #3e4c59; margin-top: 10px; line-height: 1.5; }
.crmkit-forms .empty { padding: 28px 36px; color: #7b8794; font-style: italic; }
</style>"""


def form_index_html(ws, lang: str) -> str:
    """The list of the workspace's forms as cards (styled like the dashboards' landing page), in ``lang``.

    A seed form shows its name in ``lang`` with the other language's name below; a form of the
    user's own shows its name and description as typed.  Links carry ``lang`` to the form page.
    """
    cards = []
    for f in load_forms(ws):
        seed = next((sf for sf in SEED_FORMS if norm_token(f.name) in (norm_token(sf[1]), norm_token(sf[2]))), None)
        if seed is not None:
            name, other = (seed[2], seed[1]) if lang == "zh" else (seed[1], seed[2])
            desc = seed[7] if lang == "zh" else seed[6]
        else:
            name, other, desc = f.name, "", f.description
        ent = ENTITIES.get(f.entity)
        what = (ent.zh if lang == "zh" else ent.en) if ent is not None else f.entity
        href = "form.ipynb?" + urllib.parse.urlencode({"form": f.name, "lang": lang})
        cards.append(f'<a class="card" data-form="{_esc(f.name)}" href="{_esc(href)}">'
                     f'<div class="name">{_esc(name)}</div>'
                     + (f'<div class="other">{_esc(other)}</div>' if other else "")
                     + f'<div class="desc">{_esc(desc)}</div><div class="other">→ {_esc(what)}</div></a>')
    body = (f'<main id="crmkit-form-list">{"".join(cards)}</main>' if cards
            else f'<div class="empty" id="crmkit-form-list">{_esc(t("form_no_forms", lang))}</div>')
    intro = t("form_index_intro", lang).format(workspace=Path(ws.path).name)
    return (INDEX_STYLE + f'<div class="crmkit-forms" lang="{"zh-CN" if lang == "zh" else "en"}"><header>'
            f'<h1>crmkit · {_esc(t("form_list", lang))}</h1><p>{_esc(intro)}</p></header>{body}</div>')


def _form_index(ws, w, lang: str | None = None):
    """The forms index page: cards of the forms and a zh/en switch above them."""
    switch = language_switch(lang or ws.lang)
    switch.add_class("crmkit-lang")
    page = w.HTML(form_index_html(ws, switch.value))
    page.add_class("crmkit-form-index")
    switch.observe(lambda change: setattr(page, "value", form_index_html(ws, change["new"])), names="value")
    top = w.HBox([switch], layout=w.Layout(justify_content="flex-end", width="100%", padding="0 0 8px"))
    return w.VBox([top, page], layout=w.Layout(width="100%", max_width="1200px"))


def _duplicates_box(w, ws, result: SubmitResult, lang: str, create_anyway):
    d = result.duplicates

    follow = next((f for f in load_forms(ws) if f.entity == "interactions"), None)
    items = []
    for _, r in d.iterrows():
        phone = mask_contact(pd.Series([r.get("phone")])).iloc[0] if pd.notna(r.get("phone")) else ""
        link = ""
        if follow is not None:
            q = urllib.parse.urlencode({"form": follow.name, "customer_id": r["customer_id"]})
            link = f" — <a href='form.ipynb?{_esc(q)}'>{_esc(t('form_open_existing', lang))}</a>"
        items.append(f"<li><b>{_esc(r['customer_id'])}</b> {_esc(r.get('name') or '')} {_esc(phone)} "
                     f"({_esc(t('form_owner', lang))}: {_esc(r.get('owner') or '-')}){link}</li>")
    again = w.Button(description=t("form_create_anyway", lang), button_style="warning")
    again.add_class("crmkit-create-anyway")
    again.on_click(lambda *_: create_anyway())
    box = w.VBox([w.HTML(f"<div class='crmkit-duplicates'><ul>{''.join(items)}</ul></div>"), again])
    return box


def _esc(s: object) -> str:
    return html.escape("" if s is None else str(s))


def _widget_for(w, ws, f: Field, lang: str, scope=None):
    lay = w.Layout(width="320px")
    if f.type == "person":
        names = [n for n in team_names(ws) if scope is None or scope.sees_owner(n)]
        return w.Dropdown(options=[("", None)] + [(n, n) for n in names], layout=lay)
    if f.type == "bool":
        return w.Checkbox(value=False, indent=False)
    if f.type == "enum" and f.enum is not None:
        return w.Dropdown(options=[("", None)] + [(c.label(lang), c.code) for c in f.enum.choices], layout=lay)
    if f.type == "multi" and f.enum is not None:
        return w.SelectMultiple(options=[(c.label(lang), c.code) for c in f.enum.choices],
                                rows=min(len(f.enum.choices), 6), layout=lay)
    if f.type == "rating":
        return w.ToggleButtons(options=[("-", None)] + [(str(i) + " ★", i) for i in range(1, 6)],
                               style={"button_width": "48px"})
    if f.type == "date":
        return w.DatePicker(layout=lay)
    if f.type == "datetime":
        return w.NaiveDatetimePicker(layout=lay)
    if f.type == "longtext":
        return w.Textarea(layout=w.Layout(width="320px", height="80px"))
    if f.key == "customer_id":
        cust = ws["customers"]
        opts = (cust["customer_id"].astype(str) + " " + cust["name"].fillna("").astype(str)).head(5000).tolist()
        return w.Combobox(options=opts, ensure_option=False, layout=lay,
                          placeholder=t("form_pick_customer", lang))
    placeholder = {"phone": _example_phone(ws.settings.get("phone_region")), "email": "name@example.com",
                   "money": "0.00", "number": "0", "int": "0"}.get(f.type, "")
    return w.Text(layout=lay, placeholder=placeholder)


def _example_phone(region: object) -> str:
    """A mobile number as people of ``region`` write it (13123456789 in CN), for the placeholder."""
    try:
        import phonenumbers

        num = phonenumbers.example_number_for_type(str(region or "CN").upper(), phonenumbers.PhoneNumberType.MOBILE)
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL).replace(" ", "")
    except Exception:  # noqa: BLE001 - an unknown region: a plain hint
        return "13812345678"


def _set_initial(widget, f: Field, value: object) -> None:
    import ipywidgets as w

    v = None if value is None or (not isinstance(value, (list, str)) and pd.isna(value)) else value
    if isinstance(widget, w.Checkbox):
        widget.value = str(v).lower() in ("yes", "true", "1", "是") if v is not None else False
    elif isinstance(widget, (w.DatePicker, w.NaiveDatetimePicker)):
        ts = pd.to_datetime(v, errors="coerce") if v is not None else pd.NaT
        if pd.isna(ts):
            widget.value = None
        else:
            widget.value = ts.date() if isinstance(widget, w.DatePicker) else ts.to_pydatetime().replace(microsecond=0)
    elif isinstance(widget, w.SelectMultiple):
        codes = [x for x in str(v).split(";") if x] if v is not None else []
        widget.value = tuple(c for c in codes if c in [o[1] for o in widget.options])
    elif isinstance(widget, (w.Dropdown, w.ToggleButtons)):
        if v is not None and f.enum is not None:
            v = f.enum.lookup.get(norm_token(v), v)
        if isinstance(widget, w.ToggleButtons) and v is not None:
            v = int(v)
        widget.value = v if v in [o[1] for o in widget.options] else None
    else:
        widget.value = "" if v is None else str(v)


def _widget_value(widget, f: Field):
    import ipywidgets as w

    if isinstance(widget, w.Combobox):
        v = (widget.value or "").strip()
        return v.split(" ", 1)[0] if v else None
    if isinstance(widget, w.SelectMultiple):
        return list(widget.value)
    if isinstance(widget, w.Checkbox):
        return bool(widget.value)
    return widget.value
