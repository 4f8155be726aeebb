"""Claim C2 inside a task: nested training subsets of one task, each trained to one target."""
