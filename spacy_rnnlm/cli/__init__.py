"""`python -m spacy_rnnlm` / `spacy-rnnlm`: score, correct, generate, evaluate, rank, find substitutes for any word, look up similar words, make context vectors, preprocess a corpus and adapt a pipeline to your texts from the shell.

Each command is a thin typer wrapper (`x_cli`) over the plain function in `commands.py`; errors
the user can fix become one line on stderr and exit status 1, never a traceback.
"""
import sys
from pathlib import Path
from typing import Callable, Optional

import typer
from wasabi import msg

from . import commands
from .io import CLIError

app = typer.Typer(name="spacy-rnnlm", help="Chinese LSTM language-model scores and generation for spaCy pipelines.", no_args_is_help=True)

MODEL = typer.Argument(..., help="Pipeline folder or installed package name (e.g. zh_rnnlm)")
INPUT = typer.Argument(None, help="A .txt (one document per line) or .jsonl (with 'text'); '-' or nothing = stdin")


def _run(func: Callable, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except (CLIError, OSError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1)


def _finish(errors: commands.ErrorLog) -> None:
    if errors.count:
        typer.echo(f"error: {errors.count} input line(s) skipped, see the warnings above", err=True)
        raise typer.Exit(1)


@app.command("score")
def score_cli(
    model: str = MODEL,
    input_path: Optional[Path] = INPUT,
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="JSONL output (default: stdout)"),
    batch_size: int = typer.Option(64, "--batch-size", "-b"),
    n_process: int = typer.Option(1, "--n-process", "-n"),
    alternatives: Optional[int] = typer.Option(None, "--alternatives", "-a", help="Alternatives per token (default: the model's setting)"),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write an HTML view of the scores"),
    detect_odd: bool = typer.Option(False, "--detect-odd", help="Also flag odd words, with suggestions (slower)"),
):
    """Score documents: per document, sentence and token, as JSON lines."""
    errors = commands.ErrorLog()
    out = output.open("w", encoding="utf8") if output else sys.stdout
    try:
        _run(commands.score, model, input_path, out, batch_size=batch_size, n_process=n_process,
             alternatives=alternatives, html=html, detect_odd=detect_odd or None, errors=errors)
    finally:
        if output:
            out.close()
    _finish(errors)


@app.command("correct")
def correct_cli(
    model: str = MODEL,
    input_path: Optional[Path] = INPUT,
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output file (default: stdout)"),
    jsonl: bool = typer.Option(False, "--jsonl", help="One JSON object per line: text, corrected text and the edits with offsets"),
    batch_size: int = typer.Option(64, "--batch-size", "-b"),
):
    """Correct spelling slips: one corrected line per input line; clean lines come back unchanged."""
    errors = commands.ErrorLog()
    out = output.open("w", encoding="utf8") if output else sys.stdout
    try:
        _run(commands.correct, model, input_path, out, jsonl=jsonl, batch_size=batch_size, errors=errors)
    finally:
        if output:
            out.close()
    _finish(errors)


@app.command("generate")
def generate_cli(
    model: str = MODEL,
    prompt: str = typer.Option("", "--prompt", "-p"),
    n: int = typer.Option(1, "--n"),
    max_new_tokens: int = typer.Option(50, "--max-new-tokens"),
    temperature: float = typer.Option(1.0, "--temperature", "-t"),
    top_k: int = typer.Option(0, "--top-k"),
    top_p: float = typer.Option(1.0, "--top-p"),
    seed: Optional[int] = typer.Option(None, "--seed"),
):
    """Generate continuations of a prompt by multinomial sampling."""
    for text in _run(commands.generate, model, prompt, n=n, max_new_tokens=max_new_tokens,
                     temperature=temperature, top_k=top_k, top_p=top_p, seed=seed):
        typer.echo(text)


@app.command("similar")
def similar_cli(
    model: str = MODEL,
    word: str = typer.Argument(..., help="The word to look up"),
    n: int = typer.Option(10, "--n", help="How many neighbours"),
):
    """Nearest words in the pipeline's static vectors (the LM's word vectors), with cosines."""
    result = _run(commands.similar, model, word, n=n)
    if result["via"] != [result["word"]]:
        typer.echo(f"'{result['word']}' has no vector: the mean of {' '.join(result['via'])}", err=True)
    for row in result["nearest"]:
        typer.echo(f"{row['word']}\t{row['cosine']:.4f}")


@app.command("vectors")
def vectors_cli(
    model: str = MODEL,
    input_path: Optional[Path] = INPUT,
    output: Path = typer.Option(..., "--output", "-o", help="Where to save the pipeline with its new vectors"),
):
    """Context vectors: each word's mean contextual state over the texts (e.g. the training
    split) become the pipeline's static vectors; the pipeline is saved to --output."""
    errors = commands.ErrorLog()
    result = _run(commands.vectors, model, input_path, output, errors=errors)
    typer.echo(f"{result['words']} words ({result['seen']} seen in the texts), width {result['width']}: {result['output']}")
    _finish(errors)


