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
`__visible_fields` (admin/field_guard.py). The create/edit form (`pydantic_model`, hence the
schema) holds only the fields the caller may read and write, and `version`: a save writes the
fields the user changed, at the version the form showed (admin/saved_versions.py), and answers
errors in the shapes the Vue form displays (admin/form_errors.py). File fields are shown
without their storage key, never taken from the form, and filtered on being empty only
(admin/file_fields.py); they change through the admin's file routes (admin/files.py).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, TypeVar

import pydantic
from piccolo.columns import Column
from piccolo.columns.operators.comparison import IsNotNull, IsNull
from piccolo.query import Count, Delete, Objects, Select
from piccolo_api.crud.endpoints import ParamException, Params, PiccoloCRUD
from piccolo_api.crud.exceptions import MalformedQuery
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from admin.context import AdminContext, current
from admin.field_guard import is_readable_column, strip_fields
from admin.file_fields import file_fields, show_files
from admin.form_errors import conflict, invalid_form, service_error
from admin.list_paths import add_path_values, readable_paths
from admin.query_bounds import check_filters, check_page, checked_column
from admin.saved_versions import VERSION, SavedVersions, form_version
from admin.schema import shape_schema
from runtime.definitions.model import SYSTEM_COLUMNS, Entity
from runtime.schema.registry import DataTable
from runtime.service import ListQuery, ServiceError
from runtime.service.values import to_json

# The queries `_apply_filters` scopes: each comes back as the kind of query it went in as.
_Query = TypeVar("_Query", Select[Any], Count, Objects[Any], Delete)


class NoAdminContext(Exception):
    pass


