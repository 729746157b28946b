"""Corpus readers for corpora too big for memory, sharded across data-parallel processes.

`spacy-rnnlm.StreamCorpus.v1` reads `.txt` (one document per line) and `.jsonl` (a "text" field)
files, gzipped or not, line by line; with `[training] max_epochs = -1` spaCy calls it once per
epoch and never holds the corpus. Under torch.distributed each process keeps every world-th
document (by its index among the non-empty lines), before tokenizing, so the processes together
see every document exactly once per epoch. `spacy-rnnlm.ShardedCorpus.v1` shards another reader's
examples the same way (after it has read them), for configs whose reader knows nothing of ranks.
"""
import gzip
import hashlib
import json
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.training import Example
from spacy.util import registry

from .parallel import world

SUFFIXES = (".txt", ".jsonl", ".txt.gz", ".jsonl.gz")
def split_of(text: str) -> str:
    """The split a text belongs to: md5 of its UTF-8 bytes, read as a hex integer, modulo 20:
    0 → "test", 1 → "dev", anything else → "train" (the corpus step's rule; figures compare)."""
    bucket = int(hashlib.md5(text.encode("utf8")).hexdigest(), 16) % 20
    return "test" if bucket == 0 else "dev" if bucket == 1 else "train"


def corpus_files(path: Union[str, Path]) -> List[Path]:
    """A file, or the corpus files of a directory (sorted, so every process sees one order)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.name.endswith(SUFFIXES))
        if not files:
            raise ValueError(f"No corpus files ({', '.join(SUFFIXES)}) in {path}")
        return files
    if not path.exists():
        raise ValueError(f"Corpus file not found: {path}")
    if not path.name.endswith(SUFFIXES):
        raise ValueError(f"Corpus file {path} is not one of {', '.join(SUFFIXES)}")
    return [path]


def _open(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf8")
    return path.open(encoding="utf8")


def indexed_texts(paths: Iterable[Path], rank: int = 0, world_size: int = 1, limit: int = 0) -> Iterator[Tuple[int, Optional[str]]]:
    """(i, text) for each document i kept by process `rank` of `world_size`: document i (counting
    non-empty lines over the files in order) goes to process i % world_size; text is None for a
    line that holds no text (a JSON "text" that is empty). `limit` > 0 stops after that many
    documents of the whole corpus (all processes included)."""
    index = 0
    for path in paths:
        is_jsonl = ".jsonl" in path.name
        with _open(path) as file_:
            for line_no, line in enumerate(file_, 1):
                if not line.strip():
                    continue
                if limit and index >= limit:
                    return
                i = index
                index += 1
                if i % world_size != rank:
                    continue
                if is_jsonl:
                    try:
                        text = json.loads(line)["text"]
                    except (ValueError, KeyError, TypeError) as err:
                        raise ValueError(f"{path}:{line_no}: not a JSON object with a \"text\" field ({err})") from err
                else:
                    text = line.rstrip("\n")
                yield i, text if isinstance(text, str) and text.strip() else None


def read_texts(paths: Iterable[Path], rank: int = 0, world_size: int = 1, limit: int = 0) -> Iterator[str]:
    """The texts of the documents process `rank` keeps (see `indexed_texts`)."""
    for _, text in indexed_texts(paths, rank, world_size, limit):
        if text is not None:
            yield text


@registry.readers("spacy-rnnlm.StreamCorpus.v1")
def create_stream_corpus(
    path: Optional[Union[str, Path]], limit: int = 0, max_length: int = 0
) -> Callable[[Language], Iterator[Example]]:
    """Stream a `.txt`/`.jsonl` (optionally `.gz`) file or a folder of them as examples for
    unsupervised training, sharded by process under torch.distributed.

    path (Union[str, Path]): A corpus file, or a folder whose corpus files are read in name order.
    limit (int): Read at most this many documents (0: all).
    max_length (int): Skip documents longer than this many characters (0: no limit).
    RETURNS (Callable[[Language], Iterator[Example]]): The reader.
    """
    if path is None:
        raise ValueError("spacy-rnnlm.StreamCorpus.v1 needs a path (e.g. --paths.train)")
    files = corpus_files(path)

    def read(nlp: Language) -> Iterator[Example]:
        rank, world_size = world()
        for text in read_texts(files, rank, world_size, limit):
            if max_length and len(text) > max_length:
                continue
            doc = nlp.make_doc(text)
            yield Example(doc, doc.copy())

    read.shards_by_rank = True  # type: ignore[attr-defined]
    return read


@registry.readers("spacy-rnnlm.ShardedCorpus.v1")
def create_sharded_corpus(corpus: Callable[[Language], Iterable[Example]]) -> Callable[[Language], Iterator[Example]]:
    """Another reader's examples, sharded by process: example i goes to process i % world size.

    corpus (Callable[[Language], Iterable[Example]]): The reader to shard (e.g. spacy.JsonlCorpus.v1).
    RETURNS (Callable[[Language], Iterator[Example]]): The reader.
    """

    def read(nlp: Language) -> Iterator[Example]:
        rank, world_size = world()
        for i, eg in enumerate(corpus(nlp)):
            if i % world_size == rank:
                yield eg

    read.shards_by_rank = True  # type: ignore[attr-defined]
    return read
