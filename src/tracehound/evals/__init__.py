"""Offline evaluation of the investigation engine on labelled datasets (``tracehound bench``)."""
