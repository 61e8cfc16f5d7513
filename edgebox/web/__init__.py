"""The village office's web panel: dashboard, incidents, roster, broadcast, health.

Served by the daemon itself (a companion in ``daemon.services``) with Starlette, Jinja2 and a
vendored htmx; every office action is an ``OfficeAction`` handed to the daemon's office desk
(kept in the store, then queued for the alarm loop).
"""
