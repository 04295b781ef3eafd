"""Root-cause ranking methods: one module per method (config dataclass + function + typed result)."""
