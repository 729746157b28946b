"""`spacy-rnnlm preprocess`: segment a corpus once, in N worker processes, into a token cache.

With a trained pipeline the vocabulary is the pipeline's and the corpus is read once. With a
config the vocabulary is counted first, as `RNNLM.initialize` counts it (the same sequences, the
same `min_freq`/`max_size` from `[initialize.components.rnnlm]`), each job counting its share and
the counts merged; then the corpus is read again and written as ids. Job k handles documents
i % N == k and writes shard k (see training/cache.py for the layout). Memory stays bounded
whatever the corpus size: texts are streamed, spaCy's strings are freed every `CHUNK` documents
(memory zones), ids go to disk in buffered appends, and the counts are bounded by
`max_count_types` as in `LMVocab.count`. The cache appears under `--output` only once complete.
"""
import inspect
import multiprocessing
import shutil
import time
from collections import Counter
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy
import spacy
from spacy import util
from spacy.language import Language

from ..inference.units import encode, unit_words
from ..pipeline.lm import RNNLM
from ..vocab import BOS_ID, PAD_ID, SPECIALS, UNK_ID, LMVocab
from .cache import ShardWriter, write_manifest
from .corpus import corpus_files, indexed_texts
from .sequences import annotating_components

CHUNK = 2000
_JOB: Dict[str, Any] = {}  # what the workers need, set before they fork


def _initialize_settings() -> Dict[str, Any]:
    """`RNNLM.initialize`'s defaults for the settings that decide the vocabulary."""
    params = inspect.signature(RNNLM.initialize).parameters
    return {k: params[k].default for k in ("min_freq", "max_size", "max_count_types", "spelling_sample")}


def load_source(path: Path) -> Tuple[Language, RNNLM, Optional[LMVocab], Dict[str, Any]]:
    """The pipeline that segments, its rnnlm, the vocabulary (a trained pipeline's; None from a
    config, to be counted) and the vocabulary settings."""
    path = Path(path)
    init: Dict[str, Any] = {}
    if path.is_file():
        config = util.load_config(path, interpolate=True)
        nlp = util.load_model_from_config(config, auto_fill=True)
        init = config.get("initialize", {}).get("components", {})
    elif (path / "config.cfg").exists():
        nlp = spacy.load(path)
    else:
        raise ValueError(f"{path} is neither a config file nor a pipeline folder (with config.cfg)")
    rnnlms = [proc for _, proc in nlp.pipeline if isinstance(proc, RNNLM)]
    if not rnnlms:
        raise ValueError(f"{path} has no rnnlm component: nothing decides the vocabulary")
    rnnlm = rnnlms[0]
    settings = _initialize_settings()
    settings.update({k: v for k, v in init.get(rnnlm.name, {}).items() if k in settings})
    return nlp, rnnlm, rnnlm.lm_vocab if rnnlm.is_initialized else None, settings


def segmented(nlp: Language, annotators: List[Tuple[str, Callable]], items: Iterable[Tuple[int, Optional[str]]]) -> Iterator[Tuple[Optional[List[List[str]]], int]]:
    """(the words of each sequence, len(doc)) per document as the rnnlm trains on it, or
    (None, -1) for a line without text. spaCy's strings are freed after every chunk."""
    items = iter(items)
    while True:
        chunk = list(islice(items, CHUNK))
        if not chunk:
            return
        out = []
        with nlp.memory_zone():
            for _, text in chunk:
                if text is None:
                    out.append((None, -1))
                    continue
                doc = nlp.make_doc(text)
                out.append((unit_words(doc, annotators), len(doc)))
        yield from out


def _documents(job: int, n_jobs: int) -> Iterator[Tuple[Optional[List[List[str]]], int]]:
    return segmented(_JOB["nlp"], _JOB["annotators"], indexed_texts(_JOB["files"], job, n_jobs, _JOB["limit"]))


def _count_job(job: int, n_jobs: int) -> Tuple[Counter, int]:
    sequences = (words for units, _ in _documents(job, n_jobs) if units for words in units)
    return LMVocab.count(sequences, max_types=_JOB["max_count_types"])


