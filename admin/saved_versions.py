"""Which version an admin edit form stands for.

The edit form sends back the `version` it showed, and a save from an older version is a
conflict. piccolo-admin's form does not reload the row after a save, so its next save still
sends the old number: the browser keeps, in a cookie, "the form that showed version v of this
row has been saved as version v', with these values in the fields it changed" and a form that
showed v and still holds those values counts as made at v'. Another browser (another admin)
has no such cookie, and another tab of the same browser that showed v holds the old values of
those fields, so either stale form is refused."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from runtime.limits import ascii_digits

VERSION = "version"
COOKIE = "plinth_saved"


def form_version(data: dict[str, Any]) -> int | None:
    """The version the form showed, or None if it sent none (a client that does not check)."""
    try:
        return int(data[VERSION])
    except (KeyError, TypeError, ValueError):
        return None


class SavedVersions:
    """The cookie's answer for one row of one table."""

    def __init__(self, request: Request, table: str, row_id: Any) -> None:
        self.prefix = f"{table}:{row_id}:"
        self.saved = request.cookies.get(COOKIE, "")
        self.held: list[str] = []  # fields the form was recognised by (its earlier saves)
        self.sent: dict[str, Any] = {}  # what the form sends now, JSON-ready

    def expected(self, shown: int | None, values: dict[str, Any]) -> int | None:
        """The version a save from a form that showed `shown` and sends `values` (JSON-ready)
        must find stored."""
        if shown is None or not self.saved.startswith(self.prefix):
            return shown
        start, end, names, digest = self._parts()
        self.sent = values
        fields = [n for n in names.split(",") if n]
        is_that_form = _digest({n: values.get(n) for n in fields}) == digest
        if start == str(shown) and ascii_digits(end) and is_that_form:
            self.held = fields
            return int(end)
        return shown

    def _parts(self) -> list[str]:
        return (self.saved.removeprefix(self.prefix).split(":") + [""] * 4)[:4]

    def standing(self, shown: int | None) -> int | None:
        """The version a form that showed `shown` stands for after its earlier saves (its
        values are checked at its next save, by `expected`)."""
        if shown is None or not self.saved.startswith(self.prefix):
            return shown
        start, end, _, _ = self._parts()
        return int(end) if start == str(shown) and ascii_digits(end) else shown

    def moved(self, response: Response, shown: int | None, now: int) -> None:
        """After a file of the row changed from the form's page (admin/files.py): the form
        that showed `shown`, recognised by the same values as before, stands for `now`."""
        if shown is None:
            return
        start, _, names, digest = self._parts()
        if not self.saved.startswith(self.prefix) or start != str(shown):
            names, digest = "", _digest({})
        self._set(response, f"{self.prefix}{shown}:{now}:{names}:{digest}")

    def remember(
        self, response: Response, shown: int | None, now: int, written: dict[str, Any]
    ) -> None:
        """After a save from a form that showed `shown` and wrote `written` (JSON-ready):
        that form, while it holds those values (and those of its earlier saves), now stands
        for `now`."""
        if shown is not None:
            holds = {n: self.sent.get(n) for n in self.held} | written
            names = ",".join(sorted(holds))
            self._set(response, f"{self.prefix}{shown}:{now}:{names}:{_digest(holds)}")

    def _set(self, response: Response, value: str) -> None:
        response.set_cookie(COOKIE, value, path="/admin", httponly=True, samesite="strict")


def _digest(values: dict[str, Any]) -> str:
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
