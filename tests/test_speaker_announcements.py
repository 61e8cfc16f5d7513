"""What the announcer makes of each committed event, in process: the words, the drill's 演练,
which closings are all-clears, which incidents are never announced, the per-sender broadcast
option, and that hearing an event never waits for speech or audio."""
import threading
from datetime import datetime, timezone

from edgebox.adapters.audio import SimulatedOutput, read_simulated_log
from edgebox.adapters.audio.relay import AmplifierRelay
from edgebox.adapters.gpio.simulated import SimulatedGPIO
from edgebox.adapters.speech import ToneSynthesiser
from edgebox.config_file import parse_config
from edgebox.roster_io.csv_sheet import read_roster_csv
from edgebox.speaker.announcements import Announcer
from edgebox.speaker.player import Loudspeaker
from edgebox.speaker.settings import speaker_settings
from edgebox.speaker.words import spoken
from edgebox.store.logged_event import Event
from tests.speaker_support import played
from tests.support import OFFICE, SHEET, STRANGER, wait_for

ROSTER = read_roster_csv(SHEET.encode())
NOON = datetime(2026, 6, 1, 4, 0, tzinfo=timezone.utc)


class Speech:
    """The tone synthesiser, counting what it renders (and able to hold a render back)."""

    def __init__(self):
        self.synthesiser = ToneSynthesiser()
        self.rendered = []
        self.release = threading.Event()
        self.release.set()

    def render(self, text):
        self.release.wait(30)
        self.rendered.append(text)
        return self.synthesiser.render(text)


def announcer(tmp_path, body="", speech=None):
    body = body if "repeats" in body else f"repeats = 2\n{body}"
    config = parse_config(f'[speaker]\n{body}\n[[modems]]\nport = "/dev/null"\n')
    output = SimulatedOutput(tmp_path / "out.jsonl", 50)
    speaker = Loudspeaker(output, AmplifierRelay(SimulatedGPIO(), 0), 0.05, 0.05)
    speech = speech or Speech()
    ann = Announcer(speaker, speech, speaker_settings(config), lambda: ROSTER, lambda: NOON)
    speaker.start()
    ann.start()
    return ann, speaker, speech


def logged(kind, incident, data):
    """An event as the store hands it to its listeners."""
    return Event(incident or 0, "2026-03-01T20:00:00Z", kind, incident, data)


def opened(incident, household="H03", group="第一组", **data):
    return logged("incident_opened", incident, {"group": group, "household": household,
                                                "kind": "call", "alarm_type": "call", **data})


def closed(incident, reason):
    return logged("incident_closed", incident, {"reason": reason})


def settle(ann, speaker):
    ann.stop()  # every heard event handled
    wait_for(speaker.idle, 30, "the loudspeaker to finish")
    speaker.stop()


def sentences(tmp_path):
    return [p["label"] for p in played(read_simulated_log(tmp_path / "out.jsonl"))
            if p["label"] not in ("chime", "gap")]


def test_a_fire_alarm_names_type_group_household_and_address(tmp_path):
    ann, speaker, _ = announcer(tmp_path)
    ann.hear(opened(1, household="H05", group="第二组", alarm_type="fire"))
    settle(ann, speaker)
    words = "紧急情况：第二组陈静家（石桥村二组1号）火警，请附近村民前往支援"
    assert sentences(tmp_path) == [f"{words} (1/2)", f"{words} (2/2)"]


def test_a_drill_says_so_and_its_end_is_announced(tmp_path):
    ann, speaker, _ = announcer(tmp_path, "repeats = 1")
    ann.hear(opened(2, alarm_type="drill", drill=True))
    wait_for(lambda: speaker.played >= 2, 30, "the drill's chime and sentence")
    ann.hear(closed(2, "drill_over"))
    settle(ann, speaker)
    said = sentences(tmp_path)
    assert said[0].startswith("演练，演练。紧急情况：第一组张伟家") and "这是演练" in said[0]
    assert said[1:] == [f"{spoken('zh', 'drill_over')} (1/1)"]


def test_drills_can_be_kept_off_the_loudspeaker(tmp_path):
    ann, speaker, _ = announcer(tmp_path, "drills = false")
    ann.hear(opened(3, alarm_type="drill", drill=True))
    ann.hear(closed(3, "drill_over"))
    settle(ann, speaker)
    assert sentences(tmp_path) == []


def test_an_expired_alarm_is_no_all_clear_and_a_check_in_is_never_announced(tmp_path):
    ann, speaker, speech = announcer(tmp_path, "repeats = 1")
    ann.hear(opened(4))
    ann.hear(closed(4, "expired"))
    ann.hear(opened(5, household="H02", kind="check_in", alarm_type="check_in"))
    settle(ann, speaker)
    assert not any("解除" in text for text in speech.rendered)
    assert not any("李秀英" in text for text in speech.rendered)


def test_the_all_clear_ends_the_alarm_s_remaining_repeats(tmp_path):
    ann, speaker, _ = announcer(tmp_path, "repeats = 10")
    ann.hear(opened(6))
    wait_for(lambda: speaker.played >= 2, 30, "the alarm to start")
    ann.hear(closed(6, "cancelled"))
    settle(ann, speaker)
    said = sentences(tmp_path)
    clear = spoken("zh", "all_clear", group="第一组", caller="张伟", label="紧急求助")
    assert said[-1] == f"{clear} (1/1)" and len(said) < 11


def test_broadcasts_are_read_out_only_from_the_configured_senders(tmp_path):
    ann, speaker, _ = announcer(tmp_path, f'broadcasts_from = ["{OFFICE}", "office"]')
    for sender, text in ((OFFICE, "明天停水"), (STRANGER, "不该读出"), ("office", "后天开会")):
        ann.hear(logged("broadcast_planned", None, {"sender": sender, "text": text}))
    settle(ann, speaker)
    assert sentences(tmp_path) == ["村委广播：明天停水 (1/1)", "村委广播：后天开会 (1/1)"]


def test_hearing_an_event_never_waits_for_speech(tmp_path):
    speech = Speech()
    speech.release.clear()  # espeak-ng stuck: the store's committing thread must not wait
    ann, speaker, _ = announcer(tmp_path, speech=speech)
    done = threading.Event()
    threading.Thread(target=lambda: (ann.hear(opened(7)), done.set())).start()
    assert done.wait(10)
    speech.release.set()
    settle(ann, speaker)
    assert len(sentences(tmp_path)) == 2
