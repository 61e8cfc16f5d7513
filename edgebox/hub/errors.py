"""Errors of the hub.

    EdgeboxError
    └── HubError              the hub cannot do what was asked
        ├── HubStoreError     its database failed (sqlite3 / psycopg errors, translated)
        ├── NotAuthorised     a box's request failed verification (``reason`` says how)
        └── RegistryError     a box or user cannot be added or found
"""
from __future__ import annotations

from edgebox.errors import EdgeboxError


class HubError(EdgeboxError):
    pass


class HubStoreError(HubError):
    pass


class NotAuthorised(HubError):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class RegistryError(HubError):
    """``words``: the dictionary key (``edgebox.web.i18n``) that says the same on a page, with
    ``fields`` to fill it; the message itself is the command line's."""

    def __init__(self, message: str, words: str = "", **fields: object):
        super().__init__(message)
        self.words = words
        self.fields = fields
