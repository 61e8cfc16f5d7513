"""What a hub user may see: the one place every dashboard query is narrowed to a user's boxes.

A county user sees every box; a township officer the boxes of their township; a village
account its own box. ``Scope.where`` is ANDed into every query by ``reports.Filters.where``, so
no page, export or report can forget it; a row outside the scope is simply not found, and the
page answers 404 exactly as for an id that does not exist (ids are not revealed).
"""
from __future__ import annotations

from dataclasses import dataclass

ROLES = ("county", "township", "village")


@dataclass(frozen=True)
class Scope:
    role: str
    township: str = ""
    box_id: str = ""

    @property
    def is_county(self) -> bool:
        return self.role == "county"

    def where(self) -> tuple[str, list]:
        """An SQL condition on the box ``b`` that keeps only this user's boxes."""
        if self.role == "county":
            return "1 = 1", []
        if self.role == "township" and self.township:
            return "b.township = ?", [self.township]
        if self.role == "village" and self.box_id:
            return "b.box_id = ?", [self.box_id]
        return "1 = 0", []  # an account with no usable scope sees nothing, never everything


NOBODY = Scope("none")