def _encode_job(job: int, n_jobs: int) -> Tuple[Dict[str, int], numpy.ndarray, Counter]:
    vocab: LMVocab = _JOB["vocab"]
    writer = ShardWriter(_JOB["folder"], job)
    counts = numpy.zeros(len(vocab), dtype="int64")

    def unknown_words() -> Iterator[List[str]]:  # writes the shard as the counter reads it
        for units, length in _documents(job, n_jobs):
            seqs = [encode(vocab, words) for words in units or ()]
            writer.add(seqs, length)
            for words, seq in zip(units or (), seqs):
                numpy.add.at(counts, seq, 1)
                yield [w for w, i in zip(words, seq[1:-1]) if i == UNK_ID]

    unknown, _ = LMVocab.count(unknown_words(), max_types=_JOB["max_count_types"])
    return writer.close(), counts, unknown


def _run_jobs(func: Callable, n_jobs: int, extra: tuple = ()) -> List[Any]:
    if n_jobs == 1:
        return [func(0, 1, *extra)]
    with multiprocessing.get_context("fork").Pool(n_jobs) as pool:
        return pool.starmap(func, [(k, n_jobs, *extra) for k in range(n_jobs)])


def preprocess(
    corpus: Path, model_or_config: Path, output: Path, *, jobs: int = 1, limit: int = 0, overwrite: bool = False
) -> Dict[str, Any]:
    """Write the token cache of `corpus` to `output`; returns its manifest's figures. With
    `overwrite`, an existing `output` is replaced once the new cache is complete."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    output = Path(output)
    if output.exists() and (not output.is_dir() or (any(output.iterdir()) and not overwrite)):
        raise ValueError(f"{output} exists and is not empty: remove it, choose another --output or pass --overwrite")
    files = corpus_files(corpus)
    start = time.perf_counter()
    nlp, rnnlm, vocab, settings = load_source(model_or_config)
    partial = output.with_name(output.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    _JOB.update(nlp=nlp, annotators=annotating_components(nlp, rnnlm.name), files=files, limit=limit, folder=partial, max_count_types=settings["max_count_types"])
    try:
        info: Dict[str, Any] = {"source": [str(f) for f in files], "limit": limit, "jobs": jobs}
        info["annotators"] = [name for name, _ in _JOB["annotators"]]
        if vocab is None:
            freqs, n_sequences = LMVocab.sum_counts(_run_jobs(_count_job, jobs))
            if n_sequences == 0:
                raise ValueError(f"No text in {corpus}")
            vocab = LMVocab.from_counts(freqs, n_sequences, min_freq=settings["min_freq"], max_size=settings["max_size"])
            del freqs
            info["made_from"] = {"config": str(model_or_config), "min_freq": settings["min_freq"], "max_size": settings["max_size"]}
        else:
            info["made_from"] = {"pipeline": str(model_or_config)}
        _JOB["vocab"] = vocab
        shards, counts, unknown = [], numpy.zeros(len(vocab), dtype="int64"), Counter()
        for sizes, job_counts, job_unknown in _run_jobs(_encode_job, jobs):
            shards.append(sizes)
            counts += job_counts
            unknown.update(job_unknown)
        if not sum(s["units"] for s in shards):
            raise ValueError(f"No text in {corpus}")
        counts[PAD_ID] = counts[BOS_ID] = 0
        spelling_sample = dict(unknown.most_common(settings["spelling_sample"]))
        info.update(n_docs=sum(s["docs"] for s in shards), n_units=sum(s["units"] for s in shards), n_tokens=sum(s["tokens"] for s in shards))
        info["seconds"] = round(time.perf_counter() - start, 1)
        write_manifest(partial, LMVocab(vocab.words[len(SPECIALS) :], counts.tolist()), spelling_sample, shards, info)
        if output.exists():
            shutil.rmtree(output)
        partial.rename(output)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        _JOB.clear()
    return info
