"""Replication of Wilson & Martinez (2003): the general inefficiency of batch training."""

__version__ = "0.1.0"
