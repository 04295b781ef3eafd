"""Leaf helpers: errors, clock, ids, time formatting. Imports nothing from tracehound."""
