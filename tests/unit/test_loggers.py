import io
import json

import spacy

from spacy_rnnlm.loggers import console_logger


def test_loggers_curve_file_and_unscaled_perplexity(tmp_path):
    nlp = spacy.blank("en")
    nlp.config["training"]["score_weights"] = {"lm_score": 1.0, "lm_perplexity_closed_vocab": 0.0}
    out = io.StringIO()
    log_step, finalize = console_logger(curve_path=str(tmp_path / "run" / "curve.jsonl"))(nlp, out, out)
    base = {"epoch": 0, "losses": {"rnnlm": 12.5}, "checkpoints": [], "words": 3000}
    log_step(dict(base, step=0, score=0.1, seconds=2, other_scores={"lm_perplexity": 900.0, "lm_perplexity_closed_vocab": 600.0, "lm_score": 0.1}))
    log_step(None)  # a step without evaluation
    log_step(dict(base, step=500, score=0.5, seconds=61, other_scores={"lm_perplexity": 400.0, "lm_perplexity_closed_vocab": 150.0, "lm_score": 0.5}))
    finalize()
    rows = [json.loads(line) for line in (tmp_path / "run" / "curve.jsonl").read_text().splitlines()]
    assert [(r["step"], r["seconds"], r["lm_perplexity"], r["lm_perplexity_closed_vocab"]) for r in rows] == [
        (0, 2, 900.0, 600.0),
        (500, 61, 400.0, 150.0),
    ]
    # the table shows the KenLM-comparable (closed-vocabulary) perplexity, unscaled
    table = out.getvalue()
    assert "600.00" in table and "150.00" in table and "15000.00" not in table
    assert "900.00" not in table and "400.00" not in table
