"""Lighthouse (npm) in Debian's Chromium, mobile profile, on the four pages a buyer
meets first: home, catalog, a product and a live show's room. Performance and
accessibility must each score at least 90.

The demo data (marketplace/demo/seed.py, with a show live now) goes into the test
database, and gunicorn serves it with the repo's gunicorn.conf.py as in production
(the in-thread development server of tests/browser would make the timings its own).
Each page is measured LIGHTHOUSE_RUNS times (default 3), the pages interleaved, and
the median run is asserted: docs/benchmarks.md (Lighthouse) says why. The reports
(JSON and HTML) go to test-artifacts/lighthouse/; a page under 90 fails with the
audits that cost it points.

Takes about three minutes; skipped, saying why, without Chromium or node_modules.
"""
import os
from pathlib import Path

import pytest

from bench import lighthouse_pages as lp

pytestmark = [pytest.mark.browser, pytest.mark.skipif(lp.missing() is not None, reason=str(lp.missing()))]
RUNS = int(os.environ.get("LIGHTHOUSE_RUNS", "3"))


def test_home_catalog_product_and_live_room_score_90_on_a_phone(app, database_url, tmp_path, request):
    paths = lp.seed_demo()  # into the test database (emptied by the `app` fixture)
    outdir = Path(request.config.rootpath) / "test-artifacts" / "lighthouse"
    with lp.serve(str(tmp_path), database_url, app.config["UPLOAD_FOLDER"], paths) as site:
        results = lp.run_pages(site.urls(), str(outdir), runs=RUNS, meter_url=database_url)

    for page, runs in results.items():
        assert len(runs) == RUNS and all(os.path.getsize(r.report_html) > 0 for r in runs), page
    problems = lp.failures(results)
    assert not problems, "Lighthouse scores under 90 (median run):\n" + "\n".join(problems)
