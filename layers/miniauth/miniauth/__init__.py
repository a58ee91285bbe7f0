"""miniauth: the wallet-side authorization server for mini programs."""

__version__ = "0.1.0"
