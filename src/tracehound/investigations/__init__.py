"""Runs one turn of a session through the engine: builds the sources, investigates or answers a follow-up."""
