"""The office siren panel on simulated pins, against a hand-stepped clock (nothing sleeps):
patterns, the hard maximum on-time, debounced buttons with SIREN's hold, LEDs, the buzzer,
and each press as a logged event plus an OfficeAction on the daemon's queue."""
import queue
from datetime import datetime, timezone

import pytest

from edgebox.adapters.gpio.buttons import Button
from edgebox.adapters.gpio.outputs import OfficeLights
from edgebox.adapters.gpio.panel import PanelService, PanelSettings, panel_settings
from edgebox.adapters.gpio.patterns import Pattern, pattern_problem
from edgebox.adapters.gpio.siren import GpioSiren
from edgebox.adapters.gpio.simulated import SimulatedGPIO
from edgebox.config_file import parse_config
from edgebox.domain import office_actions as office
from edgebox.errors import ConfigError
from edgebox.store import SqliteStore

SIREN_PIN, SIREN_BTN, SILENCE_BTN, TEST_BTN, ACK_BTN = 17, 5, 6, 13, 19
LED_HEART, LED_MODEM, LED_ALARM, LED_UPLINK, BUZZER = 20, 21, 22, 23, 24


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def on_spans(history, until):
    """[(start, end)] of every stretch the relay was closed (level 1 = on, active high)."""
    spans, start = [], None
    for at, level in history:
        if level and start is None:
            start = at
        elif not level and start is not None:
            spans.append((round(start, 3), round(at, 3)))
            start = None
    if start is not None:
        spans.append((round(start, 3), until))
    return spans


def test_patterns_are_functions_of_elapsed_time():
    pulsed = Pattern("pulsed", (1.0, 1.0))
    assert [pulsed.level_at(t) for t in (0, 0.99, 1.0, 1.99, 2.0, 3.5)] == \
        [True, True, False, False, True, False]
    assert all(Pattern("continuous", (1.0,)).level_at(t) for t in (0, 7.3, 1e6))
    drill = Pattern("drill", (0.25, 0.25, 0.25, 1.25))
    assert [drill.level_at(t) for t in (0.1, 0.3, 0.6, 0.8, 1.9, 2.1)] == \
        [True, False, True, False, False, True]
    assert pattern_problem([1, 1, 1]) and pattern_problem([]) and pattern_problem(["x"])
    assert pattern_problem([0.5, 0.5]) is None


def test_siren_follows_its_pattern_on_the_injected_clock():
    clock = Clock()
    gpio = SimulatedGPIO(clock=clock)
    siren = GpioSiren(gpio, SIREN_PIN, patterns={"pulsed": (0.5, 1.5)}, clock=clock)
    start = clock.now
    siren.on("pulsed")
    while clock.now < start + 5.9:
        clock.now += 1 / 64  # exact in binary: the spans come out exact too
        siren.update(clock.now)
    spans = [(round(a - start, 2), round(b - start, 2))
             for a, b in on_spans(gpio.outputs_of(SIREN_PIN)[1:], clock.now)]
    assert spans == [(0.0, 0.5), (2.0, 2.5), (4.0, 4.5)]


def test_maximum_on_time_silences_whoever_switched_it_on():
    clock = Clock()
    gpio = SimulatedGPIO(clock=clock)
    siren = GpioSiren(gpio, SIREN_PIN, max_on_seconds=30, clock=clock)
    start = clock.now
    siren.on("continuous")
    clock.now += 20
    siren.on("pulsed")  # asking again does not restart the limit
    stopped_at = None
    while clock.now < start + 60 and stopped_at is None:
        clock.now += 0.1
        if siren.update(clock.now):
            stopped_at = clock.now
    assert stopped_at == pytest.approx(start + 30, abs=0.11)
    assert not siren.is_on and gpio.levels[SIREN_PIN] == 0
    clock.now += 100
    assert not siren.update(clock.now)  # stays off; no second report


@pytest.mark.parametrize("active_high,off", [(True, 0), (False, 1)])
def test_relay_is_driven_off_at_setup(active_high, off):
    gpio = SimulatedGPIO(clock=Clock())
    GpioSiren(gpio, SIREN_PIN, active_high)
    assert [level for _, level in gpio.outputs_of(SIREN_PIN)] == [off]


