"""Shared fixtures. Suites marked postgres/redis/browser are required when PLINTH_REQUIRE_SUITES=1."""

from __future__ import annotations

import os

import pytest

REQUIRED_MARKERS = ("postgres", "redis", "browser")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under PLINTH_REQUIRE_SUITES=1 a skipped test of a required suite is a failure."""
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get("PLINTH_REQUIRE_SUITES") == "1"
        and any(item.get_closest_marker(m) for m in REQUIRED_MARKERS)
    ):
        report.outcome = "failed"
        report.longrepr = f"required suite skipped: {report.longrepr}"
