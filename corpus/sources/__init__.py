"""Acquisition: turn input files (HTML, WARC) into raw document rows with a locator each."""
