"""The environment variables, read once, and the command line's options over them."""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from runtime.identity.keys import KeyRing, SecretKeyError
from runtime.limits import LimitSettingError, read_limits
from runtime.smtp import SmtpSettingError, email_settings
from runtime.storage.base import StorageError
from runtime.storage.location import check_endpoint_url, storage_location

DEFAULT_DATABASE_URL = "sqlite:///plinth.sqlite3"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    redis_url: str | None
    storage_url: str
    s3_endpoint_url: str | None
    secret_key: str  # one secret or "kid:secret,..." (runtime/identity/keys.py)
    definitions: Path
    migrations: Path
    secure_cookies: bool  # cookies only over HTTPS: on unless embedded or turned off
    pool_size: int  # PostgreSQL connections per pool (a process has two pools)
    smtp_url: str | None  # where the email action sends (runtime/smtp.py)
    email_from: str | None  # its From address
    trusted_proxies: tuple[str, ...]  # whose X-Forwarded-For counts (addresses, networks)

    @property
    def is_embedded(self) -> bool:
        """SQLite: the embedded default, where a local secret key may be generated."""
        return self.database_url.startswith("sqlite")

    def key_ring(self) -> KeyRing:
        return KeyRing.parse(self.secret_key)


def _local_secret_key(database_url: str) -> str:
    """The embedded default keeps a generated key beside its SQLite file."""
    path = Path(sqlite_path(database_url) + ".secret")
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def sqlite_path(database_url: str) -> str:
    """`sqlite:///plinth.sqlite3` → `plinth.sqlite3`; `sqlite:////tmp/x.db` → `/tmp/x.db`."""
    return database_url.removeprefix("sqlite://").removeprefix("/") or "plinth.sqlite3"


def definitions_folder(environ: Mapping[str, str] | None = None, given: Path | None = None) -> Path:
    """The definitions folder alone: `plinth check` needs nothing else (no database, no key).
    `given` (the --definitions option) wins over PLINTH_DEFINITIONS."""
    env = os.environ if environ is None else environ
    return given or Path(env.get("PLINTH_DEFINITIONS") or "definitions")


def read_settings(
    environ: Mapping[str, str] | None = None, *, definitions: Path | None = None
) -> Settings:
    """The settings from `environ` (default: the process's) and the command line's options,
    which win over it (`definitions`: --definitions), so that no option is written into
    os.environ."""
    env = os.environ if environ is None else environ
    database_url = env.get("PLINTH_DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith(("sqlite://", "postgres://", "postgresql://")):
        raise SettingsError(
            f"PLINTH_DATABASE_URL={database_url!r}: expected sqlite:///FILE or postgres://..."
        )
    secret_key = env.get("PLINTH_SECRET_KEY") or ""
    if not secret_key:
        if not database_url.startswith("sqlite"):
            raise SettingsError("PLINTH_SECRET_KEY is required outside the embedded default")
        secret_key = _local_secret_key(database_url)
    try:
        KeyRing.parse(secret_key)
    except SecretKeyError as error:
        raise SettingsError(str(error)) from None
    try:
        smtp_url, email_from = email_settings(env)
    except SmtpSettingError as error:
        raise SettingsError(str(error)) from None
    storage_url, s3_endpoint_url = _storage(env)
    try:
        read_limits(env)  # read again per process (runtime/limits.py); checked here to fail early
    except LimitSettingError as error:
        raise SettingsError(str(error)) from None
    return Settings(
        database_url=database_url,
        redis_url=env.get("PLINTH_REDIS_URL") or None,
        storage_url=storage_url,
        s3_endpoint_url=s3_endpoint_url,
        secret_key=secret_key,
        definitions=definitions_folder(env, definitions),
        migrations=Path(env.get("PLINTH_MIGRATIONS") or "migrations"),
        secure_cookies=_flag(env, "PLINTH_SECURE_COOKIES", not database_url.startswith("sqlite")),
        pool_size=_count(env, "PLINTH_DB_POOL_SIZE", 20),
        smtp_url=smtp_url,
        email_from=email_from,
        trusted_proxies=trusted_proxies(env),
    )


def trusted_proxies(env: Mapping[str, str]) -> tuple[str, ...]:
    """PLINTH_TRUSTED_PROXIES: the comma-separated addresses or networks (CIDR) of the
    reverse proxies whose X-Forwarded-For gives the client's address. None by default: any
    client could otherwise choose the address the login throttle counts it under."""
    listed = [p.strip() for p in (env.get("PLINTH_TRUSTED_PROXIES") or "").split(",")]
    for proxy in filter(None, listed):
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise SettingsError(
                f"PLINTH_TRUSTED_PROXIES: {proxy!r} is not an IP address or network"
            ) from None
    return tuple(filter(None, listed))


def _storage(env: Mapping[str, str]) -> tuple[str, str | None]:
    """PLINTH_STORAGE_URL and PLINTH_S3_ENDPOINT_URL, checked: a typo stops start-up rather
    than the first upload."""
    storage_url = env.get("PLINTH_STORAGE_URL") or "file://./media"
    endpoint_url = env.get("PLINTH_S3_ENDPOINT_URL") or None
    try:
        storage_location(storage_url)
        if endpoint_url:
            check_endpoint_url(endpoint_url)
    except StorageError as error:
        raise SettingsError(str(error)) from None
    return storage_url, endpoint_url


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name}={raw!r}: expected a whole number of at least 1")
    return int(raw)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r}: expected true or false")


@cache
def get_settings() -> Settings:
    return read_settings()
