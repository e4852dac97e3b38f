"""Benchmarks of the gateway: ``python -m bench`` (or ``make bench``) prints comparable figures.

Each benchmark starts the real pieces (uvicorn, ARQ, embedded Redis, SQLite, the
fakes over loopback) in separate processes, measures side by side in one run and
writes its figures to ``bench/results/``.
"""
