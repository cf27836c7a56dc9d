"""Delivery: messages leave crmkit and their results come back.

* :mod:`crmkit.delivery.render` — ``{field}`` templates through Jinja's sandbox.
* :mod:`crmkit.delivery.results` — a sending service's event export back into Messages
  (``crmkit results``); its column and event words live in :mod:`crmkit.delivery.events`.
* :mod:`crmkit.delivery.campaign` — preview and launch a campaign (``crmkit campaign``).
"""
