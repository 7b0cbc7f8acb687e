"""Which version an admin edit form stands for.

The edit form sends back the `version` it showed, and a save from an older version is a
conflict. piccolo-admin's form does not reload the row after a save, so its next save still
sends the old number: the browser keeps, in a cookie, "the form that showed version v of this
row has been saved as version v'" and that form's next save counts as made at v'. Another
browser (another admin) has no such cookie, so its stale form is refused."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

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

    def expected(self, shown: int | None) -> int | None:
        """The version a save from a form that showed `shown` must find stored."""
        if shown is None or not self.saved.startswith(self.prefix):
            return shown
        start, _, end = self.saved.removeprefix(self.prefix).partition(":")
        return int(end) if start == str(shown) and end.isdigit() else shown

    def remember(self, response: Response, shown: int | None, now: int) -> None:
        """After a save from a form that showed `shown`: that form now stands for `now`."""
        if shown is not None:
            response.set_cookie(
                COOKIE,
                f"{self.prefix}{shown}:{now}",
                path="/admin",
                httponly=True,
                samesite="strict",
            )
