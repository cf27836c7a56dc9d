"""Every number the dashboards and reports show, as plain DataFrames (DESIGN §6).

Pure functions over the typed frames a :class:`~crmkit.workspace.Workspace`
gives (canonical keys, canonical enumeration codes).  Each docstring states
the definition of every column, so a dashboard, a report and an analyst in a
notebook all read the same numbers.  Rates are fractions (0.25 = 25 %); a
rate whose denominator is 0 is NaN (not 0: there was nothing to measure).

>>> from crmkit import analytics as an
>>> an.funnel(ws["customers"])
>>> an.kpi_summary(ws, ws.as_of(), period="month")

The numbers are grouped by subject, one module each: :mod:`.periods`,
:mod:`.pipeline` (funnel, cycle time, follow-up cadence), :mod:`.work` (tasks,
tickets), :mod:`.campaigns`, :mod:`.quality` (completeness, duplicates),
:mod:`.sales` (segments, tiers, revenue, trend), :mod:`.kpis` (the manager
KPIs and filtered views), :mod:`.cohorts` (cohort retention, repeat-purchase
curve), :mod:`.proportions` (confidence intervals and tests of rates) and
:mod:`.products` (revenue and margin by product and category, top products per
segment, cross-sell lists, low stock).  This package's namespace is the one
import an analyst needs.
"""

from __future__ import annotations

from .campaigns import campaign_kpis, campaign_totals
from .kpis import KPIS, WorkspaceScope, kpi_summary, period_tables, scope_workspace
from .periods import PERIODS, CalendarPeriod, calendar_period, in_period, period_bounds
from .pipeline import (
    FUNNEL_STAGES,
    cadence_compliance,
    cadence_status,
    conversion_by_source,
    days_to_close,
    funnel,
    stage_counts,
    stage_durations,
    stage_stints,
    weakest_step,
)
from .products import (
    category_revenue,
    cross_sell,
    low_stock,
    low_stock_mask,
    product_pairs,
    product_revenue,
    top_products_by_segment,
)
from .quality import completeness, customer_completeness, duplicates
from .sales import revenue_by_channel, segments, trend, value_tiers
from .work import task_list, tasks_by_owner, ticket_sla

# isort: split
# analyst guides: cohorts and retention, campaign rates with confidence intervals
from .campaigns import RATES as CAMPAIGN_RATES
from .campaigns import campaign_results, compare_campaigns
from .cohorts import COHORT_PERIODS, cohort_retention, repeat_purchase_curve, retention_matrix
from .proportions import proportion_difference, wilson_interval, z_quantile

__all__ = [
    "FUNNEL_STAGES",
    "PERIODS",
    "period_bounds",
    "in_period",
    "CalendarPeriod",
    "calendar_period",
    "stage_counts",
    "funnel",
    "weakest_step",
    "conversion_by_source",
    "stage_stints",
    "stage_durations",
    "days_to_close",
    "cadence_compliance",
    "tasks_by_owner",
    "task_list",
    "ticket_sla",
    "campaign_kpis",
    "completeness",
    "customer_completeness",
    "duplicates",
    "segments",
    "value_tiers",
    "revenue_by_channel",
    "trend",
    "kpi_summary",
    "KPIS",
    "cadence_status",
    "campaign_totals",
    "period_tables",
    "scope_workspace",
    "WorkspaceScope",
    # analyst guides: cohorts and retention, campaign rates with confidence intervals
    "CAMPAIGN_RATES",
    "campaign_results",
    "compare_campaigns",
    "COHORT_PERIODS",
    "cohort_retention",
    "retention_matrix",
    "repeat_purchase_curve",
    "wilson_interval",
    "proportion_difference",
    "z_quantile",
    # product catalogue (crmkit.analytics.products)
    "product_revenue",
    "category_revenue",
    "top_products_by_segment",
    "cross_sell",
    "product_pairs",
    "low_stock",
    "low_stock_mask",
]
