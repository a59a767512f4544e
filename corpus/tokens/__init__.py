"""Tokens: the target model's tokenizer (sentencepiece or tokenizer.json), counting, training, token-budgeted
shards, mixing, and the Megatron export."""
