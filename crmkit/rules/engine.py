"""The rule engine: ``crmkit run``.

:func:`run_rules` computes the derived fields, then runs the enabled rules
of the Rules sheet by priority (lower first; ties keep sheet order).  For
each rule it evaluates the *when* expression over the whole table at once,
drops the records already handled in the rule's period (``once``: ever,
per_day, per_week, per_month, per_year; read from RuleLog: a (rule, record,
period) logged as done or suppressed is not done again), and hands the rest
to the registered action.  Later rules see what earlier ones did (an owner
assigned by R01A is the owner R01B notifies).

Nothing is written until every rule has run; then new tasks, tickets and
messages are appended, changed fields written (with History rows), RuleLog
appended, and the state kept for ``changed_to`` (``.crmkit/rules_state.json``:
the watched fields of each record as of this run, and round-robin positions).
Only workbooks that changed are rewritten.  A dry run does all of it in
memory and writes nothing; its result lists every planned action.

A bad expression or parameter is reported (rule id, message, position) and
only that rule is skipped.

Why one file of about nine hundred lines: most of it is :class:`Runner`, one
run held in memory as one transaction (the tables, the rows added, the values
changed, RuleLog, the changed_to state) until :meth:`Runner.write` saves it
all at once.  Its methods share that state; spread over files they would
have to pass it around or reach into each other.  The parts that stand alone
live beside it: the expression language (:mod:`.compiler`), the actions
(:mod:`.actions`), parameters, schedules and the run summary.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

import numpy as np
import pandas as pd

from ..derived import add_derived, filled
from ..exceptions import CrmkitError, ExpressionError
from ..i18n import msg, t, tr
from ..ids import IdAllocator
from ..schema import ACTION, ENTITIES, ONCE, RULE_ENTITY, norm_token
from ..settings import defaults as default_settings
from ..team import active_names, members
from .compiler import Expression, compile_expression
from .context import EvalContext, FieldSet
from .params import parse_params
from .schedule import WorkCalendar
from .summary import totals_lines, written_lines

STATE_FILE = "rules_state.json"
RULE_ENTITIES = ("customers", "deals", "tickets", "orders", "products")
LOG_COLUMNS = ["rule_id", "rule_name", "entity", "record_id", "customer_id", "action", "outcome", "detail", "target"]


# --------------------------------------------------------------------------- rules

@dataclass
class Rule:
    rule_id: str
    name: str
    entity: str
    action: str
    when: str
    params_text: str
    once: str
    priority: float
    row: int
    params: dict = dc_field(default_factory=dict)
    expr: Expression | None = None


def load_rules(rules: pd.DataFrame) -> list[Rule]:
    """Enabled rules in run order (priority, then sheet order)."""
    out = []
    if rules is None or rules.empty:
        return out
    df = rules
    enabled = df["enabled"] if "enabled" in df else pd.Series(True, index=df.index)
    enabled = pd.Series(enabled.to_numpy(dtype=bool, na_value=False) if pd.api.types.is_bool_dtype(enabled.dtype)
                        else enabled.notna().to_numpy(), index=df.index)
    for i, (idx, r) in enumerate(df[enabled].iterrows()):   # a few dozen rows
        rid = r.get("rule_id")
        rid = str(rid).strip() if rid is not None and not pd.isna(rid) else f"row{idx}"
        prio = r.get("priority")
        out.append(Rule(
            rule_id=rid,
            name=_s(r.get("name")) or rid,
            entity=_s(r.get("entity")) or "customers",
            action=_s(r.get("action")) or "",
            when=_s(r.get("when")) or "",
            params_text=_s(r.get("params")) or "",
            once=_s(r.get("once")) or "ever",
            priority=float(prio) if prio is not None and not pd.isna(prio) else float("inf"),
            row=int(idx) if isinstance(idx, int | np.integer) else i,
        ))
    out.sort(key=lambda r: (r.priority, r.row))
    return out


def _s(v) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    s = str(v).strip()
    return s or None


def period_keys(at: pd.Series, once: str) -> pd.Series:
    """The period each time falls in for ``once`` (ever -> one period)."""
    at = pd.to_datetime(at)
    if once == "per_day":
        return at.dt.strftime("%Y-%m-%d")
    if once == "per_week":
        iso = at.dt.isocalendar()
        return iso["year"].astype("string") + "-W" + iso["week"].astype("string")
    if once == "per_month":
        return at.dt.strftime("%Y-%m")
    if once == "per_year":
        return at.dt.strftime("%Y")
    return pd.Series("ever", index=at.index)


# --------------------------------------------------------------------------- result

@dataclass
class RunResult:
    """What a run did (or, for a dry run, would do)."""

    as_of: pd.Timestamp
    dry_run: bool
    actions: pd.DataFrame
    errors: list[dict]
    rules: list[Rule]
    run_id: str = ""
    written: list[Path] = dc_field(default_factory=list)
    timings: dict = dc_field(default_factory=dict)      # seconds: derived, evaluate (wall and cpu), actions
    invalid: int = 0            # matched rows skipped for their validation errors (RuleLog: skipped, reason)

    def counts(self) -> pd.DataFrame:
        a = self.actions
        rows = []
        for r in self.rules:
            sub = a[a["rule_id"] == r.rule_id]
            rows.append({"rule_id": r.rule_id, "name": r.name, "action": r.action,
                         "done": int((sub["outcome"] == "done").sum()),
                         "suppressed": int(sub["outcome"].isin(["suppressed", "skipped"]).sum()),
                         "failed": int((sub["outcome"] == "failed").sum())})
        return pd.DataFrame(rows, columns=["rule_id", "name", "action", "done", "suppressed", "failed"])

    def summary(self) -> dict:
        """DESIGN §7: as_of, dry_run, actions, by_rule, suppressed, errors."""
        done = self.actions["outcome"] == "done"
        by_rule = {r.rule_id: 0 for r in self.rules}
        for rid, n in self.actions[done].groupby("rule_id").size().items():
            by_rule[str(rid)] = int(n)
        out = {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "actions": int(done.sum()),
            "by_rule": by_rule,
            "suppressed": int(self.actions["outcome"].isin(["suppressed", "skipped"]).sum()),
            "errors": list(self.errors),
            "skipped_invalid": int(self.invalid),
        }
        return out

    def planned(self) -> list[dict]:
        cols = ["rule_id", "entity", "record_id", "action", "outcome", "detail", "target"]
        df = self.actions[cols].astype("object").where(self.actions[cols].notna(), None)
        return df.to_dict("records")

    def __repr__(self) -> str:
        s = self.summary()
        return (f"<RunResult as_of={s['as_of']} dry_run={s['dry_run']} actions={s['actions']} "
                f"suppressed={s['suppressed']} errors={len(s['errors'])}>")


def format_result(result: RunResult, lang: str = "en", *, per_record: bool = False) -> str:
    """Human text: one line per rule, errors, and (dry run) one line per record."""
    s = result.summary()
    head = t("run_dry_title" if result.dry_run else "run_title", lang)
    lines = [f"{head} {result.as_of:%Y-%m-%d %H:%M}"]
    counts = result.counts()
    for _, c in counts.iterrows():   # one line per rule
        lines.append(f"  {c['rule_id']:<6} {ACTION.label(c['action'], lang):<14} {c['done']:>6} {t('run_done', lang)}"
                     + (f", {c['suppressed']} {t('run_suppressed', lang)}" if c["suppressed"] else "")
                     + (f", {c['failed']} {t('run_failed', lang)}" if c["failed"] else "")
                     + f"  {c['name']}")
        if per_record and (c["done"] or c["suppressed"] or c["failed"]):
            sub = result.actions[result.actions["rule_id"] == c["rule_id"]]
            for rec, out, det in zip(sub["record_id"], sub["outcome"], sub["detail"]):
                lines.append(f"      {rec}: [{t('run_' + str(out), lang)}] {det}")
    lines += totals_lines(result, s, lang, lambda message: tr(message, lang))
    if result.invalid:
        lines.append(t("run_invalid_rows", lang).format(n=result.invalid))
    lines += written_lines(result, lang)
    return "\n".join(lines)


# --------------------------------------------------------------------------- one rule at work

class RuleRun:
    """What an action sees: its rule, parameters, matched rows and the engine."""

    def __init__(self, runner: Runner, rule: Rule, ctx: EvalContext, pos: np.ndarray):
        self.runner, self.rule, self.ctx = runner, rule, ctx
        self.pos = pos                      # integer positions of the matched rows in ctx.frame
        self.rows = ctx.index[pos]          # their labels
        self.params = rule.params
        self.as_of = runner.as_of
        self.lang = runner.lang

    def column(self, key: str) -> pd.Series:
        return self.ctx.column(key, rows=self.pos)

    def record_ids(self) -> pd.Series:
        return self.ctx.record_ids.iloc[self.pos]

    def customer_ids(self) -> pd.Series:
        return self.ctx.customer_ids.iloc[self.pos]

    def owner(self) -> pd.Series:
        ent = self.rule.entity
        own = {"customers": "owner", "deals": "owner", "tickets": "assignee", "products": "owner"}.get(ent)
        if own is not None:
            s = self.column(own).astype("object")
        else:
            s = pd.Series(pd.NA, index=self.rows, dtype="object")
        if ent != "customers" and ENTITIES[ent].has("customer_id"):    # a product has no customer to fall back on
            s = s.where(filled(s), self.column("customer_owner").astype("object"))
        return s.where(filled(s), None)

    def manager_of(self, names: pd.Series) -> pd.Series:
        return self.runner.manager_of(names)

    def default_manager(self):
        return self.runner.default_manager()

    def customer_rows(self) -> pd.Series:
        """Index labels in the customers frame of each matched record's customer (NA when none)."""
        if self.rule.entity == "customers":
            return pd.Series(self.rows, index=self.rows, dtype="object")
        src, _, rowpos = self.ctx._cust()
        p = self.ctx.customer_pos[self.pos]
        labels = np.where(p >= 0, np.asarray(src.index, dtype=object)[rowpos[np.where(p >= 0, p, 0)]]
                          if len(rowpos) else None, None)
        return pd.Series(labels, index=self.rows, dtype="object")

    def new_ids(self, entity: str, n: int) -> list[str]:
        return self.runner.new_ids(entity, n)

    def add_rows(self, entity: str, rows: pd.DataFrame) -> None:
        self.runner.add_rows(entity, rows)

    def set_values(self, entity: str, index, field: str, values: pd.Series) -> None:
        self.runner.set_values(entity, index, field, values, by=f"rule:{self.rule.rule_id}")


