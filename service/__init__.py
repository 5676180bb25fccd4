"""The safeguarding guidance service."""

__version__ = "1.0.0"  # the one statement of the version; pyproject.toml reads it