@app.command("evaluate")
def evaluate_cli(
    model: str = MODEL,
    input_path: Optional[Path] = INPUT,
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Also write the metrics as JSON"),
    batch_size: int = typer.Option(64, "--batch-size", "-b"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for CPU"),
):
    """Perplexity, plausibility, OOV rate and tokens/second on a corpus."""
    errors = commands.ErrorLog()
    metrics = _run(commands.evaluate, model, input_path, batch_size=batch_size, gpu_id=gpu_id, errors=errors)
    msg.table([(key, f"{value:.4f}" if isinstance(value, float) else value) for key, value in metrics.items()],
              header=("metric", "value"), divider=True)
    commands.write_json(metrics, output)
    _finish(errors)


@app.command("typos")
def typos_cli(
    model: str = MODEL,
    pairs: Path = typer.Argument(..., help="JSONL typo pairs from scripts/make_typos.py"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Also write the metrics as JSON"),
    batch_size: int = typer.Option(64, "--batch-size", "-b"),
):
    """Typo pairs: how often the original beats its corrupted twin; correction P/R/F1 (sentence and detection level)."""
    metrics = _run(commands.typos, model, pairs, batch_size=batch_size)
    rows = [(k, f"{v:.4f}" if isinstance(v, float) else v) for k, v in metrics.items() if not isinstance(v, (dict, list))]
    for name in ("correction", "correction_best"):
        if name in metrics:
            rows += [(f"{name}.{k}", f"{v:.4f}") for k, v in metrics[name].items()]
    msg.table(rows, header=("metric", "value"), divider=True)
    commands.write_json(metrics, output)


@app.command("rank")
def rank_cli(
    model: str = MODEL,
    input_path: Optional[Path] = INPUT,
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Also write the ranking as JSON"),
    batch_size: int = typer.Option(64, "--batch-size", "-b"),
):
    """Sentences from most to least plausible: the quick way to find odd ones."""
    errors = commands.ErrorLog()
    rows = _run(commands.rank, model, input_path, batch_size=batch_size, errors=errors)
    for row in rows:
        typer.echo(f"{row['plausibility']:.5f}\t{row['text']}")
    commands.write_json(rows, output)
    _finish(errors)


@app.command("substitutes")
def substitutes_cli(
    model: str = MODEL,
    text: str = typer.Argument(..., help="The sentence"),
    word: str = typer.Argument(..., help="The word to replace: any stretch of the text, one jieba token or not"),
    occurrence: int = typer.Option(1, "--occurrence", help="Which occurrence of the word"),
    alternatives: Optional[int] = typer.Option(None, "--alternatives", "-a", help="How many (default: the model's setting)"),
):
    """Substitutes for a word in its sentence, drawn as Token._.lm_alternatives are."""
    for sub, prob in _run(commands.substitutes, model, text, word, occurrence=occurrence, alternatives=alternatives):
        typer.echo(f"{sub}\t{prob:.4f}")


@app.command("preprocess")
def preprocess_cli(
    corpus: Path = typer.Argument(..., help="A .txt/.jsonl file (gzipped or not) or a folder of them", exists=True),
    model_or_config: Path = typer.Option(..., "--model-or-config", "-m", help="A trained pipeline folder (its vocabulary), or a training config (the vocabulary is counted)", exists=True),
    output: Path = typer.Option(..., "--output", "-o", help="The cache folder to write (must not exist or be empty)"),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Worker processes, one shard each"),
    limit: int = typer.Option(0, "--limit", help="At most this many documents (0: all)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing cache (once the new one is complete)"),
):
    """Segment a corpus once into token-id shards that `spacy train` / `train-dist` read without jieba
    (reader spacy-rnnlm.TokenCache.v1)."""
    info = _run(commands.preprocess, corpus, model_or_config, output, jobs=jobs, limit=limit, overwrite=overwrite)
    msg.good(f"{info['n_docs']} documents, {info['n_units']} sequences, {info['n_tokens']} ids in {len(info['source'])} file(s) "
             f"-> {output} ({jobs} shard(s), {info['seconds']} s)")


@app.command("adapt")
def adapt_cli(
    base: str = MODEL,
    texts: Path = typer.Argument(..., help="Your texts: a .txt/.jsonl file (gzipped or not) or a folder of them", exists=True),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder: model-best, model-last, adapt.json"),
    steps: int = typer.Option(300, "--steps", help="Training steps (batches of the base config's size)"),
    learn_rate: float = typer.Option(0.002, "--learn-rate", help="Peak learning rate (linear warm-up, then linear decay to 0)"),
    min_count: int = typer.Option(3, "--min-count", help="New words: seen at least this often in your texts"),
    max_new_words: int = typer.Option(5000, "--max-new-words", help="At most this many new words, the most frequent (0: the vocabulary stays)"),
    base_test: Optional[Path] = typer.Option(None, "--base-test", help="Texts of the base's own domain: scored before and after, to see what was traded", exists=True),
    replay: Optional[Path] = typer.Option(None, "--replay", help="Texts of the base's own domain mixed into training, against forgetting it", exists=True),
    replay_share: float = typer.Option(0.5, "--replay-share", help="Share of the training texts drawn from --replay"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for CPU"),
):
    """Fine-tune a trained pipeline's rnnlm on your own texts (a dev slice is held out) instead of
    training from scratch; data-parallel when run under torchrun
    (python -m torch.distributed.run --standalone --nproc-per-node N -m spacy_rnnlm adapt ...)."""
    report = _run(commands.adapt, base, texts, output, steps=steps, learn_rate=learn_rate, min_count=min_count,
                  max_new_words=max_new_words, base_test=base_test, replay=replay, replay_share=replay_share, use_gpu=gpu_id)
    if report is None:  # a torchrun process other than 0: process 0 reports
        return
    msg.info(f"{report['new_words']} new words (e.g. {' '.join(report['new_words_examples'][:8])})")
    rows = [(f"{when} {name}", f"{figs['bits_per_char']:.4f}", f"{figs['perplexity_closed_vocab']:.1f}")
            for when in ("before", "after") for name, figs in report[when].items()]
    msg.table(rows, header=("model / texts", "bits per char", "perplexity (<unk> as a word)"), divider=True)


def main() -> None:
    app()