def _queues_marketing(rule: Rule) -> bool:
    """A queue_message rule whose messages are marketing (the default kind)."""
    return rule.action == "queue_message" and (rule.params.get("kind") or "marketing").strip().lower() == "marketing"


def _invalid_detail(detail: pd.Series) -> np.ndarray:
    """RuleLog details saying a row was skipped for its validation errors (either language)."""
    from ..i18n import TEXT

    heads = tuple(x.split("{what}")[0] for x in TEXT["reason_invalid_row"])
    return detail.astype("string").str.startswith(heads).fillna(False).to_numpy(dtype=bool)


# --------------------------------------------------------------------------- the engine

class Runner:
    """One run over a workspace: working copies of the tables, the log, the state."""

    def __init__(self, ws, as_of: pd.Timestamp, *, dry_run: bool = False,
                 records: Mapping[str, list] | None = None):
        self.ws = ws
        self.as_of = pd.Timestamp(as_of)
        self.dry_run = dry_run
        self.records = {k: [str(x) for x in v] for k, v in (records or {}).items()}
        self.settings = {**default_settings(), **(ws.settings or {})}
        self.lang = ws.lang
        self.calendar = WorkCalendar(self.settings)
        self.errors: list[dict] = []
        self.state = self._load_state()
        assign = getattr(ws, "assign_blank_ids", None)
        if callable(assign):        # rows typed without an ID get one first, so the rules can act on them
            assign(("customers", "tasks", "campaigns"))
        self._invalid: dict[str, pd.Series] = {}
        self.invalid_skipped = 0
        t0 = time.perf_counter()
        self.frames: dict[str, pd.DataFrame] = {"customers": add_derived(ws, self.as_of)}
        self.timings = {"derived": time.perf_counter() - t0, "evaluate": 0.0, "evaluate_cpu": 0.0, "actions": 0.0}
        for key in ("deals", "tickets", "orders", "products", "tasks", "messages"):
            self.frames[key] = ws[key].copy()
        self.base_len = {k: len(v) for k, v in self.frames.items()}
        self.modified: dict[str, set[str]] = {}
        self.history: list[pd.DataFrame] = []
        self.log: list[pd.DataFrame] = []
        self._ids: dict[str, IdAllocator] = {}
        self._compiled: dict = {}
        self._fieldsets: dict[str, FieldSet] = {}
        self._team = ws["team"]
        self._rule_log = ws["rule_log"]
        self._marketing_rules: set[str] = set()
        self.rules: list[Rule] = []
        self.shared: dict = {}      # caches shared by the rules' evaluations
        self.version = 0            # bumped whenever a working frame changes

    # ---------------------------------------------------------------- state for changed_to

    def _state_path(self) -> Path | None:
        path = getattr(self.ws, "path", None)
        if path is None:
            return None
        from ..io.safety import state_dir

        return state_dir(path) / STATE_FILE

    def _load_state(self) -> dict:
        p = self._state_path()
        if p is None or not p.exists():
            return {}
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _snapshot(self, watched: dict[str, set[str]]) -> dict:
        snaps = dict(self.state.get("snapshots") or {})
        for ent, keys in watched.items():
            frame = self.frames[ent]
            id_field = ENTITIES[ent].id_field
            ids = frame[id_field].astype("string")
            limit = self.records.get(ent) if self.records else None
            ent_snap = dict(snaps.get(ent) or {})
            for key in keys:
                if key not in frame.columns:
                    continue
                col = frame[key]
                if pd.api.types.is_datetime64_any_dtype(col.dtype):
                    vals = col.dt.strftime("%Y-%m-%dT%H:%M:%S")
                elif pd.api.types.is_bool_dtype(col.dtype):
                    vals = col.astype("object")
                else:
                    vals = col.astype("string")
                ok = ids.notna() & vals.notna()
                new = dict(zip(ids[ok].tolist(), [v if isinstance(v, bool) else str(v) for v in vals[ok].tolist()]))
                if limit is not None or self.records:
                    merged = dict(ent_snap.get(key) or {})
                    for rid in (limit or []):
                        merged.pop(rid, None)
                        if rid in new:
                            merged[rid] = new[rid]
                    new = merged
                ent_snap[key] = new
            snaps[ent] = ent_snap
        return snaps

    def _state_bytes(self, watched: dict[str, set[str]]) -> dict[Path, bytes]:
        """The rule state file and its new content (saved in the same unit as the workbooks)."""
        p = self._state_path()
        if p is None:
            return {}
        state = {"version": 1, "as_of": self.as_of.isoformat() if not self.records else self.state.get("as_of"),
                 "round_robin": self.state.get("round_robin", {}), "snapshots": self._snapshot(watched)}
        return {p: json.dumps(state, ensure_ascii=False).encode("utf-8")}

    def _write_state(self, watched: dict[str, set[str]]) -> None:
        p = self._state_path()
        if p is None:
            return
        state = {"version": 1, "as_of": self.as_of.isoformat() if not self.records else self.state.get("as_of"),
                 "round_robin": self.state.get("round_robin", {}), "snapshots": self._snapshot(watched)}
        tmp = p.with_name(p.name + f".tmp-{os.getpid()}")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, p)
        except OSError as exc:
            from ..exceptions import WorkbookError

            raise WorkbookError(msg("e_rule_state", detail=exc.strerror or str(exc)),
                                file=str(p)) from None

    # ---------------------------------------------------------------- helpers for actions

    def ws_fields(self, entity: str):
        fn = getattr(self.ws, "fields", None)
        return fn(entity) if callable(fn) else list(ENTITIES[entity].fields)

    def fieldset(self, entity: str) -> FieldSet:
        if entity not in self._fieldsets:
            self._fieldsets[entity] = FieldSet(entity, fields=self.ws_fields(entity))
        return self._fieldsets[entity]

    def compile(self, text: str, entity: str) -> Expression:
        key = (text, entity)
        if key not in self._compiled:
            try:
                self._compiled[key] = compile_expression(text, fields=self.fieldset(entity))
            except ExpressionError as exc:
                self._compiled[key] = exc
        got = self._compiled[key]
        if isinstance(got, ExpressionError):
            raise got
        return got

    def error(self, rule_id: str, message: str, position: int | None = None) -> None:
        self.errors.append({"rule_id": rule_id, "message": message, "position": position})

    def routing(self) -> list[tuple[str, str]]:
        r = self.ws["routing"]
        out = []
        for m, o in zip(r["match"].tolist(), r["owner"].tolist()):
            o = _s(o)
            if o:
                out.append((_s(m) or "", o))
        return out

    def team_names(self, role: str | None = "rep") -> list[str]:
        """The active members of ``role`` (all active members when none has it): who may get new work."""
        return (active_names(self._team, role) if role is not None else []) or active_names(self._team)

    def inactive(self) -> set[str]:
        """Members marked inactive: they keep their records but get no new assignments."""
        return {m.name for m in members(self._team).values() if not m.active}

    def default_manager(self):
        team = self._team
        if team.empty:
            return None
        mgr = team[(team["role"] == "manager").fillna(False)] if "role" in team else team.iloc[:0]
        if len(mgr):
            return str(mgr["name"].iloc[0])
        top = team[team["manager"].isna()] if "manager" in team else team
        return str(top["name"].iloc[0]) if len(top) else None

    def manager_of(self, names: pd.Series) -> pd.Series:
        team = self._team
        mapping = {}
        if not team.empty and "manager" in team:
            t_ = team.dropna(subset=["name"])
            mapping = {str(n).strip(): m for n, m in zip(t_["name"], t_["manager"]) if m is not None and not pd.isna(m)}
        out = names.astype("object").map(lambda n: mapping.get(str(n).strip()) if isinstance(n, str) else None)
        return out.where(out.notna(), self.default_manager())

    def pick_owners(self, spec: str, n: int) -> list:
        spec = spec.strip()
        mode, _, names = spec.partition(":")
        m = norm_token(mode)
        pool = [x.strip() for x in re.split(r"[,，;；]", names) if x.strip()] if names else None
        away = self.inactive()
        if pool and away:
            pool = [p for p in pool if p not in away] or None
        if m in ("roundrobin", "轮流", "轮询", "轮流分配"):
            pool = pool or self.team_names()
            if not pool:
                return [None] * n
            rr = self.state.setdefault("round_robin", {})
            key = ",".join(pool)
            start = int(rr.get(key, 0)) % len(pool)
            out = [pool[(start + i) % len(pool)] for i in range(n)]
            rr[key] = (start + n) % len(pool)
            return out
        if m in ("leastloaded", "最少任务", "按任务量", "任务最少"):
            pool = pool or self.team_names()
            if not pool:
                return [None] * n
            tasks = self.frames["tasks"]
            open_ = tasks[(tasks["status"] == "open").fillna(False)]
            load = open_["owner"].value_counts()
            heap = [(int(load.get(p, 0)), i, p) for i, p in enumerate(pool)]
            heapq.heapify(heap)
            out = []
            for _ in range(n):
                c, i, p = heapq.heappop(heap)
                out.append(p)
                heapq.heappush(heap, (c + 1, i, p))
            return out
        if spec in away:          # an inactive member named in Routing or a rule: the least-loaded active rep
            return self.pick_owners("least_loaded", n)
        return [spec] * n

    def new_ids(self, entity: str, n: int) -> list[str]:
        """The next ``n`` ids of ``entity``, continuing its sequence (T00123 -> T00124; :mod:`crmkit.ids`)."""
        if entity not in self._ids:
            self._ids[entity] = IdAllocator(entity, self.frames[entity][ENTITIES[entity].id_field])
        return self._ids[entity].take(n)

    def add_rows(self, entity: str, rows: pd.DataFrame) -> None:
        if rows is None or rows.empty:
            return
        cur = self.frames[entity]
        start = (int(cur.index.max()) + 1) if len(cur) else 2
        rows = rows.copy()
        rows.index = pd.RangeIndex(start, start + len(rows), name=cur.index.name)
        for c in cur.columns:
            if c not in rows.columns:
                rows[c] = pd.Series([None] * len(rows), index=rows.index, dtype=cur[c].dtype)
            else:
                with contextlib.suppress(TypeError, ValueError):
                    if pd.api.types.is_datetime64_any_dtype(cur[c].dtype):
                        rows[c] = pd.to_datetime(rows[c]).astype("datetime64[ns]")
                    else:
                        rows[c] = rows[c].astype(cur[c].dtype)
        self.frames[entity] = pd.concat([cur, rows[list(cur.columns)]])
        self.version += 1

    def set_values(self, entity: str, index, field: str, values: pd.Series, *, by: str) -> None:
        frame = self.frames[entity]
        index = pd.Index(index)
        if len(index) == 0:
            return
        values = pd.Series(values.to_numpy(), index=index)
        old = frame.loc[index, field]
        old_txt = old.astype("string").fillna("")
        new_txt = values.astype("string").fillna("")
        changed = (old_txt != new_txt).to_numpy()
        if not changed.any():
            return
        idx = index[changed]
        col = frame[field].copy()
        col.loc[idx] = values[changed].to_numpy()
        frame[field] = col
        self.version += 1
        self.modified.setdefault(entity, set()).add(field)
        id_field = ENTITIES[entity].id_field
        self.history.append(pd.DataFrame({
            "at": self.as_of, "entity": entity, "record_id": frame.loc[idx, id_field].astype("string").to_numpy(),
            "field": field, "old": old_txt[changed].replace("", pd.NA).to_numpy(),
            "new": new_txt[changed].replace("", pd.NA).to_numpy(), "by": by,
        }))

    @property
    def marketing_rules(self) -> frozenset[str]:
        """The ids of the rules whose messages are marketing (their rows written before ``kind`` existed)."""
        return frozenset(self._marketing_rules)

    def learn_marketing_rules(self) -> frozenset[str]:
        """:attr:`marketing_rules` without running the rules (a campaign launch counts their messages
        towards the daily cap); a rule whose parameters cannot be read is left out."""
        for r in load_rules(self.ws["rules"]):
            r.action = ACTION.lookup.get(norm_token(r.action)) or r.action
            if r.action != "queue_message":
                continue
            try:
                r.params = parse_params(r.params_text, rule_id=r.rule_id)
            except ExpressionError:
                continue
            if _queues_marketing(r):
                self._marketing_rules.add(r.rule_id)
        return self.marketing_rules

    def already_done(self, rule: Rule) -> pd.Index:
        """Records this rule already handled in the current period (RuleLog, and its own outputs)."""
        done = self._logged(rule)
        if rule.entity == "customers":
            # the rule's own messages and tasks count too (e.g. a workspace whose RuleLog was cleared)
            now = period_keys(pd.Series([self.as_of]), rule.once).iloc[0]
            if rule.action == "queue_message":
                m = self.frames["messages"].iloc[:self.base_len["messages"]]
                m = m[(m["rule_id"] == rule.rule_id).fillna(False) & m["queued_at"].notna()
                      & m["status"].isin(["queued", "sent"]).fillna(False)]
                if len(m):
                    hit = m.loc[(period_keys(m["queued_at"], rule.once) == now).to_numpy(), "customer_id"]
                    done = done.union(pd.Index(hit.dropna().astype(str).unique()))
            elif rule.action in ("create_task", "notify", "escalate"):
                tk = self.frames["tasks"].iloc[:self.base_len["tasks"]]
                tk = tk[(tk["created_by"] == f"rule:{rule.rule_id}").fillna(False) & tk["created_at"].notna()]
                if len(tk):
                    hit = tk.loc[(period_keys(tk["created_at"], rule.once) == now).to_numpy(), "customer_id"]
                    done = done.union(pd.Index(hit.dropna().astype(str).unique()))
        return done

    def _logged(self, rule: Rule) -> pd.Index:
        log = self._rule_log
        if log.empty:
            return pd.Index([])
        sub = log[(log["rule_id"] == rule.rule_id).fillna(False)]
        if sub.empty:
            return pd.Index([])
        outcome = sub["outcome"]
        final = outcome.isin(["done", "suppressed"]).fillna(False)
        same_run = (sub["at"] == self.as_of).fillna(False) & (outcome == "failed").fillna(False)
        same_day = ((sub["at"].dt.normalize() == self.as_of.normalize()).fillna(False) & (outcome == "skipped").fillna(False)
                    & ~_invalid_detail(sub["detail"]))      # skipped for its errors: acted on once they are fixed
        sub = sub[final | same_run | same_day]
        if sub.empty:
            return pd.Index([])
        keys = period_keys(sub["at"], rule.once)
        now = period_keys(pd.Series([self.as_of]), rule.once).iloc[0]
        return pd.Index(sub.loc[(keys == now).to_numpy(), "record_id"].dropna().astype(str).unique())

    # ---------------------------------------------------------------- running

    def _prepare(self, rule: Rule) -> bool:
        ent = RULE_ENTITY.lookup.get(norm_token(rule.entity))
        if ent is None:
            self.error(rule.rule_id, msg("e_run_applies_to", known=", ".join(RULE_ENTITIES), entity=repr(rule.entity)))
            return False
        rule.entity = ent
        act = ACTION.lookup.get(norm_token(rule.action)) or rule.action
        from .actions import ACTIONS

        if act not in ACTIONS:
            self.error(rule.rule_id, msg("e_run_action", action=repr(rule.action), known=", ".join(ACTIONS)))
            return False
        rule.action = act
        rule.once = ONCE.lookup.get(norm_token(rule.once), None) or "ever"
        try:
            rule.params = parse_params(rule.params_text, rule_id=rule.rule_id)
        except ExpressionError as exc:
            self.error(rule.rule_id, exc.message, exc.position)
            return False
        from .actions import ACTION_PARAMS

        allowed = ACTION_PARAMS.get(act)
        unknown = [k for k in rule.params if allowed is not None and k not in allowed]
        if unknown:
            where = rule.params_text.lower().find(unknown[0])
            self.error(rule.rule_id, msg("e_run_param", act=act, name=repr(unknown[0]), allowed=", ".join(allowed)),
                       where + 1 if where >= 0 else None)
            return False
        try:
            rule.expr = self.compile(rule.when, rule.entity)
        except ExpressionError as exc:
            self.error(rule.rule_id, exc.message, exc.position)
            return False
        return True

    def context(self, entity: str) -> EvalContext:
        snaps = (self.state.get("snapshots") or {}).get(entity)
        return EvalContext(
            self.frames[entity], as_of=self.as_of, entity=entity, settings=self.settings,
            messages=self.frames["messages"], customers=self.frames["customers"],
            previous=snaps if snaps else None, previous_as_of=self.state.get("as_of"),
            fields=self.fieldset(entity), lang=self.lang, shared=self.shared, version=self.version)

    def execute(self, progress: bool = False) -> RunResult:
        from .actions import ACTIONS

        all_rules = load_rules(self.ws["rules"])
        seen: set[str] = set()
        unique = []
        for r in all_rules:
            if r.rule_id in seen:
                self.error(r.rule_id, msg("e_run_dup_id", rule=r.rule_id, row=r.row))
                continue
            seen.add(r.rule_id)
            unique.append(r)
        self.rules = [r for r in unique if self._prepare(r)]
        self._marketing_rules.update(r.rule_id for r in self.rules if _queues_marketing(r))
        results = []
        rules = self.rules
        bar = None
        if progress:
            with contextlib.suppress(ImportError):
                from tqdm import tqdm

                bar = tqdm(total=len(rules), desc=t("run_rules_bar", self.lang), unit="", leave=False)
        for rule in rules:
            if bar is not None:
                bar.update(1)
            if self.records and rule.entity not in self.records:
                continue
            frame = self.frames[rule.entity]
            ctx = self.context(rule.entity)
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                mask = rule.expr.evaluate(frame, ctx)
            except ExpressionError as exc:
                self.error(rule.rule_id, exc.message, exc.position)
                continue
            finally:
                self.timings["evaluate"] += time.perf_counter() - t0
                self.timings["evaluate_cpu"] += time.process_time() - c0
            ids = ctx.record_ids.astype("string")
            mask &= ids.notna().to_numpy()
            if self.records:
                mask &= ids.isin(self.records.get(rule.entity, [])).to_numpy()
            if mask.any():
                done = self.already_done(rule)
                if len(done):
                    mask &= ~ids.isin(done).to_numpy()
            if mask.any():
                skipped = self._skip_invalid(rule, ctx, mask)
                if skipped is not None:
                    results.append(skipped[LOG_COLUMNS].reset_index(drop=True))
            pos = np.flatnonzero(mask.to_numpy())
            if len(pos) == 0:
                continue
            run = RuleRun(self, rule, ctx, pos)
            t0 = time.perf_counter()
            try:
                res = ACTIONS[rule.action](run)
            except CrmkitError as exc:
                self.error(rule.rule_id, getattr(exc, "message", str(exc)), getattr(exc, "position", None))
                continue
            finally:
                self.timings["actions"] += time.perf_counter() - t0
            res = res.assign(rule_id=rule.rule_id, rule_name=rule.name, entity=rule.entity, action=rule.action)
            results.append(res[LOG_COLUMNS].reset_index(drop=True))
        if bar is not None:
            bar.close()
        actions = pd.concat(results, ignore_index=True) if results else pd.DataFrame(columns=LOG_COLUMNS)
        for c in ("record_id", "customer_id", "target"):
            actions[c] = actions[c].astype("object").where(actions[c].notna(), None)
        self.actions = actions
        return RunResult(self.as_of, self.dry_run, actions, self.errors, self.rules, timings=self.timings,
                         invalid=self.invalid_skipped)

    def invalid_rows(self, entity: str) -> pd.Series:
        """Why each row of ``entity`` with validation errors is not acted on (index: the row label).

        The errors are those ``crmkit validate`` reports as errors for the
        row's own values: values the reader could not convert, required
        fields left blank, an ID used twice (references to other tables are
        not checked here).
        """
        if entity in self._invalid:
            return self._invalid[entity]
        from ..validate.checks import ERROR, WARNING, check_frame

        df = self.ws[entity]
        out = pd.Series(dtype="object")
        if len(df):
            flds = [f for f in self.ws_fields(entity) if not f.derived]
            byfield = {f.key: f for f in flds}
            # a phone or e-mail that does not parse is a warning, not an error: not re-checked here (slow)
            flds = [f for f in flds if f.type not in ("phone", "email")]
            rows = []
            for p in df.attrs.get("problems") or []:
                f = byfield.get(p.column) or next((f for f in flds if p.column in (f.en, f.zh)), None)
                sev = WARNING if f is not None and f.type in ("enum", "bool", "multi") and not f.required else ERROR
                if sev == ERROR:
                    rows.append({"row": p.row, "column": p.column, "reason": p.reason})
            try:
                _, iss, _ = check_frame(df, entity, settings=self.settings, fields=flds, lang=self.lang,
                                         values=False)
            except CrmkitError:
                iss = pd.DataFrame(columns=["row", "column", "severity", "reason"])
            iss = iss[(iss["severity"] == ERROR).to_numpy(dtype=bool)] if len(iss) else iss
            found = pd.concat([pd.DataFrame(rows, columns=["row", "column", "reason"]),
                               iss[["row", "column", "reason"]] if len(iss) else None], ignore_index=True)
            found = found[found["row"].isin(df.index)]
            if len(found):
                text = found["column"].astype(str) + ": " + found["reason"].astype(str)
                what = text.groupby(found["row"].to_numpy()).agg("; ".join)
                out = what.map(lambda w: t("reason_invalid_row", self.lang).format(what=w))
        self._invalid[entity] = out
        return out

    def _skip_invalid(self, rule: Rule, ctx: EvalContext, mask: pd.Series) -> pd.DataFrame | None:
        """Take rows with validation errors out of ``mask``; their RuleLog rows (skipped, with the reason)."""
        bad = self.invalid_rows(rule.entity)
        if bad.empty:
            return None
        hit = mask.to_numpy(dtype=bool) & np.asarray(ctx.index.isin(bad.index))
        if not hit.any():
            return None
        mask &= ~hit
        pos = np.flatnonzero(hit)
        rec = ctx.record_ids.iloc[pos].astype("string")
        fresh = ~rec.isin(self._invalid_logged(rule)).to_numpy()       # logged once a day, not every run
        if not fresh.any():
            return None
        pos = pos[fresh]
        self.invalid_skipped += len(pos)
        return pd.DataFrame({
            "rule_id": rule.rule_id, "rule_name": rule.name, "entity": rule.entity, "action": rule.action,
            "record_id": ctx.record_ids.iloc[pos].astype("object").to_numpy(),
            "customer_id": ctx.customer_ids.iloc[pos].astype("object").to_numpy(),
            "outcome": "skipped", "detail": bad.reindex(ctx.index[pos]).to_numpy(), "target": None})

    def _invalid_logged(self, rule: Rule) -> pd.Index:
        """Records this rule already logged today as skipped for their errors."""
        log = self._rule_log
        if log.empty:
            return pd.Index([])
        sub = log[(log["rule_id"] == rule.rule_id).fillna(False) & (log["outcome"] == "skipped").fillna(False)
                  & (log["at"].dt.normalize() == self.as_of.normalize()).fillna(False)]
        sub = sub[_invalid_detail(sub["detail"])]
        return pd.Index(sub["record_id"].dropna().astype(str).unique())

    def watched(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for r in self.rules:
            if r.expr is not None:
                for key in r.expr.changed_fields:
                    out.setdefault(r.entity, set()).add(key)
        return out

    # ---------------------------------------------------------------- writing

    def write(self, result: RunResult) -> list[Path]:
        from ..io.safety import check_not_open
        from ..schema import workbook_file

        ws = self.ws
        stamp = pd.Timestamp.now()
        run_id = f"{self.as_of:%Y%m%d-%H%M}-{stamp:%H%M%S%f}"[:26]
        result.run_id = run_id
        touched: set[str] = set()
        for ent in ("customers", "deals", "tickets", "orders", "tasks", "messages"):
            new = self.frames[ent].iloc[self.base_len[ent]:]
            changed = self.modified.get(ent)
            if not changed and new.empty:
                continue
            touched.add(ENTITIES[ent].workbook)
        if len(result.actions) or self.history:
            touched.add("log")
        touched |= set(getattr(ws, "dirty", ()))     # e.g. IDs given to rows typed without one
        if not touched and not self.watched():
            return []
        for wb in touched:
            check_not_open(ws.path / workbook_file(wb))
        for ent in ("customers", "deals", "tickets", "orders", "tasks", "messages"):
            new = self.frames[ent].iloc[self.base_len[ent]:]
            changed = self.modified.get(ent)
            if changed:
                orig = ws[ent].copy()
                work = self.frames[ent]
                base_idx = work.index[:self.base_len[ent]]
                for col in changed:
                    orig.loc[base_idx, col] = work.loc[base_idx, col].to_numpy()
                if not new.empty:
                    orig = pd.concat([orig, new[[c for c in orig.columns if c in new.columns]]])
                ws.replace(ent, orig)
            elif not new.empty:
                keep = [f.key for f in ENTITIES[ent].fields]
                ws.append(ent, new[keep])
        if len(result.actions):
            a = result.actions
            ws.append("rule_log", pd.DataFrame({
                "run_id": run_id, "at": self.as_of, "rule_id": a["rule_id"].to_numpy(),
                "entity": a["entity"].to_numpy(), "record_id": a["record_id"].to_numpy(),
                "action": a["action"].to_numpy(), "outcome": a["outcome"].to_numpy(),
                "detail": a["detail"].to_numpy()}))
        if self.history:
            ws.append("history", pd.concat(self.history, ignore_index=True))
        # one unit: every workbook, RuleLog and the rule state are saved together or not at all
        # (crmkit.io.journal), so a rerun after an error, Ctrl-C or a kill never repeats an action
        written = ws.save(sorted(ws.dirty), extra=self._state_bytes(self.watched()))
        result.written = written
        return written


def run_rules(ws, *, as_of=None, dry_run: bool = False, records: Mapping[str, list] | None = None,
              wait: float | None = None, progress: bool = False) -> RunResult:
    """Run the enabled rules of ``ws`` as of ``as_of`` (default: the workspace's as-of, else now).

    ``records`` limits the run to ``{entity: [record ids]}`` (e.g. one new
    customer typed in a form).  ``dry_run`` plans everything and writes
    nothing.  A real run holds the workspace lock (waiting up to ``wait``
    seconds for another run; None: ``$CRMKIT_WAIT``, else refuse at once).

    >>> result = run_rules(open_workspace("sample_data"), dry_run=True)
    >>> result.counts()                       # actions per rule: done, suppressed, failed
    >>> result.actions                        # one row per planned action (plan_frame: with labels)
    """
    as_of = ws.as_of(as_of) if hasattr(ws, "as_of") else pd.Timestamp(as_of)
    path = getattr(ws, "path", None)
    if dry_run or path is None:
        runner = Runner(ws, as_of, dry_run=True if path is None else dry_run, records=records)
        return runner.execute(progress=progress)
    from ..io.journal import workspace_lock

    with workspace_lock(path, wait=wait):
        runner = Runner(ws, as_of, dry_run=False, records=records)
        result = runner.execute(progress=progress)
        runner.write(result)
    return result


class InMemoryWorkspace:
    """A workspace held in DataFrames (for notebooks and benchmarks): rules run, nothing is written."""

    path = None

    def __init__(self, tables: Mapping[str, pd.DataFrame], *, settings: Mapping | None = None, lang: str = "en"):
        from ..io.typing import coerce_frame, empty_frame

        self._tables = {k: coerce_frame(v, ENTITIES[k]) for k, v in tables.items()}
        for k, ent in ENTITIES.items():
            self._tables.setdefault(k, empty_frame(ent))
        from .defaults import default_routing, default_rules, default_team

        for key, make in (("rules", default_rules), ("routing", default_routing), ("team", default_team)):
            if key not in tables:       # the template's default rules, routing and team
                self._tables[key] = coerce_frame(make(lang), ENTITIES[key])
        self.settings = {**default_settings(), **(settings or {}), "language": lang}
        self.lang = lang

    def __getitem__(self, key: str) -> pd.DataFrame:
        return self._tables[key]

    table = __getitem__

    def fields(self, entity: str):
        return list(ENTITIES[entity].fields)

    def as_of(self, override=None) -> pd.Timestamp:
        if override is not None:
            return pd.Timestamp(override)
        fixed = self.settings.get("as_of")
        return pd.Timestamp(fixed) if fixed is not None else pd.Timestamp.now().floor("s")
