import json

import pytest
import spacy
from typer.testing import CliRunner

from spacy_rnnlm.cli import app

runner = CliRunner()


@pytest.fixture
def texts_file(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("我们今天去公园玩。天气很好。\n代码医生工作室真棒。\n\n", encoding="utf8")
    return path


def invoke(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_cli_score_writes_a_record_per_document(trained_path, texts_file, tmp_path):
    out = tmp_path / "out.jsonl"
    result = invoke("score", trained_path, texts_file, "--output", out, "--alternatives", 2)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf8").splitlines()]
    assert [r["line"] for r in records] == [1, 2, 3]
    first = records[0]
    assert first["text"] == "我们今天去公园玩。天气很好。"
    assert len(first["sentences"]) == 2 and first["perplexity"] > 1
    token = first["sentences"][0]["tokens"][0]
    assert token["logprob"] < 0 and 1 <= len(token["alternatives"]) <= 2  # at most 2; the min-p cut may leave fewer
    assert records[2]["perplexity"] is None  # an empty document has a defined, empty result


def test_cli_score_reads_jsonl_from_stdin(trained_path):
    stdin = json.dumps({"text": "天气很好。"}, ensure_ascii=False) + "\n"
    result = invoke("score", trained_path, "-", input=stdin)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["text"] == "天气很好。"


def test_cli_score_bad_lines_reported_rest_processed(trained_path, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes('{"text": "天气很好。"}\n{"oops": 1}\n'.encode() + b"\xff\xfe\n" + '{"text": "我们去公园。"}\n'.encode())
    out = tmp_path / "out.jsonl"
    result = invoke("score", trained_path, path, "-o", out)
    assert result.exit_code == 1
    assert "in.jsonl:2" in result.output and "in.jsonl:3" in result.output
    assert "Traceback" not in result.output
    assert [json.loads(line)["line"] for line in out.read_text().splitlines()] == [1, 4]


@pytest.mark.parametrize("args", [("score", "/no/such/model"), ("evaluate", "{model}", "/no/such/file.txt"), ("score", "{model}", "{empty}")])
def test_cli_errors_are_one_line(trained_path, tmp_path, args):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    args = [a.format(model=trained_path, empty=empty) for a in args]
    result = invoke(*args, input="")
    assert result.exit_code == 1
    assert result.output.strip().startswith("error:") and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_cli_generate(trained_path):
    result = invoke("generate", trained_path, "--prompt", "我们", "--n", 3, "--seed", 1, "--max-new-tokens", 8)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(line.startswith("我们") for line in lines)
    again = invoke("generate", trained_path, "--prompt", "我们", "--n", 3, "--seed", 1, "--max-new-tokens", 8)
    assert again.stdout == result.stdout
    bad = invoke("generate", trained_path, "--top-p", 2)
    assert bad.exit_code == 1 and "E005" in bad.output


def test_cli_evaluate_table_and_json(trained_path, texts_file, tmp_path):
    out = tmp_path / "metrics.json"
    result = invoke("evaluate", trained_path, texts_file, "--output", out)
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["perplexity"] > 1 and 0 <= metrics["oov_rate"] <= 1 and metrics["tokens_per_second"] > 0
    assert 1 < metrics["perplexity_closed_vocab"] <= metrics["perplexity"] and metrics["bits_per_char"] > 0
    assert "perplexity" in result.stdout


def test_cli_rank_most_plausible_first(trained_path, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("玩公园去今天我们。天气很好。\n", encoding="utf8")
    result = invoke("rank", trained_path, path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    values = [float(line.split("\t")[0]) for line in lines]
    assert values == sorted(values, reverse=True)
    assert lines[0].endswith("天气很好。") and lines[-1].endswith("玩公园去今天我们。")


def test_cli_substitutes_for_any_word(trained_path):
    result = invoke("substitutes", trained_path, "我们今天去公园玩。", "今天", "-a", 3)
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
    assert 1 <= len(rows) <= 3 and all(0 < float(p) <= 1 for _, p in rows)
    missing = invoke("substitutes", trained_path, "我们今天去公园玩。", "明天")
    assert missing.exit_code != 0 and "does not occur" in missing.output


def test_cli_score_html(trained_path, texts_file, tmp_path):
    page = tmp_path / "view.html"
    result = invoke("score", trained_path, texts_file, "-o", tmp_path / "o.jsonl", "--html", page)
    assert result.exit_code == 0, result.output
    assert page.read_text(encoding="utf8").count('class="lm-token"') >= 10


def test_cli_typos_pair_accuracy_and_correction(trained_path, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"original": "我们今天去公园玩。", "corrupted": "我们今天去公圆玩。", "start": 6, "end": 7},
        {"original": "我们今天去公园玩。天气很好。", "corrupted": "我们今天去公园玩。天气很号。", "start": 12, "end": 13},
    ]
    pairs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf8")
    out = tmp_path / "typos.json"
    result = invoke("typos", trained_path, pairs, "--output", out)
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["pairs"] == 2 and metrics["original_more_probable"] == 1.0
    # both typos corrected to exactly the original, and neither clean twin changed
    correction = metrics["correction"]
    assert correction["recall"] == 1.0 and correction["precision"] == 1.0 and correction["clean_changed"] == 0.0
    assert correction["detection_recall"] == 1.0
    # a threshold above every gain corrects nothing; the sweep says so
    assert metrics["correction_sweep"][-1]["threshold"] == 20.0
    assert "correction.f1" in result.output
    pairs.write_text('{"original": "x"}\n', encoding="utf8")
    bad = invoke("typos", trained_path, pairs)
    assert bad.exit_code == 1 and "error:" in bad.output


def test_cli_score_detect_odd(trained_path, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("我们今天去公圆玩。\n", encoding="utf8")
    out = tmp_path / "out.jsonl"
    assert invoke("score", trained_path, path, "-o", out, "--detect-odd").exit_code == 0
    tokens = json.loads(out.read_text())["sentences"][0]["tokens"]
    assert [(t["text"], t["suggestion"]) for t in tokens if t["odd"]] == [("公圆", "公园")]
    assert invoke("score", trained_path, path, "-o", out).exit_code == 0
    assert all("odd" not in t for t in json.loads(out.read_text())["sentences"][0]["tokens"])


def test_cli_correct_one_line_per_line_and_jsonl_edits(trained_path, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("我们今天去公圆玩。\n\n我们今天去公园玩。\n", encoding="utf8")
    out = tmp_path / "out.txt"
    result = invoke("correct", trained_path, path, "-o", out)
    assert result.exit_code == 0, result.output
    # the typo is corrected, the empty line stays, the clean line comes back unchanged
    assert out.read_text(encoding="utf8").split("\n") == ["我们今天去公园玩。", "", "我们今天去公园玩。", ""]
    assert invoke("correct", trained_path, path, "-o", out, "--jsonl").exit_code == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf8").splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3]
    edit = rows[0]["edits"]
    assert len(edit) == 1 and edit[0]["start"] == 5 and edit[0]["end"] == 7
    assert edit[0]["text"] == "公圆" and edit[0]["suggestion"] == "公园" and edit[0]["gain"] > 0
    assert rows[2]["edits"] == [] and rows[2]["corrected"] == rows[2]["text"]


def test_cli_similar_nearest_words_by_cosine(trained_path):
    result = invoke("similar", trained_path, "公园", "--n", 4)
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert len(rows) == 4 and "公园" not in [w for w, _ in rows]
    cosines = [float(c) for _, c in rows]
    assert cosines == sorted(cosines, reverse=True) and all(-1.0 <= c <= 1.0 for c in cosines)
    # a word without a vector goes through its characters; none at all is a one-line error
    via = invoke("similar", trained_path, "去去")
    assert via.exit_code == 0 and "has no vector" in via.stderr
    none = invoke("similar", trained_path, "犇骉")
    assert none.exit_code == 1 and none.output.startswith("error:") and "犇骉" in none.output


def test_cli_vectors_writes_a_pipeline_with_context_vectors(trained_path, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("我们今天去公园玩。\n天气很好。\n", encoding="utf8")
    result = invoke("vectors", trained_path, texts, "--output", tmp_path / "out")
    assert result.exit_code == 0, result.output
    loaded = spacy.load(tmp_path / "out")
    assert loaded.vocab.vectors.shape[1] == 48 and loaded.vocab["公园"].vector.any()
    assert not loaded.vocab["学习"].vector.any()  # in the vocabulary, not in these texts: zeros
    missing = invoke("vectors", trained_path, tmp_path / "nope.txt", "--output", tmp_path / "out2")
    assert missing.exit_code == 1 and "not found" in missing.output
