"""The web panel in a real browser: Debian's headless Chromium, driven by Selenium through
chromedriver, against the real daemon (``edgebox run``) on the modem emulator.

Log in; a neighbour calls and the alarm appears on the open dashboard without a reload; the
office acknowledges it; a roster workbook with one bad row shows its error; a group table
prints; a broadcast reaches the emulator. Screenshots go to build/artifacts/.
"""
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edgebox.emulator import EmulatorServer, Latency
from edgebox.web.passwords import hash_password
from tests.browser import CHROMEDRIVER, CHROMIUM, start_chromium
from tests.support import SHEET, query, wait_for

pytestmark = pytest.mark.slow

if not (CHROMIUM and CHROMEDRIVER):  # scripts/install-deps test installs both from Debian
    pytest.skip("Debian's chromium and chromium-driver are not installed", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

ARTIFACTS = Path(__file__).parent.parent / "build" / "artifacts"
PASSWORD = "shiqiao-office-1"


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-box")
    emulator = EmulatorServer(link=str(tmp / "modem"),
                              latency=Latency.realistic(scale=0.02))
    emulator.start()
    db = tmp / "box.db"
    config = tmp / "edgebox.toml"
    config.write_text(f"""
[box]
database = "{db}"
village = "石桥村"
[alarm]
ring_members = false
[numbers]
office = ["13300138099"]
township = ["057188886666"]
[siren]
on_seconds = 30
[web]
listen = "127.0.0.1:0"
password_hash = "{hash_password(PASSWORD)}"
[[modems]]
port = "{tmp / 'modem'}"
number = "13800138999"
""", encoding="utf-8")
    sheet = tmp / "village.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "edgebox", "roster", "import", str(sheet), "--config",
                    str(config)], check=True, capture_output=True, timeout=60)
    log_path = tmp / "daemon.log"
    with open(log_path, "w") as log_file:
        daemon = subprocess.Popen([sys.executable, "-m", "edgebox", "run", "--config",
                                   str(config)], stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: query(db, "SELECT count(*) FROM events WHERE kind = 'modem_ready'")
                 [0][0] > 0 and query(db, "SELECT data FROM events WHERE kind ="
                                          " 'web_panel_started'"), 30, "the daemon", log_path)
        url = query(db, "SELECT json_extract(data, '$.url') FROM events WHERE kind ="
                        " 'web_panel_started'")[0][0]
        yield emulator, db, url.rstrip("/"), tmp, log_path
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        emulator.stop()


@pytest.fixture(scope="module")
def browser(box, tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp('chromium-profile'), "1280,1000")
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver, condition, timeout=30):
    # Live parts of the page are swapped by htmx: an element read a moment ago may be gone.
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,)
                         ).until(lambda d: condition(d))


def shoot(driver, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))


def test_login(box, browser):
    emulator, db, url, tmp, log_path = box
    browser.get(url + "/")
    assert browser.current_url.endswith("/login")
    browser.find_element(By.ID, "password").send_keys("not-the-password")
    browser.find_element(By.ID, "login").click()
    assert "密码错误" in wait(browser, lambda d: d.find_element(By.ID, "login-error")).text
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login").click()
    wait(browser, lambda d: d.find_elements(By.ID, "open-incidents"))
    assert "进行中的报警" in browser.page_source


def test_a_call_appears_live_and_the_office_acknowledges_it(box, browser):
    emulator, db, url, tmp, log_path = box
    browser.get(url + "/")
    wait(browser, lambda d: d.find_elements(By.ID, "no-open"))
    browser.execute_script("window.stillTheSamePage = true")
    emulator.call("18600138003")  # 张伟 of 第一组 calls the box
    wait(browser, lambda d: "张伟" in d.find_element(By.CSS_SELECTOR, "[data-incident]").text
         and "第一组" in d.find_element(By.CSS_SELECTOR, "[data-incident]").text)
    assert browser.execute_script("return window.stillTheSamePage") is True  # no reload
    wait(browser, lambda d: "鸣响中" in d.find_element(By.ID, "siren-state").text)

    def texted_shown_matches_the_store(d):  # the live card follows every SMS sent
        sent = query(db, "SELECT count(*) FROM deliveries WHERE kind = 'sms' AND"
                         " state = 'sent' AND incident_id IS NOT NULL")[0][0]
        return sent >= 4 and f"已发短信 {sent} " in d.find_element(
            By.CSS_SELECTOR, "[data-incident]").text
    wait(browser, texted_shown_matches_the_store)
    shoot(browser, "dashboard.png")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-incident] a").click() or True)
    wait(browser, lambda d: "/incidents/" in d.current_url)
    wait(browser, lambda d: d.find_elements(By.ID, "acknowledge")).pop().click()
    wait(browser, lambda d: d.find_elements(By.ID, "incident-acked"))
    incident_id = query(db, "SELECT id FROM incidents")[0][0]
    assert query(db, "SELECT acked_at IS NOT NULL FROM incidents WHERE id = ?",
                 incident_id) == [(1,)]
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.timeline [data-kind='sms_sent']"))
    shoot(browser, "incident.png")


