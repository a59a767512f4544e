"""Spec loading and validation, partition planning, checkpoints, and execution on Ray."""
