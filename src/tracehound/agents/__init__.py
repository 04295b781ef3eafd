"""Agents (Everruns-style investigation profiles) and the capabilities they combine."""
