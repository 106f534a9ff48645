"""Issue boilerplate is ignored by locate, and an issue's title weighs on its own."""

from __future__ import annotations

import subprocess
from pathlib import Path

from v4code.repomap import locate
from v4code.repomap.issue_text import strip_boilerplate


def test_template_comments_and_banners_are_dropped() -> None:
    issue = (
        "Scheduler skips jobs\n<!-- Thanks for submitting an issue! checklist -->\n"
        "Python 3.6.0 |Continuum Analytics, Inc.| (default, Dec 23 2016)\n"
        "IPython 5.1.0 -- An enhanced Interactive Python.\n"
        "In [1]: run_jobs(queue)\n<!-- an unclosed comment"
    )
    kept = strip_boilerplate(issue)
    for gone in ("checklist", "Continuum", "IPython", "unclosed"):
        assert gone not in kept
    assert "Scheduler skips jobs" in kept and "run_jobs(queue)" in kept


def test_plain_text_is_kept_whole() -> None:
    text = "Broke between releases:\nlibfoo 1.2.0\nPython 3.11 is fine\n"
    assert strip_boilerplate(text) == text


def test_the_title_outweighs_words_repeated_in_a_long_log(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "retry.py").write_text("def backoff_delay(attempt):\n    return 2 ** attempt\n")
    (root / "app" / "logging_setup.py").write_text(
        "def configure_handlers(level):\n    # handler formatter stream output level\n"
        "    return level\n"
    )
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    log = "\n".join("handler formatter stream output level" for _ in range(20))
    issue = f"Backoff delay grows too fast between retry attempts\n\nOutput:\n{log}\n"
    ranked = locate(root, issue, top=2)
    assert ranked[0].path == "app/retry.py"
    assert "title words" in ranked[0].why
