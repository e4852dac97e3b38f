"""Load generator for the webhook ingress, run as its own process.

``python -m bench.loadgen --url URL --secret S --duration D (--concurrency C | --rate R)``
prints one JSON line. A minimal HTTP/1.1 keep-alive client on asyncio streams, so
the generator is not the bottleneck (httpx costs several times more CPU per
request). Closed loop: C connections, each sending the next request as soon as
the previous answer arrives. Open loop (``--rate``): requests are due at a fixed
rate and latency counts from when a request was due, so a stalled server cannot
hide its queueing (no coordinated omission).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bench.payloads import DeliveryFactory
from bench.stats import ms, percentile

WARMUP_SECONDS = 0.5
OPEN_LOOP_CONNECTIONS = 64
ISSUE_ID_BASE = 10_000_000


@dataclass
class Tally:
    """What the connections observed after the warm-up."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0


class Connection:
    """One keep-alive connection that sends a signed delivery and reads the answer."""

    def __init__(self, host: str, port: int, path: str, factory: DeliveryFactory) -> None:
        self.host, self.port, self.path = host, port, path
        self.factory = factory
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, seq: int, run_id: str) -> int:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = self.factory.body(seq, ISSUE_ID_BASE + seq % 50_000)
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Content-Type: application/json\r\nUser-Agent: Atlassian Webhook HTTP Client\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Hub-Signature: {self.factory.signature(body)}\r\n"
            f"X-Atlassian-Webhook-Identifier: {run_id}-{seq}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length:
            await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def connection_to(url: str, factory: DeliveryFactory) -> Connection:
    parts = urlsplit(url)
    return Connection(parts.hostname or "127.0.0.1", parts.port or 80, parts.path, factory)


async def _attempt(connection: Connection, seq: int, run_id: str, tally: Tally) -> int | None:
    """Send one delivery; a broken connection counts as an error and is reopened next time."""
    try:
        return await connection.send(seq, run_id)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        tally.errors += 1
        await connection.close()
        return None


async def closed_loop(
    url: str, factory: DeliveryFactory, concurrency: int, duration: float
) -> tuple[Tally, float]:
    run_id = uuid.uuid4().hex[:12]
    tally = Tally()
    counter = iter(range(10**9))
    started = time.perf_counter()
    measure_from = started + WARMUP_SECONDS
    deadline = measure_from + duration

    async def loop() -> None:
        connection = connection_to(url, factory)
        while (now := time.perf_counter()) < deadline:
            status = await _attempt(connection, next(counter), run_id, tally)
            if status is not None and now >= measure_from:
                tally.latencies.append(time.perf_counter() - now)
                tally.statuses[status] += 1
        await connection.close()

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return tally, time.perf_counter() - measure_from


async def open_loop(
    url: str, factory: DeliveryFactory, rate: float, duration: float
) -> tuple[Tally, float]:
    run_id = uuid.uuid4().hex[:12]
    tally = Tally()
    total = int(rate * (duration + WARMUP_SECONDS))
    warm = int(rate * WARMUP_SECONDS)
    counter = iter(range(total))
    started = time.perf_counter()

    async def loop() -> None:
        connection = connection_to(url, factory)
        for seq in counter:
            due = started + seq / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            status = await _attempt(connection, seq, run_id, tally)
            if status is not None and seq >= warm:
                tally.latencies.append(time.perf_counter() - due)
                tally.statuses[status] += 1
        await connection.close()

    await asyncio.gather(*(loop() for _ in range(OPEN_LOOP_CONNECTIONS)))
    return tally, time.perf_counter() - started - WARMUP_SECONDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--duration", type=float, default=5.0)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--concurrency", type=int)
    mode.add_argument("--rate", type=float)
    args = parser.parse_args()
    factory = DeliveryFactory(args.secret)
    if args.rate:
        tally, seconds = asyncio.run(open_loop(args.url, factory, args.rate, args.duration))
    else:
        tally, seconds = asyncio.run(
            closed_loop(args.url, factory, args.concurrency, args.duration)
        )
    done = len(tally.latencies)
    print(
        json.dumps(
            {
                "requests": done,
                "seconds": seconds,
                "throughput": done / seconds if seconds > 0 else 0.0,
                "p50_ms": ms(percentile(tally.latencies, 0.50)),
                "p99_ms": ms(percentile(tally.latencies, 0.99)),
                "max_ms": ms(max(tally.latencies, default=0.0)),
                "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
                "errors": tally.errors,
                "body_sizes": factory.sizes(),
            }
        )
    )


if __name__ == "__main__":
    main()
