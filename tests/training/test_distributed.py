"""The torchrun entry point: config checks, and a 2-process run where only process 0 writes."""
import json
import os
import subprocess
import sys

import pytest
from spacy import util

from spacy_rnnlm.training.distributed import distributed_config

from ..conftest import ROOT

SMOKE = ROOT / "configs" / "smoke.cfg"


def smoke_config(**training):
    config = util.load_config(SMOKE, interpolate=False)
    config["training"].update(training)
    return config


def test_distributed_config_shards_training_and_silences_other_processes():
    zero = distributed_config(smoke_config(patience=100), rank=0)
    assert zero["training"]["patience"] == 0
    assert zero["corpora"]["train"]["@readers"] == "spacy-rnnlm.ShardedCorpus.v1"
    assert zero["corpora"]["train"]["corpus"]["@readers"] == "spacy.JsonlCorpus.v1"
    assert zero["corpora"]["dev"]["@readers"] == "spacy.JsonlCorpus.v1"
    one = distributed_config(smoke_config(), rank=1)
    assert one["corpora"]["dev"] == {"@readers": "spacy-rnnlm.EmptyCorpus.v1"}
    assert one["training"]["logger"]["@loggers"] == "spacy.ConsoleLogger.v1"


@pytest.mark.parametrize(
    "training,match",
    [({"max_steps": 0}, "max_steps"), ({"max_epochs": 3}, "max_epochs")],
)
def test_distributed_config_rejects_what_would_hang(training, match):
    with pytest.raises(ValueError, match=match):
        distributed_config(smoke_config(**training), rank=0)


def test_distributed_config_rejects_unsynchronized_components():
    config = smoke_config()
    config["nlp"]["pipeline"].append("textcat")
    config["components"]["textcat"] = {"factory": "textcat"}
    with pytest.raises(ValueError, match="textcat"):
        distributed_config(config, rank=0)
    config["training"]["frozen_components"] = ["textcat"]
    distributed_config(config, rank=0)


def test_distributed_config_reads_the_factory_of_a_sourced_component(trained_path):
    """A component sourced from a pipeline folder (as `adapt` writes its config) is known by its
    source's factory: the rnnlm may train, a sourced textcat-like other may not."""
    config = smoke_config()
    for name in config["nlp"]["pipeline"]:
        config["components"][name] = {"source": str(trained_path)}
    distributed_config(config, rank=0)
    config["components"]["rnnlm"] = {"source": str(trained_path / "missing")}
    with pytest.raises(ValueError, match="rnnlm"):
        distributed_config(config, rank=0)


@pytest.mark.slow
@pytest.mark.parametrize("source", ["text", "token cache"])
def test_distributed_torchrun_two_processes_only_rank_zero_writes(tmp_path, shared_corpus, source):
    out = tmp_path / "dist"
    curve = tmp_path / "curve.jsonl"
    train = shared_corpus / "train.jsonl"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    cmd += ["-m", "spacy_rnnlm.training.distributed", str(SMOKE), "--output", str(out)]
    if source == "token cache":
        from spacy_rnnlm.training.preprocess import preprocess

        preprocess(train, SMOKE, tmp_path / "cache", jobs=2, limit=400)
        train = tmp_path / "cache"
        cmd += ["--corpora.train.@readers", "spacy-rnnlm.TokenCache.v1"]
    cmd += ["--paths.train", str(train), "--paths.dev", str(shared_corpus / "dev.jsonl")]
    cmd += ["--corpora.train.limit", "400", "--corpora.dev.limit", "40", "--training.max_steps", "4"]
    cmd += ["--training.eval_frequency", "2", "--training.logger.curve_path", str(curve)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert log.count("Saved pipeline to output directory") == 1
    assert sorted(p.name for p in out.iterdir()) == ["model-best", "model-last"]
    assert (out / "model-last" / "rnnlm" / "model").exists()
    steps = [json.loads(line)["step"] for line in curve.read_text().splitlines()]
    assert steps == [0, 2, 4]  # one logger wrote: each evaluation once


def _count_in_process(rank: int, world_size: int, init_file: str, corpus: str, out: str) -> None:
    """One gloo process: initialize the rnnlm from its shard of a streamed corpus."""
    import torch.distributed as dist

    from spacy_rnnlm.training.corpus import create_stream_corpus

    from ..conftest import make_nlp

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        nlp = make_nlp()
        nlp.config["training"]["annotating_components"] = ["sentencizer"]
        reader = create_stream_corpus(corpus)
        nlp.get_pipe("rnnlm").initialize(lambda: reader(nlp), nlp=nlp, corpus=reader, thesaurus=None)
        nlp.get_pipe("rnnlm").lm_vocab.to_disk(f"{out}.{rank}.json")
    finally:
        dist.destroy_process_group()


def test_distributed_vocabulary_counted_on_shards_equals_the_whole_count(tmp_path):
    """Under a process group each process counts only its shard; the merged counts give every
    process the vocabulary (words, counts, spelling sample) of a one-process count."""
    import torch.multiprocessing as mp

    from spacy_rnnlm.training.corpus import create_stream_corpus

    from ..conftest import TRAIN_TEXTS, make_nlp

    corpus = tmp_path / "texts.txt"
    texts = [t.replace("公园", p) for t in TRAIN_TEXTS for p in ("公园", "学校", "北京", "海边")] * 2
    corpus.write_text("\n".join(texts) + "\n", encoding="utf8")
    out = str(tmp_path / "vocab")
    mp.spawn(_count_in_process, args=(2, str(tmp_path / "init"), str(corpus), out), nprocs=2)
    nlp = make_nlp()
    nlp.config["training"]["annotating_components"] = ["sentencizer"]
    reader = create_stream_corpus(corpus)
    lm = nlp.get_pipe("rnnlm")
    lm.initialize(lambda: reader(nlp), nlp=nlp, corpus=reader, thesaurus=None)
    whole = lm.lm_vocab.to_dict()
    for rank in range(2):
        assert json.loads((tmp_path / f"vocab.{rank}.json").read_text(encoding="utf8")) == whole
