"""Every link and image in the repository's Markdown resolves: relative files exist inside the
repository, ``#anchors`` name a heading of the target page (GitHub's slug rule), and http(s)
links are well formed (syntax only: the tests never reach the network)."""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import ROOT
from markdown_it import MarkdownIt  # a dependency of rich, which textrobust requires

_PARSER = MarkdownIt("commonmark").enable("table")


def markdown_files(root: Path = ROOT) -> list[Path]:
    """The repository's Markdown files: tracked or untracked-but-not-ignored, per git; every
    ``*.md`` outside hidden folders when git cannot say."""
    try:
        command = ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"]
        listed = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True).stdout.split()
        return sorted({root / name for name in listed if (root / name).is_file()})
    except (OSError, subprocess.CalledProcessError):
        return sorted(
            p for p in root.rglob("*.md") if not any(part.startswith(".") for part in p.relative_to(root).parts)
        )


def github_slug(text: str) -> str:
    """GitHub's heading anchor: lowercase, punctuation dropped (letters, digits, ``_``, ``-`` and
    spaces kept), spaces turned into hyphens."""
    kept = "".join(c for c in text.lower() if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def _inline_text(token) -> str:
    return "".join(child.content for child in token.children or [] if child.type in ("text", "code_inline"))


def anchors(path: Path) -> set[str]:
    """The ``#anchors`` GitHub gives the headings of a Markdown file (repeats get ``-1``, ``-2``)."""
    tokens = _PARSER.parse(path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            slug = github_slug(_inline_text(tokens[i + 1]))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            if count:
                seen[f"{slug}-{count}"] = 1
    return set(seen)


def links(path: Path) -> list[str]:
    """Targets of the links and images of a Markdown file (code blocks and code spans excluded)."""
    found = []

    def walk(tokens):
        for token in tokens:
            if token.type == "link_open":
                found.append(token.attrGet("href"))
            elif token.type == "image":
                found.append(token.attrGet("src"))
            if token.children:
                walk(token.children)

    walk(_PARSER.parse(path.read_text(encoding="utf-8")))
    return found


REPO_PATH = re.compile(r"(?:textrobust|vision|scripts|tests|docs)/[\w./-]*")
PYTHON_NAME = re.compile(r"(?:textrobust|vision)(?:\.\w+)+")


def code_spans(path: Path, pattern: re.Pattern) -> list[str]:
    """Code spans of a Markdown file that are wholly a match of ``pattern``."""
    found = []

    def walk(tokens):
        for token in tokens:
            if token.type == "code_inline" and pattern.fullmatch(token.content):
                found.append(token.content)
            if token.children:
                walk(token.children)

    walk(_PARSER.parse(path.read_text(encoding="utf-8")))
    return found


def code_paths(path: Path) -> list[str]:
    """Repository paths named in code spans (`` `textrobust/core/engine.py` ``), so that a moved or
    renamed module shows up here and not only in a reader's failed search."""
    return code_spans(path, REPO_PATH)


def resolves(name: str) -> bool:
    """Whether a dotted name (``textrobust.callbacks.RobustnessCallback``) names a module or an
    attribute of one."""
    import importlib

    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                found = getattr(found, attribute)
        except AttributeError:
            return False
        return True
    return False


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """One readable line per link of ``path`` that does not resolve."""
    problems = []
    for target in links(path):
        where = f"{path.relative_to(root)}: {target!r}"
        parts = urlsplit(target)
        if parts.scheme in ("http", "https"):
            if not parts.netloc or " " in target:
                problems.append(f"{where}: malformed URL")
            continue
        if parts.scheme == "mailto":
            continue
        if parts.scheme or parts.netloc:
            problems.append(f"{where}: unexpected scheme")
            continue
        file = (path.parent / unquote(parts.path)).resolve() if parts.path else path.resolve()
        if not file.is_relative_to(root.resolve()):
            problems.append(f"{where}: points outside the repository")
        elif not file.exists():
            problems.append(f"{where}: no such file")
        elif parts.fragment:
            if file.suffix.lower() != ".md":
                problems.append(f"{where}: anchor into a non-Markdown file")
            elif unquote(parts.fragment) not in anchors(file):
                problems.append(f"{where}: no heading with this anchor in {file.relative_to(root.resolve())}")
    return problems


def test_the_documentation_is_found():
    names = {p.relative_to(ROOT).as_posix() for p in markdown_files()}
    assert {"README.md", "docs/index.md", "docs/cli.md", "docs/certification.md"} <= names


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_link_resolves(path):
    assert broken_links(path) == []


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_repository_path_in_code_exists(path):
    assert [name for name in code_paths(path) if not (ROOT / name).exists()] == []


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_python_name_in_code_resolves(path):
    assert [name for name in code_spans(path, PYTHON_NAME) if not resolves(name)] == []


def test_readme_links_every_docs_page():
    linked = {(ROOT / t.split("#")[0]).resolve() for t in links(ROOT / "README.md") if not urlsplit(t).scheme}
    pages = {p.resolve() for p in (ROOT / "docs").glob("*.md")}
    assert pages and pages <= linked, sorted(p.name for p in pages - linked)


def test_slugs_follow_github():
    assert github_slug("Certification (textrobust certify)") == "certification-textrobust-certify"
    assert github_slug("Outputs (--output DIR)") == "outputs---output-dir"
    assert github_slug("The RPR paper's MNIST experiment") == "the-rpr-papers-mnist-experiment"
    assert github_slug("Vision (scripts/bench_vision.py)") == "vision-scriptsbench_visionpy"


def test_names_that_moved_do_not_resolve():
    assert resolves("textrobust.core.engine.Engine") and resolves("textrobust.core.engine")
    assert not resolves("textrobust.core.engine.NoSuchEngine") and not resolves("textrobust.no_such_module.x")


def test_the_checker_reports_broken_links(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "there.md").write_text("# A page\n\n## Its `second` part\n")
    (tmp_path / "picture.png").write_bytes(b"png")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/there.md) [ok](docs/there.md#its-second-part) ![ok](picture.png) [ok](#top)\n"
        "[ok](https://huggingface.co/docs/evaluate) `[in code](nowhere.md)`\n\n# Top\n\n"
        "```\n[in a block](nowhere.md)\n```\n\n"
        "| a | b |\n|---|---|\n| [missing](docs/gone.md) | ![missing](gone.png) |\n\n"
        "[bad anchor](docs/there.md#its-third-part) [bad url](https://) [outside](../elsewhere.md)\n"
    )
    problems = broken_links(page, root=tmp_path)
    expected = ["docs/gone.md", "gone.png", "docs/there.md#its-third-part", "https://", "../elsewhere.md"]
    assert [p.split(": ")[1] for p in problems] == [repr(t) for t in expected]
