"""The county hub: receives many boxes' event logs, and shows every village on one page.

Modules: database (SQLite or PostgreSQL behind one small interface), schema (the hub's tables),
registry (boxes and their tokens), accounts (hub users, roles, password hashing, sessions),
scope (what a user may see, ANDed into every query), audit (who did what), verify (a box's
signed request), ingest (storing a batch exactly once), reports (the dashboard's queries and
statistics), incident_detail (one alarm's timeline), monthly (coverage and the monthly report),
local_time (the county's clock), charts (server-rendered SVG), dashboard, report_pages and
account_pages (the pages), web (the Starlette app), cli.
"""
