"""An organisation's data sources (telemetry connectors and their configuration)."""
