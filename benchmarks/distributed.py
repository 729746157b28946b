"""Data-parallel training against one process, on this machine, with the same global batch.

Runs `spacy train` (one process, torch on all cores) and the torchrun entry point (N processes,
one thread each, each with 1/N of the batch: the same global batch, so the same number of tokens
per step) for the same steps, and prints training tokens/s and the dev perplexity curve of both.

    python benchmarks/distributed.py configs/rnnlm.cfg --steps 300 --nproc 2
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

import typer

app = typer.Typer(add_completion=False)


def curve_rows(path: Path) -> List[Dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@app.command()
def main(
    config: Path = typer.Argument(...),
    steps: int = typer.Option(300),
    eval_every: int = typer.Option(100),
    nproc: int = typer.Option(2),
    batch_words: int = typer.Option(3000, help="Global batch (words per step)"),
    train: Path = typer.Option(Path("corpus/train.jsonl")),
    dev: Path = typer.Option(Path("corpus/dev.jsonl")),
    dev_limit: int = typer.Option(500, help="Dev documents per evaluation (evaluation time counts in the seconds)"),
    output: Path = typer.Option(Path("metrics/distributed.json")),
) -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, world in (("1 process", 1), (f"{nproc} processes", nproc)):
            curve = Path(tmp) / f"curve-{world}.jsonl"
            per_rank = batch_words // world
            args = [str(config), "--output", str(Path(tmp) / f"out-{world}"), "--paths.train", str(train)]
            args += ["--paths.dev", str(dev), "--corpora.dev.limit", str(dev_limit)]
            args += ["--training.max_steps", str(steps), "--training.eval_frequency", str(eval_every)]
            args += ["--training.batcher.size.start", str(per_rank), "--training.batcher.size.stop", str(per_rank)]
            args += ["--training.logger.curve_path", str(curve)]
            if world == 1:
                cmd = [sys.executable, "-m", "spacy", "train"] + args
                env = dict(os.environ)
            else:
                cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(world)]
                cmd += ["-m", "spacy_rnnlm.training.distributed"] + args
                env = dict(os.environ, OMP_NUM_THREADS="1")
            typer.echo(f"== {name}: {' '.join(cmd)}")
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
            rows = curve_rows(curve)
            first, last = rows[0], rows[-1]
            # rank 0's words; the other ranks read as many within one batch each step
            words = (last["words"] - first["words"]) * world
            results[name] = {
                "tokens_per_second": words / (last["seconds"] - first["seconds"]),
                "curve": [(r["step"], r["lm_perplexity_closed_vocab"]) for r in rows],
            }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    base = results["1 process"]["tokens_per_second"]
    for name, r in results.items():
        curve = ", ".join(f"{step}: {ppl:.1f}" for step, ppl in r["curve"] if ppl)
        typer.echo(f"{name:<12} {r['tokens_per_second']:>8,.0f} tokens/s ({r['tokens_per_second'] / base:.2f}x)   dev perplexity {curve}")


if __name__ == "__main__":
    app()
