"""A training logger that shows `lm_perplexity` as it is.

spaCy's console table multiplies every score by 100 (it expects F-scores in [0, 1]); a perplexity
of 219 would read 21900.00. This logger wraps `spacy.ConsoleLogger.v2` and undoes that scaling
for the perplexity column only, so the table means what it says.
"""
import sys
from typing import IO, Any, Callable, Dict, Optional, Tuple, Union

from spacy.language import Language
from spacy.util import registry

UNSCALED = ("lm_perplexity",)


@registry.loggers("spacy-rnnlm.ConsoleLogger.v1")
def console_logger(
    progress_bar: bool = False, console_output: bool = True, output_file: Optional[Union[str, Any]] = None
) -> Callable:
    base = registry.get("loggers", "spacy.ConsoleLogger.v2")(
        progress_bar=progress_bar, console_output=console_output, output_file=output_file
    )

    def setup_printer(nlp: Language, stdout: IO = sys.stdout, stderr: IO = sys.stderr) -> Tuple[Callable, Callable]:
        log_step, finalize = base(nlp, stdout, stderr)

        def log_unscaled(info: Optional[Dict[str, Any]]) -> None:
            if info is not None:
                scores = dict(info.get("other_scores", {}))
                for name in UNSCALED:
                    if isinstance(scores.get(name), (int, float)):
                        scores[name] = scores[name] / 100
                info = dict(info, other_scores=scores)
            log_step(info)

        return log_unscaled, finalize

    return setup_printer
