"""The corpus step reproduces ../shared/corpus byte for byte, and splits users' own text by the same rule."""
import hashlib
import json
import subprocess
import sys

import pytest

from .conftest import ROOT

SCRIPT = ROOT / "scripts" / "build_corpus.py"


def run_script(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


@pytest.mark.slow
def test_corpus_reproduces_shared_split_exactly(tmp_path, shared_corpus):
    out = run_script(tmp_path)
    assert out.returncode == 0, out.stderr
    for split in ("train", "dev", "test"):
        assert (tmp_path / f"{split}.jsonl").read_bytes() == (shared_corpus / f"{split}.jsonl").read_bytes()


def test_corpus_user_text_split_by_md5(tmp_path):
    texts = [f"第{i}句话。" for i in range(200)] + ["第1句话。", "", "  "]
    source = tmp_path / "mine.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf8")
    out = run_script(tmp_path / "out", "--source", source)
    assert out.returncode == 0, out.stderr
    seen = {}
    for split in ("train", "dev", "test"):
        for line in (tmp_path / "out" / f"{split}.jsonl").read_text(encoding="utf8").splitlines():
            text = json.loads(line)["text"]
            bucket = int(hashlib.md5(text.encode("utf8")).hexdigest(), 16) % 20
            assert {0: "test", 1: "dev"}.get(bucket, "train") == split
            assert text not in seen
            seen[text] = split
    assert len(seen) == 200  # duplicates and empty lines dropped


def test_corpus_bad_jsonl_line_reports_line_number(tmp_path):
    source = tmp_path / "mine.jsonl"
    source.write_text('{"text": "好"}\n{"txt": "坏"}\n', encoding="utf8")
    out = run_script(tmp_path / "out", "--source", source)
    assert out.returncode != 0
    assert "mine.jsonl:2" in out.stderr
