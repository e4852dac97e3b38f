"""``gateway ...``: the operator's command line (console script ``gateway.cli:app``)."""

from gateway.cli.main import app

__all__ = ["app"]
