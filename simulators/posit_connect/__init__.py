"""Posit Connect API simulator: `PositConnectSimulator(...).start()` serves `/__api__/...`."""

from .simulator import ROUTE_MIN_VERSION, PositConnectSimulator

__all__ = ["ROUTE_MIN_VERSION", "PositConnectSimulator"]
