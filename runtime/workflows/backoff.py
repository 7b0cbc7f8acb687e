"""How long a failed run waits before its next attempt, as its workflow's `retry` says."""

from __future__ import annotations

from runtime.definitions.model import Retry


def retry_delay(retry: Retry, failed_attempts: int) -> float:
    """Seconds to wait after the `failed_attempts`-th failure: `initial` each time (fixed),
    `initial` times the failures (linear), or `initial` doubled per failure (exponential),
    never more than `max`."""
    n = max(failed_attempts, 1)
    if retry.backoff == "fixed":
        return min(retry.initial_seconds, retry.max_seconds)
    if retry.backoff == "linear":
        return min(retry.initial_seconds * n, retry.max_seconds)
    return min(retry.initial_seconds * 2.0 ** (n - 1), retry.max_seconds)
