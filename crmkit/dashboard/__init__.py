"""The dashboards: the Voila server, page helpers, charts and widgets, the forms page, and the notebooks.

The notebooks in ``crmkit/dashboard/notebooks/`` are shipped in the wheel and
are the only copy (the repository's top-level ``notebooks/`` points at them).
They hold layout and widgets only; every number they show comes from a
function of the domain modules (:mod:`crmkit.analytics`, :mod:`crmkit.rfm`, ...).
"""
