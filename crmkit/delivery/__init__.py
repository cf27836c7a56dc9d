"""Delivery: messages leave crmkit and their results come back.

* :mod:`crmkit.delivery.render` — ``{field}`` templates through Jinja's sandbox.
* :mod:`crmkit.delivery.results` — a sending service's event export back into Messages
  (``crmkit results``); its column and event words live in :mod:`crmkit.delivery.events`.
* :mod:`crmkit.delivery.campaign` — preview and launch a campaign (``crmkit campaign``).
* :mod:`crmkit.delivery.guards` — consent, unsubscribe, address, bounced address and the daily cap.
* :mod:`crmkit.delivery.send` — :func:`~crmkit.delivery.send.send_messages`, behind ``crmkit send``: due
  messages out in batches, each at most once; its record of every step is :mod:`crmkit.delivery.outcomes`,
  its summary :mod:`crmkit.delivery.send_summary`.
"""
