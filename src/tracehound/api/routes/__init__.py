"""Route modules: HTTP only, each handler a few lines around a service call."""
