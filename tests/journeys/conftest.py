"""Journeys: each user's main path through the served app in Debian's Chromium, on a
Pixel 7-sized phone, in Simplified Chinese and in English, with a screenshot and an
axe-core check of every step (see journey.py and docs/security.md)."""
from pathlib import Path

import pytest

from tests.browser.conftest import browser_type_launch_args, live_url, mark_browser_tests  # noqa: F401 (fixtures)
from tests.journeys.journey import Journey

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    mark_browser_tests(items, HERE)


@pytest.fixture(params=["zh-CN", "en"])
def locale(request):
    return request.param


@pytest.fixture
def journey(request, browser, playwright, live_server, live_url, locale):
    """The journey of this test in `locale`: journey.phone() gives each person a phone,
    journey.step(page, "name") files a screenshot and runs axe-core; at the end every
    serious or critical violation found on the way fails the test."""
    name = request.node.originalname.removeprefix("test_").split("_")[0]
    folder = Path(request.config.rootpath) / "test-artifacts" / "journeys" / f"{name}-{locale}"
    walk = Journey(browser, playwright.devices["Pixel 7"], locale, folder, live_server, live_url)
    yield walk
    walk.close()
    walk.assert_accessible()