def test_a_workbook_with_a_bad_row_is_refused_with_its_line(box, browser):
    from openpyxl import Workbook
    emulator, db, url, tmp, log_path = box
    book = Workbook()
    rows = [line.split(",") for line in SHEET.strip().splitlines()]
    rows = [[cell.strip('"') for cell in row] for row in rows if len(row) >= 6]
    rows[3][3] = "186001"  # line 4: 张伟's phone, too short
    for row in rows:
        book.active.append(row)
    path = tmp / "石桥村.xlsx"
    book.save(path)
    browser.get(url + "/roster")
    browser.find_element(By.ID, "sheet").send_keys(str(path))
    browser.find_element(By.ID, "preview-import").click()
    errors = wait(browser, lambda d: d.find_elements(By.ID, "import-errors"))[0]
    assert "第4行（电话）：“186001”位数不对" in errors.text
    assert query(db, "SELECT count(*) FROM households") == [(6,)]


def test_the_group_table_prints(box, browser):
    emulator, db, url, tmp, log_path = box
    browser.get(url + "/roster/groups/第一组/print")
    title = browser.find_element(By.ID, "group-table-title")
    assert title.text == "石桥村第一组 十户联防编组表"
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not browser.find_element(By.TAG_NAME, "header").is_displayed()
        assert "王建国" in browser.find_element(By.CSS_SELECTOR, "table.group-table").text
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    import base64
    pdf = base64.b64decode(browser.print_page())
    assert pdf.startswith(b"%PDF")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "group-table.pdf").write_bytes(pdf)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
def test_every_group_prints_on_its_own_a4_page_with_its_household_cards(box, browser):
    import base64
    emulator, db, url, tmp, log_path = box
    browser.get(url + "/roster/print")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "section.group-sheet"))
    pdf = tmp / "group-tables.pdf"
    # As Chromium prints it for the office, with the page's own size (the CSS says A4).
    printed = browser.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})
    pdf.write_bytes(base64.b64decode(printed["data"]))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    # Two groups: each one sheet for the wall, then one page of cards for its households.
    facts = dict(line.split(":", 1) for line in info.stdout.splitlines() if ":" in line)
    assert facts["Pages"].strip() == "4", info.stdout
    assert "(A4)" in info.stdout, info.stdout
    pages = [subprocess.run(["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"],
                            capture_output=True, text=True, check=True).stdout
             for n in range(1, 5)]
    first, cards = pages[0], pages[1]
    assert "石桥村第一组 十户联防编组表" in first and "138 0013 8999" in first, first
    assert "王建国 138 0013 8001" in first  # the leader, with his phone
    assert "133 0013 8099" in first and "0571 8888 6666" in first  # office and township
    for words in ("报警：", "确认：", "取消：", "中心户长签字", "村委会盖章", "日期："):
        assert words in first, (words, first)
    assert "陈静" not in first and "第二组" in pages[2]  # the other group is on its own page
    assert cards.count("十户联防联系卡") == 4 and cards.count("138 0013 8999") == 4, cards
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "group-tables.pdf").write_bytes(pdf.read_bytes())
    # A picture of the first two pages, for a person to look at.
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf),
                    str(ARTIFACTS / "group-tables")], check=True, timeout=60)


def test_a_broadcast_reaches_the_group(box, browser):
    emulator, db, url, tmp, log_path = box
    browser.get(url + "/broadcast")
    Select(browser.find_element(By.ID, "target")).select_by_visible_text("第二组")
    text = "今晚八点村委会开会"
    browser.find_element(By.ID, "text").send_keys(text)
    figures = wait(browser, lambda d: [e for e in d.find_elements(By.ID, "cost-figures")
                                       if e.get_attribute("data-total") == "2"])[0]
    assert "共计2条短信" in figures.text
    browser.find_element(By.ID, "send").click()
    wait(browser, lambda d: sorted(e["number"] for e in emulator.log()
                                   if e["kind"] == "sms_sent" and text in e["text"])
         == ["+8613500138006", "+8613600138005"], timeout=60)
    wait(browser, lambda d: "2/2" in d.find_element(By.ID, "broadcasts").text)
