"""The SSRF guard's decisions, as pure functions: no connection is opened here."""

from __future__ import annotations

import ipaddress

import pytest

from runtime.workflows.net_guard import address_problem, host_allowed, refusal

REFUSED = [
    ("10.0.0.1", "a private address"),
    ("10.255.255.255", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.254", "a private address"),
    ("192.168.1.1", "a private address"),
    ("169.254.169.254", "a link-local address"),
    ("169.254.0.1", "a link-local address"),
    ("224.0.0.1", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("ff0e::1", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "a reserved address"),
    ("0.0.0.0", "the unspecified address"),
    ("::", "the unspecified address"),
    ("127.0.0.1", "a loopback address"),
    ("127.0.0.2", "a loopback address"),
    ("127.255.255.254", "a loopback address"),
    ("::1", "a loopback address"),
    ("::ffff:10.0.0.1", "embeds 10.0.0.1, a private address"),
    ("::ffff:127.0.0.1", "embeds 127.0.0.1, a loopback address"),
    ("::ffff:169.254.169.254", "embeds 169.254.169.254, a link-local address"),
    ("2002:7f00:1::", "embeds 127.0.0.1, a loopback address"),
    ("2002:a00:1::1", "embeds 10.0.0.1, a private address"),
    ("64:ff9b::7f00:1", "embeds 127.0.0.1, a loopback address"),
    ("64:ff9b::a9fe:a9fe", "embeds 169.254.169.254, a link-local address"),
    ("fc00::1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("fe80::1", "a link-local address"),
    ("fec0::1", "a site-local address"),
    ("100.64.0.1", "not a public address"),  # carrier-grade NAT
    ("2001::1", "a private address"),  # Teredo
    ("::a00:1", "a reserved address"),  # IPv4-compatible, deprecated
    ("0.1.2.3", "a private address"),
]


@pytest.mark.parametrize(("address", "problem"), REFUSED)
def test_the_guard_refuses_every_non_public_class(address: str, problem: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) == problem


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "2a00:1450:4001::1", "::ffff:93.184.216.34"],
)
def test_a_public_address_passes(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None
    assert refusal("example.com", ipaddress.ip_address(address)) is None


def test_public_forms_embedding_a_public_ipv4_pass() -> None:
    for address in ("2002:5db8:d822::1", "64:ff9b::5db8:d822"):  # 93.184.216.34
        assert address_problem(ipaddress.ip_address(address)) is None


def test_the_reason_names_the_address_or_the_name_and_how_to_allow_it() -> None:
    hint = "add the host to platform.yaml http.allow_hosts to allow it"
    loopback = ipaddress.ip_address("127.0.0.2")
    assert refusal("127.0.0.2", loopback) == f"127.0.0.2 is a loopback address; {hint}"
    assert refusal("[::1]", ipaddress.ip_address("::1")) == f"::1 is a loopback address; {hint}"
    assert refusal("localhost", ipaddress.ip_address("127.0.0.1")) == (
        f"localhost resolves to 127.0.0.1, a loopback address; {hint}"
    )


def test_allowed_hosts_match_exactly_ignoring_case() -> None:
    allowed = ("Hooks.Internal.example", "127.0.0.1", "[::1]")
    assert host_allowed("hooks.internal.EXAMPLE", allowed)
    assert host_allowed("127.0.0.1", allowed)
    assert host_allowed("::1", allowed) and host_allowed("[::1]", allowed)
    assert not host_allowed("localhost", allowed)  # a name is not its address
    assert not host_allowed("127.0.0.2", allowed)
    assert not host_allowed("a.hooks.internal.example", allowed)  # no subdomains
    assert not host_allowed("internal.example", allowed)
    assert not host_allowed("127.0.0.1", ())
