"""Safe file changes: matching, change sets, atomic application, checkpoints and undo."""
