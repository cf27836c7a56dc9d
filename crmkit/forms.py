"""Forms: data-entry pages declared in the Forms sheet of rules.xlsx.

A form row names the entity it creates (customers, interactions, tickets),
the fields it shows in order, default values and who may submit it.  The
templates ship two forms from the seed documents: "New customer
registration" (新客户信息登记表) and "Follow-up record" (跟进记录表).

:func:`submit` is the whole submission logic, usable without a browser::

    result = submit(ws, "New customer registration",
                    {"name": "Acme", "phone": "13812345678", "source": "website_form",
                     "intent_level": "A"}, submitted_by="Alex Chen")
    result.ok, result.errors, result.duplicates, result.record_id, result.actions

It validates the values with the same code as import (nothing is written
until the whole form is valid), catches duplicate customers, writes the
record and its History rows through the safe writer, then runs the rules
that apply to the new record at once.  :func:`form_app` builds the Voila
page (ipywidgets) on top of it; ``notebooks/form.ipynb`` only calls it.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .dedupe import find_duplicates
from .exceptions import CrmkitError, FileLockedError, UsageError
from .i18n import t
from .rules.engine import run_rules as _run_rules
from .schema import ENTITIES, FORM_ENTITY, Field, norm_token
from .validate import validate_frame

#: The seed forms: (slug, name en, name zh, entity, fields, defaults, description en, description zh).
SEED_FORMS: tuple[tuple, ...] = (
    ("new_customer", "New customer registration", "新客户信息登记表", "customers",
     "name; industry; customer_type; contact_name; phone; email; source; intent_level; first_contact_at; "
     "notes; owner",
     "customer_type=new; stage=lead; source=website_form; marketing_consent=no",
     "For the sales team to register a new customer and first needs. Leave Owner blank to let the "
     "routing rules assign one.",
     "用于销售团队快速录入新客户基础信息及初步需求。负责人可留空，由分配规则自动分配。"),
    ("follow_up", "Follow-up record", "跟进记录表", "interactions",
     "customer_id; at; method; content; customer_feedback; next_action; next_follow_up_at; owner",
     "at=now; owner=me",
     "Record a contact with a customer: time, method, content, customer feedback, next action and "
     "next follow-up date.",
     "记录一次客户跟进：跟进时间、方式、内容、客户反馈、下一步计划和下次跟进时间。"),
)

#: Id prefixes for records a form creates when the sheet has no ids to follow yet.
ID_PREFIX = {"customers": "C", "interactions": "I", "tickets": "TK"}


def forms_frame(lang: str = "en") -> pd.DataFrame:
    """The Forms sheet of a new workspace: the two seed forms, in ``lang``."""
    from .io.workbook import coerce_frame

    zh = lang == "zh"
    rows = [{"name": zh_name if zh else en_name, "entity": ent, "fields": flds, "defaults": defaults,
             "submitters": None, "description": dzh if zh else den, "enabled": True}
            for _, en_name, zh_name, ent, flds, defaults, den, dzh in SEED_FORMS]
    df = pd.DataFrame(rows)
    df.index = pd.RangeIndex(2, 2 + len(df), name="_row")
    return coerce_frame(df, ENTITIES["forms"])


# --------------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class Form:
    """One row of the Forms sheet, resolved against the workspace's fields."""

    name: str
    entity: str
    fields: tuple[str, ...]                 # canonical keys, in display order
    defaults: tuple[tuple[str, str], ...]   # (key, text) pairs
    submitters: tuple[str, ...] = ()
    description: str = ""
    row: int | None = None

    @property
    def slug(self) -> str:
        for slug_, en, zh, *_ in SEED_FORMS:
            if norm_token(self.name) in (norm_token(en), norm_token(zh)):
                return slug_
        return self.name

    def url_path(self) -> str:
        """The page of this form under the Voila server root."""
        return "voila/render/form.ipynb?" + urllib.parse.urlencode({"form": self.name})


def _sheet_error(msg: str, row: int | None, column: str, value: object = None) -> UsageError:
    return UsageError(msg, file="rules.xlsx", sheet="Forms", row=row, column=column, value=value)


