"""The command line: every command documented with an example, the roster commands, the demo."""
import csv
import json
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from edgebox.cli import main
from tests.support import SHEET


def all_commands(group=main, prefix="edgebox"):
    """Every command and sub-command, as ``edgebox --help`` lists them (the tools' commands
    are loaded only when asked for, so not in ``group.commands``)."""
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from all_commands(command, f"{prefix} {name}")


COMMANDS = list(all_commands())


def test_every_tool_is_listed_and_loads():
    """edgebox's tools are all there though loaded lazily (a misspelt module would show only
    when someone ran that tool)."""
    top = {path.split()[1] for path, _ in COMMANDS}
    assert {"emulator", "hub", "web", "upload", "provision", "selftest", "siren", "panel",
            "speaker", "run", "roster", "demo"} <= top
    assert all(command is not None for _, command in COMMANDS)


@pytest.mark.parametrize("path,command", COMMANDS, ids=lambda v: str(v))
def test_every_command_has_help_with_an_example(path, command):
    assert command.help, f"{path} has no help"
    assert "Example" in command.help and "edgebox" in command.help.split("Example", 1)[1], \
        f"{path} --help has no example"


def test_python_dash_m_works():
    result = subprocess.run([sys.executable, "-m", "edgebox", "--version"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("edgebox, version")


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "edgebox.toml"
    path.write_text(f'[box]\ndatabase = "{tmp_path / "box.db"}"\n[numbers]\noffice = ["0571-8888 6666"]\n'
                    '[[modems]]\nport = "/dev/null"\n', encoding="utf-8")
    return str(path)


def test_roster_import_show_export(tmp_path, config):
    sheet = tmp_path / "village.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    runner = CliRunner()
    imported = runner.invoke(main, ["roster", "import", str(sheet), "--config", config])
    assert imported.exit_code == 0, imported.output
    assert "已导入6户，2个联防组" in imported.output
    shown = runner.invoke(main, ["roster", "show", "--config", config])
    assert "第一组" in shown.output and "★ H01" in shown.output and "独居老人" in shown.output
    assert "150 1380 0022" in shown.output and "村委值班：0571 8888 6666" in shown.output
    exported = tmp_path / "out.csv"
    runner.invoke(main, ["roster", "export", str(exported), "--config", config])
    assert exported.read_bytes().startswith(b"\xef\xbb\xbf")
    again = runner.invoke(main, ["roster", "import", str(exported), "--config", config])
    assert again.exit_code == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to another user needs root")
def test_roster_import_as_root_leaves_the_database_to_the_daemons_user(tmp_path):
    # `sudo edgebox roster import` on a box: the daemon (user edgebox, the owner of the data
    # directory) must still be able to write the database root just wrote.
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, 4321, 4322)
    config = tmp_path / "edgebox.toml"
    config.write_text(f'[box]\ndatabase = "{data / "box.db"}"\n[numbers]\n'
                      'office = ["0571-8888 6666"]\n[[modems]]\nport = "/dev/null"\n',
                      encoding="utf-8")
    sheet = tmp_path / "village.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    imported = CliRunner().invoke(main, ["roster", "import", str(sheet), "--config", str(config)])
    assert imported.exit_code == 0, imported.output
    written = sorted(data.glob("box.db*"))
    assert written and all((p.stat().st_uid, p.stat().st_gid) == (4321, 4322) for p in written)


def test_roster_show_and_export_keep_relatives_and_notes(tmp_path, config):
    sheet = tmp_path / "village.csv"
    sheet.write_text(SHEET.replace("中心户长,标记", "中心户长,标记,亲属电话,备注").replace(
        ",第一组,,独居老人\n", ",第一组,,独居老人,159 0015 9002,儿子在杭州\n"),
        encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["roster", "import", str(sheet), "--config", config]).exit_code == 0
    shown = runner.invoke(main, ["roster", "show", "--config", config]).output
    assert "亲属电话：159 0015 9002" in shown, shown
    exported = tmp_path / "out.csv"
    runner.invoke(main, ["roster", "export", str(exported), "--config", config])
    text = exported.read_text(encoding="utf-8-sig")
    assert "159 0015 9002,儿子在杭州" in text, text


def test_roster_import_reads_a_workbook_and_warns_without_refusing(tmp_path, config):
    from openpyxl import Workbook
    book = Workbook()
    for row in csv.reader(SHEET.replace("13700138004", "0571-8888 6604").splitlines()):
        book.active.append(row)
    workbook = tmp_path / "石桥村.xlsx"
    book.save(workbook)
    runner = CliRunner()
    imported = runner.invoke(main, ["roster", "import", str(workbook), "--config", config])
    assert imported.exit_code == 0, imported.output
    # In the box's language (Chinese by default), every note on a line of its own.
    assert "已导入6户，2个联防组" in imported.output
    assert "提醒：刘洋（H04）只有固定电话，收不到报警短信" in imported.output
    assert "提醒：第一组有4户，建议每组5–15户" in imported.output
    assert "提醒：第二组有2户，建议每组5–15户" in imported.output
    shown = runner.invoke(main, ["roster", "show", "--config", config]).output
    assert "0571 8888 6604" in shown and "150 1380 0022" in shown


def test_bad_sheet_is_reported_by_line_and_nothing_changes(tmp_path, config):
    runner = CliRunner()
    good = tmp_path / "good.csv"
    good.write_text(SHEET, encoding="utf-8")
    runner.invoke(main, ["roster", "import", str(good), "--config", config])
    bad = tmp_path / "bad.csv"
    bad.write_text(SHEET.replace("13700138004", "137001"), encoding="utf-8")
    result = runner.invoke(main, ["roster", "import", str(bad), "--config", config])
    assert result.exit_code == 2
    assert "未导入，花名册没有改动" in result.output
    assert "第5行（电话）：“137001”位数不对" in result.output
    shown = runner.invoke(main, ["roster", "show", "--config", config])
    assert "137 0013 8004" in shown.output  # the old roster is intact


@pytest.mark.slow
def test_demo_plays_the_whole_story_and_ends_with_a_json_summary():
    result = subprocess.run([sys.executable, "-m", "edgebox", "demo", "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["incidents"] == 1 and summary["acks"] == 2 and summary["failures"] == 0
    assert summary["sms_sent"] == summary["emulator_sms"] > 10
    assert summary["calls_placed"] == summary["emulator_calls"] >= 9
    assert summary["caller_rejected_after_s"] is not None and summary["siren_on_s"] > 0
    text = result.stdout
    for words in ("拨打报警器", "已拒接来电", "报警短信", "确认短信", "振铃", "已确认前往",
                  "回告短信", "警报器鸣响", "警报器停止"):
        assert words in text, words
