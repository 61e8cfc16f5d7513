"""The siren panel sleeps while nothing happens: buttons wake it by their edges (RPi.GPIO's
add_event_detect, the simulated pins the same), the siren wakes it when switched on from any
thread, and each turn schedules only what is active. Checked by what the panel has scheduled
(its state), never by how long anything took."""
import queue
from datetime import datetime, timezone

import pytest

from edgebox.adapters.gpio.outputs import OfficeLights
from edgebox.adapters.gpio.panel import PanelService, PanelSettings
from edgebox.adapters.gpio.patterns import Pattern
from edgebox.adapters.gpio.siren import GpioSiren
from edgebox.adapters.gpio.simulated import SimulatedGPIO
from edgebox.domain import office_actions as office
from edgebox.store import SqliteStore
from tests.support import wait_for
from tests.test_panel_gpio import Clock, on_spans

SIREN_PIN, SIREN_BTN, SILENCE_BTN, TEST_BTN, ACK_BTN = 17, 5, 6, 13, 19
LED_HEART, LED_UPLINK, LED_ALARM = 20, 23, 22
BUTTONS = {"siren": SIREN_BTN, "silence": SILENCE_BTN, "test": TEST_BTN, "ack": ACK_BTN}


def build(clock=None, leds=None, edge_detection=True, max_on=60, pulsed=(0.5, 1.5)):
    clock = clock or Clock()
    gpio = SimulatedGPIO(clock=clock, edge_detection=edge_detection)
    siren = GpioSiren(gpio, SIREN_PIN, max_on_seconds=max_on, clock=clock,
                      patterns={"pulsed": pulsed})
    settings = PanelSettings(buttons=dict(BUTTONS), leds=leds or {}, siren_max_seconds=max_on,
                             siren_hold_seconds=0.5, debounce_seconds=0.05)
    actions: queue.Queue = queue.Queue()
    store = SqliteStore(":memory:")
    lights = {"value": OfficeLights()}
    panel = PanelService(gpio, settings, siren, actions, store, lambda: lights["value"],
                         lambda: datetime.now(timezone.utc), clock)
    return panel, gpio, siren, actions, store, lights, clock


def test_an_idle_panel_has_nothing_scheduled():
    panel, gpio, siren, actions, store, lights, clock = build()
    panel.tick(clock.now)
    assert panel.polled == [] and panel.next_due is None  # sleeps until an edge or the siren


def test_a_button_edge_wakes_the_panel_and_schedules_only_its_debounce_and_hold():
    panel, gpio, siren, actions, store, lights, clock = build()
    panel.tick(clock.now)
    woken = []
    gpio.add_event_callback(SIREN_BTN, woken.append)  # beside the panel's own callback
    gpio.drive(SIREN_BTN, 0)
    assert woken == [SIREN_BTN] and panel._wake.is_set()
    pressed_at = clock.now
    panel.tick(clock.now)
    assert panel.next_due == pytest.approx(pressed_at + 0.05)  # the debounce's end
    clock.now = panel.next_due
    panel.tick(clock.now)
    assert panel.next_due == pytest.approx(pressed_at + 0.5)  # SIREN's hold
    clock.now = panel.next_due
    panel.tick(clock.now)
    assert [a.kind for a in drained(actions)] == [office.SIREN_ON]
    # Held after it counted: read again every debounce period, its release edge may be lost.
    assert panel.next_due == pytest.approx(clock.now + 0.05)
    gpio.drive(SIREN_BTN, 1)
    clock.now += 0.01
    panel.tick(clock.now)
    due = []
    while panel.next_due is not None and len(due) < 5:
        due.append(round(panel.next_due - clock.now, 3))
        clock.now = panel.next_due
        panel.tick(clock.now)
    # The read after the release edge's bounce window, the release's debounce end, then the
    # end of the press's beep.
    assert panel.next_due is None
    assert due == [0.04, 0.01, 0.04]