def load_forms(ws) -> list[Form]:
    """The enabled forms of the workspace (Forms sheet), each resolved to field keys.

    Raises :class:`UsageError` naming the row and column of a form that
    names an unknown field or has unreadable defaults.
    """
    from .rules.params import parse_params
    from .schema import match_header

    df = ws["forms"]
    out: list[Form] = []
    for row, r in df.iterrows():          # a short configuration sheet
        enabled = r.get("enabled")
        if enabled is not None and not pd.isna(enabled) and not bool(enabled):
            continue
        name = r.get("name")
        if name is None or pd.isna(name) or not str(name).strip():
            continue
        entity = r.get("entity")
        if entity is None or pd.isna(entity) or entity not in FORM_ENTITY.codes:
            raise _sheet_error("a form creates " + ", ".join(FORM_ENTITY.codes), int(row), "entity", entity)
        ent = ws.entity(entity)
        keys = []
        for item in re.split(r"[;；,，\n]+", _cell(r.get("fields"))):
            item = item.strip()
            if not item:
                continue
            key = match_header(ent, item)
            if key is None or ent.field(key).derived:
                raise _sheet_error(f"form {name!r}: {entity} has no field {item!r}", int(row), "fields", item)
            if key not in keys:
                keys.append(key)
        if not keys:
            raise _sheet_error(f"form {name!r} shows no fields", int(row), "fields")
        try:
            raw_defaults = parse_params(r.get("defaults"))
        except CrmkitError as exc:
            raise _sheet_error(f"form {name!r}: defaults: {exc.message}", int(row), "defaults") from None
        defaults = []
        for k, v in raw_defaults.items():
            key = match_header(ent, k)
            if key is None:
                raise _sheet_error(f"form {name!r}: defaults name an unknown field {k!r}", int(row), "defaults", k)
            defaults.append((key, v))
        subs = tuple(s.strip() for s in re.split(r"[;；,，\n]+", _cell(r.get("submitters"))) if s.strip())
        desc = r.get("description")
        out.append(Form(str(name).strip(), entity, tuple(keys), tuple(defaults), subs,
                        "" if desc is None or pd.isna(desc) else str(desc), int(row)))
    return out


def _cell(v: object) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def get_form(ws, name: str) -> Form:
    """The form called ``name`` (either language's seed name or slug also works)."""
    forms = load_forms(ws)
    want = norm_token(name)
    aliases = {want}
    for slug_, en, zh, *_ in SEED_FORMS:
        names = {norm_token(slug_), norm_token(en), norm_token(zh)}
        if want in names:
            aliases |= names
    for f in forms:
        if norm_token(f.name) in aliases:
            return f
    available = ", ".join(f.name for f in forms) or "none"
    raise UsageError(f"no form named {name!r} (forms: {available})", file=str(ws.file("rules")), sheet="Forms")


def form_pages(ws) -> list[tuple[str, str]]:
    """(title, url path) of every enabled form, for a landing page."""
    return [(f.name, f.url_path()) for f in load_forms(ws)]


def form_fields(ws, form: Form) -> list[Field]:
    ent = ws.entity(form.entity)
    return [ent.field(k) for k in form.fields]


def team_names(ws) -> list[str]:
    team = ws["team"]
    return [str(x) for x in team["name"].dropna().tolist()] if "name" in team else []


def submitters(ws, form: Form) -> list[str]:
    """Team members allowed to submit ``form`` (names, or ``role:<code>`` entries; blank = everyone)."""
    team = ws["team"]
    names = team_names(ws)
    if not form.submitters:
        return names
    allowed: list[str] = []
    for s in form.submitters:
        if s.lower().startswith(("role:", "角色:", "角色：")):
            role = re.split(r"[:：]", s, maxsplit=1)[1].strip()
            from .schema import ROLE

            code = ROLE.lookup.get(norm_token(role), role)
            allowed += [str(n) for n in team.loc[team["role"] == code, "name"].dropna()]
        else:
            allowed += [n for n in names if norm_token(n) == norm_token(s)]
    return list(dict.fromkeys(allowed))


# --------------------------------------------------------------------------- submission


