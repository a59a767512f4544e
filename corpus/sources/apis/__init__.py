"""`corpus fetch`: the official APIs of Japanese finance and government text, into WARC/1.1.

Modules, one job each: spec (the TOML fetch spec), tasks (a request and what its answer meant),
state (persisted tasks, resumable), redact (the EDINET key out of everything recorded), service
(what a service provides; shared answer readers), edinet / egov / kokkai (the three services),
runner (the polite one-request-at-a-time loop). HTTP, WARC writing, retries and the event log
are the crawler's (corpus.sources.crawl).
"""
