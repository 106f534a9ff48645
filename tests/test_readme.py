"""What the README tells a user to type, checked where no other test runs it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def readme() -> str:
    if not README.exists():
        pytest.skip("needs the source tree")
    return README.read_text(encoding="utf-8")


def test_no_install_line_asks_the_package_index_for_an_unpublished_name(readme: str) -> None:
    """v4code is not on PyPI: every install names a checkout, a repository URL or a
    dependency, never `pip install v4code` (which would fetch whatever holds that name)."""
    from_index = re.findall(
        r"""(?:pipx?|uv tool|uv pip) install\s+(?:-\S+\s+)*["']?v4code\b[^\n]*""", readme
    )
    assert from_index == []
    assert 'pipx install "git+https://github.com/OWNER/v4code@TAG"' in readme


def test_the_pre_commit_snippet_shows_a_passing_reviews_findings(readme: str) -> None:
    (snippet,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "repo: local" in b]
    assert re.search(r"^\s+verbose: true\b", snippet, re.M)
