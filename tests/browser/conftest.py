"""Browser tests: real pages in Debian's Chromium (never a downloaded browser), phone-sized.

Every test here gets the `browser` marker, and is skipped when /usr/bin/chromium
is missing. Screenshots of the key steps go to test-artifacts/screenshots/.
"""
import os
import re
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
HERE = Path(__file__).resolve().parent


def mark_browser_tests(items, folder: Path):
    """Mark the tests under `folder` `browser`; skip them when Chromium is missing.
    (tests/journeys/conftest.py calls it for its own folder.)"""
    missing = not os.path.exists(CHROMIUM)
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    for item in items:
        if folder in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(skip)


def pytest_collection_modifyitems(config, items):
    # This hook sees the whole session's items: touch only the ones in this folder.
    mark_browser_tests(items, HERE)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {"executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]}


@pytest.fixture(scope="session")
def browser_context_args():
    return {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
            "device_scale_factor": 2, "locale": "en-US"}


@pytest.fixture
def shot(page, request):
    """shot("step") saves test-artifacts/screenshots/<test-name>-<step>.png."""
    folder = Path(request.config.rootpath) / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^\w.-]+", "_", request.node.originalname)  # without the [chromium] suffix

    def take(step):
        page.screenshot(path=str(folder / f"{test_name}-{step}.png"), full_page=True)
    return take


@pytest.fixture
def live_url(live_server):
    """The served app's base URL, e.g. http://127.0.0.1:41234."""
    return live_server.config["LIVE_URL"]
