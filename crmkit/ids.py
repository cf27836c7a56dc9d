"""New record IDs: one allocator for every writer.

Import, form submissions, the rules (a task, ticket or message they create),
rows typed in Excel without an ID and the sample generator all number new
records here, from the entity's schema facts: ``id_prefix`` followed by a
number zero-padded to ``id_width`` digits (``C00001``, ``TK00001``,
``M000001``; see :class:`crmkit.schema.Entity`).

The number continues the sheet's own sequence: one more than the highest
number among the IDs that are the prefix followed by digits.  When the sheet
already has such IDs, new ones keep the digit count of the highest
(``T000123`` -> ``T000124``, ``C10`` -> ``C11``); an empty sheet starts at 1
with the schema width.  IDs of any other shape (a source system's own, or
an older crmkit's ``K00001``) are left alone and never handed out again:
a candidate that exists already is skipped.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .schema import ENTITIES

#: Numbers longer than this are not continued (they would not fit an int64); they cannot collide either.
_MAX_DIGITS = 18


class IdAllocator:
    """Hands out new IDs of one entity, after the ``existing`` ones, never one that exists or was handed out."""

    def __init__(self, entity_key: str, existing: pd.Series | None = None):
        ent = ENTITIES[entity_key]
        if not ent.id_prefix:
            raise KeyError(f"{entity_key} has no ID prefix")
        self.prefix = ent.id_prefix
        self.width = ent.id_width
        ids = pd.Series([], dtype="string") if existing is None else \
            pd.Series(existing).astype("string").str.strip().dropna()
        self.taken: set[str] = set(ids.tolist())
        self.next = 1
        digits = ids.str.extract(f"^{re.escape(self.prefix)}([0-9]{{1,{_MAX_DIGITS}}})$")[0].dropna()
        if len(digits):
            nums = digits.astype("int64").to_numpy()
            top = int(np.argmax(nums))
            self.next = int(nums[top]) + 1
            self.width = len(digits.iloc[top])

    def take(self, count: int) -> list[str]:
        """The next ``count`` IDs."""
        out: list[str] = []
        while len(out) < count:
            cand = f"{self.prefix}{self.next:0{self.width}d}"
            self.next += 1
            if cand not in self.taken:
                self.taken.add(cand)
                out.append(cand)
        return out


def next_ids(entity_key: str, existing: pd.Series | None, count: int) -> list[str]:
    """``count`` new IDs of ``entity_key`` following the ``existing`` ones (``C00042`` -> ``C00043`` ...)."""
    if count <= 0:
        return []
    return IdAllocator(entity_key, existing).take(count)


def first_ids(entity_key: str, count: int) -> pd.Series:
    """IDs 1..``count`` of a new sheet, all of one width (the schema's, more when ``count`` needs it)."""
    ent = ENTITIES[entity_key]
    width = max(ent.id_width, len(str(max(count, 1))))
    return ent.id_prefix + pd.Series(np.arange(1, count + 1)).astype("string").str.zfill(width)
