"""The SSRF guard of the `http` action: workflows reach only public addresses, unless the
deployment allows a host by name in platform.yaml (`http: {allow_hosts: [...]}`).

The check runs where the connection is opened (`GuardedBackend`, an httpcore network backend):
the host is resolved once, every address it resolves to is checked, and the socket is opened
to a checked address. So neither a redirect (each hop connects anew) nor DNS rebinding (a name
that resolves to a public address when checked and a private one when used) gets past it. TLS
still verifies the host name: httpcore hands it to `start_tls`, not the address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing
from collections.abc import Iterable

import httpcore

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: the last 32 bits are v4
_HINT = "add the host to platform.yaml http.allow_hosts to allow it"


class AddressRefused(Exception):
    """The guard refused to connect: the reason says which address and why."""


def address_problem(address: IP) -> str | None:
    """Why `address` may not be reached ("a loopback address"), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            problem = address_problem(embedded)
            return None if problem is None else f"embeds {embedded}, {problem}"
    for test, what in (
        ("is_unspecified", "the unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
        ("is_site_local", "a site-local address"),
    ):
        if getattr(address, test, False):
            return what
    return None if address.is_global else "not a public address"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries and is routed to: IPv4-mapped (::ffff:a.b.c.d),
    6to4 (2002::/16) and NAT64 (64:ff9b::/96). Teredo (2001::/32) is refused as not public."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(host: str, address: IP) -> str | None:
    """The reason to refuse connecting to `host` at `address`, or None."""
    problem = address_problem(address)
    if problem is None:
        return None
    if _literal(host) == address:
        return f"{address} is {problem}; {_HINT}"
    return f"{host} resolves to {address}, {problem}; {_HINT}"


def host_allowed(host: str, allow_hosts: Iterable[str]) -> bool:
    """Whether `host` (as written in the URL) is one platform.yaml allows: case-insensitive,
    exact (no wildcards, no subdomains); IPv6 with or without brackets."""
    wanted = host.strip("[]").lower()
    return any(wanted == allowed.strip("[]").lower() for allowed in allow_hosts)


def _literal(host: str) -> IP | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[IP]:
    """Every address `host` resolves to (an IP literal is itself), in the resolver's order."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:  # the name may resolve later: a failed attempt, not a refusal
        raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
    addresses: list[IP] = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses the guard accepts (or to allowed hosts)."""

    def __init__(self, allow_hosts: Iterable[str]) -> None:
        self.allow_hosts = tuple(allow_hosts)
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port)
        if not host_allowed(host, self.allow_hosts):
            for address in addresses:
                reason = refusal(host, address)
                if reason is not None:
                    raise AddressRefused(reason)
        failure: httpcore.ConnectError | None = None
        for address in addresses:  # the checked addresses themselves: no second lookup
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as error:
                failure = error
        raise failure or httpcore.ConnectError(f"{host} resolves to no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("unix sockets are not reachable from workflows")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
