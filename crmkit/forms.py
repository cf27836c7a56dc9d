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
that apply to the new record at once.  :func:`crmkit.dashboard.forms_page.form_app`
builds the Voila page (ipywidgets) on top of it; ``notebooks/form.ipynb`` only calls it.
"""

from __future__ import annotations

import datetime as _dt
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .dedupe import find_duplicates
from .exceptions import CrmkitError, UsageError
from .i18n import t
from .ids import next_ids
from .rules.engine import run_rules as _run_rules
from .schema import ENTITIES, FORM_ENTITY, Field, norm_token
from .validate import validate_frame
from .workspace import team_names as workspace_team_names

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

def forms_frame(lang: str = "en") -> pd.DataFrame:
    """The Forms sheet of a new workspace: the two seed forms, in ``lang``."""
    from .io.typing import coerce_frame

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
    """The names of the workspace's Team sheet (:func:`crmkit.workspace.team_names`)."""
    return workspace_team_names(ws["team"])


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


def default_text(text: str, as_of: pd.Timestamp, submitted_by: str) -> str:
    low = text.strip().lower()
    if low in ("today", "今天"):
        return as_of.strftime("%Y-%m-%d")
    if low in ("now", "现在"):
        return as_of.strftime("%Y-%m-%d %H:%M:%S")
    if low in ("me", "我", "submitter"):
        return submitted_by
    return text


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
    from .io.cells import excel_value

    vals = []
    for f in ent.fields:
        v = row.get(f.key)
        if f.derived or v is None or (not isinstance(v, str) and pd.isna(v)):
            continue
        x = excel_value(v, f, "en")
        if isinstance(x, _dt.datetime):
            x = x.strftime("%Y-%m-%d %H:%M") if (x.hour or x.minute) else x.strftime("%Y-%m-%d")
        vals.append({"at": at, "entity": entity, "record_id": record_id, "field": f.key, "old": None,
                     "new": str(x), "by": by})
    return pd.DataFrame(vals)


def submit(ws, form_name: str, values: dict, submitted_by: str, *, as_of=None,
           allow_duplicate: bool = False, run_rules: bool = True, lock_wait: float = 15,
           as_user: str | None = None) -> SubmitResult:
    """Validate and save one form submission, then run the rules for the new record.

    ``values`` maps field keys (or headers) to Python values (text, numbers,
    dates, booleans, lists for multiple choice).  Nothing is written unless
    every field is valid and, for a new customer, no existing customer looks
    the same (pass ``allow_duplicate=True`` to create it anyway).  The
    workspace is read afresh under the workspace lock, so a page left open
    never overwrites newer data.

    ``as_user`` (team mode, the signed-in member): the submission is theirs whatever
    ``submitted_by`` says (History ``by``); a person field (owner ...) must be in their scope
    (:func:`crmkit.team.scope_for`) and a blank owner becomes them; a follow-up or ticket must
    name a customer of their scope; a new customer resembling one outside their scope is refused
    without naming it.
    """
    from .io.journal import workspace_lock
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
        scope = None
        if as_user is not None:
            from .team import scope_for

            scope = scope_for(fresh["team"], as_user)
            who = scope.user
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
                text[key] = default_text(v, now, who)
        existing = fresh[form.entity]
        id_key = ent.id_field
        if id_key and text.get(id_key) is not None and id_key not in res.errors:
            # a form creates records: an id that exists already would overwrite or duplicate one
            if (existing[id_key].astype("string").str.strip() == text[id_key]).fillna(False).any():
                res.errors[id_key] = t("form_id_exists", lang).format(id=text[id_key])
        if id_key and text.get(id_key) is None:
            text[id_key] = next_ids(form.entity, existing[id_key], 1)[0]
        team = team_names(fresh)
        if team:   # owner, assignee ...: a member of the Team sheet (blank lets the routing rules choose)
            members = {norm_token(n) for n in team}
            for f in ent.fields:
                name = text.get(f.key)
                if f.type == "person" and name is not None and f.key not in res.errors \
                        and norm_token(name) not in members:
                    res.errors[f.key] = t("form_unknown_owner", lang).format(name=name)
        if scope is not None and not scope.everything:
            for f in ent.fields:
                name = text.get(f.key)
                if f.type != "person" or f.key in res.errors:
                    continue
                if name is None and f.key == "owner":
                    text[f.key] = who                      # a rep's new record is theirs
                elif name is not None and not any(norm_token(name) == norm_token(o) for o in scope.owners):
                    res.errors[f.key] = t("form_out_of_scope", lang).format(name=name)
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
            known = fresh["customers"]
            if scope is not None and not scope.everything:       # another rep's customer is no customer here
                known = known[known["owner"].astype("string").isin(list(scope.owners)).fillna(False)]
            if pd.notna(cid) and not (known["customer_id"].astype(str) == str(cid)).any():
                res.errors["customer_id"] = t("form_no_customer", lang).format(id=cid)
        if res.errors:
            return res
        record_id = str(normalised[id_key].iloc[0])
        if form.entity == "customers" and not allow_duplicate:
            combined = pd.concat([existing, normalised])
            dups = _find_duplicates(combined, record_id, fresh.settings.get("dedupe_keys"),
                                    fresh.settings.get("phone_region"))
            if len(dups) and scope is not None and not scope.everything:
                mine = dups["owner"].astype("string").isin(list(scope.owners)).fillna(False).to_numpy()
                if not mine.all():                 # never shown: refused, to be sorted out by a manager
                    res.errors["_form"] = t("form_duplicate_elsewhere", lang)
                    return res
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
