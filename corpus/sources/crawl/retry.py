"""When a failed request is tried again, and after how long: shared by `corpus crawl` and `corpus fetch`.

Retried: transport failures (timeouts, the total deadline, refused or dropped connections) and the
answers that mean "later" (429 and 5xx). Retry-After (seconds or an HTTP date) wins over the
exponential backoff; a Retry-After longer than the policy allows gives the request up instead of
parking it for hours. A response too large to download is never retried: it will be as large again.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import datetime, timezone

from corpus.sources.crawl.fetch import FetchResult
from corpus.sources.crawl.spec import RetryPolicy


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unparsable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def backoff(policy: RetryPolicy, attempt: int) -> float:
    return min(policy.max_backoff_seconds, policy.backoff_seconds * 2**attempt)


def retryable_status(res: FetchResult) -> bool:
    return res.error is None and res.status is not None and (res.status == 429 or res.status >= 500)


@dataclass(frozen=True)
class RetryDecision:
    """``give_up`` is None to retry after ``wait`` seconds, else the final outcome's name."""

    give_up: str | None
    wait: float


def decide(res: FetchResult, attempt: int, policy: RetryPolicy) -> RetryDecision:
    """For a failed exchange (transport error, 429 or 5xx): retry after how long, or give up why."""
    wait = backoff(policy, attempt)
    status_retry = retryable_status(res)
    if status_retry:
        after = retry_after_seconds(res.header("retry-after"))
        if after is not None:
            wait = after
    if res.error == "too_large":
        return RetryDecision("too_large", wait)
    if attempt >= policy.max_retries:
        return RetryDecision("retries_exhausted", wait)
    if status_retry and wait > policy.max_retry_after_seconds:
        return RetryDecision("retry_after_too_long", wait)
    return RetryDecision(None, wait)
