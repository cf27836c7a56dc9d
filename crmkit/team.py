"""Who is on the team and what each member may see (issue 17: team mode).

The Team sheet gives every member a role:

- a **rep** (销售代表) sees and edits only the customers they own;
- a **manager** (主管) sees their team: themselves, the reps named in their
  ``team`` cell and every member whose ``manager`` is them (and so on down);
- an **admin** (管理员) sees everything.

An inactive member (``active`` = no) keeps their records but gets no new
assignments and cannot sign in.

:func:`scope_for` turns a name into a :class:`Scope`; :func:`scoped_tables`
cuts a workspace's tables down to it.  One home for the rule, used by
``open_workspace(DIR, as_user=NAME)``, ``crmkit split`` and the dashboards.

>>> scope = scope_for(ws["team"], "Alex Chen")
>>> scope.owners
frozenset({'Alex Chen'})
>>> mine = scoped_tables(scope, {"customers": ws["customers"], "tasks": ws["tasks"]})
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .exceptions import UsageError
from .i18n import msg
from .schema import ENTITIES

#: tables shown whole to everyone: the team's configuration and its campaigns
REFERENCE = ("rules", "routing", "team", "settings", "fields", "forms", "import_map", "campaigns", "products")
#: tables whose rows belong to a customer (or, without one, to their own owner / assignee)
BY_CUSTOMER = ("interactions", "orders", "deals", "tasks", "tickets", "messages")
#: log tables: a row is seen when the record it is about is seen
BY_RECORD = ("history", "rule_log")
#: the field naming the person a row without a customer belongs to
PERSON_FIELD = {"tasks": "owner", "deals": "owner", "tickets": "assignee", "messages": "owner"}

_SPLIT = re.compile(r"[;；,，、\n]")


@dataclass(frozen=True)
class Member:
    """One row of the Team sheet."""

    name: str
    role: str                      # rep, manager or admin
    manager: str | None = None
    team: tuple[str, ...] = ()     # the reps a manager's ``team`` cell names
    active: bool = True
    email: str | None = None


def _text(v: object) -> str | None:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    s = str(v).strip()
    return s or None


def names_in(cell: object) -> tuple[str, ...]:
    """The names of a ``;``-separated cell (``"Alex; Sam"`` -> ``("Alex", "Sam")``)."""
    s = _text(cell)
    return tuple(x.strip() for x in _SPLIT.split(s) if x.strip()) if s else ()


def members(team: pd.DataFrame | None) -> dict[str, Member]:
    """Every named member of a Team frame, by name (the first row of a name repeated wins)."""
    out: dict[str, Member] = {}
    if team is None or "name" not in team.columns:
        return out
    cols = {c: team[c].tolist() if c in team.columns else [None] * len(team)
            for c in ("name", "role", "manager", "team", "active", "email")}
    for name, role, manager, group, active, email in zip(*cols.values()):
        name = _text(name)
        if name is None or name in out:
            continue
        out[name] = Member(name=name, role=_text(role) or "rep", manager=_text(manager), team=names_in(group),
                           active=not (active is False or _text(active) in ("no", "false", "0")),
                           email=_text(email))
    return out


def member(team: pd.DataFrame | None, name: str) -> Member:
    """The member called ``name``; :class:`UsageError` naming the known members when there is none."""
    found = members(team)
    key = _text(name)
    if key in found:
        return found[key]
    folded = {k.casefold(): m for k, m in found.items()}
    if key and key.casefold() in folded:
        return folded[key.casefold()]
    raise UsageError(msg("e_team_unknown", name=name, names=", ".join(found) or "-"))


def active_names(team: pd.DataFrame | None, role: str | None = None) -> list[str]:
    """Names of the active members (of ``role`` when given), in Team order."""
    return [m.name for m in members(team).values() if m.active and (role is None or m.role == role)]


@dataclass(frozen=True)
class Scope:
    """What one member may see: the owners whose records are theirs (None: everything)."""

    user: str
    role: str
    owners: frozenset[str] | None

    @property
    def everything(self) -> bool:
        return self.owners is None

    def sees_owner(self, name: object) -> bool:
        return self.owners is None or _text(name) in self.owners


def team_of(team: pd.DataFrame | None, name: str) -> frozenset[str]:
    """``name`` and everyone below them: the reps of their ``team`` cell and, transitively, every member
    whose ``manager`` is one of them."""
    found = members(team)
    reports: dict[str, set[str]] = {}
    for m in found.values():
        if m.manager:
            reports.setdefault(m.manager, set()).add(m.name)
    seen = {name}
    todo = [name]
    while todo:
        who = todo.pop()
        below = set(reports.get(who, ()))
        if who in found:
            below.update(found[who].team)
        for n in below - seen:
            seen.add(n)
            todo.append(n)
    return frozenset(seen)


def scope_for(team: pd.DataFrame | None, name: str) -> Scope:
    """The :class:`Scope` of member ``name``: a rep's own records, a manager's team, an admin everything."""
    m = member(team, name)
    if m.role == "admin":
        return Scope(m.name, m.role, None)
    if m.role == "manager":
        return Scope(m.name, m.role, team_of(team, m.name))
    return Scope(m.name, m.role, frozenset({m.name}))


def _in(series: pd.Series, values) -> pd.Series:
    """Whether each cell of ``series``, as trimmed text, is one of the texts ``values`` (a blank never is).

    One pyarrow ``is_in`` over the column: pandas' ``isin`` on a string column
    makes a pyarrow scalar of every wanted value first, which took seconds for
    the ~100,000 visible IDs a History column is checked against.
    """
    if len(series) == 0:
        return pd.Series(False, index=series.index, dtype=bool)
    wanted = values if isinstance(values, pa.Array) else _texts(values)
    text = pa.array(series.astype("string").str.strip(), type=pa.string())
    hit = pc.is_in(text, value_set=wanted).fill_null(False)
    return pd.Series(np.asarray(hit, dtype=bool), index=series.index)


def _texts(values) -> pa.Array:
    """The texts among ``values`` as one pyarrow array (the value set of :func:`_in`, built once per set)."""
    return pa.array([v for v in values if isinstance(v, str)], type=pa.string())


def scoped_tables(scope: Scope, tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``tables`` cut down to what ``scope`` may see (all of them when it sees everything).

    Customers: those its owners own.  Interactions, orders, deals, tasks,
    tickets and messages: those of a visible customer; a row without a
    customer, when its owner (assignee) is in the scope.  History and the rule
    log: rows about a visible record.  The configuration tables (rules,
    routing, team, settings, fields, forms, import map, campaigns) whole.
    """
    if scope.everything:
        return dict(tables)
    owners = scope.owners or frozenset()
    out: dict[str, pd.DataFrame] = {}

    def keep(key: str, df: pd.DataFrame, mask: pd.Series) -> None:
        kept = df[mask.to_numpy()]
        found = df.attrs.get("problems")
        if found:       # pandas carries attrs along: only the problems of the rows kept
            rows = set(kept.index)
            kept.attrs = {**df.attrs, "problems": [p for p in found if getattr(p, "row", None) in rows]}
        out[key] = kept

    def visible() -> pa.Array:
        """The IDs of the records kept so far (customers and their rows), as a value set for :func:`_in`."""
        ids: set[str] = set()
        for key, kept in out.items():
            id_field = ENTITIES[key].id_field
            if id_field and id_field in kept.columns:
                ids.update(kept[id_field].dropna().astype(str).tolist())
        return _texts(ids)

    customers = tables.get("customers")
    customer_ids = _texts(())
    if customers is not None:
        mask = _in(customers["owner"], owners) if "owner" in customers.columns else pd.Series(False, customers.index)
        keep("customers", customers, mask)
        customer_ids = _texts(set(out["customers"]["customer_id"].dropna().astype(str).tolist()))
    for key in BY_CUSTOMER:
        df = tables.get(key)
        if df is None:
            continue
        mask = pd.Series(False, index=df.index)
        if "customer_id" in df.columns:
            mask = _in(df["customer_id"], customer_ids)
            person = PERSON_FIELD.get(key)
            if person in df.columns:
                mask |= df["customer_id"].astype("string").isna() & _in(df[person], owners)
        keep(key, df, mask)
    record_ids = None          # History and RuleLog have no ID of their own: the set is the same for both
    for key in BY_RECORD:
        df = tables.get(key)
        if df is not None:
            ids = df["record_id"] if "record_id" in df.columns else pd.Series(pd.NA, index=df.index)
            if len(df) and record_ids is None:
                record_ids = visible()
            keep(key, df, _in(ids, record_ids) if len(df) else pd.Series(False, index=df.index))
    for key, df in tables.items():
        if key not in out:
            if key not in REFERENCE:
                raise KeyError(f"no scope rule for table {key!r}")
            out[key] = df
    return out
