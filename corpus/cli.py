"""`corpus`: the command line. Exit codes: 0 ok, 1 run failed, 2 bad spec or arguments."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

RUN_HELP = """\
Run a pipeline spec over its inputs and write:
  DIR/shards/{train,validation}-NNNNN.parquet
                               kept documents (doc_id, text, n_tokens, source, license, url, locator, scores),
                               token-budgeted, seeded hash order, split by doc_id hash (docs/shards.md);
                               tokens of [tokenizer] model: a sentencepiece .model or a tokenizer.json
  DIR/rejected/*.parquet       every dropped record with stage, reason and duplicate_of; with [decontamination],
                               documents quoting an evaluation set (set, item id, matched text)
  DIR/manifest.json            spec + sha256, code and library versions, inputs, per-stage counts, shards, licences, mixing
  DIR/provenance/documents.parquet  one lineage record per document (kept or dropped)
  DIR/ATTRIBUTION.md, DIR/datasheet.md (OSAID Data Information), DIR/croissant.json (Croissant 1.1 + RAI)
  DIR/README.md                Hugging Face dataset card (configs per split -> shards/; datasets.load_dataset(DIR))
  DIR/report.html              funnel, rejection reasons, tokens per source/licence, length histograms (offline)
  DIR/_work/                   per-partition checkpoints (re-running the same command resumes from them)

By default an embedded local Ray is started; --address (or RAY_ADDRESS) uses an existing cluster.
The spec is validated before any work starts: a bad spec exits with code 2 and writes nothing."""


def _console() -> Console:
    # soft_wrap: a message piped to a log or a test stays one line (rich would cut it at 80 columns)
    return Console(stderr=True, soft_wrap=True)


def _error(console: Console, message: str) -> None:
    """``error: message`` in red, the message as plain text: rich markup in it (``[limits]``,
    ``[Errno 28]``) is printed, not interpreted."""
    from rich.text import Text

    console.print(Text.assemble(("error:", "red"), " ", message), highlight=False)


class LiveProgress:
    """One live line per phase: units done of total, documents, documents per second, ETA."""

    def __init__(self, console: Console):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("  {task.description:<10}"), BarColumn(bar_width=24), MofNCompleteColumn(),
            TextColumn("{task.fields[docs]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console, transient=False,
        )
        self.tasks: dict[str, int] = {}
        self.started: dict[str, float] = {}

    def __call__(self, label: str, done: int, total: int, docs: int = 0) -> None:
        import time

        if label not in self.tasks:
            self.tasks[label] = self.progress.add_task(label, total=total, docs="")
            self.started[label] = time.monotonic()
        rate = docs / max(1e-6, time.monotonic() - self.started[label])
        text = f"{docs:,} docs, {rate:,.0f} docs/s" if docs else ""
        self.progress.update(self.tasks[label], completed=done, total=total, docs=text)

    def __enter__(self) -> "LiveProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()


def cmd_run(args: argparse.Namespace) -> int:
    from corpus.errors import describe, save_traceback
    from corpus.pipeline.output import OutputError
    from corpus.pipeline.spec import SpecError, load_spec
    from corpus.sources.inputs import InputError

    console = _console()
    try:
        loaded = load_spec(args.spec, args.input or None)
    except SpecError as exc:
        _error(console, str(exc))
        return EXIT_USAGE
    from corpus.pipeline.runner import run_pipeline

    console.print(f"running {loaded.spec.pipeline.name} -> {args.output}", markup=False, highlight=False)
    try:
        with LiveProgress(console) as progress:
            result = run_pipeline(
                loaded, args.output, address=args.address, progress=progress, keep_work=not args.clean_work, overwrite=args.overwrite
            )
    except (OutputError, InputError) as exc:
        _error(console, str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.print("interrupted: finished partitions are checkpointed; run the same command again to resume", highlight=False)
        return 130
    except Exception as exc:  # an error of the run itself: one line here, the whole story in the log
        log = save_traceback(exc, args.output)
        _error(console, f"{describe(exc)} (full traceback: {log})")
        if args.verbose:
            import traceback

            console.print("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), highlight=False, markup=False)
        return EXIT_FAILED
    t = result.manifest["totals"]
    console.print(
        f"documents in {t['documents_in']}, kept {t['kept']}, rejected {t['rejected']} "
        f"{t['rejected_by_stage']}, tokens {t['tokens']}; "
        f"{len(result.manifest['shards'])} shard(s); resumed {result.resumed_partitions} partition(s)",
        highlight=False, markup=False,
    )
    skipped = result.manifest["skipped_inputs"]
    if skipped:
        console.print(f"skipped {len(skipped)} input path(s) (listed in the manifest), e.g. {skipped[0]['path']}: {skipped[0]['reason']}",
                      highlight=False, markup=False)
    console.print(f"manifest: {result.output}/manifest.json", markup=False, highlight=False)
    return EXIT_OK if t["accounting_ok"] else EXIT_FAILED


CRAWL_HELP = """\
Crawl the seeds of a crawl spec (TOML) within its allowlist and write:
  DIR/warc/<name>-00000.warc.gz  WARC/1.1: request, response and a metadata record (the crawl's
                                decision) per HTTP exchange; rotated by [output] warc_max_bytes
  DIR/crawl-log.jsonl           one JSON line per decision (fetched, retry, robots_disallowed,
                                redirect_outside_allowlist, too_large, retries_exhausted, ...)
  DIR/frontier.sqlite           persisted frontier: re-running the same command continues an
                                interrupted crawl without refetching stored pages

robots.txt (incl. Crawl-delay) is obeyed; one request per host at a time. Every request has a
total deadline ([limits] request_deadline_seconds: connect + headers + body, however slowly the
bytes come) and a cap on its size as sent (max_bytes) and decoded (max_decoded_bytes).
Ctrl-C or SIGTERM stops within about a second: requests in flight are cancelled and stay queued,
the WARC ends after its last whole record, and re-running the same command resumes.
Feed the result to the pipeline with:  corpus run SPEC --input DIR/warc --output OUT
See docs/acquisition.md."""


@contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call ``stop`` (a clean, resumable stop); a second signal interrupts at once."""
    import signal

    received = {"n": 0}

    def handler(signum, frame):  # noqa: ARG001
        received["n"] += 1
        if received["n"] > 1:
            raise KeyboardInterrupt
        stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_stoppable(console: Console, banner: str, runner: Any) -> Any:
    """``runner.run()`` with SIGINT/SIGTERM wired to ``runner.stop()``; returns its summary."""
    console.print(banner)
    with stop_on_signals(runner.stop):
        return runner.run()


def cmd_crawl(args: argparse.Namespace) -> int:
    from corpus.sources.crawl.crawler import Crawler
    from corpus.sources.crawl.spec import CrawlSpecError, load_crawl_spec

    console = _console()
    try:
        spec = load_crawl_spec(args.spec)
    except CrawlSpecError as exc:
        _error(console, str(exc))
        return EXIT_USAGE
    counter = {"n": 0}

    def progress(event: str, url: str, entry: dict) -> None:
        if event in ("seed", "robots"):
            return
        if event not in ("retry", "resume", "robots_disallowed"):
            counter["n"] += 1
        status = entry.get("status") or entry.get("error") or ""
        console.print(f"  [{counter['n']}/{spec.limits.max_pages}] {event} {status} {url}", highlight=False, markup=False, soft_wrap=True)

    summary = run_stoppable(console, f"crawling [bold]{spec.crawl.name}[/bold] -> {args.output}",
                            Crawler(spec, Path(args.output), progress))
    console.print(f"{'stopped' if summary.stopped else 'done'}: {summary.pages} page(s) this run, {summary.stored} stored; "
                  f"events {dict(sorted(summary.events.items()))}; WARC: {', '.join(summary.warc_files) or 'none'}",
                  highlight=False, markup=False)
    return EXIT_OK


FETCH_HELP = """\
Fetch from the official APIs named in a fetch spec (TOML) and write:
  DIR/warc/<name>-00000.warc.gz  WARC/1.1: request, response and a metadata record (the decision:
                                service, job, outcome, and e.g. the filing's docID and filer) per
                                exchange, errors and retries included; `corpus run --input DIR/warc`
  DIR/fetch-log.jsonl           one JSON line per event (listed, stored, retry, api_error, ...)
  DIR/fetch-state.sqlite        every request, queued or finished: re-running resumes
  DIR/fetch-manifest.json       the spec, outcomes per job, failed requests, WARC files with sha256

Services (a spec section each, repeatable; base_url overridable):
  [[edinet]]     EDINET API v2: the document list of each day from..to, then each filing's ZIP
                 (type=1) whose docTypeCode is in doc_types. Needs the Subscription-Key in the
                 environment variable named by key_env (default EDINET_API_KEY); the key is sent as
                 the API requires (a query parameter) but recorded nowhere: WARC records, the log and
                 the manifest show Subscription-Key=REDACTED.
  [[egov_laws]]  e-Gov 法令API v2: /laws (filtered by law_types, category_cd, law_title, asof; paged),
                 then each law's XML (/law_data); or mode = "bulk": the XML archive.
  [[kokkai]]     国会会議録検索システム API: /meeting (or /speech) from..until, name_of_house, paged
                 by startRecord / nextRecordPosition.

Polite by default: one request at a time, delay_seconds between requests to a service (kokkai 3 s),
retries with exponential back-off on 429/5xx/timeouts (Retry-After honoured), a total deadline per
request ([limits] request_deadline_seconds). Ctrl-C or SIGTERM stops within about a second; the
request in flight stays queued. Exit: 0 all done, 1 some requests failed or a key was refused,
2 bad spec or a missing key (nothing is requested). See docs/acquisition.md."""


def cmd_fetch(args: argparse.Namespace) -> int:
    from corpus.sources.apis.runner import ApiFetch
    from corpus.sources.apis.spec import FetchSpecError, load_fetch_spec

    console = _console()
    counter = {"n": 0}

    def progress(event: str, url: str, entry: dict) -> None:
        if event in ("start", "warc_repaired", "requeue_failed"):
            return
        counter["n"] += 1
        status = entry.get("status") or entry.get("error") or ""
        console.print(f"  [{counter['n']}] {event} {status} {url}", highlight=False, markup=False, soft_wrap=True)

    try:
        spec = load_fetch_spec(args.spec)
        fetch = ApiFetch(spec, Path(args.output), progress=progress, retry_failed=args.retry_failed)
    except FetchSpecError as exc:
        _error(console, str(exc))
        return EXIT_USAGE
    summary = run_stoppable(console, f"fetching [bold]{spec.fetch.name}[/bold] -> {args.output}", fetch)
    console.print(f"{'stopped' if summary.stopped else 'done'}: {summary.requests} request(s) this run, {summary.stored} stored; "
                  f"tasks {dict(sorted(summary.tasks.items()))}; WARC: {', '.join(summary.warc_files) or 'none'}",
                  highlight=False, markup=False)
    for service, why in summary.halted.items():
        _error(console, f"{service} refused us ({why}); its requests stay queued: fix the key and re-run")
    failed = summary.tasks.get("failed", 0)
    if failed:
        console.print(f"{failed} request(s) failed (fetch-manifest.json 'failed'); --retry-failed tries them again",
                      highlight=False)
    return EXIT_FAILED if summary.halted or failed else EXIT_OK


def cmd_tokenizer_train(args: argparse.Namespace) -> int:
    from corpus.tokens.train import train_bpe, train_tokenizer

    console = _console()
    missing = [p for p in args.inputs if not Path(p).exists()]
    if missing:
        _error(console, f"input not found: {missing}")
        return EXIT_USAGE
    inputs = [Path(p) for p in args.inputs]
    try:
        if args.kind == "bpe":
            model = train_bpe(inputs, Path(args.output), args.vocab_size)
        else:
            model = train_tokenizer(
                inputs, Path(args.output), args.vocab_size, args.model_type, args.character_coverage, not args.no_byte_fallback,
            )
    except (ValueError, RuntimeError) as exc:
        _error(console, str(exc))
        return EXIT_FAILED
    console.print(f"wrote {model}")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from corpus.provenance.audit import audit, format_report

    from corpus.io import storage

    if not storage.is_dir(args.dir):
        _console().print(f"error: not a directory: {args.dir}", highlight=False)
        return EXIT_USAGE
    report = audit(args.dir)
    print(format_report(report))
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_stats(args: argparse.Namespace) -> int:
    from corpus.io import storage
    from corpus.provenance.stats import format_stats, run_stats

    if not storage.is_dir(args.dir):
        _console().print(f"error: not a directory: {args.dir}", highlight=False)
        return EXIT_USAGE
    try:
        stats = run_stats(args.dir)
    except (OSError, ValueError, KeyError) as exc:
        _console().print(f"error: cannot read the run's shards: {exc}", highlight=False)
        return EXIT_FAILED
    print(json.dumps(stats, ensure_ascii=False, indent=2) if args.json else format_stats(stats))
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace) -> int:
    from corpus.provenance.inspect import NotFound, format_lineage, lineage

    try:
        rec = lineage(args.dir, args.doc_id, reopen=args.source)
    except (NotFound, OSError) as exc:
        _console().print(f"error: {exc}", highlight=False)
        return EXIT_FAILED
    print(json.dumps(rec, ensure_ascii=False, indent=2, default=str) if args.json else format_lineage(rec))
    return EXIT_OK


EXPORT_MEGATRON_HELP = """\
Write a finished run's shards as Megatron-LM / NeMo indexed datasets (MMIDIDX version 1):
  OUT/train_text_document.{bin,idx}        every train document's token ids + EOD (as preprocess_data.py
  OUT/validation_text_document.{bin,idx}   --append-eod writes them); uint16 below 65,500 ids, else int32
  OUT/<split>_text_document.docs.parquet   Megatron document index -> doc_id, copy, shard, row, n_tokens
  OUT/megatron.json                        run manifest sha256, tokenizer, EOD id, dtype, sha256 of each file
Token ids come from the shards' input_ids column ([shards] input_ids = true); otherwise the run's
tokenizer is applied, and its file must have the sha256 recorded in the manifest (--tokenizer FILE
if it moved). Train with:  --data-path OUT/train_text_document  (docs/shards.md).
Exit 0 ok, 2 if the run cannot be exported (message says why)."""


def cmd_export_megatron(args: argparse.Namespace) -> int:
    from corpus.tokens.megatron import ExportError, export_megatron

    run_dir = Path(args.run_dir)
    if not (run_dir / "manifest.json").is_file():
        _console().print(f"error: {run_dir} is not a finished run (no manifest.json)", highlight=False)
        return EXIT_USAGE
    try:
        summary = export_megatron(run_dir, Path(args.output), Path(args.tokenizer) if args.tokenizer else None, args.eod_id)
    except ExportError as exc:
        _console().print(f"error: {exc}", highlight=False)
        return EXIT_USAGE
    for split, s in summary["splits"].items():
        print(f"{split}: {s['documents']} documents, {s['tokens']} tokens (+{s['documents']} EOD) -> {Path(args.output) / s['prefix']}.{{bin,idx}}")
    return EXIT_OK
STATS_HELP = """\
Print what a finished run holds, without opening report.html or reading any text:
  documents and tokens in total and by source, licence, document type (filings: 有価証券報告書, ...),
  year (the filing period's end year, else the year fetched) and split (train/validation), each with
  its share of the tokens; how many documents are train-only (not redistributable); and, from
  manifest.json, how many documents were read, kept and rejected by stage.
DIR is the output directory of `corpus run`, local or a URI (s3://bucket/run). Only a few columns of
the shards are streamed (never the text), so it is quick on any size of run. Documents count each
document once; tokens count every shard row (copies made by [mixing] included)."""


AUDIT_HELP = """\
Re-verify a finished output directory from its files. Checks, each reported by name:
  shard/rejected/provenance/attribution files re-hashed against manifest.json (and no unlisted files);
  row and token counts; per-stage accounting (in = out + rejected; stages chained; totals) and the
  rejection records on disk by stage and reason; every kept document's licence allowed by the recorded
  [license_policy], its train_ok/redistribute_ok/commercial_ok flags, decisive evidence and attribution;
  every file against its JSON Schema in manifests/; provenance/documents.parquet rebuilt and compared;
  README.md (dataset card) re-hashed; decontamination removals per evaluation set recounted;
  croissant.json required properties and per-shard sha256.
Exit 0 when clean, 1 naming each discrepancy, 2 if DIR is not a directory."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corpus",
        description="Build token-counted Japanese pretraining shards with verifiable provenance.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a pipeline spec", description=RUN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("spec", help="pipeline spec (TOML), e.g. pipelines/sample.toml")
    run.add_argument("--output", "-o", required=True, help="output directory or URI (s3://bucket/prefix); created if missing")
    run.add_argument("--input", "-i", action="append", metavar="PATH",
                     help="read these files/directories instead of the spec's inputs (repeatable); "
                          "they get [input_defaults] source and licence")
    run.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else an embedded local Ray)")
    run.add_argument("--clean-work", action="store_true", help="delete DIR/_work checkpoints after a successful run")
    run.add_argument("--overwrite", action="store_true",
                     help="allow a non-empty DIR that is not an earlier output (files corpus did not write are never deleted)")
    run.add_argument("--verbose", "-v", action="store_true", help="on an error, also print the full traceback (always saved under DIR/_work/logs/)")
    run.set_defaults(func=cmd_run)

    crawl = sub.add_parser("crawl", help="crawl allowlisted sites into WARC/1.1", description=CRAWL_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    crawl.add_argument("spec", help="crawl spec (TOML), e.g. pipelines/crawl-sample.toml")
    crawl.add_argument("--output", "-o", required=True, help="crawl directory (created if missing; reused to resume)")
    crawl.set_defaults(func=cmd_crawl)

    fetch = sub.add_parser("fetch", help="fetch from the official APIs (EDINET, e-Gov 法令, 国会会議録) into WARC/1.1",
                           description=FETCH_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    fetch.add_argument("spec", help="fetch spec (TOML), e.g. pipelines/fetch-sample.toml")
    fetch.add_argument("--output", "-o", required=True, help="fetch directory (created if missing; reused to resume)")
    fetch.add_argument("--retry-failed", action="store_true", help="queue the requests an earlier run gave up on again")
    fetch.set_defaults(func=cmd_fetch)

    aud = sub.add_parser("audit", help="re-verify an output directory (hashes, counts, licences, schemas, Croissant)",
                         description=AUDIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    aud.add_argument("dir", help="output directory of `corpus run`")
    aud.set_defaults(func=cmd_audit)

    st = sub.add_parser("stats", help="documents and tokens of a run by source, licence, document type, year (no text read)",
                        description=STATS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    st.add_argument("dir", help="output directory of `corpus run` (local path or s3:// URI)")
    st.add_argument("--json", action="store_true", help="print the figures as JSON")
    st.set_defaults(func=cmd_stats)

    ins = sub.add_parser("inspect", help="one document's lineage: source, licence evidence, stage decisions, shard/row or drop reason",
                         description="Show where a document came from, its licence and the evidence for it, each stage's "
                                     "decision and scores, and where it ended (shard and row, or the stage and reason that dropped it).")
    ins.add_argument("dir", help="output directory of `corpus run`")
    ins.add_argument("doc_id", help="document id (a unique prefix is enough)")
    ins.add_argument("--json", action="store_true", help="print the record as JSON")
    ins.add_argument("--source", action="store_true", help="also reopen the input bytes behind the locator and check their sha256")
    ins.set_defaults(func=cmd_inspect)

    exp = sub.add_parser("export", help="export a finished run for a trainer (megatron)")
    exp_sub = exp.add_subparsers(dest="export_command", required=True)
    meg = exp_sub.add_parser("megatron", help="Megatron-LM indexed dataset (.bin/.idx per split) with a doc_id sidecar",
                             description=EXPORT_MEGATRON_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    meg.add_argument("run_dir", metavar="RUN_DIR", help="output directory of `corpus run`")
    meg.add_argument("--output", "-o", required=True, help="directory for the .bin/.idx files (created if missing)")
    meg.add_argument("--tokenizer", metavar="FILE", help="the run's tokenizer file, if not where the spec named it (sha256 is checked)")
    meg.add_argument("--eod-id", type=int, help="end-of-document id to append (default: the one the manifest records)")
    meg.set_defaults(func=cmd_export_megatron)

    tok = sub.add_parser("tokenizer", help="tokenizer tools (sentencepiece and Hugging Face tokenizer.json)")
    tok_sub = tok.add_subparsers(dest="tokenizer_command", required=True)
    train = tok_sub.add_parser(
        "train", help="train a sentencepiece model or a byte-level BPE tokenizer.json from inputs or shards",
        description="Train a tokenizer, reproducibly (same inputs, same bytes). INPUTS may be HTML/WARC inputs "
                    "(extracted and normalised first), .txt files, Parquet shards with a text column (e.g. DIR/shards), "
                    "or a run directory DIR (its shards/train-*.parquet only, so validation stays unseen). "
                    "--kind sentencepiece writes PREFIX.model and PREFIX.vocab; --kind bpe writes PREFIX.json, a "
                    "Hugging Face byte-level BPE tokenizer.json with <|endoftext|> as its EOD token. Either file "
                    "can be a spec's [tokenizer] model.",
    )
    train.add_argument("inputs", nargs="+", help="files or directories")
    train.add_argument("--output", "-o", required=True, help="output prefix: PREFIX.model + PREFIX.vocab, or PREFIX.json with --kind bpe")
    train.add_argument("--kind", choices=["sentencepiece", "bpe"], default="sentencepiece",
                       help="sentencepiece model (default) or Hugging Face byte-level BPE tokenizer.json")
    train.add_argument("--vocab-size", type=int, default=8000)
    train.add_argument("--model-type", choices=["unigram", "bpe", "char", "word"], default="unigram",
                       help="sentencepiece algorithm (--kind sentencepiece only)")
    train.add_argument("--character-coverage", type=float, default=0.9995, help="sentencepiece only")
    train.add_argument("--no-byte-fallback", action="store_true", help="disable byte fallback for unknown characters (sentencepiece only)")
    train.set_defaults(func=cmd_tokenizer_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
