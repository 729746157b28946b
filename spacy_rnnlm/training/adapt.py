"""`spacy-rnnlm adapt`: fine-tune a trained pipeline's rnnlm on a user's own text (ULMFiT's
second stage: a general-domain LM, then the target domain) instead of training from scratch.

First the vocabulary grows by the texts' frequent words that the base lacks, and the texts' word
counts go into the unigram table and the spelling model (training/grow.py).
Then it is `spacy train` with the base pipeline's own config, every component sourced from the
(grown) base (`[components.X] source = ...`, so the weights, vocabulary, spelling model and
tables come along), the rnnlm the only one that trains, the user's texts as the corpus (a dev slice held out
by the corpus step's rule, md5(text) % 20 == 1) and a short schedule. The result is a normal
pipeline folder (`model-best` by dev perplexity, `model-last`) that `spacy package` packages;
when the base ships context vectors, the new words get theirs from the user's texts.
Before and after figures (bits per character and perplexity on the dev slice, and on a test
file of the base's own domain when given) go to `adapt.json`: what the adaptation traded.
"""
import json
import random
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import spacy
import srsly
import torch.distributed as dist
from spacy.cli.train import train as spacy_train
from spacy.language import Language
from thinc.api import Config

from ..evaluation import evaluate_texts, find_rnnlm
from ..vectors import CONTEXT, context_vectors
from .corpus import corpus_files, read_texts, split_of
from .distributed import process_group, train_in_group, under_torchrun
from .grow import domain_counts, domain_words, grow
from .sequences import annotating_components

MIN_TEXTS = 20


def split_texts(texts: List[str]) -> Tuple[List[str], List[str]]:
    """(train, dev): dev holds the texts with md5(text) % 20 == 1, as the corpus step splits."""
    train, dev = [], []
    for text in dict.fromkeys(texts):  # de-duplicated, in order
        (dev if split_of(text) == "dev" else train).append(text)
    return train, dev


def adapt_config(nlp: Language, source: Union[str, Path], *, steps: int, learn_rate: float, warmup: float, eval_frequency: int) -> Config:
    """`nlp`'s config with every component sourced from `source` (where `nlp` is saved or
    installed) and the user's corpus and schedule in place (paths.train / paths.dev are filled in
    by `adapt`)."""
    rnnlm = find_rnnlm(nlp)
    config = nlp.config.copy()
    for name in config["nlp"]["pipeline"]:
        config["components"][name] = {"source": str(source)}
    config["training"]["frozen_components"] = [n for n in config["nlp"]["pipeline"] if n != rnnlm.name and n != "sentencizer"]
    config["training"]["annotating_components"] = [n for n in config["nlp"]["pipeline"] if n == "sentencizer"]
    for split in ("train", "dev"):
        config["corpora"][split] = {"@readers": "spacy-rnnlm.StreamCorpus.v1", "path": f"${{paths.{split}}}"}
    training = config["training"]
    # early stop: no better dev score for two evaluations
    training.update(max_steps=steps, max_epochs=0, eval_frequency=eval_frequency, patience=2 * eval_frequency)
    training["optimizer"]["learn_rate"] = {
        "@schedules": "warmup_linear.v1",
        "warmup_steps": max(1, int(warmup * steps)),
        "total_steps": steps,
        "initial_rate": learn_rate,
    }
    config["initialize"]["components"] = {}  # sourced: nothing is built again
    config["initialize"]["vectors"] = str(source)  # the base's static vectors, as its components expect
    return config


