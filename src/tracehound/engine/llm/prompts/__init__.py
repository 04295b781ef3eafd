"""Prompt templates (``string.Template`` syntax: ``$name``), one file per message."""
