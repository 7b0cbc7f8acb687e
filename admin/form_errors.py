"""Errors of an admin save, in the shapes piccolo-admin's Vue form displays.

The form (its `tr` function) lists a 422's `{"detail": [{"loc": [..., field], "msg": ...}]}`
field by field, and shows any other status's plain-text body as it is, so a 409 or 403 says
its reason in plain words, while a JSON body there would be shown as raw JSON."""

from __future__ import annotations

import json

import pydantic
from starlette.responses import JSONResponse, Response

from runtime.service import ServiceError, ValidationFailed

# The status of each service error code in the admin; any other code is a plain 400. A stale
# version is a conflict here: the form sent the version it showed, not a precondition header.
_STATUS = {
    "not_found": 404,
    "forbidden": 403,
    "stale_version": 409,
    "conflict": 409,
    "unique_conflict": 409,
    "validation_failed": 422,
}


def field_errors(errors: list[dict[str, object]]) -> Response:
    """A 422 that the form shows next to nothing but lists as `<field> field - <msg>`."""
    return JSONResponse({"detail": errors}, status_code=422)


def service_error(exc: ServiceError) -> Response:
    status = _STATUS.get(exc.code, 400)
    if status == 422 and isinstance(exc, ValidationFailed):
        return field_errors(
            [{"loc": ["body", e.field], "msg": e.message, "type": e.code} for e in exc.errors]
        )
    return Response(str(exc), status_code=status, media_type="text/plain")


def invalid_form(exc: pydantic.ValidationError) -> Response:
    """The form's values did not parse: each problem under its field."""
    return field_errors(json.loads(exc.json(include_url=False, include_context=False)))


def conflict(entity_name: str, current: int, shown: int) -> Response:
    return Response(
        f"This {entity_name} was changed by someone else after you opened it (it is now at "
        f"version {current}, your form shows version {shown}). Your changes were not saved: "
        "reload the page to see the current values, then make your changes again.",
        status_code=409,
        media_type="text/plain",
    )
