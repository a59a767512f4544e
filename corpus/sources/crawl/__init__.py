"""`corpus crawl`: a polite, resumable crawler of allowlisted sites that writes WARC/1.1.

Modules, one job each: spec (the TOML crawl spec), urls (canonical form, allowlist), frontier
(persisted queue and fetch-once set), transport (socket waits bounded by a per-request deadline and
a cancel flag), fetch (one bounded HTTP exchange), decode (Content-Encoding undone under a cap),
retry (when and after how long), ledger (which WARC bytes are committed), warc_out (rotating
WARC/1.1 writer, repair after a kill), eventlog (the JSON-lines log), links (outlinks of a page),
crawler (scheduling, politeness, robots, redirects). `corpus fetch` (corpus.sources.apis) reuses
transport, fetch, decode, retry, ledger, warc_out and eventlog.
"""
