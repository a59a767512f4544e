"""Japanese text utilities: normalisation and character classes."""
