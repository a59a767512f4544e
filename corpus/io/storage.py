"""Open, list, hash, write and delete files at a location (local path or URI), through pyarrow.fs.

Why pyarrow.fs: Parquet, the pipeline's main format, reads and writes through it natively, it
speaks S3 (any endpoint) and GCS, and its file handles are seekable, which WARC offsets and
Parquet footers need. A location string is what crosses process boundaries (Ray workers resolve it
themselves), never a filesystem object.

Credentials and endpoints come from each store's standard environment and config files
(``AWS_ACCESS_KEY_ID``/``AWS_PROFILE``, ``AWS_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL_S3``,
``AWS_REGION``; Google's application default credentials), never from a spec or a manifest.

Object stores have no rename: a unit of output is committed by writing its files and then a
small marker file; readers trust only what a marker (or the manifest, written last) vouches for.
"""

from __future__ import annotations

import io
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

REMOTE_SCHEMES = ("s3", "gs", "gcs")
#: Seconds an object-store request may take before it fails (a read must never hang a worker).
CONNECT_TIMEOUT, REQUEST_TIMEOUT = 10.0, 120.0
_CHUNK = 1 << 20


class StorageError(OSError):
    """A read or write that failed; the message names the location and the operation."""


def is_uri(location: str) -> bool:
    """True for ``scheme://...`` locations (``file://`` included), False for plain paths."""
    return "://" in location


def is_remote(location: str) -> bool:
    return is_uri(location) and urlsplit(location).scheme in REMOTE_SCHEMES


def normalize(location: str) -> str:
    """A canonical spelling: absolute local paths, ``file://`` unwrapped, no trailing slash."""
    if is_uri(location):
        parts = urlsplit(location)
        if parts.scheme == "file":
            return os.path.abspath(parts.path)
        if parts.scheme not in REMOTE_SCHEMES:
            raise StorageError(f"unsupported location scheme {parts.scheme!r} in {location!r} (use a path, file://, s3:// or gs://)")
        path = posixpath.normpath("/" + parts.path).lstrip("/") if parts.path.strip("/") else ""
        return f"{parts.scheme}://{parts.netloc}" + (f"/{path}" if path else "")
    return os.path.abspath(location)


def join(base: str, *parts: str) -> str:
    """``base/part/...`` for paths and URIs alike (parts use ``/``)."""
    if is_uri(base):
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts if p)])
    return os.path.join(base, *parts)


def parent(location: str) -> str:
    if is_uri(location):
        head, _, _ = location.rstrip("/").rpartition("/")
        return head
    return os.path.dirname(os.path.abspath(location))


def basename(location: str) -> str:
    return location.rstrip("/").rpartition("/")[2] if is_uri(location) else os.path.basename(os.path.abspath(location))


def relative(location: str, root: str) -> str:
    """``location`` relative to ``root`` with ``/`` separators ('' when equal)."""
    loc, base = normalize(location), normalize(root)
    if loc == base:
        return ""
    if not loc.startswith(base.rstrip("/") + ("/" if is_uri(loc) else os.sep)):
        raise ValueError(f"{location} is not under {root}")
    rest = loc[len(base.rstrip("/")) + 1:]
    return rest if is_uri(loc) else rest.replace(os.sep, "/")


def contains(outer: str, inner: str) -> bool:
    """True when ``inner`` is ``outer`` or lies below it (same store, no symlink resolution)."""
    a, b = normalize(outer), normalize(inner)
    if not is_uri(a) and not is_uri(b):
        a, b = os.path.realpath(a), os.path.realpath(b)
    return b == a or b.startswith(a.rstrip("/" if is_uri(a) else os.sep) + ("/" if is_uri(a) else os.sep))


@lru_cache(maxsize=None)
def _remote_fs(scheme: str) -> pafs.FileSystem:
    if scheme == "s3":
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        kwargs: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT, "request_timeout": REQUEST_TIMEOUT}
        if endpoint:
            parts = urlsplit(endpoint)
            kwargs["endpoint_override"] = parts.netloc or parts.path
            kwargs["scheme"] = parts.scheme or "https"
        if region:
            kwargs["region"] = region
        return pafs.S3FileSystem(**kwargs)
    return pafs.GcsFileSystem()


_LOCAL = pafs.LocalFileSystem()