@dataclass
class SubmitResult:
    """What happened to one submission."""

    ok: bool
    form: str
    entity: str
    errors: dict[str, str] = field(default_factory=dict)       # field key (or "_form") -> message
    warnings: dict[str, str] = field(default_factory=dict)
    duplicates: pd.DataFrame = field(default_factory=pd.DataFrame)  # existing records that look the same
    record_id: str | None = None
    record: dict = field(default_factory=dict)                 # the record as written (after the rules)
    actions: pd.DataFrame = field(default_factory=pd.DataFrame)  # rule actions run for the record
    rules_error: str | None = None
    form_fields: tuple = ()                                    # the fields the form shows (errors beside them)

    def messages(self, lang: str = "en") -> list[str]:
        """Human lines for the page: the outcome, then one line per rule action that ran."""
        if not self.ok:
            if len(self.duplicates):
                return [t("form_duplicate", lang)]
            return [t("form_fix_errors", lang)] + [v for k, v in self.errors.items() if k not in self.form_fields]
        lines = [t("form_saved", lang).format(id=self.record_id)]
        if self.record.get("owner"):
            lines.append(f"{t('form_owner', lang)}: {self.record['owner']}")
        if len(self.actions):
            from .schema import ACTION

            done = self.actions
            if "outcome" in done:
                done = done[done["outcome"].isin(["done", "suppressed"])]
            for _, a in done.iterrows():
                label = ACTION.label(str(a.get("action")), lang)
                detail = a.get("detail")
                lines.append(f"{label}: {detail}" if detail is not None and not pd.isna(detail) else label)
        if self.rules_error:
            lines.append(f"{t('form_rules_failed', lang)}: {self.rules_error}")
        return lines

    def to_dict(self) -> dict:
        return {"ok": self.ok, "form": self.form, "entity": self.entity, "errors": self.errors,
                "warnings": self.warnings, "record_id": self.record_id,
                "duplicates": self.duplicates.to_dict("records") if len(self.duplicates) else [],
                "actions": self.actions.to_dict("records") if len(self.actions) else [],
                "rules_error": self.rules_error}


def _as_text(v: object) -> str | None:
    """A submitted Python value as the text a workbook cell would hold."""
    if v is None:
        return None
    if isinstance(v, float) and pd.isna(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple, set, frozenset)):
        items = [str(x).strip() for x in v if x is not None and str(x).strip()]
        return ";".join(items) or None
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, _dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, _dt.date):
        return v.strftime("%Y-%m-%d")
    s = str(v).strip()
    return s or None


def _default_text(text: str, as_of: pd.Timestamp, submitted_by: str) -> str:
    low = text.strip().lower()
    if low in ("today", "今天"):
        return as_of.strftime("%Y-%m-%d")
    if low in ("now", "现在"):
        return as_of.strftime("%Y-%m-%d %H:%M:%S")
    if low in ("me", "我", "submitter"):
        return submitted_by
    return text


def next_id(existing: pd.Series, entity: str) -> str:
    """The next id after the existing ones: ``C00041`` after ``C00040``; ``C00001`` for an empty sheet."""
    ids = existing.dropna().astype(str)
    parts = ids.str.extract(r"^([A-Za-z\-_]*)(\d+)$").dropna()
    if len(parts):
        prefix = parts[0].mode().iloc[0]
        nums = parts.loc[parts[0] == prefix, 1]
        width = int(nums.str.len().max())
        return f"{prefix}{int(nums.astype('int64').max()) + 1:0{width}d}"
    return f"{ID_PREFIX.get(entity, 'R')}{len(ids) + 1:05d}"


def _issue_frame_errors(issues: pd.DataFrame, ent) -> tuple[dict[str, str], dict[str, str]]:
    """Validation issues as {field key: message}, errors and warnings apart (first message per field)."""
    from .schema import match_header

    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}
    if issues is None or len(issues) == 0:
        return errors, warnings
    for _, i in issues.iterrows():           # one row per bad value of a one-record frame
        key = i.get("field")
        if key is None or pd.isna(key) or not ent.has(str(key)):
            col = str(i.get("column"))
            key = col if ent.has(col) else (match_header(ent, col) or col)
        target = errors if str(i.get("severity", "error")) == "error" else warnings
        target.setdefault(str(key), str(i.get("reason")))
    return errors, warnings


