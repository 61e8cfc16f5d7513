"""The county hub: receives many boxes' event logs, and shows every village on one page.

Modules: database (SQLite or PostgreSQL behind one small interface), schema (the hub's tables),
registry (boxes and their tokens), accounts (hub users, password hashing, sessions), verify
(a box's signed request), ingest (storing a batch exactly once), reports (the dashboard's
queries and statistics), charts (server-rendered SVG), web (the Starlette app), cli.
"""
