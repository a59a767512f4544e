"""Extraction: bytes -> correctly decoded text -> main content (trafilatura)."""
