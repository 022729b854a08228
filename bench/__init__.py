"""Benchmarks for the marketplace: `python -m bench <name> [options]`.

Each benchmark seeds its own PostgreSQL database (never the app's), starts the
servers it measures on 127.0.0.1, loads them with a bounded load generator and
prints a table; `--write-docs` records the figures in docs/benchmarks.md.
"""
