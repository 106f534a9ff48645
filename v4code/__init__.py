"""v4code: a terminal coding agent for DeepSeek V4."""

__version__ = "0.1.0"

__all__ = ["__version__"]
