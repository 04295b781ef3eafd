"""The ``tracehound`` command line (Typer)."""
