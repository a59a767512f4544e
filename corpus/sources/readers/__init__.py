"""One module per input format; each registers its Reader class (corpus.sources.registry)."""
