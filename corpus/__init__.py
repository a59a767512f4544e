"""jp-corpus: licensed Japanese financial and government text -> token-counted Parquet shards
with provenance an auditor can verify."""

__version__ = "0.1.0"
