"""The village office's web panel: dashboard, incidents, roster, broadcast, health.

Served by a process of its own (``edgebox web serve``, which ``edgebox run`` starts and keeps
running) with Starlette, Jinja2 and a vendored htmx; it reads what it shows from the store, and
every office action is an ``OfficeAction`` kept in the store's office_actions desk, which the
daemon collects for the alarm loop (``edgebox.daemon.office_inbox``).
"""
