"""/api/<slug>/{id}/files/{field}: upload (PUT or POST: multipart/form-data or a raw body),
download (GET: streamed, or a short-lived redirect where the storage serves the file
itself), remove (DELETE). Every rule is the RecordService's; this module only speaks HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from runtime.api.callers import request_principal
from runtime.api.problems import Problem
from runtime.api.records import _entity, _etag, _if_match, _request_id
from runtime.api.upload_body import incoming
from runtime.fields.file_refs import FileRef
from runtime.storage import NotStored, Storage
from runtime.storage.names import content_disposition

PRESIGNED_SECONDS = 60  # a redirect's URL works this long: enough to start the download


def _file_etag(ref: FileRef) -> str:
    return f'"{ref.sha256}"'


async def file_route(request: Request) -> Response:
    entity = _entity(request)
    principal = await request_principal(request)
    service = request.app.state.plinth.service
    record_id, field = request.path_params["id"], request.path_params["field"]
    if request.method in ("PUT", "POST"):
        record = await service.upload_file(
            principal,
            entity.name,
            record_id,
            field,
            incoming(request),
            version=_if_match(request),
            request_id=_request_id(request),
        )
        return JSONResponse(record, headers=_etag(record))
    if request.method == "DELETE":
        await service.remove_file(
            principal,
            entity.name,
            record_id,
            field,
            version=_if_match(request),
            request_id=_request_id(request),
        )
        return Response(status_code=204)
    download = await service.download_file(principal, entity.name, record_id, field)
    return await download_response(request, download.ref, download.storage)


# Served `inline` when asked (the admin's image previews): raster images only, never SVG
# (a script in it would run at the site's origin when the URL is opened).
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"})


async def download_response(
    request: Request, ref: FileRef, storage: Storage, *, inline: bool = False
) -> Response:
    """The file streamed with its headers, or a redirect to the storage's own URL; `inline`
    (for a preview) only for INLINE_TYPES, an attachment otherwise. Shared by the API and the
    admin (admin/files.py)."""
    inline = inline and ref.content_type in INLINE_TYPES
    etag = _file_etag(ref)
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": content_disposition(ref.name, inline=inline),
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    url = await storage.presigned_url(
        ref.key,
        filename=ref.name,
        content_type=ref.content_type,
        expires=PRESIGNED_SECONDS,
        inline=inline,
    )
    if url is not None:
        return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
    chunks = storage.open(ref.key)
    try:
        first = await anext(chunks, b"")
    except NotStored:
        raise Problem(404, "Not found", "the file's bytes are missing from the storage") from None
    # The stored type as it is: as media_type, Starlette would add "; charset=utf-8" to a
    # text/* type (a charset no one checked, and not what S3 serves for the same file).
    headers |= {"Content-Length": str(ref.size), "Content-Type": ref.content_type}
    return StreamingResponse(_chain(first, chunks), headers=headers)


async def _chain(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


routes = [
    Route("/api/{slug}/{id}/files/{field}", file_route, methods=["GET", "PUT", "POST", "DELETE"]),
]
