"""TenantCRUD: piccolo-admin's per-table endpoints, made tenant-safe and routed through the
RecordService. piccolo-admin looks `PiccoloCRUD` up in its module when it builds its routes,
so `build_admin` swaps this class in (a contract test pins the piccolo-admin version).

Every endpoint of PiccoloCRUD is either overridden here or reads no rows:
- lists, counts, bulk delete: `_apply_filters` adds the service's tenant + role scope;
- the `Content-Range` count of `get_all`: recomputed with the scope;
- `get_ids` (foreign-key pickers): reimplemented over the scope;
- `detail` (GET/PUT/PATCH/DELETE of one row): 404 unless the service can read the row;
- `post_single`, `put_single`, `patch_single`, `delete_single`, `delete_all`: the service;
- `get_schema`, `get_new`, `get_references`: table metadata only.

Fields the admin may not read (role `fields.read`, and `hidden` fields) are stripped from the
rows of `get_all` and `get_single`, and refused (400, as unknown names) in filters, ordering and
`__visible_fields` (admin/field_guard.py).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, TypeVar

import pydantic
from piccolo.columns import Column
from piccolo.query import Count, Delete, Objects, Select
from piccolo_api.crud.endpoints import ParamException, Params, PiccoloCRUD
from piccolo_api.crud.exceptions import MalformedQuery
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from admin.context import AdminContext, current
from admin.field_guard import is_readable_column, strip_fields
from admin.list_paths import add_path_values, readable_paths
from admin.schema import shape_schema
from runtime.definitions.model import SYSTEM_COLUMNS, Entity
from runtime.schema.registry import DataTable
from runtime.service import ServiceError

# The queries `_apply_filters` scopes: each comes back as the kind of query it went in as.
_Query = TypeVar("_Query", Select[Any], Count, Objects[Any], Delete)


class NoAdminContext(Exception):
    pass


def _naive_to_utc(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


# piccolo-admin shows a 400's text to the user; these codes get a status of their own.
_STATUS = {"not_found": 404, "forbidden": 403}


def _error(exc: ServiceError) -> Response:
    return Response(str(exc), status_code=_STATUS.get(exc.code, 400))


class TenantCRUD(PiccoloCRUD):
    @property
    def pydantic_model(self) -> type[pydantic.BaseModel]:
        """The create/edit form: without the system columns, which the service stamps, and
        (inside a request) without the fields the caller cannot read."""
        from piccolo.utils.pydantic import create_pydantic_model

        hidden = self._unreadable() if current.get() is not None else set()
        excluded = [
            c
            for c in self.table._meta.columns
            if c._meta.name in SYSTEM_COLUMNS or c._meta.name in hidden
        ]
        return create_pydantic_model(
            self.table,
            model_name=f"{self.table.__name__}In",
            exclude_columns=tuple(excluded),
            json_schema_extra={"extra": self.schema_extra},
        )

    def _context(self) -> tuple[AdminContext, Entity]:
        context = current.get()
        if context is None:
            raise NoAdminContext("the admin app must be mounted behind AdminContextMiddleware")
        return context, context.service.entity_of_table(self.table)

    def _scoped(self, query: Any) -> Any:
        context, entity = self._context()
        for clause in context.service.scope_clauses(context.principal, entity):
            query = query.where(clause)
        return query

    def _values(self, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        """Form data → typed values for the entity's fields the caller may read.

        System columns and fields the caller cannot see (hidden ones, those outside its read
        set) are dropped: the form never showed them, so what it sends for them (null) is not
        the user's choice and must never overwrite the stored value."""
        hidden = self._unreadable()
        cleaned = {k: v for k, v in self._clean_data(data).items() if k not in hidden}
        model_class = self.pydantic_model_optional if partial else self.pydantic_model
        model = model_class(**cleaned)
        names = {f.name for f in self._context()[1].fields} - hidden
        return {k: _naive_to_utc(getattr(model, k)) for k in cleaned if k in names}

    # -- reads ---------------------------------------------------------------------------

    def _unreadable(self) -> set[str]:
        context, entity = self._context()
        return set(context.service.unreadable_fields(context.principal, entity))

    def _get_column(self, column_name: str) -> Column:
        """Columns named by `__order` and `__visible_fields`: readable ones only."""
        column = super()._get_column(column_name)
        context = self._context()[0]
        if not is_readable_column(context.service, context.principal, column):
            raise ParamException(f"{column_name} isn't a valid field name.")
        return column

    def _apply_filters(  # type: ignore[override]  # piccolo-api's returns the union of all kinds
        self, query: _Query, params: Params
    ) -> _Query:
        hidden = self._unreadable()
        for name in params.fields:
            if name in hidden:
                raise MalformedQuery(f"{name} isn't a valid field name.")
        scoped: _Query = self._scoped(super()._apply_filters(query, params))
        return scoped

    async def get_schema(self, request: Request) -> Response:
        """The form's schema with the definitions' labels, help and required marks, listing
        only the columns the caller may read (admin/schema.py)."""
        response = await super().get_schema(request)
        return shape_schema(response, self._context()[1], self._unreadable(), self._list_paths())

    def _list_paths(self) -> list[str]:
        """The readable paths of `admin.list` (admin/list_paths.py)."""
        context, entity = self._context()
        return readable_paths(context.service, context.principal, entity, self.table)

    async def get_single(self, request: Request, row_id: Any) -> Response:
        return strip_fields(await super().get_single(request, row_id), self._unreadable())

    async def get_all(self, request: Request, params: dict[str, Any] | None = None) -> Response:
        response = strip_fields(await super().get_all(request, params=params), self._unreadable())
        response = await add_path_values(response, self.table, self._list_paths())
        header = response.headers.get("Content-Range")
        if header:
            split = self._split_params(self._clean_data(params or {}))
            count = await self._apply_filters(self.table.count(), split).run()
            response.headers["Content-Range"] = f"{header.rsplit('/', 1)[0]}/{count}"
        return response

    async def get_ids(self, request: Request) -> Response:
        context, entity = self._context()
        try:
            limit = int(request.query_params.get("limit", 100))
            offset = int(request.query_params.get("offset", 0))
        except ValueError:
            return Response("limit and offset must be integers", status_code=400)
        query = self._scoped(
            self.table.select(self.table._meta.primary_key, self.table.get_readable())
        )
        search = request.query_params.get("search")
        principal = context.principal
        names = context.service.search_fields(principal, entity) if principal else []
        if search and names:
            clause = None
            for name in names:
                part = getattr(self.table, name).ilike(f"%{search}%")
                clause = part if clause is None else clause | part
            query = query.where(clause)
        rows = await query.limit(min(max(limit, 1), 500)).offset(max(offset, 0)).run()
        return JSONResponse({str(r["id"]): r["readable"] for r in rows})

    async def detail(self, request: Request) -> Response:
        context, entity = self._context()
        row_id = request.path_params.get("row_id")
        if context.principal is None:
            return Response("The resource doesn't exist", status_code=404)
        try:
            await context.service.get(context.principal, entity.name, row_id)
        except ServiceError:
            return Response("The resource doesn't exist", status_code=404)
        return await super().detail(request)

    # -- writes, through the service -----------------------------------------------------

    async def post_single(self, request: Request, data: dict[str, Any]) -> Response:
        context, entity = self._context()
        if context.principal is None:
            return Response("Not signed in", status_code=401)
        try:
            values = self._values(data, partial=False)
            record = await context.service.create(context.principal, entity.name, values)
        except pydantic.ValidationError as exc:
            return Response(str(exc), status_code=400)
        except ServiceError as exc:
            return _error(exc)
        return JSONResponse([{"id": record["id"]}], status_code=201)

    async def _update(self, row_id: Any, data: dict[str, Any], *, partial: bool) -> Response:
        context, entity = self._context()
        if context.principal is None:
            return Response("Not signed in", status_code=401)
        try:
            values = self._values(data, partial=partial)
            record = await context.service.update(context.principal, entity.name, row_id, values)
        except pydantic.ValidationError as exc:
            return Response(str(exc), status_code=400)
        except ServiceError as exc:
            return _error(exc)
        return JSONResponse(json.loads(json.dumps(record)))

    async def put_single(self, request: Request, row_id: Any, data: dict[str, Any]) -> Response:
        response = await self._update(row_id, data, partial=False)
        return Response(status_code=204) if response.status_code == 200 else response

    async def patch_single(self, request: Request, row_id: Any, data: dict[str, Any]) -> Response:
        return await self._update(row_id, data, partial=True)

    async def delete_single(self, request: Request, row_id: Any) -> Response:
        context, entity = self._context()
        if context.principal is None:
            return Response("Not signed in", status_code=401)
        try:
            await context.service.delete(context.principal, entity.name, row_id)
        except ServiceError as exc:
            return _error(exc)
        return Response(status_code=204)

    async def delete_all(self, request: Request, params: dict[str, Any] | None = None) -> Response:
        context, entity = self._context()
        if context.principal is None:
            return Response("Not signed in", status_code=401)
        try:
            split = self._split_params(self._clean_data(params or {}))
            table: DataTable = self.table
            query = self._apply_filters(table.select(table.id), split)
        except (ParamException, MalformedQuery) as exc:
            return Response(str(exc), status_code=400)
        rows = await query.run()
        try:
            ids = [row["id"] for row in rows]
            await context.service.delete_many(context.principal, entity.name, ids)
        except ServiceError as exc:
            return _error(exc)
        return Response(status_code=204)
