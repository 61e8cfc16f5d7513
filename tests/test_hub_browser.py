"""The county hub in a real browser (Debian's headless Chromium through Selenium) against a
real hub process: a county user, a township officer and a village account log in through the
form and each sees only what they may; a guessed URL outside the scope is "not found". A
screenshot per role goes to build/artifacts/."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.browser import CHROMEDRIVER, CHROMIUM, start_chromium
from tests.hub_support import USER_PASSWORD, fill_box, start_scoped_hub

pytestmark = pytest.mark.slow

if not (CHROMIUM and CHROMEDRIVER):  # scripts/install-deps test installs both from Debian
    pytest.skip("Debian's chromium and chromium-driver are not installed", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ARTIFACTS = Path(__file__).parent.parent / "build" / "artifacts"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("hub-browser")
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    process = start_scoped_hub(str(tmp_path / "hub.db"), tmp_path,
                               lambda box, store: fill_box(store, incidents=1, noise=1,
                                                           start=start))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp('chromium-profile'), "1280,900")
    try:
        yield driver
    finally:
        driver.quit()


def log_in(browser, hub, name: str) -> None:
    browser.delete_all_cookies()
    browser.get(hub.url + "/")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.NAME, "password"))
    browser.find_element(By.NAME, "name").send_keys(name)
    browser.find_element(By.NAME, "password").send_keys(USER_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: "退出" in d.page_source)


def villages_listed(browser) -> set[str]:
    rows = browser.find_elements(By.CSS_SELECTOR, "main table tr")[1:]
    return {row.find_elements(By.TAG_NAME, "td")[2].text for row in rows}


@pytest.mark.parametrize("name, villages, menu, forbidden", [
    ("zhao", {"石桥村", "竹林村", "光明村"}, "操作日志", None),
    ("wang", {"石桥村", "竹林村"}, None, "/incidents/box-c/1/1"),
    ("li", {"石桥村"}, None, "/incidents/box-b/1/1"),
])
def test_each_role_sees_only_what_it_may(hub, browser, name, villages, menu, forbidden):
    log_in(browser, hub, name)
    assert villages_listed(browser) == villages
    header = browser.find_element(By.TAG_NAME, "header").text
    assert ("操作日志" in header) == (menu is not None)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"hub-boxes-{name}.png"))
    # From the incident list to an alarm's timeline, by its link.
    browser.get(hub.url + "/incidents")
    browser.find_element(By.CSS_SELECTOR, "main table tr td a").click()
    WebDriverWait(browser, 30).until(lambda d: "处置时间线" in d.page_source)
    assert "来电报警" in browser.page_source
    if forbidden:
        browser.get(hub.url + forbidden)
        assert "找不到" in browser.find_element(By.TAG_NAME, "h1").text
        browser.get(hub.url + "/audit")
        assert "找不到" in browser.find_element(By.TAG_NAME, "h1").text
