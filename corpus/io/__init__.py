"""The storage layer: every file the pipeline reads or writes goes through here.

A location is a local path or a URI (``file://``, ``s3://`` with a custom endpoint for
S3-compatible stores, ``gs://``). Readers, checkpoints, shards and provenance call these functions
instead of ``open``/``pathlib``/``os``, so the same run works on a laptop disk and on object
storage, and every read can be bounded in one place.
"""
