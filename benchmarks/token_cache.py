"""Data at scale: the vocabulary counted on shards, the token cache, and training from it.

    python benchmarks/token_cache.py corpus/train.jsonl --size-mb 200 [--output metrics/token_cache.json]

On a generated `.txt` corpus of `--size-mb` MB (benchmarks/vocab_stream.py's generator: the
training split's texts with a few characters swapped, so new word types keep turning up), each
stage in a fresh process, with its wall time and peak RSS (the process's own and its workers'):
  1. the vocabulary (`RNNLM.initialize` on `spacy-rnnlm.StreamCorpus.v1`), in 1 process and in 2
     gloo processes that each count their shard and merge the counts;
  2. `spacy-rnnlm preprocess` with the vocabulary of stage 1 (a pipeline), with 1 and 2 jobs;
  3. the data pipeline alone, no model: batches and tokens per second handed to the model from
     the raw text and from the cache, by the reader (reader, spaCy's batcher, the rnnlm's training
     windows) and in spaCy's loop (plus the example copies and the annotating sentencizer of
     `nlp.update`);
then on the corpus's own training split (`source`):
  4. `spacy train` with configs/rnnlm.cfg for `--steps` steps from the raw text and from its cache
     (made with the config, 2 jobs): training tokens per second and the dev perplexity at the same
     steps (they must be equal). Training tokens per second are taken between the evaluations
     at step 0 and the last step, so they include one evaluation of 50 dev texts.
"""
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import typer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from vocab_stream import generate  # noqa: E402

app = typer.Typer(add_completion=False)


def peak_mib() -> Dict[str, int]:
    return {
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "workers_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def blank_pipeline():
    import spacy

    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("rnnlm")
    nlp.config["training"]["annotating_components"] = ["sentencizer"]
    return nlp


def _count_process(rank: int, world_size: int, init_file: str, corpus: str, save: str) -> None:
    import torch.distributed as dist

    from spacy_rnnlm.training.corpus import create_stream_corpus

    if world_size > 1:
        dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    nlp = blank_pipeline()
    reader = create_stream_corpus(corpus)
    nlp.get_pipe("rnnlm").initialize(lambda: reader(nlp), nlp=nlp, corpus=reader)
    if rank == 0 and save:
        nlp.to_disk(save)
    if world_size > 1:
        dist.barrier()
        dist.destroy_process_group()


def stage_vocab(corpus: str, processes: int, save: str, workdir: str) -> Dict[str, Any]:
    import torch.multiprocessing as mp

    init_file = Path(workdir) / f"init-{time.time_ns()}"
    start = time.perf_counter()
    if processes == 1:
        _count_process(0, 1, "", corpus, save)
    else:
        mp.spawn(_count_process, args=(processes, str(init_file), corpus, save), nprocs=processes)
    return {"seconds": time.perf_counter() - start}


def stage_preprocess(corpus: str, pipeline: str, output: str, jobs: int) -> Dict[str, Any]:
    import shutil

    from spacy_rnnlm.training.preprocess import preprocess

    shutil.rmtree(output, ignore_errors=True)
    start = time.perf_counter()
    info = preprocess(Path(corpus), Path(pipeline), Path(output), jobs=jobs)
    return {"seconds": time.perf_counter() - start, "tokens": info["n_tokens"], "docs": info["n_docs"]}


def stage_pipeline(kind: str, corpus: str, pipeline: str, max_docs: int, in_loop: bool) -> Dict[str, Any]:
    """The data path without the model: reader → batcher → (`in_loop`: the example copies and the
    annotating sentencizer of spaCy's `nlp.update`) → the rnnlm's windows."""
    import itertools

    import spacy
    from spacy.language import _copy_examples
    from spacy.util import registry

    from spacy_rnnlm.training.cache import create_token_cache
    from spacy_rnnlm.training.corpus import create_stream_corpus

    nlp = spacy.load(pipeline)
    lm = nlp.get_pipe("rnnlm")
    sentencizer = nlp.get_pipe("sentencizer")
    reader = create_token_cache(corpus) if kind == "cache" else create_stream_corpus(corpus)
    batcher = registry.batchers.get("spacy.batch_by_words.v1")(size=3000, tolerance=0.2, discard_oversize=False)
    n_batches = n_tokens = 0
    start = time.perf_counter()
    for batch in batcher(itertools.islice(reader(nlp), max_docs)):
        examples = _copy_examples(batch) if in_loop else batch
        if in_loop:
            for eg in examples:
                eg.predicted = sentencizer(eg.predicted)
        windows = lm._training_windows(examples)
        n_batches += 1
        n_tokens += sum(len(w) - 1 for w in windows)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "batches": n_batches, "tokens": n_tokens, "tokens_per_second": n_tokens / seconds, "batches_per_second": n_batches / seconds}