def test_a_release_edge_lost_to_bouncetime_is_read_at_the_debounce_end():
    panel, gpio, siren, actions, store, lights, clock = build()
    gpio.drive(ACK_BTN, 0)
    panel.tick(clock.now)
    clock.now += 0.02
    panel._wake.clear()
    gpio.drive(ACK_BTN, 1)  # a 20 ms bounce: inside bouncetime, RPi.GPIO drops this edge
    assert not panel._wake.is_set()
    clock.now = panel.next_due
    panel.tick(clock.now)
    assert drained(actions) == [] and panel.next_due is None  # a blip, read as one, no press
    assert not panel.buttons[list(BUTTONS).index("ack")].state.pressed


def test_the_siren_is_stepped_only_while_it_sounds_and_its_limit_holds():
    panel, gpio, siren, actions, store, lights, clock = build(max_on=30)
    panel.tick(clock.now)
    panel._wake.clear()
    start = clock.now
    siren.on("pulsed")  # as the event loop does, from its own thread
    assert panel._wake.is_set()
    turns = 0
    while panel.next_due is not None or turns == 0:
        clock.now = max(clock.now, panel.next_due or clock.now)
        panel.tick(clock.now)
        turns += 1
    assert not siren.is_on and clock.now == pytest.approx(start + 30)
    assert turns == 31  # each change of 15 cycles of on 0.5 s, off 1.5 s, then the limit
    spans = [(round(a - start, 2), round(b - start, 2))
             for a, b in on_spans(gpio.outputs_of(SIREN_PIN)[1:], clock.now)]
    assert spans[:2] == [(0.0, 0.5), (2.0, 2.5)] and len(spans) == 15
    [event] = store.events_of_kinds(["siren_off"])
    assert event.data == {"reason": "max_on_time", "seconds": 30}


def test_a_continuous_siren_wakes_the_panel_only_for_its_limit():
    panel, gpio, siren, actions, store, lights, clock = build(max_on=300)
    siren.on("continuous")
    panel.tick(clock.now)
    assert panel.next_due == pytest.approx(clock.now + 300)
    siren.off()
    panel.tick(clock.now)
    assert panel.next_due is None


def test_wired_leds_are_read_once_a_second_and_only_blinking_ones_step_between():
    panel, gpio, siren, actions, store, lights, clock = build(leds={"uplink": LED_UPLINK,
                                                                     "alarm": LED_ALARM})
    panel.tick(clock.now)
    assert panel.next_due == pytest.approx(clock.now + 1)  # steady LEDs: the next read only
    lights["value"] = OfficeLights(alarm_active=True)
    clock.now = panel.next_due
    panel.tick(clock.now)
    assert panel.next_due == pytest.approx(clock.now + 0.25)  # the alarm LED blinks at 2 Hz


def test_buttons_are_polled_where_edge_detection_cannot_be_added():
    panel, gpio, siren, actions, store, lights, clock = build(edge_detection=False)
    assert panel.polled == list(BUTTONS)
    panel.tick(clock.now)
    assert panel.next_due == pytest.approx(clock.now + 0.01)
    gpio.drive(ACK_BTN, 0)
    for _ in range(10):
        clock.now = panel.next_due
        panel.tick(clock.now)
    assert [a.kind for a in drained(actions)] == [office.ACKNOWLEDGE]


