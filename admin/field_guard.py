"""Which columns an admin may see through piccolo-admin: the same read set as the API
(role `fields.read`, never `hidden` fields), applied to the columns a request names (filters,
ordering, `__visible_fields` joins) and to the rows it answers with."""

from __future__ import annotations

from piccolo.columns import Column
from piccolo.table import Table
from starlette.responses import Response

from admin.row_payloads import rewrite_rows
from runtime.access import Principal
from runtime.definitions.model import SYSTEM_COLUMNS
from runtime.definitions.paths import BUILTIN_TABLES
from runtime.service import RecordService

# What a join may reach on the platform's own tables: what a path may (never a password hash).
PLATFORM_COLUMNS = {
    "plinth_user": set(BUILTIN_TABLES["User"]),
    "plinth_organization": set(BUILTIN_TABLES["Organization"]),
}


def unreadable(service: RecordService, principal: Principal | None, table: type[Table]) -> set[str]:
    """Field names of `table`'s entity that the principal may not see (hidden ones included)."""
    return set(service.unreadable_fields(principal, service.entity_of_table(table)))


def is_readable_column(service: RecordService, principal: Principal | None, column: Column) -> bool:
    """Whether every step of a (possibly joined) column is a field the principal may read."""
    for step in [*column._meta.call_chain, column]:
        table, name = step._meta.table, step._meta.name
        allowed = PLATFORM_COLUMNS.get(table._meta.tablename)
        if allowed is not None:
            if name not in allowed:
                return False
            continue
        try:
            hidden = unreadable(service, principal, table)
        except KeyError:  # neither an entity nor a known platform table
            return False
        if name not in SYSTEM_COLUMNS and name in hidden:
            return False
        if step is column and column._meta.call_chain and _is_file(service, table, name):
            return False  # a joined file column would show its stored reference (its key)
    return True


def _is_file(service: RecordService, table: type[Table], name: str) -> bool:
    field = service.entity_of_table(table).field(name)
    return field is not None and field.type == "file"


def strip_fields(response: Response, names: set[str]) -> Response:
    """A JSON response of piccolo-admin (`{"rows": [...]}` or one row) without `names` and
    their `<name>_readable` companions."""
    if response.status_code != 200 or not names:
        return response
    drop = names | {f"{name}_readable" for name in names}
    return rewrite_rows(response, lambda row: {k: v for k, v in row.items() if k not in drop})
