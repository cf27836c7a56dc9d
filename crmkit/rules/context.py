"""What a rule expression sees: the names it may use and the frame it evaluates over.

* :class:`FieldSet` — the field names an expression may use for one entity
  (canonical keys, English and Chinese headers, synonyms), the derived fields
  (:func:`derived_fields`), the customer's fields reachable from deals,
  tickets and orders, and any other column of the frame;
* :class:`EvalContext` — one evaluation: the frame, the run time ('now'),
  settings, messages, the customers frame for joined fields, the previous
  run's values, and caches shared between rules.

This is the bottom layer of the expression language: the nodes
(:mod:`crmkit.rules.nodes`), the functions (:mod:`crmkit.rules.functions`)
and the compiler (:mod:`crmkit.rules.compiler`) all build on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

import numpy as np
import pandas as pd

from ..derived import id_positions, unique_ids
from ..schema import ENTITIES, Entity, Field, norm_token
from ..settings import defaults as settings_defaults

__all__ = ["EvalContext", "FieldSet", "as_fieldset", "derived_fields"]


# --------------------------------------------------------------------------- fields

@lru_cache(maxsize=1)
def derived_fields() -> dict[str, Field]:
    """The customers' derived fields (schema), by key."""
    return {f.key: f for f in ENTITIES["customers"].derived}


class FieldSet:
    """The names an expression may use for one entity, and their types.

    Entity fields first (key, English or Chinese header, synonyms), then
    derived fields, then (for deals, tickets and orders) the customer's
    fields, reachable directly when the name does not clash and always as
    ``customer_<key>``; then any other column of the frame.
    """

    def __init__(self, entity: str | Entity | None = "customers", fields: Iterable[Field] | None = None,
                 columns: Iterable[str] = (), join_customers: bool | None = None):
        ent = ENTITIES.get(entity, None) if isinstance(entity, str) else entity
        self.entity = ent
        self.fields: dict[str, Field] = {}
        self.lookup: dict[str, str] = {}
        own = list(fields) if fields is not None else (list(ent.fields) if ent is not None else [])
        for f in own:
            self._add(f.key, f, (f.key, f.en, f.zh, *f.synonyms))
        is_customers = ent is not None and ent.key == "customers"
        join = (ent is not None and not is_customers and ent.has("customer_id")) if join_customers is None \
            else join_customers
        self.customer_fields: dict[str, str] = {}   # virtual key -> customer key
        if ent is None or is_customers or join:
            for key, f in derived_fields().items():
                if key not in self.fields:
                    self._add(key, f, (key, f.en, f.zh, *f.synonyms))
                    if join:
                        self.customer_fields[key] = key
        if join:
            for f in ENTITIES["customers"].fields:
                virtual = "customer_" + f.key
                self._add(virtual, f, (virtual,))
                self.customer_fields[virtual] = f.key
                if f.key not in self.fields:
                    self._add(f.key, f, (f.key, f.en, f.zh, *f.synonyms))
                    self.customer_fields[f.key] = f.key
                else:
                    # a clashing header (e.g. 客户名称 on deals) still reaches the customer
                    for s in (f.en, f.zh, *f.synonyms):
                        self.lookup.setdefault(norm_token(s), virtual)
        for c in columns:
            c = str(c)
            if c not in self.fields:
                self.lookup.setdefault(norm_token(c), c)
                self.lookup.setdefault(c, c)

    def _add(self, key: str, f: Field, spellings) -> None:
        self.fields.setdefault(key, f)
        for s in spellings:
            self.lookup.setdefault(norm_token(s), key)
        self.lookup.setdefault(key, key)

    def resolve(self, name: str) -> str | None:
        return self.lookup.get(name) or self.lookup.get(norm_token(name))

    def field(self, key: str) -> Field | None:
        return self.fields.get(key)

    def with_columns(self, columns: Iterable[str]) -> FieldSet:
        new = object.__new__(FieldSet)
        new.entity, new.fields, new.lookup = self.entity, dict(self.fields), dict(self.lookup)
        new.customer_fields = dict(self.customer_fields)
        for c in columns:
            c = str(c)
            if c not in new.fields:
                new.lookup.setdefault(norm_token(c), c)
                new.lookup.setdefault(c, c)
        return new


def as_fieldset(fields) -> FieldSet | None:
    """``fields`` as given to :func:`~crmkit.rules.compiler.compile_expression`, as a :class:`FieldSet`."""
    if fields is None or isinstance(fields, FieldSet):
        return fields
    if isinstance(fields, str | Entity):
        return FieldSet(fields)
    items = list(fields)
    fs = [f for f in items if isinstance(f, Field)]
    names = [str(f) for f in items if not isinstance(f, Field)]
    return FieldSet(None, fields=fs, columns=names, join_customers=False)


# --------------------------------------------------------------------------- evaluation context