def test_button_is_debounced_and_siren_needs_its_hold():
    clock = Clock()
    gpio = SimulatedGPIO(clock=clock)
    gpio.setmode(gpio.BCM)
    quick = Button(gpio, "ack", ACK_BTN, debounce_seconds=0.05, now=clock.now)
    held = Button(gpio, "siren", SIREN_BTN, debounce_seconds=0.05, hold_seconds=2,
                  now=clock.now)
    assert gpio.pulls[ACK_BTN] == gpio.PUD_UP and gpio.input(ACK_BTN) == gpio.HIGH

    def run(button, seconds):
        fired = []
        end = clock.now + seconds
        while clock.now < end:
            clock.now += 0.01
            if button.poll(clock.now):
                fired.append(round(clock.now, 2))
        return fired

    # Contact bounce: 20 ms blips never count.
    for _ in range(5):
        gpio.drive(ACK_BTN, 0)
        assert run(quick, 0.02) == []
        gpio.drive(ACK_BTN, 1)
        assert run(quick, 0.02) == []
    gpio.drive(ACK_BTN, 0)  # a real press: once, however long it is held
    assert len(run(quick, 1.0)) == 1
    gpio.drive(ACK_BTN, 1)
    run(quick, 0.1)
    gpio.drive(ACK_BTN, 0)  # released and pressed again: counts again
    assert len(run(quick, 0.2)) == 1

    gpio.drive(SIREN_BTN, 0)  # SIREN brushed for a second: nothing
    assert run(held, 1.0) == []
    gpio.drive(SIREN_BTN, 1)
    run(held, 0.1)
    pressed_at = clock.now
    gpio.drive(SIREN_BTN, 0)
    fired = run(held, 3.0)
    assert len(fired) == 1 and fired[0] == pytest.approx(pressed_at + 2, abs=0.03)


@pytest.fixture
def panel():
    clock = Clock()
    gpio = SimulatedGPIO(clock=clock)
    store = SqliteStore(":memory:")
    siren = GpioSiren(gpio, SIREN_PIN, max_on_seconds=60, clock=clock)
    lights = {"value": OfficeLights()}
    settings = PanelSettings(
        buttons={"siren": SIREN_BTN, "silence": SILENCE_BTN, "test": TEST_BTN, "ack": ACK_BTN},
        leds={"heartbeat": LED_HEART, "modem": LED_MODEM, "alarm": LED_ALARM,
              "uplink": LED_UPLINK},
        buzzer=BUZZER, siren_max_seconds=60, test_seconds=5,
        patterns={"drill": (0.25, 0.25, 0.25, 1.25)})
    actions: queue.Queue = queue.Queue()
    service = PanelService(gpio, settings, siren, actions, store, lambda: lights["value"],
                           lambda: datetime.now(timezone.utc), clock)

    def step(seconds, every=1 / 64):
        end = clock.now + seconds
        while clock.now < end - 1e-9:
            clock.now += every
            service.tick(clock.now)

    def press(pin, seconds=0.2):
        gpio.drive(pin, 0)
        step(seconds)
        gpio.drive(pin, 1)
        step(0.1)

    return service, gpio, store, actions, siren, lights, clock, step, press


def drained(actions):
    found = []
    while not actions.empty():
        found.append(actions.get_nowait())
    return found


def test_buttons_become_logged_office_actions(panel):
    service, gpio, store, actions, siren, lights, clock, step, press = panel
    press(ACK_BTN)
    press(SILENCE_BTN)
    press(SIREN_BTN, 1.0)  # too short
    assert [(a.kind, a.source) for a in drained(actions)] == [
        (office.ACKNOWLEDGE, "button"), (office.SIREN_OFF, "button")]
    press(SIREN_BTN, 2.2)
    assert [(a.kind, a.source) for a in drained(actions)] == [(office.SIREN_ON, "button")]
    pressed = [e.data["button"] for e in store.events_of_kinds(["button_pressed"])]
    assert pressed == ["ack", "silence", "siren"]
    # The buzzer answered each accepted press with a short beep.
    beeps = on_spans(gpio.outputs_of(BUZZER)[1:], clock.now)
    assert len(beeps) == 3 and all(b - a == pytest.approx(0.1, abs=0.02) for a, b in beeps)


