"""`corpus`: the command line. Exit codes: 0 ok, 1 run failed, 2 bad spec or arguments."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
    return Console(stderr=True)


def cmd_run(args: argparse.Namespace) -> int:
    from corpus.pipeline.spec import SpecError, load_spec
    from corpus.sources.inputs import InputError

    console = _console()
    try:
        loaded = load_spec(args.spec, args.input or None)
    except SpecError as exc:
        console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        return EXIT_USAGE
    from corpus.pipeline.runner import run_pipeline

    last: dict[str, tuple[int, int]] = {}

    def progress(step: str, done: int, total: int) -> None:
        last[step] = (done, total)
        console.print(f"  {step}: {done}/{total}", highlight=False)

    console.print(f"running [bold]{loaded.spec.pipeline.name}[/bold] -> {args.output}")
    try:
        result = run_pipeline(loaded, Path(args.output), address=args.address, progress=progress, keep_work=not args.clean_work)
    except InputError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        return EXIT_USAGE
    t = result.manifest["totals"]
    console.print(
        f"documents in {t['documents_in']}, kept {t['kept']}, rejected {t['rejected']} "
        f"{t['rejected_by_stage']}, tokens {t['tokens']}; "
        f"{len(result.manifest['shards'])} shard(s); resumed {result.resumed_partitions} partition(s)",
        highlight=False,
    )
    console.print(f"manifest: {Path(args.output) / 'manifest.json'}")
    return EXIT_OK if t["accounting_ok"] else EXIT_FAILED


CRAWL_HELP = """\
Crawl the seeds of a crawl spec (TOML) within its allowlist and write:
  DIR/warc/<name>-00000.warc.gz  WARC/1.1: request, response and a metadata record (the crawl's
                                decision) per HTTP exchange; rotated by [output] warc_max_bytes
  DIR/crawl-log.jsonl           one JSON line per decision (fetched, retry, robots_disallowed,
                                redirect_outside_allowlist, too_large, retries_exhausted, ...)
  DIR/frontier.sqlite           persisted frontier: re-running the same command continues an
                                interrupted crawl without refetching stored pages

robots.txt (incl. Crawl-delay) is obeyed; one request per host at a time. Ctrl-C stops cleanly.
Feed the result to the pipeline with:  corpus run SPEC --input DIR/warc --output OUT
See docs/acquisition.md."""


def cmd_crawl(args: argparse.Namespace) -> int:
    import signal

    from corpus.sources.crawl.crawler import Crawler
    from corpus.sources.crawl.spec import CrawlSpecError, load_crawl_spec

    console = _console()
    try:
        spec = load_crawl_spec(args.spec)
    except CrawlSpecError as exc:
        console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        return EXIT_USAGE
    counter = {"n": 0}

    def progress(event: str, url: str, entry: dict) -> None:
        if event in ("seed", "robots"):
            return
        if event not in ("retry", "resume", "robots_disallowed"):
            counter["n"] += 1
        status = entry.get("status") or entry.get("error") or ""
        console.print(f"  [{counter['n']}/{spec.limits.max_pages}] {event} {status} {url}", highlight=False, markup=False, soft_wrap=True)

    crawler = Crawler(spec, Path(args.output), progress)
    previous = signal.signal(signal.SIGINT, lambda *_: crawler.stop())
    console.print(f"crawling [bold]{spec.crawl.name}[/bold] -> {args.output}")
    try:
        summary = crawler.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    console.print(
        f"{'stopped' if summary.stopped else 'done'}: {summary.pages} page(s) this run, {summary.stored} stored; "
        f"events {dict(sorted(summary.events.items()))}; WARC: {', '.join(summary.warc_files) or 'none'}",
        highlight=False, markup=False,
    )
    return EXIT_OK


def cmd_tokenizer_train(args: argparse.Namespace) -> int:
    from corpus.tokens.train import train_bpe, train_tokenizer

    console = _console()
    missing = [p for p in args.inputs if not Path(p).exists()]
    if missing:
        console.print(f"[red]error:[/red] input not found: {missing}")
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
        console.print(f"[red]error:[/red] {exc}")
        return EXIT_FAILED
    console.print(f"wrote {model}")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from corpus.provenance.audit import audit, format_report

    out = Path(args.dir)
    if not out.is_dir():
        _console().print(f"error: not a directory: {out}", highlight=False)
        return EXIT_USAGE
    report = audit(out)
    print(format_report(report))
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_inspect(args: argparse.Namespace) -> int:
    from corpus.provenance.inspect import NotFound, format_lineage, lineage

    try:
        rec = lineage(Path(args.dir), args.doc_id)
    except (NotFound, FileNotFoundError) as exc:
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
    run.add_argument("--output", "-o", required=True, help="output directory (created if missing)")
    run.add_argument("--input", "-i", action="append", metavar="PATH",
                     help="read these files/directories instead of the spec's inputs (repeatable); "
                          "they get [input_defaults] source and licence")
    run.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else an embedded local Ray)")
    run.add_argument("--clean-work", action="store_true", help="delete DIR/_work checkpoints after a successful run")
    run.set_defaults(func=cmd_run)

    crawl = sub.add_parser("crawl", help="crawl allowlisted sites into WARC/1.1", description=CRAWL_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    crawl.add_argument("spec", help="crawl spec (TOML), e.g. pipelines/crawl-sample.toml")
    crawl.add_argument("--output", "-o", required=True, help="crawl directory (created if missing; reused to resume)")
    crawl.set_defaults(func=cmd_crawl)

    aud = sub.add_parser("audit", help="re-verify an output directory (hashes, counts, licences, schemas, Croissant)",
                         description=AUDIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    aud.add_argument("dir", help="output directory of `corpus run`")
    aud.set_defaults(func=cmd_audit)

    ins = sub.add_parser("inspect", help="one document's lineage: source, licence evidence, stage decisions, shard/row or drop reason",
                         description="Show where a document came from, its licence and the evidence for it, each stage's "
                                     "decision and scores, and where it ended (shard and row, or the stage and reason that dropped it).")
    ins.add_argument("dir", help="output directory of `corpus run`")
    ins.add_argument("doc_id", help="document id (a unique prefix is enough)")
    ins.add_argument("--json", action="store_true", help="print the record as JSON")
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
