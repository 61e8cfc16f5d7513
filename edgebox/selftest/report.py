"""Running every check and showing the outcome, for a person or as JSON."""
from __future__ import annotations

from datetime import datetime, timezone

from edgebox.selftest import checks
from edgebox.selftest.checks import FAIL, Result

MARKS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


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


def as_text(results: list[Result]) -> str:
    width = max(len(result.name) for result in results)
    lines = []
    for result in results:
        lines.append(f"{MARKS[result.status]}  {result.name:<{width}}  {result.detail}")
        if result.fix and result.status in ("fail", "warn"):
            lines.append(f"      {'':<{width}}  -> {result.fix}")
    failures = sum(result.status == FAIL for result in results)
    lines.append("")
    lines.append("selftest passed" if not failures else
                 f"selftest FAILED: {failures} check{'s' if failures > 1 else ''} failed")
    return "\n".join(lines)


def as_json(results: list[Result]) -> dict:
    return {"passed": passed(results), "checks": [result.as_dict() for result in results]}
