"""The village office's web panel: dashboard, incidents, roster, broadcast, health.

Served by the daemon itself (a companion in ``daemon.services``) with Starlette, Jinja2 and a
vendored htmx; every office action goes on the daemon's event queue as an ``OfficeAction``.
"""
