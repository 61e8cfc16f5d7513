"""The monthly report and the coverage figures behind it, on a real hub process: the village
enters its registered household count on its box's page (a township officer may not), the
roster's enrolment comes from what the box uploaded, and the report a township officer reads
holds only their villages. Chromium prints it to an A4 PDF and a picture in build/artifacts/."""
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from edgebox.domain.roster import Group, Household, Roster
from edgebox.hub.monthly import percentile
from edgebox.store import SqliteStore
from tests.hub_support import USER_PASSWORD as PASSWORD
from tests.hub_support import fill_box, hub_database_url, start_scoped_hub, try_login

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).parent.parent / "build" / "artifacts"
CHROMIUM = shutil.which("chromium")
MONTH_START = datetime(2026, 11, 10, 1, 0, tzinfo=timezone.utc)


def village_roster() -> Roster:
    """Twelve households in two groups of 6 and 5; H12 in none. Vulnerable: H03 (in a group)
    and H12 (not)."""
    flags = {"H03": frozenset({"elderly_alone"}), "H12": frozenset({"disabled"})}
    households = tuple(Household(f"H{i:02d}", f"户主{i}", f"石桥村{i}号",
                                 (f"+86138001380{i:02d}",), flags.get(f"H{i:02d}", frozenset()))
                       for i in range(1, 13))
    return Roster(households, (
        Group("G1", "第一组", "H01", tuple(f"H{i:02d}" for i in range(1, 7))),
        Group("G2", "第二组", "H07", tuple(f"H{i:02d}" for i in range(7, 12)))))


def fill_village(store: SqliteStore) -> None:
    """November: the roster, two call alarms acknowledged after 2 and 3 minutes, a fire
    nobody acknowledged, a drill that 2 of its 5 households acknowledged."""
    store.roster.replace(village_roster(), MONTH_START - timedelta(days=1), source="test")
    fill_box(store, incidents=2, noise=1, start=MONTH_START)
    at = MONTH_START + timedelta(days=3)
    fire = store.incidents.open(at, "G1", "H02", "+8613800138002", alarm_type="fire")
    store.incidents.close(at + timedelta(minutes=30), fire.id, "expired")
    drill = store.incidents.open(at, "G2", "H07", "+8613800138007", alarm_type="fire",
                                 drill=True)
    for number, household in enumerate(("H08", "H09")):
        store.incidents.record_ack(at + timedelta(seconds=40 + 20 * number), drill.id, household,
                                   f"+861380013800{8 + number}", "dtmf")
    store.incidents.close(at + timedelta(minutes=10), drill.id, "drill_over", report=(
        "drill_report", {"acked": 2, "total": 5, "fastest": 40, "mean": 50,
                         "households": ["H08", "H09"], "seconds": {"H08": 40, "H09": 60}}))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp(request.param)

    def fill(box: str, store: SqliteStore) -> None:
        if box == "box-a":
            fill_village(store)
        else:
            fill_box(store, incidents=1, noise=1, start=MONTH_START)
    process = start_scoped_hub(hub_database_url(request.param, tmp_path), tmp_path, fill)
    yield process
    process.stop()


@pytest.fixture
def login(hub):
    opened: list[httpx.Client] = []

    def as_user(name: str) -> httpx.Client:
        client = httpx.Client(base_url=hub.url, timeout=30)
        opened.append(client)
        assert try_login(client, PASSWORD, name).status_code == 303
        return client
    yield as_user
    for client in opened:
        client.close()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def set_count(client: httpx.Client, box: str, count: str) -> httpx.Response:
    token = csrf_of(client.get("/").text)
    return client.post(f"/boxes/{box}/households",
                       data={"csrf": token, "households_registered": count})


def cells(page: str, village: str) -> list[str]:
    row = re.search(rf"<tr><td>[^<]*</td><td>{village}</td>(.*?)</tr>", page, re.S).group(1)
    return re.findall(r"<td[^>]*>([^<]*)</td>", row)


def test_the_village_enters_its_household_count_and_the_township_may_not(login):
    village, township = login("li"), login("wang")
    assert set_count(village, "box-b", "20").status_code == 404   # not its box
    assert set_count(village, "box-a", "many").status_code == 400  # nothing saved
    assert set_count(township, "box-a", "99").status_code == 404   # reads, never writes
    assert 'name="households_registered"' not in township.get("/boxes/box-a").text
    assert set_count(village, "box-a", "15").status_code == 303
    assert 'value="15"' in village.get("/boxes/box-a").text
    assert township.get("/boxes/box-c").status_code == 404


def test_the_monthly_report_counts_coverage_response_and_drills(login):
    set_count(login("li"), "box-a", "15")
    page = login("wang").get("/report", params={"month": "2026-11"}).text
    assert "太湖源镇十户联防月报（2026年11月）" in page
    assert "竹林村" in page and "光明村" not in page
    # enrolled, registered, enrolment, groups, leaders, vulnerable in a group / all, alarms
    # by type (call, fire), median and 90th percentile minutes, drills, drill ack rate.
    assert cells(page, "石桥村") == ["12", "15", "80.0%", "2", "2", "1/2", "2", "1", "2.5",
                                     "3.0", "1", "40.0%"]
    assert login("wang").get("/report", params={"month": "2026-11",
                                                "township": "於潜镇"}).status_code == 404
    assert login("li").get("/report", params={"month": "13-2026"}).status_code == 400


def test_the_nearest_rank_percentile():
    assert percentile([], 0.9) is None
    assert percentile([3.0, 1.0, 2.0], 0.9) == 3.0
    assert percentile(list(range(1, 11)), 0.9) == 9


@pytest.mark.skipif(not (CHROMIUM and shutil.which("pdfinfo")),
                    reason="Debian's chromium and poppler-utils are not installed")
def test_the_county_report_prints_on_a4_and_is_kept_as_a_picture(hub, login, tmp_path):
    if hub.db_url.startswith("postgresql"):
        pytest.skip("printed once, from the SQLite hub: the page is the same")
    set_count(login("li"), "box-a", "15")
    html = login("zhao").get("/report", params={"month": "2026-11"}).text
    assert "全县十户联防月报（2026年11月）" in html and "光明村" in html
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf, png = ARTIFACTS / "hub-monthly-report.pdf", ARTIFACTS / "hub-monthly-report.png"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
              f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run([*common, "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                    page.as_uri()], capture_output=True, timeout=120, check=True)
    subprocess.run([*common, "--window-size=1240,1754", "--hide-scrollbars",
                    f"--screenshot={png}", page.as_uri()], capture_output=True, timeout=120,
                   check=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert "(A4)" in info.stdout, info.stdout
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "十户联防月报" in text and "80.0%" in text and "石桥村" in text
    assert "打印" not in text  # the form and the header are not printed
    assert png.stat().st_size > 10_000
