"""Tokens: sentencepiece counting, tokenizer training, token-budgeted shards."""
