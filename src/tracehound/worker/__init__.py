"""Durable execution of sessions (DBOS workflows), worker liveness and the deadline sweeper."""
