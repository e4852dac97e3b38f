"""``gateway ...``: the operator's command line (console script ``gateway.cli:main``)."""

from gateway.cli.main import app, main

__all__ = ["app", "main"]
