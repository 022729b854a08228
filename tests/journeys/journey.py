"""What every journey step does: a full-page screenshot, a check that the page speaks
the journey's language, and an axe-core run (WCAG 2 A and AA rules).

Each person of a journey (buyer, cooperative member, staff) gets a phone of their own:
a browser context shaped like a Pixel 7 whose language (Accept-Language) is the
journey's. The expected words come from the app's own catalogue (`journey.t`), so the
same journey reads the Chinese pages in Chinese and the English ones in English.
"""
import re
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from tests.conftest import PASSWORD

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}, "resultTypes": ["violations"]}
BLOCKING = ("serious", "critical")
CJK = re.compile(r"[\u4e00-\u9fff]")
APP_LOCALE = {"zh-CN": "zh_CN", "en": "en"}


class Journey:
    #: the header's language buttons, each named in its own language
    LANGUAGE_BUTTONS = {"zh-CN": "简体中文", "en": "English"}

    def __init__(self, browser, device, locale, folder: Path, app, base_url):
        if not AXE.exists():
            pytest.skip(f"axe-core is missing at {AXE} (npm ci installs it)")
        self.browser, self.locale, self.folder, self.app, self.url = browser, locale, folder, app, base_url
        # Pixel 7 in size and touch; drawn at scale 1 so the screenshots stay small.
        self.device = {k: v for k, v in device.items() if k != "default_browser_type"} | {
            "device_scale_factor": 1, "locale": locale}
        self.contexts, self.violations, self.n = [], [], 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        self.axe_source = AXE.read_text()

    # --- people and words ---------------------------------------------------------------

    def phone(self):
        """A new person's phone: a fresh browser context (own cookies) and its page."""
        context = self.browser.new_context(**self.device)
        context.route("https://streams.example.org/**", lambda route: route.abort())  # stream addresses in tests
        self.contexts.append(context)
        return context.new_page()

    def t(self, msgid, **values) -> str:
        """What the app shows for `msgid` in this journey's language."""
        return self.t_in(self.locale, msgid, **values)

    def t_in(self, locale, msgid, **values) -> str:
        with self.app.test_request_context(), force_locale(APP_LOCALE[locale]):
            return gettext(msgid, **values)

    def log_in(self, page, email, step=None):
        """Log in through the login page (screenshot of the filled form as `step`)."""
        page.goto(self.url + "/login")
        page.get_by_label(self.t("Email"), exact=True).fill(email)
        page.get_by_label(self.t("Password"), exact=True).fill(PASSWORD)
        if step:
            self.step(page, step)
        page.locator("main").get_by_role("button", name=self.t("Log in")).click()
        expect(page.get_by_role("button", name=self.t("Log out"))).to_be_visible()

    def flash(self, page):
        return page.get_by_role("status").filter(has=page.locator(".flash"))

    # --- each step ------------------------------------------------------------------------

    def step(self, page, name):
        """Screenshot, language check and axe-core run for the page as it is now."""
        self.n += 1
        page.wait_for_load_state("load")
        page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), full_page=True)
        self.check_language(page, name)
        page.evaluate(self.axe_source)  # evaluated by the inspector, so the page's CSP does not refuse it
        result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
        for v in result["violations"]:
            if v["impact"] in BLOCKING:
                targets = [" ".join(map(str, node["target"])) for node in v["nodes"]]
                self.violations.append(f"{self.n:02d}-{name} {page.url}\n  {v['impact']} {v['id']}: {v['help']}"
                                       f"\n    " + "\n    ".join(targets[:8]))

    def check_language(self, page, name):
        lang = page.evaluate("document.documentElement.lang")
        assert lang == self.locale, f"step {name}: <html lang={lang!r}>, expected {self.locale!r} ({page.url})"
        nav = page.get_by_role("navigation", name=self.t("Main"))
        first = nav.get_by_role("link").first.inner_text().strip()
        assert first == self.t("All goods"), f"step {name}: the main menu starts with {first!r}"
        if self.locale == "zh-CN":
            assert CJK.search(first), f"step {name}: the menu is not in Chinese: {first!r}"
        else:
            assert not CJK.search(first), f"step {name}: the menu is not in English: {first!r}"

    def assert_accessible(self):
        assert not self.violations, ("axe-core found serious or critical violations:\n"
                                     + "\n".join(self.violations))

    def close(self):
        for context in self.contexts:
            context.close()
