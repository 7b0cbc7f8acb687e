"""The pieces every OpenAPI operation is built from: references, JSON bodies, parameters and
the problem+json answers, each status a route can give declared in one place."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def parameter(
    name: str, where: str, schema: dict[str, Any], description: str, required: bool = False
) -> dict[str, Any]:
    found = {"name": name, "in": where, "schema": schema, "description": description}
    return found | {"required": True} if required or where == "path" else found


# Why a route answers each problem status (RFC 9457 problem+json, schema Problem).
STATUS_MEANING = {
    400: "Bad request or query: malformed JSON, a body or query past a limit, an unknown field",
    401: "Not signed in, or the credentials are wrong, expired or revoked",
    403: "Signed in, but the role does not allow it (or the organization is not yours)",
    404: "No such record, or one the caller may not read",
    409: "Conflict: a unique value taken, a reference still in use, a state that does not allow it",
    412: "If-Match names a version that is not the record's current one",
    413: "The body is larger than the limit (PLINTH_MAX_BODY_BYTES, or the file field's max_size)",
    415: "The file's type is not one the field accepts",
    422: "Validation failed: `errors` names each field and what is wrong",
    429: "Too many failed logins: try again after Retry-After seconds",
    503: "Unavailable for now (a schema switch under way, the password hashing saturated, the "
    "file storage not answering): try again after Retry-After",
}
READ = (400, 401, 403, 404)  # what any authenticated route may answer
WRITE = (*READ, 409, 412, 413, 422)  # a write with a JSON body


def problems(*statuses: int) -> dict[str, Any]:
    """The responses for `statuses`, each a problem+json with its meaning."""
    return {
        str(status): {
            "description": STATUS_MEANING[status],
            "content": {"application/problem+json": {"schema": ref("Problem")}},
        }
        for status in statuses
    }


def if_match() -> dict[str, Any]:
    return parameter(
        "If-Match", "header", {"type": "string", "maxLength": 64},
        'the ETag read, W/"<version>": the write applies only to that version (else 412)',
    )  # fmt: skip


def organization() -> dict[str, Any]:
    return parameter(
        "X-Organization", "header", {"type": "string"},
        "the slug of the organization to act in (default: the login's, else the first)",
    )  # fmt: skip


def for_every_operation(paths: dict[str, Any]) -> dict[str, Any]:
    """What every operation has, added to each: X-Organization to those that need a caller,
    and the 503 any route answers while the server switches to a new schema."""
    for item in paths.values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            given = operation.get("parameters", [])
            if operation.get("security") != []:
                given = [*given, organization()]
            responses = operation["responses"] | problems(503)
            item[method] = operation | {"parameters": given, "responses": responses}
    return paths


def request_id() -> dict[str, Any]:
    return parameter(
        "X-Request-ID", "header", {"type": "string"},
        "kept with the write's timeline entry (a long one is shortened, never refused)",
    )  # fmt: skip
