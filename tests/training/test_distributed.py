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


@pytest.mark.slow
def test_distributed_torchrun_two_processes_only_rank_zero_writes(tmp_path, shared_corpus):
    out = tmp_path / "dist"
    curve = tmp_path / "curve.jsonl"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    cmd += ["-m", "spacy_rnnlm.training.distributed", str(SMOKE), "--output", str(out)]
    cmd += ["--paths.train", str(shared_corpus / "train.jsonl"), "--paths.dev", str(shared_corpus / "dev.jsonl")]
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
