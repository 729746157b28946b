"""The commands as plain functions (what the tests call); `__init__.py` wraps them for typer."""
import json
import sys
from pathlib import Path
from typing import IO, Dict, Iterator, List, Optional

import srsly
from spacy.tokens import Doc
from tqdm import tqdm

from ..evaluation import evaluate_texts, find_rnnlm
from ..extensions import sentence_spans
from .io import CLIError, load_pipeline, read_texts


def _score_fields(span) -> Dict[str, Optional[float]]:
    return {
        "logprob": span._.lm_logprob,
        "perplexity": span._.lm_perplexity,
        "plausibility": span._.lm_plausibility,
        "slor": span._.lm_slor,
    }


def doc_record(doc: Doc, line: Optional[int] = None) -> Dict:
    """The JSON record of a scored doc: doc scores, and per sentence its scores and tokens."""
    record: Dict = {"line": line, "text": doc.text, **_score_fields(doc), "bits_per_char": doc._.lm_bits_per_char}
    record["sentences"] = [
        {
            "text": sent.text,
            **_score_fields(sent),
            "tokens": [
                {
                    "text": t.text,
                    "logprob": t._.lm_logprob,
                    "alternatives": t._.lm_alternatives,
                    **({"odd": t._.lm_is_odd, "suggestion": t._.lm_suggestion} if t._.lm_is_odd is not None else {}),
                }
                for t in sent
                if not t.is_space
            ],
        }
        for sent in sentence_spans(doc)
        if len(sent)
    ]
    return record


