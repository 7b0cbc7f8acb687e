"""Sign in to the real piccolo-admin over HTTP, as its Vue front-end does."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.schema import build_registry
from runtime.schema.registry import Registry
from tests.conftest import DEFINITIONS, PASSWORD, Site

T = TypeVar("T")


def admin_client(base_url: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=f"{base_url}/admin", timeout=30)
    client.get("/")  # sets the csrftoken cookie
    response = client.post(
        "/public/login/",
        json={"username": email, "password": PASSWORD},
        headers={"X-CSRFToken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 200, response.text
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


def on_database(site: Site, work: Callable[[Registry], Awaitable[T]]) -> T:
    """Runs `work` on the site's database (a registry of its own) and returns its result."""

    async def run() -> T:
        registry = build_registry(
            load_project(DEFINITIONS), engine_from_url(site.env["PLINTH_DATABASE_URL"])
        )
        await open_engine(registry.engine)
        try:
            return await work(registry)
        finally:
            await close_engine(registry.engine)

    return asyncio.run(run())


def membership_id(site: Site, email: str) -> str:
    """The id of `email`'s (first) membership, read from the database."""

    async def read(registry: Registry) -> str:
        m = registry.membership
        row = await m.select(m.id).where(m.user.email == email).first().run()
        return str(row["id"])

    return on_database(site, read)