def test_the_panel_thread_acts_on_an_edge_and_goes_back_to_sleep():
    gpio = SimulatedGPIO()
    siren = GpioSiren(gpio, SIREN_PIN, max_on_seconds=3, patterns={"pulsed": (0.1, 0.1)})
    actions: queue.Queue = queue.Queue()
    store = SqliteStore(":memory:")
    panel = PanelService(gpio, PanelSettings(buttons={"ack": ACK_BTN}, siren_max_seconds=3),
                         siren, actions, store, OfficeLights, lambda: datetime.now(timezone.utc))
    panel.start()
    try:
        wait_for(lambda: panel.next_due is None and not panel._wake.is_set(), 10,
                 "the panel to go to sleep")
        gpio.drive(ACK_BTN, 0)
        wait_for(lambda: not actions.empty(), 10, "the press to reach the office desk")
        assert actions.get_nowait().kind == office.ACKNOWLEDGE
        gpio.drive(ACK_BTN, 1)
        wait_for(lambda: panel.next_due is None, 10, "the panel to sleep again")
        siren.on("pulsed")  # from this thread: the sleeping panel steps it to its limit
        wait_for(lambda: store.events_of_kinds(["siren_off"]), 20, "the maximum on-time")
        assert not siren.is_on and len(on_spans(gpio.outputs_of(SIREN_PIN)[1:], 0)) >= 2
        wait_for(lambda: panel.next_due is None, 10, "the panel to sleep after the siren")
    finally:
        panel.stop()


def test_simulated_edge_detection_follows_rpi_gpio():
    clock = Clock()
    gpio = SimulatedGPIO(clock=clock)
    gpio.setmode(gpio.BCM)
    gpio.setup(5, gpio.OUT)
    with pytest.raises(RuntimeError, match="as an input"):
        gpio.add_event_detect(5, gpio.BOTH)
    gpio.setup(6, gpio.IN, pull_up_down=gpio.PUD_UP)
    falls = []
    gpio.add_event_detect(6, gpio.FALLING, callback=falls.append, bouncetime=50)
    with pytest.raises(RuntimeError, match="Conflicting edge detection"):
        gpio.add_event_detect(6, gpio.BOTH)
    gpio.drive(6, 1)  # no change: no edge
    gpio.drive(6, 0)
    clock.now += 0.01
    gpio.drive(6, 1)  # rising: not watched
    gpio.drive(6, 0)  # falling, but within 50 ms of the last: dropped
    assert falls == [6] and gpio.event_detected(6) and not gpio.event_detected(6)
    clock.now += 0.1
    gpio.drive(6, 1)
    gpio.drive(6, 0)
    assert falls == [6, 6]
    gpio.remove_event_detect(6)
    gpio.drive(6, 1)
    gpio.drive(6, 0)
    assert falls == [6, 6] and not gpio.event_detected(6)


def test_pattern_next_change_is_the_next_step_boundary():
    drill = Pattern("drill", (0.25, 0.25, 0.25, 1.25))
    assert [drill.next_change(t) for t in (0, 0.1, 0.25, 0.6, 1.0, 2.0)] == \
        [0.25, 0.25, 0.5, 0.75, 2.0, 2.25]
    assert Pattern("continuous", (1.0,)).next_change(5) is None


def drained(actions):
    found = []
    while not actions.empty():
        found.append(actions.get_nowait())
    return found


def test_a_press_whose_edges_fell_inside_the_bounce_time_is_still_read():
    # A brush past SIREN and a press held at once after it: RPi.GPIO lets the first edge
    # through and drops the release and the new press (within bouncetime). The wake-up's read
    # may see the button released; with no edge left to come, only a read after the bounce
    # window finds it held.
    panel, gpio, siren, actions, store, lights, clock = build()
    panel.tick(clock.now)
    gpio.drive(SILENCE_BTN, 0)  # let through: wakes the panel
    gpio.drive(SILENCE_BTN, 1)  # dropped (within the bounce time)
    clock.now += 0.001
    panel.tick(clock.now)  # the wake-up's read: released
    gpio.drive(SILENCE_BTN, 0)  # pressed and held, its edge dropped too
    assert panel.next_due is not None  # the pin is read again when the window is over
    for _ in range(10):
        clock.now = panel.next_due
        panel.tick(clock.now)
        if panel.next_due is None or not actions.empty():
            break
    assert [a.kind for a in drained(actions)] == [office.SIREN_OFF]  # SILENCE was read
