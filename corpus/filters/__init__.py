"""Filters: each is a set of signals (scores kept as data) and rules that judge them."""
