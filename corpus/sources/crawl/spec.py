"""The crawl spec (TOML), validated completely before the first request is sent.

The crawl spec carries its own seeds and allowlist: a crawl must never wander, so a seed outside
the allowlist, a User-Agent without a contact, or an unknown key is an error up front.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import (
    BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt,
    ValidationError, field_validator, model_validator,
)

from corpus.sources.crawl.urls import Allowlist, canonicalize


class CrawlSpecError(ValueError):
    """An invalid crawl spec; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CrawlMeta(_Strict):
    name: str = Field(min_length=1, description="Crawl name; prefix of the WARC file names.")
    user_agent: str = Field(description="User-Agent sent with every request; must include a contact URL or e-mail.")
    seeds: list[str] = Field(min_length=1, description="Start URLs (depth 0); each must be inside the allowlist.")
    allow: list[str] = Field(min_length=1, description="Hosts (`host` or `host:port`) or URL prefixes (`https://host/path/`) the crawl may fetch.")

    @field_validator("user_agent")
    @classmethod
    def _contact(cls, v: str) -> str:
        if not any(mark in v for mark in ("http://", "https://", "mailto:", "@")):
            raise ValueError("must include a contact (a URL or an e-mail address), e.g. 'jp-corpus/0.1 (+mailto:you@example.org)'")
        return v

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


class CrawlLimits(_Strict):
    max_pages: PositiveInt = Field(1000, description="Pages fetched in total (over restarts); robots.txt and retries excluded.")
    max_depth: NonNegativeInt = Field(3, description="Link hops from a seed (seeds are depth 0).")
    max_bytes: PositiveInt = Field(10 * 1024 * 1024, description="Response body limit; the download is aborted past it.")
    connect_timeout: PositiveFloat = 10.0
    read_timeout: PositiveFloat = 30.0


class Politeness(_Strict):
    min_delay: NonNegativeFloat = Field(1.0, description="Seconds between requests to one host (robots.txt Crawl-delay wins if longer).")
    concurrency: PositiveInt = Field(4, description="Requests in flight over all hosts (one per host at most).")
    max_retries: NonNegativeInt = Field(3, description="Retries after a 5xx, 429, timeout or connection error; never after other 4xx.")
    backoff_seconds: PositiveFloat = Field(1.0, description="First retry delay; doubles per attempt.")
    max_backoff_seconds: PositiveFloat = 60.0
    max_retry_after_seconds: PositiveFloat = Field(600.0, description="A longer Retry-After gives the URL up instead of waiting.")


class CrawlOutputSpec(_Strict):
    warc_max_bytes: PositiveInt = Field(1024**3, description="Start a new WARC file once the current one is this big.")
    gzip: bool = True


class CrawlSpec(_Strict):
    crawl: CrawlMeta
    limits: CrawlLimits = CrawlLimits()
    politeness: Politeness = Politeness()
    output: CrawlOutputSpec = CrawlOutputSpec()


def load_crawl_spec(path: str | Path) -> CrawlSpec:
    path = Path(path)
    if not path.is_file():
        raise CrawlSpecError(f"crawl spec not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CrawlSpecError(f"{path}: not valid TOML: {exc}") from None
    try:
        return CrawlSpec.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(
            f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise CrawlSpecError(f"{path}: invalid crawl spec:\n{problems}") from None
