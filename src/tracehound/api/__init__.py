"""The HTTP API: app factory, error envelope, routes, operability endpoints."""
