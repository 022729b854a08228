"""Where a storefront page's time goes: the load test's pages, requested in-process one
after another (production config, page cache off, the benchmark database), beside the
bare page, counting the CPU time this process spends per request.

CPU time, unlike wall time, hardly depends on what else runs on a shared machine; a
page costing k times the bare page's CPU cannot serve more than 1/k of its requests
per second on saturated cores (PostgreSQL's own CPU comes on top, for both).

    python -m bench.storefront_profile                      # CPU ms per request, each page and the bare one
    python -m bench.storefront_profile --pyinstrument product   # where one page's time goes
    python -m bench.storefront_profile --page-cache catalog product   # answered from the page cache

With --page-cache the pages are answered from the anonymous page cache of the process
(no Redis), every request a new visitor without cookies as in the load test: the product
page's "Add to cart" then gets each visitor's own CSRF token and session cookie
(marketplace/core/page_tokens.py).

Batches of 100 requests alternate between the pages; each figure is the best batch.
"""
import argparse
import logging
import os
import sys
import time
from urllib.parse import quote

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench"


def _pages(url):
    from .storefront_data import sample_products

    ids = sample_products(url, 100)
    return {"catalog": ["/products"], "page50": ["/products?page=50"], "search": ["/products?q=" + quote("木耳")],
            "lily": ["/products?q=lily"], "product": [f"/products/{i}" for i in ids], "home": ["/"]}


def _request(app, path):
    from werkzeug.test import create_environ

    route, _, query = path.partition("?")
    status = []
    body = b"".join(app(create_environ(route, query_string=query, base_url="http://127.0.0.1:8000"),
                        lambda s, headers, exc=None: status.append(s)))
    if not status[0].startswith("200"):
        raise RuntimeError(f"{path} answered {status[0]}: {body[:200]!r}")


def _batch(app, paths, n=100):
    started = time.process_time()
    for i in range(n):
        _request(app, paths[i % len(paths)])
    return (time.process_time() - started) * 1000 / n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("pages", nargs="*", default=["catalog", "page50", "search", "lily", "product"])
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help="the benchmark's database: PostgreSQL, or the sqlite:///PATH file a SQLite run made")
    p.add_argument("--batches", type=int, default=5)
    p.add_argument("--pyinstrument", action="store_true", help="profile the first page with pyinstrument instead")
    p.add_argument("--page-cache", action="store_true", help="answer the pages from the page cache (kept an hour)")
    args = p.parse_args(argv)
    os.environ.update(MARKETPLACE_CONFIG="production", SECRET_KEY="bench", DATABASE_URL=args.database_url,
                      PAGE_CACHE_SECONDS="3600" if args.page_cache else "0", REDIS_URL="",
                      BENCH_DATABASE_URL=args.database_url)
    n = 500 if args.page_cache else 100  # (a cached page costs a tenth: bigger batches, as steady)
    from marketplace import create_app

    from .bare_app import create_app as create_bare

    app, bare = create_app(), create_bare(args.database_url)
    logging.getLogger().handlers = []  # gunicorn's stderr goes to /dev/null in the load test
    pages = _pages(args.database_url)
    for name in args.pages:
        for path in pages[name] * 2:  # warm: statements prepared, fragments (or whole pages) kept
            _request(app, path)
    if args.pyinstrument:
        from pyinstrument import Profiler

        with Profiler(interval=0.0005) as profiler:
            _batch(app, pages[args.pages[0]], 300)
        profiler.print(show_all=False)
        return 0
    best = {name: float("inf") for name in ["bare", *args.pages]}
    for _ in range(args.batches):
        best["bare"] = min(best["bare"], _batch(bare, ["/bare"]))
        for name in args.pages:
            best[name] = min(best[name], _batch(app, pages[name], n))
    for name, ms in best.items():
        print(f"{name:<8} {ms:6.3f} CPU ms per request   bare ÷ this: {best['bare'] / ms:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
