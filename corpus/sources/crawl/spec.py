"""The crawl spec (TOML), validated completely before the first request is sent.

The crawl spec carries its own seeds and allowlist: a crawl must never wander, so a seed outside
the allowlist, a User-Agent without a contact, or an unknown key is an error up front.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt,
    ValidationError, field_validator, model_validator,
)

from corpus.sources.crawl.urls import Allowlist, canonicalize


class CrawlSpecError(ValueError):
    """An invalid crawl spec; the message names the field."""


class StrictModel(BaseModel):
    """No unknown keys, no coercion ("yes" is not a bool, "2" is not a number), finite numbers only."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _has_contact(v: str) -> str:
    if not any(mark in v for mark in ("http://", "https://", "mailto:", "@")):
        raise ValueError("must include a contact (a URL or an e-mail address), e.g. 'jp-corpus/0.1 (+mailto:you@example.org)'")
    return v


#: Sent with every request and matched against robots.txt: a site owner must be able to reach you.
UserAgent = Annotated[str, AfterValidator(_has_contact)]
#: Prefix of the WARC file names.
RunName = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class CrawlMeta(StrictModel):
    name: RunName = Field(description="Crawl name; prefix of the WARC file names.")
    user_agent: UserAgent = Field(description="User-Agent sent with every request; must include a contact URL or e-mail.")
    seeds: list[str] = Field(min_length=1, description="Start URLs (depth 0); each must be inside the allowlist.")
    allow: list[str] = Field(min_length=1, description="Hosts (`host` or `host:port`) or URL prefixes (`https://host/path/`) the crawl may fetch.")

    @field_validator("allow")
    @classmethod
    def _allow(cls, v: list[str]) -> list[str]:
        Allowlist(v)  # raises ValueError naming the bad entry
        return v

    @model_validator(mode="after")
    def _seeds_allowed(self) -> "CrawlMeta":
        allow = Allowlist(self.allow)
        for seed in self.seeds:
            url = canonicalize(seed)
            if url is None:
                raise ValueError(f"seed {seed!r} is not an http(s) URL")
            if not allow.allows(url):
                raise ValueError(f"seed {seed!r} is outside the allowlist {self.allow}")
        return self


class HttpLimits(StrictModel):
    """What one request may cost: shared by `corpus crawl` and `corpus fetch`."""

    max_bytes: PositiveInt = Field(10 * 1024 * 1024, description="Response body limit (as sent); the download is aborted past it.")
    max_decoded_bytes: PositiveInt = Field(
        50 * 1024 * 1024,
        description="Content-Encoding (gzip/deflate/br) is undone up to this many bytes; past it the response is "
                    "too_large_decoded (stored as sent, not parsed).")
    connect_timeout: PositiveFloat = Field(10.0, description="Seconds to open a connection (TCP and TLS).")
    read_timeout: PositiveFloat = Field(30.0, description="Longest wait for the next byte.")
    request_deadline_seconds: PositiveFloat = Field(
        120.0, description="Total seconds for one request (connect, headers and body), however slowly bytes arrive.")


class CrawlLimits(HttpLimits):
    max_pages: PositiveInt = Field(1000, description="Pages fetched in total (over restarts); robots.txt and retries excluded.")
    max_depth: NonNegativeInt = Field(3, description="Link hops from a seed (seeds are depth 0).")


class RetryPolicy(StrictModel):
    """When a failed request is tried again (corpus.sources.crawl.retry)."""

    max_retries: NonNegativeInt = Field(3, description="Retries after a 5xx, 429, timeout or connection error; never after other 4xx.")
    backoff_seconds: PositiveFloat = Field(1.0, description="First retry delay; doubles per attempt.")
    max_backoff_seconds: PositiveFloat = 60.0
    max_retry_after_seconds: PositiveFloat = Field(600.0, description="A longer Retry-After gives the request up instead of waiting.")


class Politeness(RetryPolicy):
    min_delay: NonNegativeFloat = Field(1.0, description="Seconds between requests to one host (robots.txt Crawl-delay wins if longer).")
    concurrency: PositiveInt = Field(4, description="Requests in flight over all hosts (one per host at most).")


class WarcOutputSpec(StrictModel):
    warc_max_bytes: PositiveInt = Field(1024**3, description="Start a new WARC file once the current one is this big.")
    gzip: bool = True


class CrawlSpec(StrictModel):
    crawl: CrawlMeta
    limits: CrawlLimits = CrawlLimits()
    politeness: Politeness = Politeness()
    output: WarcOutputSpec = WarcOutputSpec()


M = TypeVar("M", bound=BaseModel)


def load_toml_model(path: str | Path, model: type[M], what: str, error: type[ValueError]) -> M:
    """Read and validate a TOML spec; ``error`` names every bad field (``section.field: problem``)."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(
            f"  {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()
        )
        raise error(f"{path}: invalid {what}:\n{problems}") from None


def load_crawl_spec(path: str | Path) -> CrawlSpec:
    return load_toml_model(path, CrawlSpec, "crawl spec", CrawlSpecError)
