"""Organisations, users, roles and API keys."""
