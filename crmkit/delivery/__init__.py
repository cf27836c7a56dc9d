"""Delivery: messages leave crmkit and their results come back.

* :mod:`crmkit.delivery.render` — ``{field}`` templates through Jinja's sandbox.
* :mod:`crmkit.delivery.campaign` — preview and launch a campaign (``crmkit campaign``).
"""