class EvalContext:
    """What an expression sees while it evaluates: the frame, 'now' and the workspace around it.

    ``messages``: the Messages table (for ``clicked``, ``messages_since`` ...);
    ``customers``: the customers frame (for fields of a deal's customer);
    ``previous``: ``{field: {record_id: value}}`` from the last run (``changed_to``);
    ``settings``: the workspace settings (cadence, ...);
    ``shared``: a cache that outlives one evaluation (the engine shares it
    between rules; ``version`` must change whenever the frames change).
    """

    def __init__(self, frame: pd.DataFrame, *, as_of=None, entity: str = "customers",
                 settings: Mapping | None = None, messages: pd.DataFrame | None = None,
                 customers: pd.DataFrame | None = None, previous: Mapping | None = None,
                 previous_as_of=None, fields: FieldSet | None = None, lang: str = "en",
                 shared: dict | None = None, version: int = 0):
        self.frame = frame
        self.index = frame.index
        self.as_of = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
        self.entity = entity
        self.settings = {**settings_defaults(), **(settings or {})}
        self.messages = messages
        self.customers = customers
        self.previous = previous
        self.previous_as_of = None if previous_as_of is None else pd.Timestamp(previous_as_of)
        base = fields if fields is not None else FieldSet(entity if entity in ENTITIES else None)
        self.fields = base.with_columns(frame.columns)
        self.lang = lang
        self.cache: dict = {}
        self.shared: dict = shared if shared is not None else {}
        self.version = version
        ent = ENTITIES.get(entity)
        self.id_field = ent.id_field if ent is not None else None

    def __len__(self) -> int:
        return len(self.frame)

    def rebind(self, frame: pd.DataFrame) -> EvalContext:
        """The same context over another frame (its columns become reachable names)."""
        new = object.__new__(EvalContext)
        new.__dict__.update(self.__dict__)
        new.frame, new.index, new.cache = frame, frame.index, {}
        new.fields = self.fields.with_columns(frame.columns)
        return new

    def subset(self, mask: pd.Series) -> EvalContext:
        """The same context over the rows where ``mask`` is True."""
        new = object.__new__(EvalContext)
        new.__dict__.update(self.__dict__)
        new._cust_source = self.customers_source()      # per-customer arrays keep their alignment
        new.frame = self.frame[mask.to_numpy()]
        new.index = new.frame.index
        new.cache = {}
        if "customer_pos" in self.cache:
            new.cache["customer_pos"] = self.cache["customer_pos"][mask.to_numpy()]
        return new

    @property
    def record_ids(self) -> pd.Series:
        if self.id_field and self.id_field in self.frame.columns:
            return self.frame[self.id_field]
        return pd.Series(self.frame.index.astype(str), index=self.frame.index)

    @property
    def customer_ids(self) -> pd.Series:
        if "customer_id" in self.frame.columns:
            return self.frame["customer_id"]
        return pd.Series(pd.NA, index=self.index, dtype="string")

    # -- customers as positions: joins and per-customer aggregates without string reindexing

    def customers_source(self) -> pd.DataFrame:
        """The frame customer fields and per-customer arrays come from (kept by :meth:`subset`)."""
        src = self.__dict__.get("_cust_source")
        if src is not None:
            return src
        return self.customers if self.customers is not None else self.frame

    @property
    def cust_index(self) -> pd.Series:
        """Unique customer ids of the customers frame (per-customer arrays are aligned with it)."""
        return self._cust()[1]

    def _cust(self):
        src = self.customers_source()
        key = ("cust_index", id(src), len(src))
        got = self.shared.get(key)
        if got is None:
            if "customer_id" in src.columns:
                index, rowpos = unique_ids(src["customer_id"])
            else:
                index, rowpos = pd.Series([], dtype="string"), np.array([], dtype=np.int64)
            got = (src, index, rowpos)
            self.shared[key] = got
        return got

    def positions(self, ids: pd.Series) -> np.ndarray:
        """Positions of ``ids`` in :attr:`cust_index` (-1 when unknown)."""
        return id_positions(self.cust_index, ids)

    @property
    def customer_pos(self) -> np.ndarray:
        if "customer_pos" not in self.cache:
            self.cache["customer_pos"] = self.positions(self.customer_ids)
        return self.cache["customer_pos"]

    def per_customer(self, values: np.ndarray, fill=None, rows: np.ndarray | None = None):
        """A per-customer array (aligned with :attr:`cust_index`) onto the rows (or row positions)."""
        pos = self.customer_pos if rows is None else self.customer_pos[rows]
        ok = pos >= 0
        out = values[np.where(ok, pos, 0)] if len(values) else np.full(len(pos), fill)
        if (~ok).any():
            out = out.copy() if out.dtype != object else out
            if fill is None and out.dtype.kind == "M":
                out[~ok] = np.datetime64("NaT")
            elif fill is None and out.dtype.kind == "f":
                out[~ok] = np.nan
            else:
                out = out.astype(object) if fill is None else out
                out[~ok] = fill
        return out

    def column(self, key: str, rows: np.ndarray | None = None) -> pd.Series:
        """The column ``key`` aligned with the frame (customer fields joined by customer_id).

        ``rows``: integer positions to return only those rows.
        """
        ck = self.fields.customer_fields.get(key)
        if key in self.frame.columns and ck is None:
            col = self.frame[key]
            return col if rows is None else col.iloc[rows]
        if ck is not None and self.customers is not None:
            src, _, rowpos = self._cust()
            if ck not in src.columns:
                raise KeyError(key)
            pos = self.customer_pos if rows is None else self.customer_pos[rows]
            take = np.where(pos >= 0, rowpos[np.where(pos >= 0, pos, 0)] if len(rowpos) else -1, -1)
            col = src[ck]
            arr = col.array.take(take, allow_fill=True)
            idx = self.index if rows is None else self.index[rows]
            return pd.Series(arr, index=idx, name=key)
        if key in self.frame.columns:
            col = self.frame[key]
            return col if rows is None else col.iloc[rows]
        f = self.fields.field(key)
        if f is not None:   # a known field missing from this frame: all blank
            idx = self.index if rows is None else self.index[rows]
            return pd.Series([None] * len(idx), index=idx, dtype=f.dtype)
        raise KeyError(key)
