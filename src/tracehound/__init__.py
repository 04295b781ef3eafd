"""tracehound: an open-source AI SRE behind a Traversal-compatible Sessions API."""

__version__ = "0.1.0"
