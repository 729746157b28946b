"""A training logger that shows the perplexities as they are.

spaCy's console table multiplies every score by 100 (it expects F-scores in [0, 1]); a perplexity
of 219 would read 21900.00. This logger wraps `spacy.ConsoleLogger.v2` and undoes that scaling
for the perplexity columns only, so the table means what it says. With `curve_path`, it also
appends one JSON line per evaluation (step, seconds since the start, words seen, scores): the
learning curve against wall-clock time that the benchmarks report.
"""
import json
import sys
from pathlib import Path
from typing import IO, Any, Callable, Dict, Optional, Tuple, Union

from spacy.language import Language
from spacy.util import registry

UNSCALED = ("lm_perplexity", "lm_perplexity_closed_vocab")


@registry.loggers("spacy-rnnlm.ConsoleLogger.v1")
def console_logger(
    progress_bar: bool = False,
    console_output: bool = True,
    output_file: Optional[Union[str, Any]] = None,
    curve_path: Optional[str] = None,
) -> Callable:
    """spaCy's console logger with `lm_perplexity` and `lm_perplexity_closed_vocab` unscaled.

    curve_path (Optional[str]): A JSONL file (overwritten when training starts) that gets one
        line per evaluation: {"step", "seconds", "words", "score", "lm_perplexity",
        "lm_perplexity_closed_vocab", "loss"}.
    """
    base = registry.get("loggers", "spacy.ConsoleLogger.v2")(
        progress_bar=progress_bar, console_output=console_output, output_file=output_file
    )

    def setup_printer(nlp: Language, stdout: IO = sys.stdout, stderr: IO = sys.stderr) -> Tuple[Callable, Callable]:
        log_step, finalize = base(nlp, stdout, stderr)
        curve = None
        if curve_path is not None:
            Path(curve_path).parent.mkdir(parents=True, exist_ok=True)
            curve = open(curve_path, "w", encoding="utf8")

        def log_unscaled(info: Optional[Dict[str, Any]]) -> None:
            if info is not None:
                if curve is not None and info.get("score") is not None:
                    other = info.get("other_scores") or {}
                    row = {
                        "step": info["step"],
                        "seconds": info.get("seconds"),
                        "words": info.get("words"),
                        "score": info["score"],
                        "lm_perplexity": other.get("lm_perplexity"),
                        "lm_perplexity_closed_vocab": other.get("lm_perplexity_closed_vocab"),
                        "loss": sum((info.get("losses") or {}).values()),
                    }
                    curve.write(json.dumps(row) + "\n")
                    curve.flush()
                scores = dict(info.get("other_scores", {}))
                for name in UNSCALED:
                    if isinstance(scores.get(name), (int, float)):
                        scores[name] = scores[name] / 100
                info = dict(info, other_scores=scores)
            log_step(info)

        def finish() -> None:
            if curve is not None:
                curve.close()
            finalize()

        return log_unscaled, finish

    return setup_printer