def _validate(raw: pd.DataFrame, entity: str, ws, existing: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The import validator (crmkit.validate.validate_frame) over the text of one record."""
    refs = {"customers": ws["customers"] if entity != "customers" else existing, "team": ws["team"],
            entity: existing}
    return validate_frame(raw, entity, settings=ws.settings, fields=ws.fields(entity), existing=refs,
                          lang=ws.lang)


def _find_duplicates(customers: pd.DataFrame, new_id: str, keys, region: str | None = None) -> pd.DataFrame:
    """Existing customers that look like the new one (:func:`crmkit.dedupe.find_duplicates`)."""
    cols = ["customer_id", "name", "contact_name", "phone", "email", "owner"]
    groups = find_duplicates(customers, keys=keys, region=region or "CN")
    if not len(groups):
        return pd.DataFrame(columns=cols + ["match"])
    mine = groups.loc[groups["customer_id"].astype(str) == new_id, "group"].unique()
    hits = groups[groups["group"].isin(mine) & (groups["customer_id"].astype(str) != new_id)]
    ids = list(dict.fromkeys(hits["customer_id"].astype(str)))
    match = hits.drop_duplicates("customer_id").set_index("customer_id")["key"]
    out = customers[customers["customer_id"].astype(str).isin(ids)][cols].copy()
    out["match"] = out["customer_id"].map(match)
    return out.reset_index(drop=True)


def _history(entity: str, record_id: str, row: pd.Series, ent, at: pd.Timestamp, by: str) -> pd.DataFrame:
    from .io.workbook import _excel_value

    vals = []
    for f in ent.fields:
        v = row.get(f.key)
        if f.derived or v is None or (not isinstance(v, str) and pd.isna(v)):
            continue
        x = _excel_value(v, f, "en")
        if isinstance(x, _dt.datetime):
            x = x.strftime("%Y-%m-%d %H:%M") if (x.hour or x.minute) else x.strftime("%Y-%m-%d")
        vals.append({"at": at, "entity": entity, "record_id": record_id, "field": f.key, "old": None,
                     "new": str(x), "by": by})
    return pd.DataFrame(vals)


def submit(ws, form_name: str, values: dict, submitted_by: str, *, as_of=None,
           allow_duplicate: bool = False, run_rules: bool = True, lock_wait: float = 15) -> SubmitResult:
    """Validate and save one form submission, then run the rules for the new record.

    ``values`` maps field keys (or headers) to Python values (text, numbers,
    dates, booleans, lists for multiple choice).  Nothing is written unless
    every field is valid and, for a new customer, no existing customer looks
    the same (pass ``allow_duplicate=True`` to create it anyway).  The
    workspace is read afresh under the workspace lock, so a page left open
    never overwrites newer data.
    """
    from .io.safety import workspace_lock
    from .schema import match_header
    from .workspace import Workspace, open_workspace

    path = ws.path if isinstance(ws, Workspace) else Path(ws)
    with workspace_lock(path, wait=lock_wait):
        fresh = open_workspace(path)
        form = get_form(fresh, form_name)
        ent = fresh.entity(form.entity)
        lang = fresh.lang
        now = fresh.as_of(as_of)
        res = SubmitResult(False, form.name, form.entity)
        who = (submitted_by or "").strip()
        allowed = submitters(fresh, form)
        if not who or (allowed and norm_token(who) not in {norm_token(a) for a in allowed}):
            res.errors["_form"] = t("form_not_allowed", lang).format(name=who or "?")
            return res

        res.form_fields = tuple(form.fields)
        # the submitted values, by canonical key, as the text a cell would hold; only the form's own
        # fields may be given (a page cannot set what the form does not show)
        text: dict[str, str | None] = {}
        for k, v in (values or {}).items():
            key = k if ent.has(k) else match_header(ent, k)
            if key is None:
                res.errors.setdefault("_form", f"{t('form_unknown_field', lang)}: {k}")
                continue
            if key not in form.fields:
                res.errors[key] = t("form_not_on_form", lang).format(field=ent.field(key).header(lang))
                continue
            text[key] = _as_text(v)
        for key, v in form.defaults:
            if text.get(key) is None:
                text[key] = _default_text(v, now, who)
        existing = fresh[form.entity]
        id_key = ent.id_field
        if id_key and text.get(id_key) is not None and id_key not in res.errors:
            # a form creates records: an id that exists already would overwrite or duplicate one
            if (existing[id_key].astype("string").str.strip() == text[id_key]).fillna(False).any():
                res.errors[id_key] = t("form_id_exists", lang).format(id=text[id_key])
        if id_key and text.get(id_key) is None:
            text[id_key] = next_id(existing[id_key], form.entity)
        team = team_names(fresh)
        if team:   # owner, assignee ...: a member of the Team sheet (blank lets the routing rules choose)
            members = {norm_token(n) for n in team}
            for f in ent.fields:
                name = text.get(f.key)
                if f.type == "person" and name is not None and f.key not in res.errors \
                        and norm_token(name) not in members:
                    res.errors[f.key] = t("form_unknown_owner", lang).format(name=name)
        auto = {"customers": {"created_at": now.strftime("%Y-%m-%d")},
                "interactions": {"at": now.strftime("%Y-%m-%d %H:%M:%S"), "owner": who},
                "tickets": {"created_at": now.strftime("%Y-%m-%d %H:%M:%S"), "status": "open"}}[form.entity]
        for key, v in auto.items():
            if text.get(key) is None:
                text[key] = v
        if res.errors:
            return res

        start = int(existing.index.max()) + 1 if len(existing) else 2
        raw = pd.DataFrame({f.key: pd.Series([text.get(f.key)], dtype="string") for f in ent.fields
                            if not f.derived})
        raw.index = pd.RangeIndex(start, start + 1, name="_row")
        normalised, issues = _validate(raw, form.entity, fresh, existing)
        errs, warns = _issue_frame_errors(issues, ent)
        for k, v in errs.items():
            res.errors.setdefault(k, v)
        res.warnings.update(warns)
        # a follow-up or ticket belongs to an existing customer
        if form.entity in ("interactions", "tickets") and "customer_id" not in res.errors:
            cid = normalised["customer_id"].iloc[0]
            if pd.notna(cid) and not (fresh["customers"]["customer_id"].astype(str) == str(cid)).any():
                res.errors["customer_id"] = t("form_no_customer", lang).format(id=cid)
        if res.errors:
            return res
        record_id = str(normalised[id_key].iloc[0])
        if form.entity == "customers" and not allow_duplicate:
            combined = pd.concat([existing, normalised])
            dups = _find_duplicates(combined, record_id, fresh.settings.get("dedupe_keys"),
                                    fresh.settings.get("phone_region"))
            if len(dups):
                res.duplicates = dups
                return res

        fresh.append(form.entity, normalised)
        history = [_history(form.entity, record_id, normalised.iloc[0], ent, now, who)]
        if form.entity == "interactions":
            history.append(_carry_follow_up(fresh, normalised.iloc[0], now, who))
        fresh.append("history", pd.concat(history, ignore_index=True))
        fresh.save()
        res.ok = True
        res.record_id = record_id

        targets = {"customers": [record_id]} if form.entity == "customers" else (
            {"customers": [str(normalised["customer_id"].iloc[0])]} if form.entity == "interactions"
            else {"tickets": [record_id]})
        rws = None
        if run_rules:
            # still under the lock: a second tab submitting at the same time waits (up to lock_wait)
            # for this record and its rules, then saves and runs the rules for its own record
            try:
                rws = open_workspace(path)        # read afresh: what was just saved
                run = _run_rules(rws, as_of=now, records=targets, wait=lock_wait)
                acts = getattr(run, "actions", None)
                res.actions = acts.reset_index(drop=True) if isinstance(acts, pd.DataFrame) else pd.DataFrame()
            except CrmkitError as exc:
                res.rules_error = str(exc)
            except Exception as exc:  # noqa: BLE001 - the record is saved; the page says the rules failed
                res.rules_error = f"{type(exc).__name__}: {exc}"
    after = (rws if rws is not None else open_workspace(path))[form.entity]
    rec = after[after[id_key].astype(str) == record_id]
    res.record = {k: (None if (not isinstance(v, str) and pd.isna(v)) else v)
                  for k, v in rec.iloc[0].items()} if len(rec) else {}
    return res


def _carry_follow_up(ws, row: pd.Series, at: pd.Timestamp, by: str) -> pd.DataFrame:
    """A follow-up's next date becomes the customer's next follow-up (recorded in History)."""
    nxt = row.get("next_follow_up_at")
    if nxt is None or pd.isna(nxt):
        return pd.DataFrame()
    cust = ws["customers"]
    hit = cust["customer_id"].astype(str) == str(row["customer_id"])
    if not hit.any():
        return pd.DataFrame()
    old = cust.loc[hit, "next_follow_up_at"].iloc[0]
    cust = cust.copy()
    cust.loc[hit, "next_follow_up_at"] = nxt
    ws.replace("customers", cust)
    fmt = "%Y-%m-%d %H:%M"
    return pd.DataFrame([{"at": at, "entity": "customers", "record_id": str(row["customer_id"]),
                          "field": "next_follow_up_at", "old": None if pd.isna(old) else old.strftime(fmt),
                          "new": pd.Timestamp(nxt).strftime(fmt), "by": by}])


# --------------------------------------------------------------------------- the Voila page


def default_workspace(value: str | os.PathLike | None = None) -> Path:
    """The workspace a form page writes to: ``value``, else ``$CRMKIT_WORKSPACE``, else ``sample_data/``."""
    raw = value if value not in (None, "") else os.environ.get("CRMKIT_WORKSPACE", "")
    if not raw:
        return Path(__file__).resolve().parent.parent / "sample_data"
    return Path(raw).expanduser().resolve()


def query_params() -> dict[str, str]:
    """The page's query string (Voila passes it to the kernel as ``QUERY_STRING``).

    A preheated kernel learns it when the visit arrives, so this waits for it there.
    """
    from .dashboard.ui import preheated, wait_for_request, warm_up

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
    """
    import ipywidgets as w

    from .i18n import check_lang
    from .workspace import open_workspace

    ws = open_workspace(workspace)
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

    who = w.Dropdown(options=[("", None)] + [(n, n) for n in allowed], description="",
                     layout=w.Layout(width="260px"))
    who.add_class("crmkit-submitter")
    defaults = {k: _default_text(v, now, "") for k, v in form.defaults}
    inputs: dict[str, object] = {}
    errors: dict[str, object] = {}
    rows = []
    for f in fields:
        widget = _widget_for(w, ws, f, lang)
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
                            allow_duplicate=allow_duplicate)
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
    from .schema import ENTITIES as _ENTITIES

    cards = []
    for f in load_forms(ws):
        seed = next((sf for sf in SEED_FORMS if norm_token(f.name) in (norm_token(sf[1]), norm_token(sf[2]))), None)
        if seed is not None:
            name, other = (seed[2], seed[1]) if lang == "zh" else (seed[1], seed[2])
            desc = seed[7] if lang == "zh" else seed[6]
        else:
            name, other, desc = f.name, "", f.description
        ent = _ENTITIES.get(f.entity)
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
    from .dashboard.ui import language_switch

    switch = language_switch(lang or ws.lang)
    switch.add_class("crmkit-lang")
    page = w.HTML(form_index_html(ws, switch.value))
    page.add_class("crmkit-form-index")
    switch.observe(lambda change: setattr(page, "value", form_index_html(ws, change["new"])), names="value")
    top = w.HBox([switch], layout=w.Layout(justify_content="flex-end", width="100%", padding="0 0 8px"))
    return w.VBox([top, page], layout=w.Layout(width="100%", max_width="1200px"))


def _duplicates_box(w, ws, result: SubmitResult, lang: str, create_anyway):
    d = result.duplicates
    from .normalize import mask_contact

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
    import html

    return html.escape("" if s is None else str(s))


def _widget_for(w, ws, f: Field, lang: str):
    lay = w.Layout(width="320px")
    if f.type == "person":
        return w.Dropdown(options=[("", None)] + [(n, n) for n in team_names(ws)], layout=lay)
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
