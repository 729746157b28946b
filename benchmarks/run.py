"""The benchmark suite: speed and quality of a trained pipeline on this machine, as a table and JSON.

    python benchmarks/run.py training/rnnlm/model-best --output metrics/benchmark.json

(or `python -m spacy project run benchmark`, which trains the default model first if needed).
Sections, each timed in this run so ratios hold on a noisy machine:
- machine: CPU, cores, versions, and the matrix-multiply GFLOP/s this process reaches (fp32, bf16);
- scoring: `nlp.pipe` on the test texts with alternatives off, with 5 from both sides
  (substitutes) and with 5 from the left context, and with correction on, next to the tokenizer
  alone on the same texts; tokens/s, chars/s, sentences/s, and the model's achieved GFLOP/s;
- training: `spacy train`'s own loop (`train_while_improving`) against a plain PyTorch loop that
  trains the same `nn.Module` on the same batches, already as tensors: tokens/s and the overhead;
  and against pytorch/examples word_language_model's training step (its defaults, over the
  same vocabulary), timed in this run;
  and the plain loop on fresh models of the same sizes: forward only, two directions with LSTM
  cells, two directions with GRU cells;
- quality: test perplexity (unknown words as `<unk>`, as KenLM counts them with the same
  vocabulary; and open-vocabulary), bits per character (open vocabulary), and the
  dev-perplexity curve of the training run against wall-clock minutes (from the logger's
  `curve.jsonl` beside the model; open vocabulary since the spelling model exists);
- resources: peak RSS of a fresh process scoring the test texts, model size, cold load time.
Not part of the test run: figures, not assertions.
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import spacy
import srsly
import thinc
import torch
from spacy.training import Example

from spacy_rnnlm.evaluation import evaluate_texts, find_rnnlm
from spacy_rnnlm.models.architectures import torch_module
from spacy_rnnlm.models.pytorch.bilstm_lm import BiLSTMLanguageModel
from spacy_rnnlm.models.pytorch.lstm_lm import LSTMLanguageModel
from spacy_rnnlm.models.wrapper import pad_sequences
from spacy_rnnlm.training.sequences import length_groups

KENLM_TEST_PERPLEXITY = 219.0  # 5-gram KenLM on the train split, same vocabulary (issue 5)


class ExamplesRNNModel(torch.nn.Module):
    """pytorch/examples word_language_model's `RNNModel` with its defaults (LSTM, 2 layers of
    200, embedding 200, dropout 0.2, a full softmax over the vocabulary): the reference step."""

    def __init__(self, n_vocab: int, width: int = 200, layers: int = 2, dropout: float = 0.2):
        super().__init__()
        self.drop = torch.nn.Dropout(dropout)
        self.encoder = torch.nn.Embedding(n_vocab, width)
        self.rnn = torch.nn.LSTM(width, width, layers, dropout=dropout)
        self.decoder = torch.nn.Linear(width, n_vocab)

    def forward(self, ids: torch.Tensor, hidden):
        output, hidden = self.rnn(self.drop(self.encoder(ids)), hidden)
        return torch.log_softmax(self.decoder(self.drop(output)), dim=-1), hidden


def pytorch_examples_tokens_per_second(n_vocab: int, steps: int = 20, bptt: int = 35, batch: int = 20) -> float:
    """Training tokens/s of pytorch/examples word_language_model's step (its defaults: batch 20,
    bptt 35, SGD at lr 20, gradient clipping 0.25, hidden state carried and detached, float32),
    timed in this process over `n_vocab` words: the same-run reference of the training speed."""
    torch.manual_seed(0)
    model = ExamplesRNNModel(n_vocab).train()
    data = torch.randint(0, n_vocab, (steps + 3, bptt + 1, batch))
    hidden = None
    criterion = torch.nn.NLLLoss()

    def step(chunk: torch.Tensor) -> None:
        nonlocal hidden
        if hidden is not None:
            hidden = tuple(h.detach() for h in hidden)
        model.zero_grad()
        output, hidden = model(chunk[:-1], hidden)
        loss = criterion(output.view(-1, n_vocab), chunk[1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-20.0)

    for chunk in data[:3]:  # warm-up
        step(chunk)
    start = time.perf_counter()
    for chunk in data[3:]:
        step(chunk)
    return steps * bptt * batch / (time.perf_counter() - start)


def machine() -> Dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        pass
    return {
        "cpu": cpu,
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "memory_gib": round(mem, 1) if mem else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "spacy": spacy.__version__,
        "thinc": thinc.__version__,
        "gflops_matmul_fp32": matmul_gflops(torch.float32),
        "gflops_matmul_bf16": matmul_gflops(torch.bfloat16),
    }


def matmul_gflops(dtype: torch.dtype, n: int = 1024, seconds: float = 2.0) -> float:
    """Best GFLOP/s of an n×n by n×n product in this process: the hardware's practical limit."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    torch.mm(a, b)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        for _ in range(5):
            torch.mm(a, b)
        best = max(best, 5 * 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return round(best, 1)


def model_flops_per_token(module: LSTMLanguageModel, cluster_shares: List[float]) -> float:
    """Multiply-adds ×2 per scored token (forward): LSTM layers, projection, and the output
    layer's head plus each cluster weighted by the share of tokens that fall in it."""
    flops = rnn_flops(module.lstm)
    if module.proj is not None:
        flops += 2 * module.proj.in_features * module.proj.out_features
    if module.adaptive is not None:
        a = module.adaptive
        flops += 2 * a.in_features * a.head_size
        for share, tail in zip(cluster_shares, a.tail):
            flops += share * sum(2 * lin.in_features * lin.out_features for lin in tail)
    else:
        flops += 2 * module.decoder.in_features * module.decoder.out_features
    return flops


def rnn_flops(rnn: torch.nn.RNNBase) -> float:
    gates = 4 if isinstance(rnn, torch.nn.LSTM) else 3
    flops = 0.0
    for layer in range(rnn.num_layers):
        inp = rnn.input_size if layer == 0 else rnn.hidden_size
        flops += 2 * gates * rnn.hidden_size * (inp + rnn.hidden_size)
    return flops


def training_flops_per_token(module: LSTMLanguageModel, cluster_shares: List[float]) -> float:
    """Forward multiply-adds ×2 per training token: the forward LM, and for a two-direction
    model the backward network and the fill-in head with its softmax on `fill_share` of the words."""
    flops = model_flops_per_token(module, cluster_shares)
    if isinstance(module, BiLSTMLanguageModel):
        flops += rnn_flops(module.backward_rnn)
        head = sum(2 * lin.in_features * lin.out_features for lin in module.fill if isinstance(lin, torch.nn.Linear))
        softmax = model_flops_per_token(module, cluster_shares) - rnn_flops(module.lstm)
        flops += module.fill_share * (head + softmax)
    return flops


def cluster_shares(nlp, texts: List[str]) -> List[float]:
    lm = find_rnnlm(nlp)
    module = torch_module(lm.model)
    if module.adaptive is None:
        return []
    cutoffs = module.adaptive.cutoffs
    counts, total = [0] * (len(cutoffs) - 1), 0
    for doc in nlp.tokenizer.pipe(texts[:2000]):
        for t in doc:
            if not t.is_space:
                i = lm.lm_vocab.encode([t.text])[0]
                total += 1
                for c in range(len(counts)):
                    counts[c] += cutoffs[c] <= i < cutoffs[c + 1]
    return [c / max(total, 1) for c in counts]


def best_seconds(run: Callable[[], Any], repeats: int) -> float:
    """The fastest of `repeats` timed calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_scoring(nlp, texts: List[str], flops_per_token: float) -> Dict[str, Any]:
    lm = find_rnnlm(nlp)
    n_chars = sum(len(t) for t in texts)
    list(nlp.pipe(texts[:200]))  # warm-up
    out: Dict[str, Any] = {"texts": len(texts), "chars": n_chars}
    # best of several passes: one pass of the tokenizer lasts under a second, and this machine's
    # speed moves by ±20 % from one second to the next
    n_tokens = sum(len(doc) for doc in nlp.tokenizer.pipe(texts))
    seconds = best_seconds(lambda: list(nlp.tokenizer.pipe(texts)), 5)
    out["tokens"] = n_tokens
    out["tokenizer"] = {"tokens_per_second": n_tokens / seconds, "chars_per_second": n_chars / seconds}
    for name, n_alt, context, detect in (
        ("alternatives_0", 0, "both", False),
        ("alternatives_5", 5, "both", False),
        ("alternatives_5_left", 5, "left", False),
        ("correction", 0, "both", True),
    ):
        lm.n_alternatives, lm.alternatives_context, lm.detect_odd = n_alt, context, detect
        start = time.perf_counter()  # the first pass: substitutes also fill their per-word cache
        n_sents = sum(len(doc._.lm_scores["ends"]) for doc in nlp.pipe(texts, batch_size=256))
        first = time.perf_counter() - start
        seconds = best_seconds(lambda: list(nlp.pipe(texts, batch_size=256)), 2)
        out[name] = {
            "tokens_per_second": n_tokens / seconds,
            "chars_per_second": n_chars / seconds,
            "sentences_per_second": n_sents / seconds,
            "first_pass_tokens_per_second": n_tokens / first,
            "model_gflops": flops_per_token * n_tokens / seconds / 1e9,
        }
    lm.n_alternatives, lm.alternatives_context, lm.detect_odd = 5, "both", False
    return out


def bench_training(model_path: str, config_path: str, train_path: str, steps: int, warmup: int) -> Dict[str, Any]:
    """The same batches through spaCy's loop and through a plain torch loop."""
    from spacy.training.loop import create_train_batches, train_while_improving
    from spacy.util import load_config, registry, resolve_dot_names

    config = load_config(config_path, overrides={"paths.train": train_path, "paths.dev": train_path}, interpolate=True)
    nlp = spacy.load(model_path)  # trained weights and vocabulary: the cost of a step is the same
    T = registry.resolve(config["training"])
    (train_corpus,) = resolve_dot_names(config, [T["train_corpus"]])
    optimizer = T["optimizer"]
    lm = find_rnnlm(nlp)
    batches: List[Any] = []

    def recorded():
        for epoch, batch in create_train_batches(nlp, train_corpus, T["batcher"], T["max_epochs"]):
            batches.append(batch)
            yield epoch, batch

    loop = train_while_improving(
        nlp,
        optimizer,
        recorded(),
        evaluate=lambda: (0.0, {}),
        dropout=T["dropout"],
        accumulate_gradient=1,
        patience=0,
        max_steps=warmup + steps,
        eval_frequency=10**9,
        exclude=[],
        annotating_components=T["annotating_components"],
        before_update=None,
    )
    start, words = None, 0
    for i, (batch, info, _) in enumerate(loop):
        if i == warmup - 1:
            start = time.perf_counter()
        elif i >= warmup:
            words += sum(len(eg) for eg in batch)
    spacy_seconds = time.perf_counter() - start
    timed = batches[warmup : warmup + steps]

    # The plain loop: the component's own training windows, padded in advance; the same
    # length-sorted batch and length groups, precision, loss, global-norm clipping and Adam
    # step, in torch only.
    sentencizer = [proc for name, proc in nlp.pipeline if name in T["annotating_components"]]
    tensors = []
    for batch in timed:
        docs = []
        for eg in batch:
            doc = eg.predicted
            for proc in sentencizer:
                doc = proc(doc)
            docs.append(doc)
        tensors.append(padded_batch(lm, docs))
    module = torch_module(lm.model)
    settings = dict(lm.model.attrs["settings"])
    plain = type(module)(module.n_vocab, pad_id=module.pad_id, n_special=module.n_special, **settings)
    plain.load_state_dict(module.state_dict())
    dtype = lm.compute_dtype(training=True)
    plain_seconds = plain_training_seconds(plain, tensors, dtype)
    reference = pytorch_examples_tokens_per_second(module.n_vocab)
    variants = {}
    if isinstance(module, BiLSTMLanguageModel):
        # the same sizes, fresh weights: the cost of the backward direction, and LSTM vs GRU cells
        forward = {k: v for k, v in settings.items() if k not in ("cell", "backward_width", "fill_width", "fill_share", "fill_detach")}
        for name, cls, extra in (
            ("forward_only_lstm", LSTMLanguageModel, {}),
            ("two_directions_lstm", BiLSTMLanguageModel, {**settings, "cell": "lstm"}),
            ("two_directions_gru", BiLSTMLanguageModel, {**settings, "cell": "gru"}),
        ):
            torch.manual_seed(0)
            model = cls(module.n_vocab, pad_id=module.pad_id, n_special=module.n_special, **(extra or forward))
            variants[name] = words / plain_training_seconds(model, tensors, dtype)
    return {
        "steps": steps,
        "tokens": words,
        "spacy_loop_tokens_per_second": words / spacy_seconds,
        "plain_torch_tokens_per_second": words / plain_seconds,
        "overhead": spacy_seconds / plain_seconds - 1.0,
        "pytorch_examples_tokens_per_second": reference,
        "vs_pytorch_examples": words / spacy_seconds / reference,
        "plain_torch_tokens_per_second_by_architecture": variants,
    }


def padded_batch(lm, docs: List[Any]) -> Any:
    """One batch of `docs` as the plain loop takes it: the component's training windows,
    length-sorted and padded, their length groups, and the number of predicted words."""
    windows = sorted(lm._training_windows(Example(doc, doc) for doc in docs), key=len)
    sizes = [len(g) for g in length_groups([len(w) for w in windows], lm.batch_tokens, lm.length_ratio)]
    ids, tgt = pad_sequences(windows, lm.model.ops)
    return ids, tgt, sizes, sum(len(w) - 1 for w in windows)


def plain_training_seconds(model: LSTMLanguageModel, tensors: List[Any], dtype: Optional[torch.dtype]) -> float:
    """Seconds for the plain torch loop over the padded batches: the component's loss (forward
    NLL, plus the fill-in NLL for a two-direction model), global-norm clipping, one Adam step."""
    model.train()
    fill = isinstance(model, BiLSTMLanguageModel)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, fused=True)  # as the component's step
    start = time.perf_counter()
    for ids, tgt, sizes, n_total in tensors:
        if fill:
            out = model(ids, tgt, fill=True, group_sizes=sizes, compute_dtype=dtype)
            loss = -(out.logprobs.sum() + out.fill_logprobs.sum()) / n_total
        else:
            loss = -model(ids, tgt, group_sizes=sizes, compute_dtype=dtype).sum() / n_total
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def bench_resources(model_path: str, texts_path: str) -> Dict[str, Any]:
    """A fresh process: cold load time, then peak RSS while scoring the test texts (5 alternatives)."""
    # VmHWM, not getrusage: ru_maxrss of a child carries the parent's peak over fork and exec.
    code = (
        "import json,sys,time\n"
        "t=time.perf_counter()\nimport spacy\nnlp=spacy.load(sys.argv[1])\nload=time.perf_counter()-t\n"
        "texts=[json.loads(l)['text'] for l in open(sys.argv[2],encoding='utf8')]\n"
        "for _ in nlp.pipe(texts,batch_size=256): pass\n"
        "hwm=[l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print(json.dumps({'load_seconds':load,'peak_rss_mb':int(hwm)/1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, model_path, texts_path], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    size = sum(f.stat().st_size for f in Path(model_path).rglob("*") if f.is_file())
    result["model_dir_mb"] = size / 2**20
    wheels = sorted(Path("packages").glob("*/dist/*.whl")) if Path("packages").exists() else []
    wheels = [w for w in wheels if "smoke" not in w.name]
    if wheels:
        result["package"] = wheels[-1].name
        result["package_mb"] = wheels[-1].stat().st_size / 2**20
    return result


def learning_curve(model_path: str, n_vocab: int) -> Optional[List[Dict[str, Any]]]:
    """Dev perplexity by wall-clock minute of the training run. The closed-vocabulary figure
    (comparable with KenLM's) is read back from `score` = 1 − ln(perplexity) / ln(|V|)."""
    path = Path(model_path).parent / "curve.jsonl"
    if not path.exists():
        return None
    return [
        {
            "minutes": row["seconds"] / 60,
            "step": row["step"],
            "dev_perplexity": math.exp((1.0 - row["score"]) * math.log(n_vocab)),
            "dev_perplexity_open_vocab": row["lm_perplexity"],
        }
        for row in srsly.read_jsonl(path)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="trained pipeline directory (e.g. training/rnnlm/model-best)")
    parser.add_argument("--test", default="corpus/test.jsonl")
    parser.add_argument("--train", default="corpus/train.jsonl")
    parser.add_argument("--config", default="configs/rnnlm.cfg")
    parser.add_argument("--train-steps", type=int, default=100)
    parser.add_argument("--output", default="metrics/benchmark.json")
    args = parser.parse_args()

    texts = [row["text"] for row in srsly.read_jsonl(args.test)]
    result: Dict[str, Any] = {"model": args.model, "machine": machine()}
    nlp = spacy.load(args.model)
    module = torch_module(find_rnnlm(nlp).model)
    # the machine's matmul rate in the precision the model runs in: how far from its limit it is
    dtypes = {True: find_rnnlm(nlp).compute_dtype(), False: find_rnnlm(nlp).compute_dtype(training=True)}
    result["machine"]["gflops_limit_scoring"] = result["machine"]["gflops_matmul_bf16" if dtypes[True] else "gflops_matmul_fp32"]
    result["machine"]["gflops_limit_training"] = result["machine"]["gflops_matmul_bf16" if dtypes[False] else "gflops_matmul_fp32"]
    shares = cluster_shares(nlp, texts)
    flops = model_flops_per_token(module, shares)
    result["model_flops_per_token"] = flops
    result["scoring"] = bench_scoring(nlp, texts, flops)
    find_rnnlm(nlp).n_alternatives = 0
    quality = evaluate_texts(nlp, texts, baseline=False)
    result["quality"] = {
        # unknown words as the event <unk>, as in the KenLM figure (same vocabulary)
        "test_perplexity": quality["perplexity_closed_vocab"],
        "test_perplexity_open_vocab": quality["perplexity"],
        "test_bits_per_char": quality["bits_per_char"],
        "vs_kenlm": quality["perplexity_closed_vocab"] / KENLM_TEST_PERPLEXITY,
        "dev_curve": learning_curve(args.model, module.n_vocab),
    }
    del nlp
    result["training"] = bench_training(args.model, args.config, args.train, args.train_steps, warmup=3)
    train_flops = training_flops_per_token(module, shares)
    result["training"]["model_gflops_plain"] = 3 * train_flops * result["training"]["plain_torch_tokens_per_second"] / 1e9
    result["training"]["model_gflops_spacy"] = 3 * train_flops * result["training"]["spacy_loop_tokens_per_second"] / 1e9
    result["resources"] = bench_resources(args.model, args.test)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(args.output, result)
    print(table(result))
    print(f"\nwritten: {args.output}")


def table(r: Dict[str, Any]) -> str:
    m, s, t, q, res = r["machine"], r["scoring"], r["training"], r["quality"], r["resources"]
    rows = [
        ("machine", f"{m['cpu']}, {m['cores_usable']} cores, torch {m['torch']} ({m['torch_threads']} threads, {m['cpu_capability']})"),
        ("matmul GFLOP/s fp32 / bf16", f"{m['gflops_matmul_fp32']:.0f} / {m['gflops_matmul_bf16']:.0f}"),
        ("tokenizer only", f"{s['tokenizer']['tokens_per_second']:,.0f} tok/s, {s['tokenizer']['chars_per_second']:,.0f} chars/s"),
    ]
    tok = s["tokenizer"]["tokens_per_second"]
    off = s["alternatives_0"]["tokens_per_second"]
    for key, label in (
        ("alternatives_0", "scoring, 0 alternatives"),
        ("alternatives_5", "scoring, 5 substitutes (both sides)"),
        ("alternatives_5_left", "scoring, 5 alternatives (left context)"),
        ("correction", "scoring with correction on"),
    ):
        a = s[key]
        rows.append(
            (
                label,
                f"{a['tokens_per_second']:,.0f} tok/s ({a['tokens_per_second'] / tok:.1%} of tokenizer, "
                f"{a['tokens_per_second'] / off:.0%} of scoring), {a['sentences_per_second']:,.0f} sentences/s"
                f"; first pass {a['first_pass_tokens_per_second']:,.0f} tok/s"
                + (f"; {a['model_gflops']:.1f} GFLOP/s, {a['model_gflops'] / m['gflops_limit_scoring']:.0%} of the matmul rate" if key == "alternatives_0" else ""),
            )
        )
    rows += [
        ("training, spaCy loop", f"{t['spacy_loop_tokens_per_second']:,.0f} tok/s ({t['vs_pytorch_examples']:.1f}x pytorch/examples, timed in this run: {t['pytorch_examples_tokens_per_second']:,.0f} tok/s), {t['model_gflops_spacy']:.1f} GFLOP/s, {t['model_gflops_spacy'] / m['gflops_limit_training']:.0%} of the matmul rate"),
        ("training, plain torch loop", f"{t['plain_torch_tokens_per_second']:,.0f} tok/s, {t['model_gflops_plain']:.1f} GFLOP/s, {t['model_gflops_plain'] / m['gflops_limit_training']:.0%} of the matmul rate"),
        ("thinc/spaCy overhead", f"{100 * t['overhead']:.1f}%"),
    ]
    for name, speed in t["plain_torch_tokens_per_second_by_architecture"].items():
        rows.append((f"training, plain loop, {name.replace('_', ' ')}", f"{speed:,.0f} tok/s (fresh weights, same batches)"))
    rows += [
        ("test perplexity, <unk> as a word", f"{q['test_perplexity']:.2f} ({q['vs_kenlm']:.2f} x KenLM's {KENLM_TEST_PERPLEXITY:.0f})"),
        ("test perplexity, open vocabulary", f"{q['test_perplexity_open_vocab']:.2f}"),
        ("test bits per char (open vocab.)", f"{q['test_bits_per_char']:.3f}"),
    ]
    if q["dev_curve"]:
        curve = ", ".join(f"{p['minutes']:.1f}: {p['dev_perplexity']:.0f}" for p in q["dev_curve"] if p["step"])
        rows.append(("dev perplexity (<unk> as a word) by minute", curve))
    rows += [
        ("peak RSS scoring", f"{res['peak_rss_mb']:.0f} MiB"),
        ("cold load", f"{res['load_seconds']:.2f} s"),
        ("model on disk", f"{res['model_dir_mb']:.1f} MiB" + (f", package {res['package_mb']:.1f} MiB" if "package_mb" in res else "")),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


if __name__ == "__main__":
    main()
