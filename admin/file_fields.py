"""File fields in piccolo-admin's rows and form. Their column holds the stored reference
(`{key, name, ...}`, runtime/fields/file_refs.py), which piccolo-admin would show and send back
as it is: the admin's rows show the file as the API does (no key, the URL of the admin's own
file route, admin/files.py), the list shows its name, and the form never sends it (a file
changes only through an upload or a removal)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from admin.row_payloads import rewrite_rows
from runtime.definitions.model import Entity
from runtime.fields import file_refs

FILE_ROUTE = "/api/plinth/files/{table}/{row_id}/{field}/"


def file_fields(entity: Entity) -> set[str]:
    return {f.name for f in entity.fields if f.type == "file"}


def file_url(root: str, table: str, row_id: Any, field: str) -> str:
    """The admin's route for one file (`root`: where the admin is mounted, e.g. /admin)."""
    return root + FILE_ROUTE.format(table=table, row_id=row_id, field=field)


def show_files(response: Response, entity: Entity, root: str, *, names_only: bool) -> Response:
    """piccolo-admin's rows (`{"rows": [...]}` or one row) with each file column as the API
    shows it, or (`names_only`, the list) as its file name."""
    names = file_fields(entity)
    if response.status_code != 200 or not names:
        return response

    def show(row: dict[str, Any]) -> dict[str, Any]:
        for name in names & row.keys():
            url = file_url(root, entity.table, row.get("id"), name)
            shown = file_refs.shown(row[name], url)
            row[name] = shown["name"] if shown and names_only else shown
        return row

    return rewrite_rows(response, show)
