"""The word catalogues (edgebox/locale): complete, in step with the source, their fields kept,
their compiled .mo committed up to date and carried by the wheel."""
from __future__ import annotations

import copy
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from edgebox import i18n
from edgebox.domain import messages
from edgebox.domain.messages import render, template_fields
from edgebox.i18n import Text, say

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "edgebox"
PO = i18n.LOCALE_DIR / "zh" / "LC_MESSAGES" / "edgebox.po"
MO = PO.with_suffix(".mo")
# As babel.cfg and the README's pybabel extract: N_ and Text in Python, and Jinja2's
# pgettext in the templates (with the i18n extension).
KEYWORDS = {"N_": ((1, "c"), 2), "Text": ((1, "c"), 2), "pgettext": ((1, "c"), 2)}


def _catalogue():
    with PO.open("rb") as f:
        return read_po(f, locale="zh")


def _marked_in_source() -> dict[str, str]:
    """{key: English} for every word marked in the package, as `pybabel extract` with
    babel.cfg sees it."""
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = {}
    for _file, _line, message, _comments, context in extract_from_dir(
            str(PACKAGE), method_map, options_map=options, keywords=KEYWORDS):
        assert context, f"a word marked without its key: {message!r}"
        assert found.get(context, message) == message, f"key {context} marked twice"
        found[context] = message
    return found


def test_every_marked_word_has_a_chinese_translation_and_nothing_else_is_in_the_catalogue():
    source = _marked_in_source()
    catalogue = {m.context: m for m in _catalogue() if m.id}
    missing = sorted(set(source) - set(catalogue))
    assert not missing, f"not in the zh catalogue (run pybabel extract/update): {missing}"
    stale = sorted(set(catalogue) - set(source))
    assert not stale, f"in the zh catalogue but no longer in the source: {stale}"
    for key, english in source.items():
        entry = catalogue[key]
        assert entry.id == english, f"{key}: the catalogue translates an older English text"
        assert entry.string and not entry.fuzzy, f"{key}: no Chinese yet"


def test_every_translation_keeps_its_templates_fields():
    for entry in _catalogue():
        if entry.id:
            assert template_fields(entry.string) == template_fields(entry.id), entry.context


def test_every_sms_template_renders_in_chinese_with_its_fields_filled():
    for name in messages.TEMPLATES:
        fields = {f: f"<{f}>" for f in template_fields(messages.template("zh", name))}
        text = render("zh", name, **fields)
        assert all(value in text for value in fields.values()), name


def test_the_committed_mo_is_the_compiled_po():
    compiled = io.BytesIO()
    write_mo(compiled, _catalogue())
    assert MO.read_bytes() == compiled.getvalue(), (
        "edgebox.mo is older than edgebox.po: run "
        "pybabel compile -d edgebox/locale -D edgebox")


def test_a_text_says_itself_in_each_language_and_survives_a_copy():
    problem = Text("roster.problem_in", "line {line} ({column}): {text}", line=7,
                   column="电话", text=Text("phone.wrong_digits",
                                            "'{raw}' has the wrong number of digits",
                                            raw="138001"))
    assert problem == "line 7 (电话): '138001' has the wrong number of digits"
    assert say(problem, "zh") == "第7行（电话）：“138001”位数不对"
    assert say(problem, "en") == problem and say("plain", "zh") == "plain"
    copied = copy.deepcopy(problem)
    assert isinstance(copied, Text) and say(copied, "zh") == say(problem, "zh")


def test_the_extraction_sees_the_templates_words():
    assert _marked_in_source()["web.cancel_confirm"].startswith("Call this alarm off?")


def test_an_unknown_language_speaks_chinese_and_english_needs_no_catalogue():
    assert render("fr", "office_ack") == render("zh", "office_ack")
    assert render("zh", "office_ack").startswith("【联防】")
    assert render("en", "office_ack") == messages.TEMPLATES["office_ack"]


def test_the_wheel_carries_the_compiled_catalogue(tmp_path):
    """The Debian package and the firmware image install edgebox from this wheel (built as
    scripts/build-deb builds it, from a copy: a build leaves build/ in its source tree)."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("setup.py", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(PACKAGE, source / "edgebox",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            "-w", str(tmp_path), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("edgebox-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "edgebox/locale/zh/LC_MESSAGES/edgebox.mo" in names
