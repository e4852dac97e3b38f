"""Time series that the charts draw, computed from the fakes' request logs."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Protocol


class Request(Protocol):
    """What ``fakes.faults.RecordedRequest`` offers: arrival (monotonic), method, route, status."""

    at: float
    method: str
    endpoint: str
    status: int


def per_second(requests: Iterable[Request], method: str, endpoint: str) -> dict[str, Any]:
    """Requests to ``method endpoint`` per whole second since the first request of the log:
    ``seconds`` (0, 1, ...), ``ok`` (answered 2xx) and ``rate_limited`` (answered 429)."""
    logged = list(requests)
    if not logged:
        return {"seconds": [], "ok": [], "rate_limited": []}
    start = min(r.at for r in logged)
    length = math.floor(max(r.at for r in logged) - start) + 1
    ok, limited = [0] * length, [0] * length
    for request in logged:
        if request.method != method or request.endpoint != endpoint:
            continue
        second = math.floor(request.at - start)
        if 200 <= request.status < 300:
            ok[second] += 1
        elif request.status == 429:
            limited[second] += 1
    return {"seconds": list(range(length)), "ok": ok, "rate_limited": limited}
