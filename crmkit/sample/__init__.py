"""Realistic, reproducible sample workspaces (``crmkit sample``, ``crmkit init --sample``).

>>> generate_workspace("sample_data", customers=500, seed=7, lang="en")

* :mod:`crmkit.sample.generator` — :func:`generate_tables`: one latent customer table, then a frame per entity;
* :mod:`crmkit.sample.scenarios` — the planted customers that make each default rule find work on ``as_of``;
* :mod:`crmkit.sample.campaigns` — campaigns, their messages and the rule messages;
* :mod:`crmkit.sample.words` — word pools (en, zh), the funnel model, names, phones and e-mails;
* :mod:`crmkit.sample.draw` — the clock, seeded draws and row ids;
* :mod:`crmkit.sample.workspace` — :func:`generate_workspace`, its marker and :func:`summary_text`.

Reproducibility: the same seed, size, language and ``as_of`` give equal
tables with the same versions of numpy and Faker (Faker's word lists feed the
name pools).  ``tests/test_sample.py`` checks that the committed
``sample_data/`` still equals ``crmkit sample sample_data --customers 500
--seed 7 --lang en --force``; regenerate it when the generator, the default
rules or the settings change.

Speed (2-core machine, CPU time): 100,000 customers with 1,000,000 orders are
generated in about 7 s; writing them takes about 100 s (xlsxwriter, about
25,000 order rows/s) and some 4 GB of memory.  An Excel sheet holds at most
1,048,575 rows: larger requests are refused before any work.
"""

from __future__ import annotations

from .draw import DEFAULT_AS_OF
from .generator import generate_tables
from .workspace import generate_workspace, is_sample_workspace, sample_marker, summary_text, write_tables

__all__ = ["DEFAULT_AS_OF", "generate_tables", "generate_workspace", "is_sample_workspace", "sample_marker",
           "summary_text", "write_tables"]
