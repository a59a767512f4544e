"""Duplicate removal: exact (normalised-text hash) first, near-duplicate (MinHash-LSH) later."""