def adapt(
    base: Union[str, Path],
    texts_path: Path,
    output: Path,
    *,
    steps: int = 300,
    learn_rate: float = 0.002,
    warmup: float = 0.1,
    eval_frequency: int = 50,
    min_count: int = 3,
    max_new_words: int = 5000,
    base_test: Optional[Path] = None,
    replay: Optional[Path] = None,
    replay_share: float = 0.5,
    use_gpu: int = -1,
    timeout: int = 1800,
) -> Optional[Dict[str, Any]]:
    """Fine-tune `base` on the texts of `texts_path`, its vocabulary grown by the texts' words
    seen at least `min_count` times (at most `max_new_words`, the most frequent; 0: no growth);
    returns the before/after figures. With `replay` (texts of the base's own domain), a
    `replay_share` of the training texts are drawn from it, so that the model does not forget
    the base's domain while it learns the new one.

    Under torchrun (several processes) the training is data-parallel as `train-dist`'s
    (training/distributed.py): process 0 grows the vocabulary and writes the config, all train
    it, each on its shard of the texts, and process 0 writes the pipeline and the figures; the
    other processes return None. `timeout`: seconds a process waits for the others."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    if not 0.0 <= replay_share < 1.0:
        raise ValueError(f"replay_share must be in [0, 1), not {replay_share}")
    settings = dict(steps=steps, learn_rate=learn_rate, warmup=warmup, eval_frequency=eval_frequency)
    settings.update(min_count=min_count, max_new_words=max_new_words, replay=replay, replay_share=replay_share)
    output = Path(output)
    if not under_torchrun():
        plan = _prepare(base, texts_path, output, **settings)
        spacy_train(plan["config"], output, use_gpu=use_gpu)
        return _finish(plan, base, output, base_test)
    with process_group(use_gpu, timeout) as gpu:
        rank = dist.get_rank()
        plans: List[Any] = [None]
        if rank == 0:
            try:
                plans[0] = _prepare(base, texts_path, output, **settings)
            except ValueError as err:  # the others must not wait for a plan that never comes
                plans[0] = str(err)
        dist.broadcast_object_list(plans, src=0)
        if isinstance(plans[0], str):
            raise ValueError(plans[0])
        train_in_group(plans[0]["config"], output, use_gpu=gpu)
        return _finish(plans[0], base, output, base_test) if rank == 0 else None


def _prepare(
    base: Union[str, Path],
    texts_path: Path,
    output: Path,
    *,
    steps: int,
    learn_rate: float,
    warmup: float,
    eval_frequency: int,
    min_count: int,
    max_new_words: int,
    replay: Optional[Path],
    replay_share: float,
) -> Dict[str, Any]:
    """Split the texts, grow the base's vocabulary, write the grown base, the corpus and the
    training config under `output`: what training and `_finish` need."""
    texts = list(read_texts(corpus_files(texts_path)))
    train, dev = split_texts(texts)
    if len(train) + len(dev) < MIN_TEXTS:
        raise ValueError(f"{texts_path} has {len(train) + len(dev)} distinct texts: adapting needs at least {MIN_TEXTS}")
    if not dev:
        dev = [train.pop()]
    domain_train = list(train)
    if replay is not None and replay_share > 0:
        pool = list(read_texts(corpus_files(replay)))
        k = min(len(pool), round(len(train) * replay_share / (1 - replay_share)))
        train += random.Random(0).sample(pool, k)
        random.Random(1).shuffle(train)
    nlp = spacy.load(base)
    lm = find_rnnlm(nlp)
    counts = domain_counts(nlp, domain_train, annotating_components(nlp, lm.name))
    new_words = domain_words(counts, lm.lm_vocab, min_count=min_count, max_new=max_new_words) if max_new_words > 0 else []
    grow(lm, new_words, counts)
    source = output / "base"  # the grown base is what the training config sources
    output.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(source)
    config = adapt_config(nlp, source, steps=steps, learn_rate=learn_rate, warmup=warmup, eval_frequency=min(eval_frequency, steps))
    corpus = output / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train), ("dev", dev)):
        with (corpus / f"{name}.jsonl").open("w", encoding="utf8") as file_:
            file_.writelines(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in rows)
    config["paths"]["train"] = str(corpus / "train.jsonl")
    config["paths"]["dev"] = str(corpus / "dev.jsonl")
    config_path = output / "config.cfg"
    config.to_disk(config_path)
    return {
        "config": config_path,
        "domain_train": domain_train,
        "dev": dev,
        "replay_texts": len(train) - len(domain_train),
        "new_words": [w for w, _ in new_words],
        "context_vectors": bool(new_words) and lm.cfg.get("static_vectors") == CONTEXT,
        "steps": steps,
        "learn_rate": learn_rate,
    }


def _finish(plan: Dict[str, Any], base: Union[str, Path], output: Path, base_test: Optional[Path]) -> Dict[str, Any]:
    """Context vectors of the new words (when the base ships context vectors), then the before
    and after figures, written to `adapt.json`."""
    if plan["context_vectors"]:
        for folder in ("model-best", "model-last"):
            trained = spacy.load(output / folder)
            context_vectors(trained, find_rnnlm(trained), plan["domain_train"], only_new=True)
            trained.to_disk(output / folder)
    tests = {"domain_dev": plan["dev"]}
    if base_test is not None:
        tests["base_test"] = list(read_texts(corpus_files(base_test)))
    report: Dict[str, Any] = {"base": str(base), "train_texts": len(plan["domain_train"]), "replay_texts": plan["replay_texts"]}
    report.update(dev_texts=len(plan["dev"]), steps=plan["steps"], learn_rate=plan["learn_rate"])
    report["new_words"] = len(plan["new_words"])
    report["new_words_examples"] = plan["new_words"][:20]
    for label, model in (("before", base), ("after", output / "model-best")):
        scored = spacy.load(model)
        report[label] = {name: _figures(evaluate_texts(scored, rows)) for name, rows in tests.items()}
    srsly.write_json(output / "adapt.json", report)
    return report


def _figures(metrics: Dict[str, Optional[float]]) -> Dict[str, Optional[float]]:
    return {k: metrics.get(k) for k in ("bits_per_char", "perplexity", "perplexity_closed_vocab", "oov_rate")}
