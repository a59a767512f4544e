"""Token-budgeted Parquet shards, written the same way every time.

Shard contents are decided before any shard is written (``plan_shards``), from doc ids, token
counts and copy counts only, so the same kept set always gives the same files whatever the worker
count. Each split is laid out independently: documents in the seeded hash order of
``split.order_key``, packed into shards of ``target_tokens * (1 +- tolerance)`` tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import pyarrow as pa
import pyarrow.compute as pc

from corpus.document import SCHEMA_VERSION
from corpus.io import storage
from corpus.io.hashing import file_sha256
from corpus.tokens.split import SPLITS, order_key, split_of

#: Leading shard columns, in this order; per-document data columns (q_*, pii_*, boilerplate_*, decontam_*) follow, sorted.
SHARD_COLUMNS = [
    "doc_id", "text", "n_tokens", "input_ids", "copy", "n_chars", "source", "license", "url", "locator", "title",
    "fetch_time", "raw_sha256", "text_sha256", "charset", "charset_evidence",
    "warc_record_id", "payload_digest", "dup_cluster_size",
    "filing_id", "filer_code", "security_code", "doc_type", "period", "section", "source_fields",
    "license_evidence", "legal_basis", "train_ok", "redistribute_ok", "commercial_ok", "license_conflict", "attribution",
]

#: A planned row: (doc_id, copy number, tokens).
Row = tuple[str, int, int]


@dataclass(frozen=True)
class ShardPlan:
    split: str
    index: int
    rows: tuple[Row, ...]
    tokens: int

    @property
    def filename(self) -> str:
        return f"{self.split}-{self.index:05d}.parquet"

    @property
    def doc_ids(self) -> tuple[str, ...]:
        return tuple(r[0] for r in self.rows)


def token_window(target_tokens: int, tolerance: float) -> tuple[int, int]:
    """The accepted shard size: ``[floor(target*(1-tol)), ceil(target*(1+tol))]`` tokens."""
    lo = int(target_tokens * (1 - tolerance))
    hi = -int(-target_tokens * (1 + tolerance) // 1)
    return lo, hi


@dataclass
class _Packer:
    """Greedy packing that keeps every shard but the last inside the token window.

    A document that would push the open shard past the upper bound while it is still under the
    lower bound waits (``deferred``) and opens the next shard instead, so one long document never
    forces an undersized shard. A document longer than the upper bound is a shard of its own.
    """

    lo: int
    target: int
    hi: int
    shards: list[list[Row]] = field(default_factory=list)
    cur: list[Row] = field(default_factory=list)
    tok: int = 0
    deferred: list[Row] = field(default_factory=list)

    def _wants(self, n: int) -> bool:
        new = self.tok + n
        if new > self.hi:
            return False
        return self.tok < self.lo or abs(new - self.target) <= abs(self.tok - self.target)

    def _take(self, row: Row) -> None:
        self.cur.append(row)
        self.tok += row[2]
        if self.tok >= self.target:
            self._close()

    def _close(self) -> None:
        self.shards.append(self.cur)
        self.cur, self.tok = [], 0
        pending, self.deferred = self.deferred, []
        for row in pending:
            self.add(row)

    def add(self, row: Row) -> None:
        if row[2] > self.hi:
            self.shards.append([row])
        elif self._wants(row[2]):
            self._take(row)
        elif self.tok >= self.lo:
            self._close()
            self.add(row)
        else:
            self.deferred.append(row)

    def finish(self) -> list[list[Row]]:
        """Close the tail: whatever is left that cannot make an in-window shard is the last shard.

        The rest is packed greedily up to the upper bound; every packed shard that reaches the
        lower bound is kept, and all the others are merged into one final shard, so only the last
        shard of a split is outside the window (usually smaller, larger only when long documents
        were left over).
        """
        bins: list[list[Row]] = []
        cur: list[Row] = []
        tok = 0
        for row in self.cur + self.deferred:
            if cur and tok + row[2] > self.hi:
                bins.append(cur)
                cur, tok = [], 0
            cur.append(row)
            tok += row[2]
        if cur:
            bins.append(cur)
        tail = [row for b in bins if sum(r[2] for r in b) < self.lo for row in b]
        self.shards.extend(b for b in bins if sum(r[2] for r in b) >= self.lo)
        if tail:
            self.shards.append(tail)
        self.cur, self.tok, self.deferred = [], 0, []
        return self.shards


def plan_shards(
    doc_ids: list[str],
    n_tokens: list[int],
    target_tokens: int,
    tolerance: float = 0.1,
    seed: int = 0,
    validation_fraction: float = 0.0,
    copies: list[int] | None = None,
) -> list[ShardPlan]:
    """Every shard of every split, in file order.

    ``copies[i]`` is how many times document ``i`` is written (mixing: 0 = down-sampled away,
    2+ = up-sampled); each copy has its own place in the shuffle, all in the document's split.
    """
    lo, hi = token_window(target_tokens, tolerance)
    by_split: dict[str, list[tuple[bytes, Row]]] = {s: [] for s in SPLITS}
    for i, (doc_id, n) in enumerate(zip(doc_ids, n_tokens)):
        split = split_of(doc_id, validation_fraction)
        for c in range(1 if copies is None else copies[i]):
            by_split[split].append((order_key(seed, doc_id, c), (doc_id, c, n)))
    plans: list[ShardPlan] = []
    for split in SPLITS:
        packer = _Packer(lo, target_tokens, hi)
        for _, row in sorted(by_split[split]):
            packer.add(row)
        for i, rows in enumerate(packer.finish()):
            plans.append(ShardPlan(split, i, tuple(rows), sum(r[2] for r in rows)))
    return plans


def shard_columns(schema: pa.Schema) -> list[str]:
    scores = sorted(n for n in schema.names if n.startswith(("q_", "pii_", "boilerplate_", "decontam_")))
    return [c for c in SHARD_COLUMNS if c in schema.names] + scores


def write_shard(table: pa.Table, location: str, row_group_size: int = 1024, summary: dict | None = None) -> dict:
    """Write one shard (zstd, fixed settings) at ``location`` (``.../shards/<name>``) and return its
    manifest entry.

    ``summary`` (split, tokenizer sha256, seed...) goes into the Parquet key-value metadata as
    ``corpus.<key>`` strings, with the shard's own docs/tokens, so a shard describes itself
    even when copied away from its manifest.
    """
    table = table.select(shard_columns(table.schema))
    tokens = int(pc.sum(table.column("n_tokens")).as_py() or 0)
    docs = pc.count_distinct(table.column("doc_id")).as_py()
    meta = {"schema_version": SCHEMA_VERSION, **(summary or {}), "docs": docs, "rows": table.num_rows, "tokens": tokens}
    table = table.replace_schema_metadata({f"corpus.{k}": str(v) for k, v in sorted(meta.items())})
    storage.write_table(table, location, compression="zstd", row_group_size=row_group_size, write_statistics=True)
    entry = {
        "path": f"{storage.basename(storage.parent(location))}/{storage.basename(location)}",
        "sha256": file_sha256(location),
        "bytes": storage.size(location),
        "docs": docs,
        "rows": table.num_rows,
        "tokens": tokens,
    }
    if summary and "split" in summary:
        entry["split"] = summary["split"]
    return entry


def shard_layout(cfg) -> dict:
    """The manifest's ``shard_layout``: the settings that decided the files (``cfg``: ShardsSpec)."""
    lo, hi = token_window(cfg.target_tokens, cfg.tolerance)
    return {
        "target_tokens": cfg.target_tokens,
        "tolerance": cfg.tolerance,
        "token_window": [lo, hi],
        "seed": cfg.seed,
        "validation_fraction": cfg.validation_fraction,
        "row_group_size": cfg.row_group_size,
        "input_ids": cfg.input_ids,
        "compression": "zstd",
    }


def shard_summary(layout: dict) -> dict:
    """The layout settings every shard repeats in its key-value metadata."""
    return {k: layout[k] for k in ("seed", "target_tokens", "tolerance", "validation_fraction")}


def split_totals(entries: list[dict]) -> dict[str, dict]:
    """Shards, rows and tokens per split, from the shard manifest entries."""
    out: dict[str, dict] = {}
    for e in entries:
        t = out.setdefault(e["split"], {"shards": 0, "rows": 0, "tokens": 0})
        t["shards"] += 1
        t["rows"] += e["rows"]
        t["tokens"] += e["tokens"]
    return dict(sorted(out.items()))
