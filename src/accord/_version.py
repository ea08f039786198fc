"""The package version (its own module, so that the CLI and the report read it without importing accord)."""

__version__ = "0.1.0"
