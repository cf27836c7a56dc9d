"""The dashboards: the Voila server, page helpers, charts and widgets, the forms page, and the notebooks.

- :mod:`.server`: ``crmkit dashboard`` (Voila on 127.0.0.1, the workspace to show, the kernels' setup);
- :mod:`.context`: what a page holds (workspace, language, 'now') and the preheating of its kernel;
- :mod:`.formatting`: numbers, labels, masked contacts, HTML tables and KPI cards;
- :mod:`.charts`: plotly figures, one per dashboard figure;
- :mod:`.widgets`: filters, the language switch, the Excel download, the page frame;
- :mod:`.pages`: the joins and column lists of each page;
- :mod:`.forms_page`: the data-entry pages of the Forms sheet.

The notebooks in ``crmkit/dashboard/notebooks/`` are shipped in the wheel and
are the only copy (the repository's top-level ``notebooks/`` links to each).
They hold layout and widgets only; every number they show comes from a
function of the domain modules (:mod:`crmkit.analytics`, :mod:`crmkit.rfm`, ...).
"""
