"""The optimizer study: the scaling study repeated per optimizer (docs/design.md §12)."""
