"""Customer lifetime value: BG/NBD purchases, Gamma-Gamma spend, CLV per customer.

>>> from crmkit import clv
>>> s = clv.summary(ws["orders"], ws.as_of(), customers=ws["customers"])   # frequency, recency, T, monetary_value
>>> model = clv.fit(s)                                                      # BG/NBD + Gamma-Gamma by max. likelihood
>>> pred = clv.predict(model, s, horizon_days=365, discount_rate=0.10)      # p_alive, expected_purchases, ...
>>> clv.call_list(model, s, pred, n=10)                                     # who to call this week
>>> clv.apply_clv(ws)                                                       # the CLV columns into Customers

* :mod:`crmkit.clv.purchases`: the per-customer purchase summary from the orders (SQL on a DuckDB relation);
* :mod:`crmkit.clv.models`: the two likelihoods and their fits;
* :mod:`crmkit.clv.predict`: P(alive), expected purchases and spend, CLV, the call list;
* :mod:`crmkit.clv.workspace`: the same for a workspace, written into Customers.
"""

from __future__ import annotations

from .models import MIN_REPEAT_BUYERS, BGNBDParams, GammaGammaParams, fit_bgnbd, fit_gamma_gamma
from .predict import (
                      DEFAULT_DISCOUNT_RATE,
                      DEFAULT_HORIZON_DAYS,
                      PREDICTION_COLUMNS,
                      CLVModel,
                      call_list,
                      clv,
                      expected_purchases,
                      expected_spend,
                      fit,
                      p_alive,
                      predict,
)
from .purchases import SUMMARY_COLUMNS, calibration_and_holdout, summary
from .workspace import (
                      CUSTOMER_COLUMNS,
                      WorkspaceCLV,
                      apply_clv,
                      clv_payload,
                      clv_text,
                      merge_clv,
                      workspace_clv,
)

__all__ = ["summary", "calibration_and_holdout", "fit", "fit_bgnbd", "fit_gamma_gamma", "predict", "p_alive",
           "expected_purchases", "expected_spend", "clv", "call_list", "CLVModel", "BGNBDParams",
           "GammaGammaParams", "SUMMARY_COLUMNS", "PREDICTION_COLUMNS", "DEFAULT_HORIZON_DAYS",
           "DEFAULT_DISCOUNT_RATE", "MIN_REPEAT_BUYERS", "workspace_clv", "apply_clv", "merge_clv", "WorkspaceCLV",
           "CUSTOMER_COLUMNS", "clv_payload", "clv_text"]
