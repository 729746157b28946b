"""Input and model handling shared by the commands: streaming reads that report a bad line by its
number and go on, and model loading with one-line errors."""
import json
import sys
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Optional, Tuple

import spacy
from spacy.language import Language

from ..evaluation import find_rnnlm


class CLIError(Exception):
    """An error worth one line to the user, no traceback."""


def load_pipeline(
    model: str, n_alternatives: Optional[int] = None, gpu_id: int = -1, detect_odd: Optional[bool] = None
) -> Language:
    """Load a pipeline from a path or an installed package name; it must have an rnnlm component.
    `gpu_id` >= 0 puts it on that GPU (thinc's device handling; the model follows it);
    `n_alternatives` and `detect_odd`, when given, override the component's settings."""
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    try:
        nlp = spacy.load(model)
    except OSError as err:
        raise CLIError(f"cannot load model '{model}': not a pipeline folder nor an installed package ({err.__class__.__name__})") from err
    except ValueError as err:
        raise CLIError(f"cannot load model '{model}': {err}") from err
    try:
        lm = find_rnnlm(nlp)
    except ValueError as err:
        raise CLIError(str(err)) from err
    if n_alternatives is not None:
        if n_alternatives < 0:
            raise CLIError(f"--alternatives must be >= 0, not {n_alternatives}")
        lm.n_alternatives = n_alternatives
    if detect_odd is not None:
        lm.detect_odd = detect_odd
    return nlp


def _open_input(path: Optional[Path]) -> Tuple[BinaryIO, str, bool]:
    if path is None or str(path) == "-":
        return sys.stdin.buffer, "<stdin>", False
    if not path.exists():
        raise CLIError(f"input file not found: {path}")
    if path.is_dir():
        raise CLIError(f"input is a directory, not a file: {path}")
    return path.open("rb"), str(path), path.suffix == ".jsonl"


def read_texts(
    path: Optional[Path], on_error: Callable[[str], None], jsonl: Optional[bool] = None
) -> Iterator[Tuple[str, int]]:
    """Yield (text, line number) lazily from a .txt (one document per line) or .jsonl file (or
    stdin, JSONL if its first non-blank line looks like a JSON object). A line that cannot be
    decoded or parsed is reported through `on_error` and skipped; the rest is still read."""
    stream, name, is_jsonl = _open_input(path)
    try:
        for number, raw in enumerate(stream, start=1):
            try:
                line = raw.decode("utf8").rstrip("\r\n")
            except UnicodeDecodeError as err:
                on_error(f"{name}:{number}: not UTF-8 text ({err.reason} at byte {err.start})")
                continue
            if jsonl is None and line.strip():
                jsonl = is_jsonl or line.lstrip().startswith("{")
            if jsonl:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    text = record["text"]
                    if not isinstance(text, str):
                        raise TypeError("'text' is not a string")
                except (ValueError, KeyError, TypeError) as err:
                    on_error(f"{name}:{number}: not a JSON object with a 'text' string ({err})")
                    continue
                yield text, number
            else:
                yield line, number
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
