"""Automation rules: "when this is true, do that" (DESIGN §4).

* the safe expression language, evaluated over whole columns, in three layers:
  :mod:`crmkit.rules.context` — the names an expression may use and the frame it sees;
  :mod:`crmkit.rules.nodes` — the compiled tree, node by node;
  :mod:`crmkit.rules.compiler` — text to checked tree (:func:`compile_expression`, :func:`evaluate_filter`);
* :mod:`crmkit.rules.functions` — its functions (``days_since``, ``has_tag`` ...), registered by name
  (below the compiler, above the nodes);
* :mod:`crmkit.rules.actions` — the actions (``create_task``, ``queue_message`` ...), registered by name;
* :mod:`crmkit.rules.schedule` — sending hours, holidays and make-up working days;
* :mod:`crmkit.rules.params` — ``key=value; ...`` action parameters;
* :mod:`crmkit.rules.engine` — :func:`run_rules`, behind ``crmkit run``;
* :mod:`crmkit.rules.defaults` — the default rule set (the twelve seed scenarios).

>>> from crmkit.rules import run_rules
>>> result = run_rules(ws, dry_run=True)
>>> result.summary()

Submodules load on first use, so ``import crmkit`` stays fast.
"""

from __future__ import annotations

__all__ = ["compile_expression", "evaluate_filter", "run_rules"]


def __getattr__(name: str):
    if name == "run_rules":
        from .engine import run_rules

        return run_rules
    if name in ("compile_expression", "evaluate_filter"):
        from . import compiler

        return getattr(compiler, name)
    if name in ("actions", "compiler", "context", "defaults", "engine", "functions", "nodes", "params",
                "schedule"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'crmkit.rules' has no attribute {name!r}")
