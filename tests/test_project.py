"""End to end: the project's `smoke` workflow in a temporary copy of the project, then the
packaged pipeline loaded by name in a fresh process."""
import json
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT


@pytest.mark.slow
def test_project_smoke_workflow_packages_a_loadable_pipeline(tmp_path):
    from weasel.cli.run import project_run

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "project.yml", project)
    for folder in ("configs", "scripts"):
        shutil.copytree(ROOT / folder, project / folder)
    project_run(project, "smoke")
    metrics = json.loads((project / "metrics" / "smoke.json").read_text())
    assert metrics["perplexity"] > 1 and 0 < metrics["plausibility"] < 1
    assert metrics["tokens_per_second"] > 0
    typos = json.loads((project / "metrics" / "smoke_typos.json").read_text())
    assert typos["pairs"] > 0 and 0 <= typos["correction"]["f1"] <= 1
    assert 0 <= typos["correction"]["clean_changed"] <= 1
    code = (
        "import spacy, json; nlp = spacy.load('zh_rnnlm_smoke'); doc = nlp('代码医生工作室真棒。');"
        "print(json.dumps([doc._.lm_perplexity, [t._.lm_alternatives for t in doc], nlp.get_pipe('rnnlm').cfg['static_vectors'], nlp.vocab.vectors.shape[1]]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    perplexity, alternatives, vectors_kind, width = json.loads(out.stdout.strip().splitlines()[-1])
    assert perplexity > 1
    # up to n_alternatives = 3 each; fewer where the min-p cut leaves fewer (医生, outside the
    # smoke vocabulary, gets its dictionary synonym 先生 with the synonym bonus, and nothing else)
    assert all(1 <= len(alts) <= 3 for alts in alternatives) and any(len(alts) == 3 for alts in alternatives)
    # no junk draws: a content word (真棒 above all) never gets a function word or punctuation
    from spacy_rnnlm.inference.substitutes import FUNCTION_WORDS

    for word, alts in zip(["代码", "医生", "工作室", "真棒"], alternatives):
        for alt, _ in alts:
            assert alt not in FUNCTION_WORDS and any(c.isalnum() for c in alt), (word, alts)
    # the package carries the context vectors of the smoke-context-vectors step (forward states)
    assert vectors_kind == "context" and width == 48
