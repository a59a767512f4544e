"""The fetch spec (TOML) of `corpus fetch`, validated completely before the first request.

One section per query: ``[[edinet]]``, ``[[egov_laws]]``, ``[[kokkai]]`` (each may repeat). Every
service's base URL is a field defaulting to the real service, so the same spec runs against a
loopback replay in tests. The EDINET Subscription-Key is never part of the spec: ``key_env`` names
the environment variable that holds it.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, NonNegativeFloat, PositiveFloat, PositiveInt, model_validator

from corpus.sources.crawl.spec import (
    HttpLimits, RetryPolicy, RunName, StrictModel, UserAgent, WarcOutputSpec, load_toml_model,
)
from corpus.sources.crawl.urls import canonicalize


class FetchSpecError(ValueError):
    """An invalid fetch spec (the message names the field), or a missing secret."""


#: A date written as a TOML date (2024-06-28) or a quoted ISO string ("2024-06-28").
Day = Annotated[date, Field(strict=False)]
LawType = Literal["Constitution", "Act", "CabinetOrder", "ImperialOrder", "MinisterialOrdinance", "Rule", "Misc"]
House = Literal["衆議院", "参議院", "両院", "両院協議会"]
MAX_DAYS = 3700  # about ten years: EDINET keeps filings for ten years; a typo like 2204 fails early


def _base_url(v: str) -> str:
    if canonicalize(v) is None:
        raise ValueError(f"{v!r} is not an http(s) URL")
    if "?" in v or "#" in v:
        raise ValueError(f"{v!r}: a base URL takes no query (a Subscription-Key comes from key_env, never the spec)")
    return v.rstrip("/")


#: A service's base URL: defaults to the real service; tests point it at a loopback replay.
BaseUrl = Annotated[str, AfterValidator(_base_url)]


class FetchMeta(StrictModel):
    name: RunName = Field(description="Prefix of the WARC file names.")
    user_agent: UserAgent = Field(description="User-Agent sent with every request; must include a contact URL or e-mail.")


class ApiLimits(HttpLimits):
    max_bytes: PositiveInt = Field(200 * 1024 * 1024, description="Response body limit (EDINET filing ZIPs are a few MB; the "
                                                                  "e-Gov bulk archive of every law is larger: raise it for that).")
    max_decoded_bytes: PositiveInt = Field(200 * 1024 * 1024, description="Content-Encoding undone up to this many bytes to read a response.")
    request_deadline_seconds: PositiveFloat = Field(300.0, description="Total seconds for one request (connect, headers, body).")


class EdinetJob(StrictModel):
    """EDINET API v2: the document list of each day in [from, to], then each listed filing's ZIP (type=1)."""

    from_: Day = Field(alias="from", description="First submission date (書類一覧API `date`).")
    to: Day = Field(description="Last submission date, inclusive.")
    doc_types: list[Annotated[str, Field(pattern=r"^\d{3}$")]] = Field(
        default_factory=list, description="docTypeCode values to download (e.g. \"120\" 有価証券報告書); empty: every type.")
    base_url: BaseUrl = "https://api.edinet-fsa.go.jp/api/v2"
    key_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = Field(
        "EDINET_API_KEY", description="Environment variable holding the Subscription-Key (never the key itself).")
    delay_seconds: NonNegativeFloat = 1.0

    @model_validator(mode="after")
    def _range(self) -> "EdinetJob":
        _check_range(self.from_, self.to, "to")
        return self


