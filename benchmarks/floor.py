"""How fast the default model could run at best here: its compute kernels' time against the speed targets.

    python benchmarks/floor.py training/rnnlm/model-best --test corpus/test.jsonl --train corpus/train.jsonl

Each speed target of the issues is a ratio; this asks whether a loop with no overhead at all
could meet it on this machine. It profiles real passes (torch.profiler, CPU) and adds up the
self time of the kernels the model cannot do without: matrix products, the RNN layers and
their backward, the softmaxes. Everything else (Python, spaCy, indexing, copies, sampling,
the optimizer) is counted as free, so each figure is an upper bound:
- scoring, alternatives off: tokenizer time / (tokenizer time + kernels), the best share of the
  tokenizer-only speed (target 25 %);
- 5 substitutes from both sides: plain scoring's wall time / (plain scoring's wall time + the
  kernels substitutes add), the best share of the alternatives-off speed (target 50 %);
- training: tokens / kernel seconds of the plain training step (the benchmark suite's loop over
  the same padded batches), against pytorch/examples word_language_model's step timed in this run (target 10×).
Figures, not assertions.
"""
import argparse
import itertools
from typing import Callable, Dict, List

import spacy
import srsly
import torch
from torch.profiler import ProfilerActivity, profile

from run import best_seconds, padded_batch, plain_training_seconds, pytorch_examples_tokens_per_second

from spacy_rnnlm.evaluation import find_rnnlm
from spacy_rnnlm.models.architectures import torch_module

# The kernels a pass cannot do without, forward and backward.
KERNELS = (
    "aten::mm",
    "aten::addmm",
    "aten::bmm",
    "aten::mkldnn_rnn_layer",
    "aten::mkldnn_rnn_layer_backward",
    "aten::_log_softmax",
    "aten::_softmax",
    "aten::_log_softmax_backward_data",
)


def kernel_seconds(run: Callable[[], object]) -> float:
    """Self CPU seconds of `KERNELS` during one call of `run`."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    return sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in KERNELS) / 1e6


def scoring_floor(nlp, texts: List[str]) -> Dict[str, float]:
    lm = find_rnnlm(nlp)
    list(nlp.pipe(texts, batch_size=256))  # warm-up; fills the substitutes' per-word cache
    tokenizer = best_seconds(lambda: list(nlp.tokenizer.pipe(texts)), 5)
    out: Dict[str, float] = {"tokenizer_s": tokenizer}
    for name, n_alt in (("off", 0), ("substitutes", 5)):
        lm.n_alternatives, lm.alternatives_context, lm.detect_odd = n_alt, "both", False
        out[f"{name}_s"] = best_seconds(lambda: list(nlp.pipe(texts, batch_size=256)), 2)
        out[f"{name}_kernels_s"] = kernel_seconds(lambda: list(nlp.pipe(texts, batch_size=256)))
    lm.n_alternatives = 5
    out["scoring_share_now"] = tokenizer / out["off_s"]
    out["scoring_share_best"] = tokenizer / (tokenizer + out["off_kernels_s"])
    added = out["substitutes_kernels_s"] - out["off_kernels_s"]
    out["substitutes_share_now"] = out["off_s"] / out["substitutes_s"]
    out["substitutes_share_best"] = out["off_s"] / (out["off_s"] + added)
    return out


def training_floor(nlp, train_texts: List[str], batches: int = 12) -> Dict[str, float]:
    """The plain training step on the component's own padded batches of ~3,000 words."""
    lm = find_rnnlm(nlp)
    module = torch_module(lm.model)
    docs = list(nlp.pipe(train_texts, disable=["rnnlm"]))
    tensors, group, size = [], [], 0
    for doc in docs:
        group.append(doc)
        size += len(doc)
        if size >= 3000:
            tensors.append(padded_batch(lm, group))
            group, size = [], 0
        if len(tensors) == batches + 2:
            break
    torch.manual_seed(0)
    model = type(module)(module.n_vocab, pad_id=module.pad_id, n_special=module.n_special, **lm.model.attrs["settings"])
    dtype = lm.compute_dtype(training=True)
    plain_training_seconds(model, tensors[:2], dtype)  # warm-up
    words = sum(t[3] for t in tensors[2:])
    seconds = plain_training_seconds(model, tensors[2:], dtype)
    kernels = kernel_seconds(lambda: plain_training_seconds(model, tensors[2:], dtype))
    ref = pytorch_examples_tokens_per_second(module.n_vocab)
    return {
        "tokens": words,
        "pytorch_examples_tokens_per_second": ref,
        "times_reference_now": words / seconds / ref,
        "times_reference_best": words / kernels / ref,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--test", default="corpus/test.jsonl")
    parser.add_argument("--train", default="corpus/train.jsonl")
    parser.add_argument("--output", default="metrics/floor.json")
    args = parser.parse_args()
    nlp = spacy.load(args.model)
    texts = [row["text"] for row in srsly.read_jsonl(args.test)]
    train = [row["text"] for row in itertools.islice(srsly.read_jsonl(args.train), 4000)]
    result = {"scoring": scoring_floor(nlp, texts), "training": training_floor(nlp, train)}
    srsly.write_json(args.output, result)
    s, t = result["scoring"], result["training"]
    print(f"scoring, alternatives off: {s['scoring_share_now']:.1%} of the tokenizer now, at best {s['scoring_share_best']:.1%} (target 25 %)")
    print(f"5 substitutes: {s['substitutes_share_now']:.1%} of alternatives off now, at best {s['substitutes_share_best']:.1%} (target 50 %)")
    print(f"training: {t['times_reference_now']:.1f}x the reference now, at best {t['times_reference_best']:.1f}x (target 10x)")
    print(f"seconds: {', '.join(f'{k} {v:.2f}' for k, v in s.items() if k.endswith('_s'))}")
    print(f"written: {args.output}")


if __name__ == "__main__":
    main()