def run_stage(*args: str) -> Dict[str, Any]:
    """A stage in a fresh process: its figures and its peak RSS."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    result = subprocess.run([sys.executable, __file__, "--stage", *args], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def train_run(config: Path, train: Path, dev: Path, out: Path, steps: int, cached: bool) -> Dict[str, Any]:
    curve = out / "curve.jsonl"
    cmd = [sys.executable, "-m", "spacy", "train", str(config), "--output", str(out), "--paths.train", str(train), "--paths.dev", str(dev)]
    # evaluations (the whole pipeline on the dev slice) only at steps 0 and `steps`, on a slice
    cmd += ["--training.max_steps", str(steps), "--training.eval_frequency", str(steps), "--corpora.dev.limit", "50"]
    cmd += ["--training.logger.curve_path", str(curve)]
    if cached:
        cmd += ["--corpora.train.@readers", "spacy-rnnlm.TokenCache.v1"]
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    rows = [json.loads(line) for line in curve.read_text().splitlines()]
    first, last = rows[0], rows[-1]
    return {
        "wall_seconds": wall,
        "tokens_per_second": (last["words"] - first["words"]) / max(last["seconds"] - first["seconds"], 1e-9),
        "dev_perplexity_by_step": {r["step"]: r["lm_perplexity_closed_vocab"] for r in rows},
    }


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor()


@app.command()
def main(
    source: Path = typer.Argument(..., help="corpus/train.jsonl"),
    dev: Path = typer.Option(Path("corpus/dev.jsonl"), help="The dev split (training runs)"),
    size_mb: float = typer.Option(200.0, help="Size of the generated corpus"),
    pipeline_docs: int = typer.Option(20000, help="Documents the data-pipeline stage reads from each source"),
    steps: int = typer.Option(40, help="Training steps of each training run"),
    workdir: Path = typer.Option(ROOT / "benchmarks" / ".token_cache", help="Generated corpus, caches, runs"),
    repeats: int = typer.Option(1, help="Training runs from each source, alternating raw and cache"),
    training_only: bool = typer.Option(False, help="Only stage 4 (the training runs)"),
    output: Path = typer.Option(None, "--output", "-o", help="Also write the figures as JSON"),
) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    figures: Dict[str, Any] = {"cpu": cpu_model(), "cores": os.cpu_count()}
    if not training_only:
        data_stages(source, size_mb, pipeline_docs, workdir, figures)
    split_cache = workdir / "train-cache"
    if not (split_cache / "manifest.json").exists():
        run_stage("preprocess", str(source), str(ROOT / "configs" / "rnnlm.cfg"), str(split_cache), "2")
    runs: Dict[str, List[Dict[str, Any]]] = {"raw": [], "cache": []}
    for _ in range(repeats):
        for kind, train in [("raw", source), ("cache", split_cache)]:
            runs[kind].append(train_run(ROOT / "configs" / "rnnlm.cfg", train, dev, workdir / f"train-{kind}", steps, kind == "cache"))
            typer.echo(f"training from {kind}: {runs[kind][-1]}")
    for kind in runs:
        figures[f"train_{kind}"] = runs[kind]
    speed = {kind: statistics.median(r["tokens_per_second"] for r in rows) for kind, rows in runs.items()}
    figures["ratios"] = {
        **figures.get("ratios", {}),
        "cache_vs_raw_training_tokens_per_second": speed["cache"] / speed["raw"],
        "dev_perplexity_max_relative_difference": max(
            abs(c["dev_perplexity_by_step"][k] / v - 1) for r, c in zip(runs["raw"], runs["cache"]) for k, v in r["dev_perplexity_by_step"].items()
        ),
    }
    typer.echo(json.dumps(figures["ratios"], indent=2))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf8")


def data_stages(source: Path, size_mb: float, pipeline_docs: int, workdir: Path, figures: Dict[str, Any]) -> None:
    """Stages 1–3 on the generated corpus."""
    corpus = workdir / f"generated-{size_mb:g}mb.txt"
    if not corpus.exists():
        generate(source, corpus, size_mb)
    mb = corpus.stat().st_size / 1e6
    figures["corpus_mb"] = round(mb, 1)
    pipeline = workdir / "pipeline"
    for n in (1, 2):
        figures[f"vocab_{n}_process"] = run_stage("vocab", str(corpus), str(n), str(pipeline) if n == 1 else "", str(workdir))
        typer.echo(f"vocabulary, {n} process(es): {figures[f'vocab_{n}_process']}")
    for jobs in (1, 2):
        stage = run_stage("preprocess", str(corpus), str(pipeline), str(workdir / f"cache-{jobs}"), str(jobs))
        stage["mb_per_second"] = mb / stage["seconds"]
        figures[f"preprocess_{jobs}_jobs"] = stage
        typer.echo(f"preprocess, {jobs} job(s): {stage}")
    for kind, path, in_loop in [("raw", corpus, True), ("cache", workdir / "cache-2", True), ("raw", corpus, False), ("cache", workdir / "cache-2", False)]:
        name = f"data_{kind}" + ("_in_spacy_loop" if in_loop else "_reader")
        figures[name] = run_stage("pipeline", kind, str(path), str(pipeline), str(pipeline_docs), str(int(in_loop)))
        typer.echo(f"data pipeline, {name}: {figures[name]}")
    v1, v2 = figures["vocab_1_process"]["seconds"], figures["vocab_2_process"]["seconds"]
    p1, p2 = figures["preprocess_1_jobs"]["seconds"], figures["preprocess_2_jobs"]["seconds"]
    figures["ratios"] = {
        "vocab_2_vs_1_process": v2 / v1,
        "preprocess_2_vs_1_jobs": p2 / p1,
        "cache_vs_raw_data_tokens_per_second": figures["data_cache_in_spacy_loop"]["tokens_per_second"] / figures["data_raw_in_spacy_loop"]["tokens_per_second"],
    }


def stage_main(args: List[str]) -> None:
    name, rest = args[0], args[1:]
    if name == "vocab":
        result = stage_vocab(rest[0], int(rest[1]), rest[2], rest[3])
    elif name == "preprocess":
        result = stage_preprocess(rest[0], rest[1], rest[2], int(rest[3]))
    else:
        result = stage_pipeline(rest[0], rest[1], rest[2], int(rest[3]), bool(int(rest[4])))
    print(json.dumps({**result, **peak_mib()}))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--stage":
        stage_main(sys.argv[2:])
    else:
        app()
