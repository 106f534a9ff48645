"""Forges v4code talks to over their REST APIs (GitHub): fetching a pull request, posting a review."""
