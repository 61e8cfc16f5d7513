"""The printed group sheet as Chromium prints it (`chromium --headless --print-to-pdf`): the
largest group a roster allows, every household with two phones, still fits one A4 page, and
its household cards follow on their own pages. Read back with poppler-utils."""
import shutil
import subprocess

import pytest

from edgebox.domain.phones import display
from edgebox.domain.roster import FLAG_LABELS_ZH, GROUP_MAX_HOUSEHOLDS, Group, Household
from edgebox.web.pages import ENVS, HERE
from edgebox.web.i18n import translator

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(not (CHROMIUM and shutil.which("pdfinfo")),
                                reason="Debian's chromium and poppler-utils are not installed")


def printed(tmp_path, members, leader) -> tuple[int, list[str]]:
    """Print one group's sheet and cards (the page's CSS inlined: no server to fetch it from);
    return the page count and each page's text."""
    group = Group("g12", "第十二组", leader.id, tuple(h.id for h in members))
    html = ENVS["zh"].get_template("group_table.html").render(
        t=translator("zh"), lang="zh", csrf="-", logged_in=True, path="/roster/print",
        sheets=[{"group": group, "members": members, "leader": leader}], display=display,
        flag_labels=FLAG_LABELS_ZH, village="石桥村", box_numbers=["138 0013 8999"],
        office_numbers=["0571 8888 6666"], township_numbers=["0571 8888 7777"],
        today="2026-12-06")
    css = (HERE / "static" / "style.css").read_text(encoding="utf-8")
    page = tmp_path / "sheet.html"
    page.write_text(html.replace('<link rel="stylesheet" href="/static/style.css">',
                                 f"<style>{css}</style>"), encoding="utf-8")
    pdf = tmp_path / "sheet.pdf"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                    "--no-pdf-header-footer", f"--user-data-dir={tmp_path / 'profile'}",
                    f"--print-to-pdf={pdf}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    facts = dict(line.split(":", 1) for line in info.stdout.splitlines() if ":" in line)
    assert "(A4)" in facts["Page size"], info.stdout
    count = int(facts["Pages"])
    texts = [subprocess.run(["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"],
                            capture_output=True, text=True, check=True).stdout
             for n in range(1, count + 1)]
    return count, texts


def test_the_largest_group_fits_one_a4_page_and_its_cards_follow(tmp_path):
    members = [Household(f"H{i:02d}", "欧阳建国", f"石桥村东头老槐树{i}号",
                         (f"+86138001380{i:02d}", f"+86139001390{i:02d}"),
                         frozenset({"elderly_alone"})) for i in range(GROUP_MAX_HOUSEHOLDS)]
    count, pages = printed(tmp_path, members, members[0])
    sheet = pages[0]
    assert "石桥村第十二组 十户联防编组表" in sheet and "138 0013 8999" in sheet
    assert f"石桥村东头老槐树{GROUP_MAX_HOUSEHOLDS - 1}号" in sheet  # the last household
    assert "中心户长签字" in sheet and "村委会盖章" in sheet and "2026-12-06" in sheet
    assert "0571 8888 7777" in sheet and "取消：" in sheet
    cards = "".join(pages[1:])
    assert "十户联防编组表" not in cards
    assert cards.count("十户联防联系卡") == GROUP_MAX_HOUSEHOLDS, count
