"""`corpus crawl`: a polite, resumable crawler of allowlisted sites that writes WARC/1.1.

Modules, one job each: spec (the TOML crawl spec), urls (canonical form, allowlist), frontier
(persisted queue and fetch-once set), fetch (one bounded HTTP exchange), warc_out (rotating
WARC/1.1 writer), links (outlinks of a page), crawler (scheduling, politeness, retries, log).
"""