def resolve(location: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem holding ``location`` and the path within it."""
    loc = normalize(location)
    if not is_uri(loc):
        return _LOCAL, loc
    parts = urlsplit(loc)
    scheme = "gs" if parts.scheme == "gcs" else parts.scheme
    return _remote_fs(scheme), f"{parts.netloc}{parts.path}".rstrip("/")


def _fail(op: str, location: str, exc: BaseException) -> StorageError:
    detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    err = StorageError(f"{op} {location}: {detail}")
    err.errno = getattr(exc, "errno", None)
    return err


def info(location: str) -> pafs.FileInfo:
    fs, path = resolve(location)
    try:
        return fs.get_file_info(path)
    except (OSError, pa.ArrowException) as exc:
        raise _fail("cannot stat", location, exc) from exc


def exists(location: str) -> bool:
    return info(location).type != pafs.FileType.NotFound


def is_file(location: str) -> bool:
    return info(location).type == pafs.FileType.File


def is_dir(location: str) -> bool:
    return info(location).type == pafs.FileType.Directory


def size(location: str) -> int:
    i = info(location)
    if i.type != pafs.FileType.File:
        raise StorageError(f"not a file: {location}")
    return int(i.size)


@dataclass(frozen=True)
class Listing:
    """Files found under a location (sorted), and what could not be listed or read, with a reason."""

    files: list[tuple[str, int]]  # (location, bytes)
    skipped: list[tuple[str, str]]  # (location, reason)


def _walk_local(root: str) -> Listing:
    """Local walk that names what it cannot follow: unreadable directories and files, dangling
    links and symlink loops are skipped with a reason instead of silently (or fatally)."""
    files: list[tuple[str, int]] = []
    skipped: list[tuple[str, str]] = []
    seen: set[tuple[int, int]] = set()

    def visit_dir(path: str) -> None:
        try:
            st = os.stat(path)
        except OSError as exc:
            skipped.append((path, f"unreadable directory: {exc.strerror or exc}"))
            return
        if (st.st_dev, st.st_ino) in seen:
            skipped.append((path, "symlink loop: directory already visited"))
            return
        seen.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            skipped.append((path, f"unreadable directory: {exc.strerror or exc}"))
            return
        for entry in entries:
            visit(entry.path)

    def visit(path: str) -> None:
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:  # locators, manifests and Parquet are UTF-8: such a name cannot be recorded
            shown = os.fsencode(path).decode("utf-8", "backslashreplace")
            skipped.append((shown, "name is not valid UTF-8 (rename it)"))
            return
        try:
            st = os.stat(path)
        except FileNotFoundError:
            skipped.append((path, "dangling symlink" if os.path.islink(path) else "vanished while listing"))
            return
        except OSError as exc:
            reason = "symlink loop" if exc.errno == 40 else f"cannot stat: {exc.strerror or exc}"
            skipped.append((path, reason))
            return
        if stat.S_ISDIR(st.st_mode):
            visit_dir(path)
        elif stat.S_ISREG(st.st_mode):
            if not os.access(path, os.R_OK):
                skipped.append((path, "unreadable file: permission denied"))
            else:
                files.append((path, st.st_size))
        else:
            skipped.append((path, "not a regular file"))

    visit(os.path.abspath(root))
    return Listing(sorted(files), sorted(skipped))


def walk(location: str) -> Listing:
    """Every file at or under ``location`` (a file lists itself), sorted by location."""
    loc = normalize(location)
    if not is_uri(loc):
        return _walk_local(loc)
    fs, path = resolve(loc)
    i = info(loc)
    if i.type == pafs.FileType.File:
        return Listing([(loc, int(i.size))], [])
    if i.type == pafs.FileType.NotFound:
        return Listing([], [(loc, "not found")])
    scheme = loc.split("://", 1)[0]
    try:
        infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    except (OSError, pa.ArrowException) as exc:
        return Listing([], [(loc, f"cannot list: {exc}")])
    files = [(f"{scheme}://{x.path}", int(x.size)) for x in infos if x.type == pafs.FileType.File]
    return Listing(sorted(files), [])


def _open_native(location: str) -> Any:
    fs, path = resolve(location)
    try:
        return fs.open_input_file(path)
    except (OSError, pa.ArrowException) as exc:
        raise _fail("cannot open", location, exc) from exc


def open_read(location: str) -> BinaryIO:
    """A seekable, buffered binary handle with ``readline`` and line iteration (``with`` closes it).

    pyarrow's own file objects read and seek but have no ``readline``; line-oriented readers
    (JSONL, WARC headers) need one, so they get a standard ``io.BufferedReader`` over it.
    """
    return io.BufferedReader(_open_native(location), buffer_size=_CHUNK)


def open_write(location: str) -> BinaryIO:
    """A binary output stream; parent "directories" are created where the store has them."""
    fs, path = resolve(location)
    try:
        if fs is _LOCAL:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        return fs.open_output_stream(path, compression=None)
    except (OSError, pa.ArrowException) as exc:
        raise _fail("cannot write", location, exc) from exc


def read_bytes(location: str, limit: int | None = None) -> bytes:
    """The whole file, or :class:`corpus.io.bounded.TooLarge` once it passes ``limit`` bytes."""
    from corpus.io.bounded import read_at_most

    try:
        with open_read(location) as fh:
            return read_at_most(fh, limit) if limit is not None else fh.read()
    except (OSError, pa.ArrowException) as exc:
        if isinstance(exc, StorageError):
            raise
        raise _fail("cannot read", location, exc) from exc


def write_bytes(location: str, data: bytes) -> None:
    try:
        with open_write(location) as fh:
            fh.write(data)
    except (OSError, pa.ArrowException) as exc:
        if isinstance(exc, StorageError):
            raise
        raise _fail("cannot write", location, exc) from exc


def read_text(location: str) -> str:
    return read_bytes(location).decode("utf-8")


def write_text(location: str, text: str) -> None:
    write_bytes(location, text.encode("utf-8"))


def makedirs(location: str) -> None:
    """Create a directory (a no-op on object stores, where prefixes need no creation)."""
    if is_remote(location):
        return
    try:
        os.makedirs(normalize(location), exist_ok=True)
    except OSError as exc:
        raise _fail("cannot create directory", location, exc) from exc


def delete_file(location: str) -> None:
    fs, path = resolve(location)
    try:
        fs.delete_file(path)
    except FileNotFoundError:
        pass
    except (OSError, pa.ArrowException) as exc:
        if info(location).type == pafs.FileType.NotFound:
            return
        raise _fail("cannot delete", location, exc) from exc


def delete_dir(location: str) -> None:
    """Delete a directory and everything under it (missing is fine)."""
    fs, path = resolve(location)
    if info(location).type == pafs.FileType.NotFound:
        return
    try:
        fs.delete_dir(path)
    except (OSError, pa.ArrowException) as exc:
        raise _fail("cannot delete", location, exc) from exc


def iter_chunks(location: str, chunk: int = _CHUNK) -> Iterator[bytes]:
    with open_read(location) as fh:
        while block := fh.read(chunk):
            yield block


def iter_file(location: str, chunk: int = _CHUNK) -> Iterator[bytes]:
    """The file's bytes in chunks; a failure mid-way names the location."""
    try:
        yield from iter_chunks(location, chunk)
    except (OSError, pa.ArrowException) as exc:
        if isinstance(exc, StorageError):
            raise
        raise _fail("cannot read", location, exc) from exc


# -- Parquet ----------------------------------------------------------------------------------

def parquet_file(location: str) -> pq.ParquetFile:
    """A ParquetFile over a seekable handle (footer and row groups read on demand)."""
    try:
        return pq.ParquetFile(_open_native(location))
    except StorageError:
        raise
    except (OSError, pa.ArrowException) as exc:
        raise _fail("not a readable Parquet file:", location, exc) from exc


def read_table(location: str, columns: list[str] | None = None) -> pa.Table:
    fs, path = resolve(location)
    try:
        return pq.read_table(path, columns=columns, filesystem=fs)
    except (OSError, pa.ArrowException) as exc:
        raise _fail("cannot read", location, exc) from exc


def read_schema(location: str) -> pa.Schema:
    return parquet_file(location).schema_arrow


def parquet_rows(location: str) -> int:
    return parquet_file(location).metadata.num_rows


def write_table(table: pa.Table, location: str, **options: Any) -> None:
    """Write one Parquet file (zstd unless ``options`` say otherwise)."""
    options.setdefault("compression", "zstd")
    fs, path = resolve(location)
    try:
        if fs is _LOCAL:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        pq.write_table(table, path, filesystem=fs, **options)
    except (OSError, pa.ArrowException) as exc:
        raise _fail("cannot write", location, exc) from exc


class ParquetSink:
    """Append tables to one Parquet file as they come (bounded memory); ``close`` finishes it.

    The file is created on the first write, with that table's schema; a sink that never got a
    row writes an empty file with ``schema`` so readers always find one.
    """

    def __init__(self, location: str, schema: pa.Schema | None = None, **options: Any):
        options.setdefault("compression", "zstd")
        self.location, self.schema, self.options = location, schema, options
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._stream: Any = None

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self.schema = self.schema or table.schema
            self._stream = open_write(self.location)
            self._writer = pq.ParquetWriter(self._stream, self.schema, **self.options)
        if table.num_rows:
            try:
                self._writer.write_table(table.cast(self.schema) if table.schema != self.schema else table)
            except (OSError, pa.ArrowException) as exc:
                raise _fail("cannot write", self.location, exc) from exc
            self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is None:
            if self.schema is None:
                raise ValueError(f"{self.location}: nothing written and no schema given")
            self.write(self.schema.empty_table())
        try:
            self._writer.close()
            self._stream.close()
        except (OSError, pa.ArrowException) as exc:
            raise _fail("cannot write", self.location, exc) from exc

    def __enter__(self) -> "ParquetSink":
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            self.close()
        elif self._stream is not None:
            try:
                self._stream.close()
            except Exception:  # already failing: the original error is the one to report
                pass


def nonempty(locations: list[str]) -> list[str]:
    """The Parquet files that hold at least one row."""
    return [f for f in locations if parquet_rows(f) > 0]
