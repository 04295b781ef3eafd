"""Investigation sessions: the Traversal V1 Sessions API's resource, its lifecycle and its limits."""
