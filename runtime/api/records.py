"""/api/<slug> routes: parse the request, call the RecordService, render the result."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from runtime.access import Principal
from runtime.api import cursors
from runtime.api.callers import request_principal
from runtime.api.payloads import parse_json, read_json
from runtime.api.problems import Problem
from runtime.api.responses import FastJSON
from runtime.definitions.model import Entity
from runtime.filters import OPERATORS
from runtime.limits import ascii_digits, fit_request_id, limits
from runtime.service.pages import ListQuery, Page

RESERVED_PARAMS = {
    "filter", "sort", "limit", "cursor", "count", "search", "fields", "expand", "format"
}  # fmt: skip


def _names(request: Request, param: str) -> list[str] | None:
    """`?fields=id,subject,contact.name` → ["id", "subject", "contact.name"]."""
    raw = request.query_params.get(param)
    return [n.strip() for n in raw.split(",") if n.strip()] if raw else None


def _entity(request: Request) -> Entity:
    slug = request.path_params["slug"]
    entity: Entity | None = request.app.state.plinth.registry.project.entity_by_slug(slug)
    if entity is None:
        raise Problem(404, "Not found", f"no collection /api/{slug}")
    return entity


def _etag(record: dict[str, Any]) -> dict[str, str]:
    return {"ETag": f'W/"{record["version"]}"'}


def _if_match(request: Request) -> int | None:
    """The version named by If-Match (`W/"3"`, `"3"` or `3`), or None when absent. A header
    too long to be one of our ETags is a 400; a number no version reaches cannot match: 412."""
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    bound = limits().if_match_chars
    if len(raw) > bound:
        raise Problem(400, "Bad request", f"If-Match is longer than {bound} characters")
    value = raw.strip().removeprefix("W/").strip('"')
    if not ascii_digits(value):
        raise Problem(400, "Bad request", f'If-Match {raw!r}: expected an ETag like W/"3"')
    if len(value) > 18:
        raise Problem(412, "Precondition failed", "If-Match names no version of this record")
    return int(value)


def _request_id(request: Request) -> str:
    """X-Request-ID as the timeline can store it (a long one is shortened), or a new one."""
    return fit_request_id(request.headers.get("x-request-id") or uuid.uuid4().hex)


def _list_filter(request: Request) -> dict[str, Any] | None:
    """`?filter=<json>` plus shorthands `?status=open&priority__gte=3`, ANDed together."""
    parts: list[dict[str, Any]] = []
    if raw := request.query_params.get("filter"):
        parts.append(parse_json(raw, "filter", "Bad query"))
    for key, value in request.query_params.multi_items():
        if key in RESERVED_PARAMS:
            continue
        name, _, op = key.partition("__")
        op = op or "eq"
        if op not in OPERATORS:
            raise Problem(400, "Bad query", f"{key}: unknown operator '{op}'")
        if op in ("in", "nin", "between"):
            parts.append({name: {op: value.split(",")}})
        elif op == "isnull":
            parts.append({name: {op: value.lower() in ("true", "1")}})
        else:
            parts.append({name: {op: value}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"and": parts}


def _list_query(request: Request) -> ListQuery:
    """`?filter=` (and its shorthands), `?search=`, `?sort=` and `?fields=`: what a list and
    an export of it have in common."""
    return ListQuery(
        filter=_list_filter(request),
        search=request.query_params.get("search") or None,
        sort=[s for s in request.query_params.get("sort", "").split(",") if s] or None,
        fields=_names(request, "fields"),
    )


def _limit(request: Request) -> int:
    try:
        limit = int(request.query_params.get("limit", 50))
    except ValueError:
        raise Problem(400, "Bad query", "limit must be an integer") from None
    if not 1 <= limit <= 500:
        raise Problem(400, "Bad query", "limit must be between 1 and 500")
    return limit


def _binding(kind: str, entity: Entity, principal: Principal, *more: str) -> list[Any]:
    """What a cursor is for: a kind of list, of an entity, in an organization."""
    tenant = str(principal.tenant_id) if principal.tenant_id is not None else None
    return [kind, entity.name, *more, tenant]


def _next(request: Request, binding: list[Any], page: Page) -> str | None:
    keys = request.app.state.plinth.keys
    return cursors.encode(keys, binding, page.following) if page.following else None


def _counting(request: Request) -> str | None:
    """`?count=true` (an exact COUNT) or `?count=estimate` (the planner's estimate)."""
    raw = request.query_params.get("count")
    if raw in (None, "", "false"):
        return None
    if raw not in ("true", "estimate"):
        raise Problem(400, "Bad query", f"count: expected true or estimate, got {raw!r}")
    return raw


async def collection(request: Request) -> Response:
    entity = _entity(request)
    principal = await request_principal(request)
    service = request.app.state.plinth.service
    if request.method == "POST":
        record = await service.create(
            principal, entity.name, await read_json(request), request_id=_request_id(request)
        )
        headers = {"Location": f"/api/{entity.slug}/{record['id']}", **_etag(record)}
        return FastJSON(record, status_code=201, headers=headers)
    asked, limit, counting = _list_query(request), _limit(request), _counting(request)
    binding = _binding("records", entity, principal)
    keys = request.app.state.plinth.keys
    after = cursors.decode(keys, request.query_params.get("cursor"), binding)
    query = replace(asked, limit=limit, after=after, expand=_names(request, "expand"))
    page = await service.page(principal, entity.name, query)
    meta: dict[str, Any] = {"next_cursor": _next(request, binding, page)}
    if counting == "true":
        meta["count"] = await service.count(principal, entity.name, query)
    elif counting == "estimate":
        count, exact = await service.estimate_count(principal, entity.name, query)
        meta |= {"count": count, "count_exact": exact}
    return FastJSON({"data": page.rows, "meta": meta})


async def item(request: Request) -> Response:
    entity = _entity(request)
    principal = await request_principal(request)
    service = request.app.state.plinth.service
    record_id = request.path_params["id"]
    if request.method == "GET":
        record = await service.get(
            principal,
            entity.name,
            record_id,
            fields=_names(request, "fields"),
            expand=_names(request, "expand"),
        )
        return FastJSON(record, headers=_etag(record))
    if request.method == "PATCH":
        record = await service.update(
            principal,
            entity.name,
            record_id,
            await read_json(request),
            version=_if_match(request),
            request_id=_request_id(request),
        )
        return FastJSON(record, headers=_etag(record))
    await service.delete(
        principal,
        entity.name,
        record_id,
        version=_if_match(request),
        request_id=_request_id(request),
    )
    return Response(status_code=204)


async def item_timeline(request: Request) -> Response:
    """GET /api/<slug>/{id}/timeline?limit=&cursor=: entries newest first, a page at a time."""
    entity = _entity(request)
    principal = await request_principal(request)
    record_id = request.path_params["id"]
    binding = _binding("timeline", entity, principal, str(record_id))
    after = cursors.decode(
        request.app.state.plinth.keys, request.query_params.get("cursor"), binding
    )
    page = await request.app.state.plinth.service.timeline_page(
        principal, entity.name, record_id, limit=_limit(request), after=after
    )
    return FastJSON({"data": page.rows, "meta": {"next_cursor": _next(request, binding, page)}})


async def item_transition(request: Request) -> Response:
    """POST /api/<slug>/{id}/transitions/{name}: move the record along a state transition."""
    entity = _entity(request)
    principal = await request_principal(request)
    record = await request.app.state.plinth.service.transition(
        principal,
        entity.name,
        request.path_params["id"],
        request.path_params["name"],
        version=_if_match(request),
        request_id=_request_id(request),
    )
    return FastJSON(record, headers=_etag(record))


routes = [
    Route("/api/{slug}", collection, methods=["GET", "POST"]),
    Route("/api/{slug}/{id}", item, methods=["GET", "PATCH", "DELETE"]),
    Route("/api/{slug}/{id}/timeline", item_timeline, methods=["GET"]),
    Route("/api/{slug}/{id}/transitions/{name}", item_transition, methods=["POST"]),
]
