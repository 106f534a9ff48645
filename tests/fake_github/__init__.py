"""A local GitHub REST server for tests: the endpoints `v4code review --pr` uses, as GitHub
documents them (pulls, pulls/N/files, contents, reviews, review comments with edit and
delete), Link-header pagination and a secondary rate limit (403 with Retry-After)."""

from fake_github.server import FakeGitHub, PullFile

__all__ = ["FakeGitHub", "PullFile"]
