"""`v4code review`: a model review of a diff, for people, CI and pre-commit hooks."""
