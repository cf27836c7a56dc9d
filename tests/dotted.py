"""Resolve a dotted name (``crmkit.analytics.funnel``) to the object it names, for the tests of entry points
and of the functions the guides call."""

from __future__ import annotations

import importlib


def resolve(dotted: str):
    """The module, or attribute of the longest importable module prefix, that ``dotted`` names."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)
