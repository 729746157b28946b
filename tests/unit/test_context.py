"""Inference is given a Context (network, vocabulary tables, settings), never the component."""
import ast
from pathlib import Path

import pytest
import torch

import spacy_rnnlm
from spacy_rnnlm.inference.context import Context, Settings, Tables
from spacy_rnnlm.inference.predict import predict_units, text_logprobs

INFERENCE = Path(spacy_rnnlm.__file__).parent / "inference"


@pytest.mark.parametrize("path", sorted(INFERENCE.glob("*.py")), ids=lambda p: p.name)
def test_inference_imports_nothing_from_the_pipeline(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            assert "pipeline" not in module.split("."), f"{path.name} imports {module}"
        elif isinstance(node, ast.Import):
            assert not any("pipeline" in alias.name.split(".") for alias in node.names)


def test_a_context_built_by_hand_scores_as_the_component(trained_nlp):
    """Only the network, the tables and the settings go in: the same log-probs as nlp(text)."""
    lm = trained_nlp.get_pipe("rnnlm")
    text = "我们今天去公园玩。魑魅魍魉来了。"
    doc = trained_nlp(text)
    tables = Tables(lm.lm_vocab, lm.spelling, lm.thesaurus, lm.sounds, lm.glyphs)
    ctx = Context(lm.model, tables, Settings(batch_tokens=64, compute_dtype=lm.compute_dtype()), tables.pieces(lm.pieces_weight, lm.pieces_continue))
    units = predict_units(ctx, [doc])[0]
    totals = [unit.total_logprob() for unit in units]
    assert sum(totals) == pytest.approx(doc._.lm_logprob, abs=1e-3)
    words = [[t.text for t in sent] for sent in doc.sents]
    assert text_logprobs(ctx, words) == pytest.approx(totals, abs=1e-3)


def test_tables_are_rebuilt_when_the_component_changes_what_they_come_from(trained_nlp):
    lm = trained_nlp.get_pipe("rnnlm")
    first = lm.inference()
    assert lm.inference().tables is first.tables  # kept while nothing changed
    assert first.corrector is None and first.settings.compute_dtype in (None, torch.bfloat16)
    spelling = lm.spelling
    try:
        lm.spelling = None
        assert lm.inference().tables is not first.tables and lm.inference().spelling is None
    finally:
        lm.spelling = spelling
    assert lm.inference().spelling is spelling
