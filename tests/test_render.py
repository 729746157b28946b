import re
import shutil
import subprocess

import pytest

from spacy_rnnlm import render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def test_render_shades_tokens_and_marks_sentences(trained_nlp):
    doc = trained_nlp("代码医生工作室真棒。我们今天去公园玩。")
    html = render(doc)
    spans = re.findall(r'class="lm-token" data-logprob="([-0-9.]+)" data-surprisal="([0-9.]+)" style="background: rgba\(220, 40, 40, ([0-9.]+)\)"', html)
    assert len(spans) == len(doc)
    # more surprising tokens are shaded darker
    by_bits = sorted((float(bits), float(alpha)) for _, bits, alpha in spans)
    assert [a for _, a in by_bits] == sorted(a for _, a in by_bits)
    assert html.count('class="lm-sent"') == 2
    assert html.count('class="lm-tip"') == len(doc)
    assert doc[0]._.lm_alternatives[0][0] in html
    assert render([doc, doc], page=True).startswith("<!DOCTYPE html>")


def test_render_escapes_text(trained_nlp):
    html = render(trained_nlp("<script>alert(1)</script>"))
    assert "<script>" not in html


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_render_in_headless_chromium(trained_nlp, tmp_path):
    docs = list(trained_nlp.pipe(["代码医生工作室真棒。我们今天去公园玩。", "天气很好。"]))
    page = tmp_path / "page.html"
    page.write_text(render(docs, page=True), encoding="utf8")
    common = CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([CHROMIUM, *common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    n_tokens = sum(len(doc) for doc in docs)
    assert dom.stdout.count('class="lm-token"') == n_tokens
    assert dom.stdout.count('class="lm-tip"') == n_tokens
    assert dom.stdout.count('class="lm-plaus"') == 3
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *common, f"--screenshot={shot}", "--window-size=900,300", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 1000