class ErrorLog:
    """Collects bad-line reports, printing each to stderr at once."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, message: str) -> None:
        self.count += 1
        print(f"warning: {message} (skipped)", file=sys.stderr)


def _progress(items: Iterator, enabled: Optional[bool]) -> Iterator:
    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(items, unit="doc", disable=not show, file=sys.stderr) if show else items


def score(
    model: str,
    input_path: Optional[Path],
    output: IO,
    *,
    batch_size: int = 64,
    n_process: int = 1,
    alternatives: Optional[int] = None,
    progress: Optional[bool] = None,
    html: Optional[Path] = None,
    detect_odd: Optional[bool] = None,
    errors: Optional[ErrorLog] = None,
) -> int:
    """Score each document of the input and write one JSON line per document; return how many.
    Streams: documents are read, scored and written in batches."""
    nlp = load_pipeline(model, alternatives, detect_odd=detect_odd)
    errors = errors or ErrorLog()
    texts = read_texts(input_path, errors)
    rendered: List[Doc] = []
    n = 0
    docs = nlp.pipe(texts, as_tuples=True, batch_size=batch_size, n_process=n_process)
    for doc, line in _progress(docs, progress):
        output.write(json.dumps(doc_record(doc, line), ensure_ascii=False) + "\n")
        if html is not None:
            rendered.append(doc)
        n += 1
    if n == 0 and errors.count == 0:
        raise CLIError("the input is empty: no documents to score")
    if html is not None:
        from ..render import render

        html.write_text(render(rendered, page=True), encoding="utf8")
    return n


def correct(
    model: str,
    input_path: Optional[Path],
    output: IO,
    *,
    jsonl: bool = False,
    batch_size: int = 64,
    progress: Optional[bool] = None,
    errors: Optional[ErrorLog] = None,
) -> int:
    """Spelling correction: one corrected line per input line (a line with nothing to correct
    comes back unchanged), or with `jsonl` one JSON object per line with the text, the corrected
    text and the edits (character offsets into the text). Returns how many lines were written."""
    nlp = load_pipeline(model, 0, detect_odd=True)
    errors = errors or ErrorLog()
    n = 0
    docs = nlp.pipe(read_texts(input_path, errors), as_tuples=True, batch_size=batch_size)
    for doc, line in _progress(docs, progress):
        if jsonl:
            record = {"line": line, "text": doc.text, "corrected": doc._.lm_corrected, "edits": doc._.lm_corrections}
            output.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            output.write(doc._.lm_corrected.replace("\n", " ") + "\n")
        n += 1
    if n == 0 and errors.count == 0:
        raise CLIError("the input is empty: nothing to correct")
    return n


def generate(
    model: str,
    prompt: str = "",
    *,
    n: int = 1,
    max_new_tokens: int = 50,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: Optional[int] = None,
) -> List[str]:
    """Continuations of `prompt`, each returned with the prompt in front."""
    from ..evaluation import find_rnnlm

    nlp = load_pipeline(model)
    try:
        texts = find_rnnlm(nlp).generate(
            prompt, n=n, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed
        )
    except ValueError as err:
        raise CLIError(str(err)) from err
    return [prompt + text for text in texts]


# Words whose nearest neighbours `evaluate` shows (a glance at the static vectors).
PROBE_WORDS = ("好", "中国", "经济", "喜欢", "质量")


def similar(model: str, word: str, *, n: int = 10) -> Dict:
    """The `n` words nearest to `word` in the pipeline's static vectors (cosine). A word without
    a vector of its own is looked up through the mean vector of its characters that have one
    (`via` says which); with none, an error."""
    if n < 1:
        raise CLIError(f"--n must be at least 1, not {n}")
    nlp = load_pipeline(model)
    if nlp.vocab.vectors.shape[0] == 0:
        raise CLIError(f"model '{model}' has no word vectors (train it with this version, or see the README: static vectors)")
    word = word.strip()
    if not word:
        raise CLIError("the word is empty")
    result = nearest_words(nlp, word, n)
    if result is None:
        raise CLIError(f"'{word}' has no vector, nor has any of its characters")
    return result


def vectors(model: str, input_path: Optional[Path], output: Path, *, errors: Optional[ErrorLog] = None) -> Dict:
    """Give the pipeline "context" static vectors (each word's mean contextual state over the
    texts of `input_path`, see spacy_rnnlm/vectors.py) and save it to `output`."""
    from ..vectors import context_vectors

    nlp = load_pipeline(model)
    errors = errors or ErrorLog()
    texts = (text for text, _ in read_texts(input_path, errors))
    try:
        seen = context_vectors(nlp, find_rnnlm(nlp), texts)
    except ValueError as err:
        raise CLIError(str(err)) from err
    nlp.to_disk(output)
    return {"words": nlp.vocab.vectors.shape[0], "seen": seen, "width": nlp.vocab.vectors.shape[1], "output": str(output)}


def nearest_words(nlp, word: str, n: int) -> Optional[Dict]:
    """Nearest neighbours of `word` by cosine in `nlp.vocab.vectors` (see `similar`), or None
    when neither the word nor any of its characters has a vector."""
    import numpy

    vocab = nlp.vocab
    via = [word] if vocab.has_vector(word) else [char for char in word if vocab.has_vector(char)]
    if not via:
        return None
    query = numpy.mean([vocab.get_vector(w) for w in via], axis=0, keepdims=True).astype("float32")
    keys, _, scores = vocab.vectors.most_similar(query, n=min(n + 1, vocab.vectors.shape[0]))
    nearest = [(vocab.strings[int(key)], float(score)) for key, score in zip(keys[0], scores[0])]
    nearest = [(w, score) for w, score in nearest if w != word][:n]
    return {"word": word, "via": via, "nearest": [{"word": w, "cosine": round(score, 4)} for w, score in nearest]}


def evaluate(
    model: str, input_path: Optional[Path], *, batch_size: int = 64, gpu_id: int = -1, errors: Optional[ErrorLog] = None
) -> Dict:
    """Corpus-level figures: perplexity, plausibility, OOV rate, tokens/second… (scores only:
    alternatives, which evaluation never reports, are not drawn)."""
    nlp = load_pipeline(model, gpu_id=gpu_id, n_alternatives=0)
    errors = errors or ErrorLog()
    texts = [text for text, _ in read_texts(input_path, errors)]
    if not texts:
        raise CLIError("the input is empty: nothing to evaluate")
    metrics = {"model": model, "data": str(input_path or "<stdin>"), **evaluate_texts(nlp, texts, batch_size=batch_size)}
    if nlp.vocab.vectors.shape[0]:
        for word in PROBE_WORDS:
            found = nearest_words(nlp, word, 5) if nlp.vocab.has_vector(word) else None
            if found:
                metrics[f"nearest {word}"] = " ".join(f"{row['word']}:{row['cosine']:.2f}" for row in found["nearest"])
    return metrics


def typos(model: str, pairs_path: Path, *, batch_size: int = 64) -> Dict:
    """Pair accuracy and spelling correction on typo pairs (scripts/make_typos.py makes them)."""
    from ..evaluation import evaluate_pairs

    nlp = load_pipeline(model, n_alternatives=0, detect_odd=True)
    try:
        pairs = list(srsly.read_jsonl(pairs_path))
    except ValueError as err:
        raise CLIError(f"cannot read {pairs_path}: {err}") from err
    missing = [i for i, p in enumerate(pairs, 1) if not {"original", "corrupted", "start", "end"} <= set(p)]
    if not pairs or missing:
        raise CLIError(f"{pairs_path}: no pairs, or lines without original/corrupted/start/end: {missing[:5]}")
    return {"model": model, "data": str(pairs_path), **evaluate_pairs(nlp, pairs, batch_size=batch_size)}


def rank(model: str, input_path: Optional[Path], *, batch_size: int = 64, errors: Optional[ErrorLog] = None) -> List[Dict]:
    """All sentences of the input, from most to least plausible."""
    nlp = load_pipeline(model, n_alternatives=0)
    errors = errors or ErrorLog()
    rows = []
    for doc, line in nlp.pipe(read_texts(input_path, errors), as_tuples=True, batch_size=batch_size):
        for sent in sentence_spans(doc):
            if sent._.lm_plausibility is not None:
                rows.append({"line": line, "text": sent.text, **_score_fields(sent)})
    if not rows:
        raise CLIError("the input is empty: no sentences to rank")
    rows.sort(key=lambda row: -row["plausibility"])
    return rows


def preprocess(corpus: Path, model_or_config: Path, output: Path, *, jobs: int = 1, limit: int = 0, overwrite: bool = False) -> Dict:
    """Segment a corpus once into a token cache (training/preprocess.py)."""
    from ..training.preprocess import preprocess as run

    try:
        return run(corpus, model_or_config, output, jobs=jobs, limit=limit, overwrite=overwrite)
    except ValueError as err:
        raise CLIError(str(err)) from err


def adapt(base: str, texts: Path, output: Path, **settings) -> Dict:
    """Fine-tune a pipeline's rnnlm on the user's texts (training/adapt.py)."""
    from ..training.adapt import adapt as run

    try:
        return run(base, texts, output, **settings)
    except ValueError as err:
        raise CLIError(str(err)) from err


def substitutes(model: str, text: str, word: str, *, occurrence: int = 1, alternatives: Optional[int] = None) -> List:
    """Substitutes for the `occurrence`-th `word` of `text` (any stretch of characters, whatever
    jieba's cut; see spacy_rnnlm/spans.py): `[word, probability]` pairs."""
    from ..spans import span_alternatives

    start = -1
    for _ in range(max(occurrence, 1)):
        start = text.find(word, start + 1) if word else -1
        if start < 0:
            raise CLIError(f"'{word}' does not occur {occurrence} time(s) in the text")
    nlp = load_pipeline(model, alternatives)
    return [list(pair) for pair in span_alternatives(nlp, text, start, start + len(word))]


def write_json(data, path: Optional[Path]) -> None:
    if path is not None:
        srsly.write_json(path, data)
