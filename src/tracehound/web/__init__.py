"""The web UI: server-rendered pages at ``/ui`` over the same domain services as the V1 API."""
