"""`edgebox siren test` and `edgebox panel watch` on the simulated backend."""
from click.testing import CliRunner

from edgebox.cli import main


def config_file(tmp_path, panel=""):
    path = tmp_path / "edgebox.toml"
    path.write_text(f'[box]\ndatabase = "{tmp_path / "box.db"}"\n{panel}\n'
                    '[[modems]]\nport = "/dev/null"\n', encoding="utf-8")
    return str(path)


def test_siren_test_plays_the_pattern_and_ends_off(tmp_path):
    result = CliRunner().invoke(main, ["siren", "test", "--config", config_file(tmp_path),
                                       "--pattern", "pulsed", "--seconds", "2.5"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "pattern pulsed [1.0, 1.0]" in lines[0]
    states = [line.split()[-1] for line in lines[1:-1]]
    assert states == ["ON", "off", "ON"]  # on 0-1 s, off 1-2 s, on again at 2 s
    assert lines[-1].endswith("off (done)")


def test_panel_watch_lists_the_wired_buttons(tmp_path):
    config = config_file(tmp_path, "[panel]\nbutton_ack = 19\nbutton_test = 13\n")
    result = CliRunner().invoke(main, ["panel", "watch", "--config", config, "--seconds", "0.2"])
    assert result.exit_code == 0, result.output
    assert "test     pin 13 (pull-up, pressed = low): released" in result.output
    assert "ack      pin 19 (pull-up, pressed = low): released" in result.output
    unwired = CliRunner().invoke(main, ["panel", "watch", "--config", config_file(tmp_path)])
    assert unwired.exit_code == 2 and "no button is wired" in unwired.output
