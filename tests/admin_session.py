"""Sign in to the real piccolo-admin over HTTP, as its Vue front-end does."""

from __future__ import annotations

import httpx

from tests.conftest import PASSWORD


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
