"""The generalization study: accuracy against batch size, every run trained until finished
(docs/design.md §11)."""