def test_test_button_plays_the_drill_pattern_and_lights_every_led(panel):
    service, gpio, store, actions, siren, lights, clock, step, press = panel
    start = clock.now
    gpio.drive(TEST_BTN, 0)
    step(0.25)
    gpio.drive(TEST_BTN, 1)
    step(0.75)
    assert all(gpio.levels[pin] == 1 for pin in (LED_MODEM, LED_ALARM, LED_UPLINK))
    step(5.0)
    assert not siren.is_on and drained(actions) == []  # local only: nobody is texted
    spans = on_spans(gpio.outputs_of(SIREN_PIN)[1:], clock.now)
    first = spans[0][0]
    assert start + 0.05 <= first <= start + 0.1  # accepted once debounced
    relative = [(round(a - first, 2), round(b - first, 2)) for a, b in spans]
    assert relative[:4] == [(0.0, 0.25), (0.5, 0.75), (2.0, 2.25), (2.5, 2.75)]
    assert relative[-1] == (4.5, 4.75)  # and nothing after test_seconds (5)
    assert [e.data["seconds"] for e in store.events_of_kinds(["siren_test"])] == [5]


def test_test_button_never_interrupts_a_sounding_alarm(panel):
    service, gpio, store, actions, siren, lights, clock, step, press = panel
    siren.on("continuous")
    press(TEST_BTN)
    step(6)
    assert siren.is_on and siren.pattern.kind == "continuous"
    assert store.events_of_kinds(["siren_test"]) == []


def test_panel_enforces_the_maximum_on_time_and_logs_it(panel):
    service, gpio, store, actions, siren, lights, clock, step, press = panel
    siren.on("pulsed")
    step(59.0, every=0.05)
    assert siren.is_on
    step(1.1, every=0.05)
    assert not siren.is_on and gpio.levels[SIREN_PIN] == 0
    [event] = store.events_of_kinds(["siren_off"])
    assert event.data == {"reason": "max_on_time", "seconds": 60}


def test_leds_report_heartbeat_modem_alarm_and_uplink(panel):
    service, gpio, store, actions, siren, lights, clock, step, press = panel
    lights["value"] = OfficeLights(modem_ready=True, network=True, alarm_active=False,
                                   uplink_ok=True)
    step(1.1)
    mark = len(gpio.outputs_of(LED_HEART))
    step(4.0)
    assert len(gpio.outputs_of(LED_HEART)) - mark == pytest.approx(8, abs=1)  # 1 Hz blink
    assert gpio.levels[LED_MODEM] == 1 and gpio.levels[LED_UPLINK] == 1
    assert gpio.levels[LED_ALARM] == 0
    lights["value"] = OfficeLights(modem_ready=True, network=False, alarm_active=True)
    step(1.1)
    mark_modem, mark_alarm = len(gpio.outputs_of(LED_MODEM)), len(gpio.outputs_of(LED_ALARM))
    step(2.0)
    assert len(gpio.outputs_of(LED_MODEM)) - mark_modem >= 7   # no network: quick blink
    assert len(gpio.outputs_of(LED_ALARM)) - mark_alarm >= 7   # alarm open: quick blink
    assert gpio.levels[LED_UPLINK] == 0
    service.stop()
    assert all(gpio.levels[p] == 0 for p in (LED_HEART, LED_MODEM, LED_ALARM, LED_UPLINK))


MINIMAL = '[[modems]]\nport = "/dev/null"\n'


def test_panel_settings_come_from_the_config_and_refuse_shared_pins():
    config = parse_config(MINIMAL + "[panel]\nbutton_ack = 19\nled_alarm = 22\n"
                          "pattern_pulsed = [0.5, 0.5]\n")
    settings = panel_settings(config)
    assert settings.buttons == {"ack": 19} and settings.leds == {"alarm": 22}
    assert settings.patterns["pulsed"] == (0.5, 0.5)
    with pytest.raises(ConfigError, match="panel.led_alarm.*already used by panel.button_ack"):
        panel_settings(parse_config(MINIMAL + "[panel]\nbutton_ack = 19\nled_alarm = 19\n"))
    with pytest.raises(ConfigError, match="siren.pin"):
        panel_settings(parse_config(MINIMAL + "[panel]\nbuzzer = 17\n"))
    with pytest.raises(ConfigError, match="panel.pattern_drill"):
        parse_config(MINIMAL + "[panel]\npattern_drill = [1, 2, 3]\n")
