"""Provenance: hashes, the run manifest, and (later) datasheet, Croissant and audit."""
