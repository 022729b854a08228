"""Variants of the real app with one of the storefront remedies taken out again, to
measure what each is worth. Serve one side by side with the real app (the variant,
like the real app's uncached target, runs with the page cache off):

    python -m bench storefront --reuse-data --page-cache off --variant 'before=bench.experiments:make("nomemo,nogram")'

Flags (comma-separated):
  nomemo   count the total on every catalog view (CATALOG_MEMO_SECONDS=0) instead of once a minute
  nogram   leave out the CJK n-gram condition, so PostgreSQL serves 1-2 character Chinese
           terms (木耳) by reading every product, as before migration 0007
  nofts    leave out the FTS5 candidates on SQLite, so every search reads every product with
           LIKE, as before migration 0008

The remedies themselves (docs/benchmarks.md) now live in the app: marketplace/catalog/search.py
and memo.py, migrations/versions/0007_catalog_speed.py, marketplace/core/page_cache.py.
"""
import re
import sys

FLAGS = {"nomemo", "nogram", "nofts"}


def make(flags=""):
    from marketplace import create_app
    from marketplace.catalog import search

    chosen = set(filter(None, flags.split(",")))
    unknown = chosen - FLAGS
    if unknown:
        raise ValueError(f"unknown flags {sorted(unknown)}; known: {sorted(FLAGS)}")
    if "nogram" in chosen:
        search.CJK_SHORT_TERM = re.compile(r"(?!)")  # matches nothing: no term gets the gram condition
    if "nofts" in chosen:
        search.candidates = lambda product_id, terms: []  # no narrowing: the LIKE alone, a scan
    overrides = {"CATALOG_MEMO_SECONDS": 0} if "nomemo" in chosen else {}
    return create_app(**overrides)


if __name__ == "__main__":
    print(__doc__)
    sys.exit(0)
