"""Running every check and showing the outcome, for a person or as JSON."""
from __future__ import annotations

from datetime import datetime, timezone

from edgebox.i18n import N_, display_width, padded, say, table, word

from edgebox.selftest import checks
from edgebox.selftest.checks import FAIL, Result

# The report's words (the checks' own are Texts in checks.py): "selftest.<name>".
WORDS = table(
    "selftest.",
    N_("selftest.pass", "PASS"),
    N_("selftest.warn", "WARN"),
    N_("selftest.fail", "FAIL"),
    N_("selftest.skip", "skip"),
    N_("selftest.passed", "selftest passed"),
    N_("selftest.failed", "selftest FAILED: {count} check(s) failed"),
)


def _word(lang: str, name: str, **fields: object) -> str:
    return word(lang, f"selftest.{name}", WORDS[name]).format(**fields)


def run_checks(config, sms_to: str | None = None, siren_seconds: float = 1.0) -> list[Result]:
    results: list[Result] = checks.check_config_notices(config)
    sms_text = f"edgebox {config.box_id} selftest {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    for settings in config.modems:
        results += checks.check_modem(settings, config, sms_to, sms_text)
    results.append(checks.check_siren(config, siren_seconds))
    buttons = checks.check_buttons(config)
    if buttons is not None:
        results.append(buttons)
    results.append(checks.check_speaker(config))
    results.append(checks.check_storage(config))
    results.append(checks.check_roster(config))
    results.append(checks.check_clock())
    results.append(checks.check_uplink(config))
    return results


def passed(results: list[Result]) -> bool:
    return not any(result.status == FAIL for result in results)


def as_text(results: list[Result], lang: str = "zh") -> str:
    """The report a technician reads, in ``lang`` (the box's language)."""
    names = [say(result.name, lang) for result in results]
    marks = [_word(lang, result.status) for result in results]
    name_width = max(display_width(name) for name in names)
    mark_width = max(display_width(mark) for mark in marks)
    lines = []
    for result, name, mark in zip(results, names, marks):
        lines.append(f"{padded(mark, mark_width)}  {padded(name, name_width)}  "
                     f"{say(result.detail, lang)}")
        if result.fix and result.status in ("fail", "warn"):
            lines.append(f"{' ' * (mark_width + name_width + 4)}-> {say(result.fix, lang)}")
    failures = sum(result.status == FAIL for result in results)
    lines.append("")
    lines.append(_word(lang, "failed", count=failures) if failures else _word(lang, "passed"))
    return "\n".join(lines)




def as_json(results: list[Result]) -> dict:
    return {"passed": passed(results), "checks": [result.as_dict() for result in results]}
