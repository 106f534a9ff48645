"""The repository: files, search, git and the repo map."""
