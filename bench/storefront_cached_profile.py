"""CPU per request of pages answered from the anonymous page cache, in-process: the
catalog page and the product page (whose "Add to cart" form gets each visitor's own
CSRF token and session cookie, marketplace/core/page_tokens.py), beside the bare page.

    python -m bench.storefront_cached_profile --database-url postgresql://postgres@127.0.0.1:5432/bench
    python -m bench.storefront_cached_profile --pyinstrument     # where a cached product page's time goes

Production config, page cache on in the process (no Redis), every request a new visitor
without cookies, as in the load test. Batches alternate between the pages; each figure is
the best batch.
"""
import argparse
import logging
import os
import sys

from .storefront_profile import DEFAULT_URL, _batch, _request


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--database-url", default=DEFAULT_URL)
    p.add_argument("--batches", type=int, default=5)
    p.add_argument("--pyinstrument", action="store_true", help="profile the cached product page instead")
    args = p.parse_args(argv)
    os.environ.update(MARKETPLACE_CONFIG="production", SECRET_KEY="bench", DATABASE_URL=args.database_url,
                      PAGE_CACHE_SECONDS="3600", REDIS_URL="", BENCH_DATABASE_URL=args.database_url)
    from marketplace import create_app

    from .bare_app import create_app as create_bare
    from .storefront_data import sample_products

    app, bare = create_app(), create_bare(args.database_url)
    logging.getLogger().handlers = []
    pages = {"catalog": ["/products"], "product": [f"/products/{i}" for i in sample_products(args.database_url, 100)]}
    for paths in pages.values():
        for path in paths * 2:  # the first request of each path renders and keeps it
            _request(app, path)
    if args.pyinstrument:
        from pyinstrument import Profiler

        with Profiler(interval=0.0001) as profiler:
            _batch(app, pages["product"], 2000)
        profiler.print(show_all=False)
        return 0
    best = {name: float("inf") for name in ["bare", *pages]}
    for _ in range(args.batches):
        best["bare"] = min(best["bare"], _batch(bare, ["/bare"]))
        for name, paths in pages.items():
            best[name] = min(best[name], _batch(app, paths, 500))
    for name, ms in best.items():
        print(f"{name:<8} {ms:6.3f} CPU ms per request   bare ÷ this: {best['bare'] / ms:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