class EgovLawsJob(StrictModel):
    """e-Gov 法令API v2: the law list (paged), then each law's XML; or the bulk XML archive."""

    mode: Literal["laws", "bulk"] = Field("laws", description="laws: /laws then /law_data per law; bulk: the XML archive (one request).")
    law_types: list[LawType] = Field(default_factory=list, description="法令種別 filter (/laws `law_type`).")
    category_cd: list[Annotated[str, Field(pattern=r"^0(0[1-9]|[1-4][0-9]|50)$")]] = Field(
        default_factory=list, description="事項別分類コード filter, e.g. \"024\" 金融・保険 (bulk: one archive per category).")
    law_title: str | None = Field(None, min_length=1, description="法令名 (partial match).")
    asof: Day | None = Field(None, description="法令の時点: the revision in force on this date.")
    page_size: int = Field(100, ge=1, le=1000, description="/laws `limit`.")
    base_url: BaseUrl = "https://laws.e-gov.go.jp/api/2"
    bulk_url: BaseUrl = "https://laws.e-gov.go.jp/bulkdownload"
    delay_seconds: NonNegativeFloat = 1.0

    @model_validator(mode="after")
    def _bulk_filters(self) -> "EgovLawsJob":
        if self.mode == "bulk" and (self.law_types or self.law_title or self.asof):
            raise ValueError("mode = \"bulk\" takes only category_cd (the archive cannot be filtered by law_types, law_title or asof)")
        return self


class KokkaiJob(StrictModel):
    """国会会議録検索システム API: meetings (or speeches) held in [from, until], paged by startRecord."""

    from_: Day = Field(alias="from", description="開会日付 from.")
    until: Day = Field(description="開会日付 until, inclusive.")
    name_of_house: House | None = Field(None, description="院名.")
    name_of_meeting: str | None = Field(None, min_length=1, description="会議名 (partial match).")
    endpoint: Literal["meeting", "speech"] = Field("meeting", description="meeting: whole meetings (max 10 a page); speech: speeches (max 100).")
    maximum_records: int | None = Field(None, ge=1, description="Records a page; default and maximum 10 (meeting) or 100 (speech).")
    base_url: BaseUrl = "https://kokkai.ndl.go.jp/api"
    delay_seconds: NonNegativeFloat = Field(3.0, description="The NDL asks for a few seconds between requests.")

    @model_validator(mode="after")
    def _checks(self) -> "KokkaiJob":
        _check_range(self.from_, self.until, "until")
        cap = 10 if self.endpoint == "meeting" else 100
        if self.maximum_records is not None and self.maximum_records > cap:
            raise ValueError(f"maximum_records is at most {cap} for endpoint {self.endpoint!r}")
        return self

    @property
    def page_size(self) -> int:
        return self.maximum_records or (10 if self.endpoint == "meeting" else 100)


def _check_range(start: date, end: date, end_name: str) -> None:
    if end < start:
        raise ValueError(f"{end_name} ({end}) is before from ({start})")
    if (end - start).days > MAX_DAYS:
        raise ValueError(f"from..{end_name} spans {(end - start).days} days (at most {MAX_DAYS})")


class FetchSpec(StrictModel):
    fetch: FetchMeta
    limits: ApiLimits = ApiLimits()
    retries: RetryPolicy = RetryPolicy()
    output: WarcOutputSpec = WarcOutputSpec()
    edinet: list[EdinetJob] = Field(default_factory=list)
    egov_laws: list[EgovLawsJob] = Field(default_factory=list)
    kokkai: list[KokkaiJob] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_job(self) -> "FetchSpec":
        if not (self.edinet or self.egov_laws or self.kokkai):
            raise ValueError("no query: add at least one [[edinet]], [[egov_laws]] or [[kokkai]] section")
        return self


def load_fetch_spec(path: str | Path) -> FetchSpec:
    return load_toml_model(path, FetchSpec, "fetch spec", FetchSpecError)


def secrets_from_env(spec: FetchSpec, environ: dict[str, str]) -> dict[str, str]:
    """The Subscription-Key of every ``key_env`` the spec names; FetchSpecError when one is unset."""
    keys = {}
    for i, job in enumerate(spec.edinet):
        value = environ.get(job.key_env, "").strip()
        if not value:
            raise FetchSpecError(f"edinet.{i}.key_env: environment variable {job.key_env} is not set "
                                 "(EDINET API v2 needs a Subscription-Key: https://api.edinet-fsa.go.jp/)")
        if re.search(r"\s", value):
            raise FetchSpecError(f"edinet.{i}.key_env: {job.key_env} contains whitespace; it does not look like a Subscription-Key")
        keys[job.key_env] = value
    return keys