def _naive_to_utc(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


class TenantCRUD(PiccoloCRUD):
    @property
    def pydantic_model(self) -> type[pydantic.BaseModel]:
        """The create/edit form (and its schema): without the system columns, which the
        service stamps, and (inside a request) with only the fields the caller may read and
        write, so that the form never shows nor sends back the others. `version` stays: the
        edit form sends back the version it showed (optimistic concurrency)."""
        from piccolo.utils.pydantic import create_pydantic_model

        left_out = self._not_in_form() if current.get() is not None else set()
        excluded = [
            c
            for c in self.table._meta.columns
            if (c._meta.name in SYSTEM_COLUMNS and c._meta.name != VERSION)
            or c._meta.name in left_out
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

    def _not_in_form(self) -> set[str]:
        """Fields the caller cannot read, or can read but not write (outside its write set,
        `read_only`, the state field): the form leaves them out."""
        context, entity = self._context()
        if context.principal is None:
            return {f.name for f in entity.fields}
        view = context.service.policy_view(context.principal, entity)
        left_out = {f.name for f in entity.fields if not view.may_read(f) or view.write_refusal(f)}
        return left_out | file_fields(entity)  # a file: uploaded, never sent (admin/files.py)

    def _values(self, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        """Form data → typed values of the entity's fields the caller may read.

        System columns and fields the caller cannot see (hidden ones, those outside its read
        set) are dropped: the form never showed them, so what it sends for them is not the
        user's choice and must never overwrite the stored value. A field it may read but not
        write is not in the form either; a client that sends one anyway gets it passed on as
        given, for the service to refuse with its reason (an update drops it if unchanged)."""
        hidden = self._unreadable() | file_fields(self._context()[1])  # files: never by value
        cleaned = {
            k: v
            for k, v in self._clean_data(data).items()
            if k not in hidden and k != VERSION  # the version: see _update
        }
        model_class = self.pydantic_model_optional if partial else self.pydantic_model
        fields = model_class.model_fields
        model = model_class(**{k: v for k, v in cleaned.items() if k in fields})
        names = {f.name for f in self._context()[1].fields} - hidden
        return {
            k: _naive_to_utc(getattr(model, k)) if k in fields else v
            for k, v in cleaned.items()
            if k in names
        }

    # -- reads ---------------------------------------------------------------------------

    def _unreadable(self) -> set[str]:
        context, entity = self._context()
        return set(context.service.unreadable_fields(context.principal, entity))

    def _get_column(self, column_name: str) -> Column:
        """Columns named by `__order` and `__visible_fields`: readable ones only."""
        column = checked_column(super()._get_column, column_name)
        context = self._context()[0]
        if not is_readable_column(context.service, context.principal, column):
            raise ParamException(f"{column_name} isn't a valid field name.")
        return column

    def _apply_filters(  # type: ignore[override]  # piccolo-api's returns the union of all kinds
        self, query: _Query, params: Params
    ) -> _Query:
        hidden, files = self._unreadable(), file_fields(self._context()[1])
        for name in params.fields:
            if name in hidden:
                raise MalformedQuery(f"{name} isn't a valid field name.")
            if name in files and params.operators[name] not in (IsNull, IsNotNull):
                raise MalformedQuery(f"{name}: a file is filtered on being empty or not only")
        check_filters(self.table, self.pydantic_model_filters, params)
        scoped: _Query = self._scoped(super()._apply_filters(query, params))
        return scoped

    def _split_params(self, params: dict[str, Any]) -> Params:
        split = super()._split_params(params)
        check_page(split, self.page_size)
        return split

    async def get_schema(self, request: Request) -> Response:
        """The form's schema with the definitions' labels, help and required marks, listing
        only the columns the caller may read (admin/schema.py)."""
        response = await super().get_schema(request)
        return shape_schema(
            response,
            self._context()[1],
            self._unreadable(),
            self._list_paths(),
            read_only=self._read_only_properties(),
        )

    def _read_only_properties(self) -> dict[str, Any]:
        """Schema properties of the fields the caller may read but not write: the list shows
        them; the form shows them disabled (admin/roles.py), so it never sends them back."""
        from piccolo.utils.pydantic import create_pydantic_model

        context, entity = self._context()
        if context.principal is None:
            return {}
        view = context.service.policy_view(context.principal, entity)
        names = {f.name for f in entity.fields if view.may_read(f) and view.write_refusal(f)}
        files = {f.name: not view.write_refusal(f) for f in entity.fields
                 if f.type == "file" and view.may_read(f)}  # fmt: skip
        names |= files.keys()
        if not names:
            return {}
        model = create_pydantic_model(
            self.table,
            model_name=f"{self.table.__name__}Shown",
            include_columns=tuple(c for c in self.table._meta.columns if c._meta.name in names),
        )
        properties: dict[str, Any] = model.model_json_schema().get("properties", {})
        for name, spec in properties.items():
            spec.setdefault("extra", {})["plinth_read_only"] = True
            if name in files:  # the file widget (admin/files.py): may the caller upload?
                spec["extra"]["plinth_file"] = {"writable": files[name]}
        return properties

    def _list_paths(self) -> list[str]:
        """The readable paths of `admin.list` (admin/list_paths.py)."""
        context, entity = self._context()
        return readable_paths(context.service, context.principal, entity, self.table)

    async def get_single(self, request: Request, row_id: Any) -> Response:
        response = strip_fields(await super().get_single(request, row_id), self._unreadable())
        context, entity = self._context()
        return show_files(response, entity, context.root, names_only=False)

    async def get_all(self, request: Request, params: dict[str, Any] | None = None) -> Response:
        response = strip_fields(await super().get_all(request, params=params), self._unreadable())
        context, entity = self._context()
        response = show_files(response, entity, context.root, names_only=True)
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
        pk = self.table._meta.primary_key
        query = self._scoped(self.table.select(pk, self.table.get_readable()))
        search = request.query_params.get("search")
        if search:
            # the service's search: only fields the caller may read, matched literally
            # (`%` and `_` are no wildcards there)
            principal = context.principal
            if principal is None or not context.service.search_fields(principal, entity):
                return JSONResponse({})
            asked = ListQuery(search=search, limit=limit, offset=max(offset, 0))
            found = await context.service.list(principal, entity.name, asked)
            if not found:
                return JSONResponse({})
            query = query.where(pk.is_in([r["id"] for r in found]))
        else:
            query = query.limit(min(max(limit, 1), 500)).offset(max(offset, 0))
        rows = await query.run()
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
            return invalid_form(exc)
        except ServiceError as exc:
            return service_error(exc)
        return JSONResponse([{"id": record["id"]}], status_code=201)

    async def _update(
        self, request: Request, row_id: Any, data: dict[str, Any], *, partial: bool
    ) -> Response:
        """Save the fields the user changed, at the version the form showed (see
        admin/saved_versions.py): a stale form answers 409 and writes nothing."""
        context, entity = self._context()
        principal = context.principal
        if principal is None:
            return Response("Not signed in", status_code=401)
        try:
            stored = await context.service.get(principal, entity.name, row_id)
            values = self._values(data, partial=partial)
        except pydantic.ValidationError as exc:
            return invalid_form(exc)
        except ServiceError as exc:
            return service_error(exc)
        shown = form_version(data)
        saves = SavedVersions(request, self.table._meta.tablename, row_id)
        sent = {k: to_json(v) for k, v in values.items()}
        expected = saves.expected(shown, sent)
        if expected is not None and expected != stored[VERSION]:
            return conflict(entity.name, stored[VERSION], shown or expected)
        values = {k: v for k, v in values.items() if to_json(v) != to_json(stored.get(k))}
        if not values:
            return JSONResponse(json.loads(json.dumps(stored)))
        try:
            record = await context.service.update(
                principal, entity.name, row_id, values, version=stored[VERSION]
            )
        except ServiceError as exc:
            return service_error(exc)
        response = JSONResponse(json.loads(json.dumps(record)))
        saves.remember(response, shown, record[VERSION], {k: to_json(v) for k, v in values.items()})
        return response

    async def put_single(self, request: Request, row_id: Any, data: dict[str, Any]) -> Response:
        response = await self._update(request, row_id, data, partial=False)
        if response.status_code == 200:
            response.body, response.status_code = b"", 204
            del response.headers["content-length"]
            del response.headers["content-type"]
        return response

    async def patch_single(self, request: Request, row_id: Any, data: dict[str, Any]) -> Response:
        return await self._update(request, row_id, data, partial=True)

    async def delete_single(self, request: Request, row_id: Any) -> Response:
        context, entity = self._context()
        if context.principal is None:
            return Response("Not signed in", status_code=401)
        try:
            await context.service.delete(context.principal, entity.name, row_id)
        except ServiceError as exc:
            return service_error(exc)
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
            return service_error(exc)
        return Response(status_code=204)
