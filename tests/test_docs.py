"""The README and the docs: every relative link resolves (a file, and a heading when it names one)."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    out = set()
    for line in page.read_text(encoding="utf8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return out


def relative_links(page: Path):
    in_code = False
    for line in page.read_text(encoding="utf8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if not in_code:
            for target in LINK.findall(line):
                if not re.match(r"[a-z]+:", target):
                    yield target


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    links = list(relative_links(page))
    for target in links:
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: {target} does not exist"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file), f"{page.name}: {target}: no heading '{anchor}'"


def test_readme_is_short_and_links_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf8")
    assert len(readme.splitlines()) <= 250
    linked = {Path(t.partition("#")[0]).name for t in relative_links(ROOT / "README.md")}
    assert {p.name for p in (ROOT / "docs").glob("*.md")} <= linked
    assert "CHANGELOG.md" in linked


def test_a_broken_link_is_caught(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# A title\n", encoding="utf8")
    page.write_text("[ok](other.md#a-title) [bad](missing.md) [web](https://spacy.io)\n```\n[code](x.md)\n```\n", encoding="utf8")
    assert list(relative_links(page)) == ["other.md#a-title", "missing.md"]
    assert "a-title" in anchors(tmp_path / "other.md")
    assert not (tmp_path / "missing.md").exists()


def test_configuration_page_describes_every_setting_of_the_factory():
    from spacy.language import Language

    import spacy_rnnlm  # noqa: F401  (registers the factory)

    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf8")
    settings = Language.get_factory_meta("rnnlm").default_config
    missing = [key for key in settings if f"\n{key} (" not in page]
    assert not missing, f"docs/configuration.md does not describe {missing}"
