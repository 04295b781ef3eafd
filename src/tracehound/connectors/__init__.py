"""Connectors: adapters that implement :mod:`tracehound.engine.ports` for concrete telemetry backends."""
