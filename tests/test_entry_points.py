"""``help(crmkit)`` lists the main entry points, and every one it names exists."""

from __future__ import annotations

import importlib
import pydoc
import re

from dotted import resolve

import crmkit

#: what an analyst looks for first (issue 18: "help(crmkit) lists the main entry points")
MAIN = ("open_workspace", "validate", "importer", "dedupe", "rules", "rfm", "clv", "analytics", "report", "orderstore")


def entry_points() -> list[str]:
    section = crmkit.__doc__.split("Entry points\n------------\n", 1)[1]
    return sorted(set(re.findall(r"``(crmkit(?:\.\w+)+)``", section)))




def test_help_names_the_main_entry_points():
    text = pydoc.render_doc(crmkit, renderer=pydoc.plaintext)
    assert "Entry points" in text
    named = entry_points()
    for name in MAIN:
        assert any(d == f"crmkit.{name}" or d.startswith(f"crmkit.{name}.") for d in named), name
        assert f"crmkit.{name}" in text


def test_every_named_entry_point_can_be_imported_and_has_an_example():
    for dotted in entry_points():
        obj = resolve(dotted)
        assert obj is not None, dotted
        # it shows how it is called: in its own docstring, its module's, or that of the package it is named from
        docs = [obj.__doc__ or "", resolve(dotted.rpartition(".")[0]).__doc__ or ""]
        if getattr(obj, "__module__", None):
            docs.append(importlib.import_module(obj.__module__).__doc__ or "")
        assert any(">>>" in d for d in docs), dotted
