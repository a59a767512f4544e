"""Canonical URLs and the allowlist: the crawl's notion of "the same page" and "may fetch".

Canonical form: lower-case scheme and host, default port dropped, empty path -> "/", dot segments
resolved, fragment dropped, unsafe characters percent-encoded. Query order is kept (servers can
depend on it). Two links that differ only in these ways are fetched once.
"""

from __future__ import annotations

import posixpath
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def canonicalize(url: str, base: str | None = None) -> str | None:
    """The canonical absolute form of ``url`` (resolved against ``base``); None if not http(s)."""
    try:
        parts = urlsplit(urljoin(base, url.strip()) if base else url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = parts.path or "/"
    trailing = path.endswith("/")
    path = posixpath.normpath(path)
    path = "/" if path in (".", "/", "//") else path.replace("//", "/")
    if trailing and not path.endswith("/"):
        path += "/"
    path = quote(path, safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="=&%:@!$'()*+,;/?-._~")
    return urlunsplit((scheme, netloc, path, query, ""))


def origin(url: str) -> str:
    """scheme://host[:port]: the unit of politeness and of robots.txt."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Allowlist:
    """Entries are hosts (``example.go.jp``, ``127.0.0.1:8080``) or URL prefixes (``https://www.fsa.go.jp/news/``)."""

    def __init__(self, entries: list[str]):
        self.hosts: set[str] = set()
        self.prefixes: list[str] = []
        for entry in entries:
            if "://" in entry:
                canon = canonicalize(entry)
                if canon is None:
                    raise ValueError(f"allow entry {entry!r} is not an http(s) URL prefix")
                self.prefixes.append(canon)
            else:
                if not entry or "/" in entry:
                    raise ValueError(f"allow entry {entry!r}: use 'host', 'host:port' or a full URL prefix")
                self.hosts.add(entry.lower())

    def allows(self, canonical_url: str) -> bool:
        parts = urlsplit(canonical_url)
        host = (parts.hostname or "").lower()
        if host in self.hosts or parts.netloc.lower() in self.hosts:
            return True
        return any(canonical_url.startswith(p) for p in self.prefixes)
