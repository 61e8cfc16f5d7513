"""The village's own recorded prompt: uploaded on the web panel (converted on the box, checked,
refused with a clear reason and nothing saved), listened to, removed; and played into alarm
calls instead of the synthesised sentence, while the SMS still names the caller."""
import queue
import subprocess
import types

import httpx
import pytest

from edgebox.adapters.speech import EspeakSynthesiser, ToneSynthesiser
from edgebox.adapters.speech.clip import Clip
from edgebox.adapters.speech.prompt import load_prompt, prompt_path, save_prompt
from edgebox.config_file import parse_config
from edgebox.daemon.office import OfficeDesk
from edgebox.emulator import EmulatorServer, Latency
from edgebox.roster_io.csv_sheet import read_roster_csv
from edgebox.store import SqliteStore
from edgebox.web.box_view import BoxView
from edgebox.web.passwords import hash_password
from edgebox.web.server import WebPanel
from tests.support import SHEET, WANG, start_box, stop, wait_for
from tests.test_web_panel import login, settings, utc_now

PASSWORD = "村委值班2024"
RECORDING = "村委主任：有紧急情况，请马上到村委会集合。"


@pytest.fixture(scope="module")
def recording() -> Clip:
    return EspeakSynthesiser().render(RECORDING)  # stands in for the clerk's own voice


def mp3_of(clip: Clip, tmp_path) -> bytes:
    """The recording as a phone's app saves it: 44.1 kHz stereo MP3, made by sox."""
    wav, mp3 = tmp_path / "in.wav", tmp_path / "录音.mp3"
    wav.write_bytes(clip.to_wav())
    subprocess.run(["sox", str(wav), "-r", "44100", "-c", "2", str(mp3)], check=True)
    return mp3.read_bytes()


@pytest.fixture
def panel(tmp_path):
    store = SqliteStore(tmp_path / "box.db")
    store.roster.replace(read_roster_csv(SHEET.encode("utf-8")), utc_now())
    config = parse_config(f'[box]\ndatabase = "{tmp_path / "box.db"}"\n'
                          '[[modems]]\nport = "/dev/null"\nname = "m1"\n')
    office = OfficeDesk(store, queue.Queue(), utc_now)
    web = WebPanel(settings(hash_password(PASSWORD)), store, BoxView(store, config, utc_now),
                   office, utc_now)
    web.start()
    try:
        yield types.SimpleNamespace(web=web, store=store)
    finally:
        web.stop()


@pytest.fixture
def office(panel):
    client, csrf = login(panel.web)
    yield client, csrf
    client.close()


def upload(client, csrf, name: str, data: bytes) -> httpx.Response:
    return client.post("/speech/prompt", data={"csrf": csrf},
                       files={"prompt": (name, data, "application/octet-stream")})


def test_the_office_uploads_listens_to_and_removes_its_prompt(panel, office, tmp_path,
                                                             recording):
    client, csrf = office
    health = client.get("/health").text
    assert "本机普通话语音合成" in health and "未上传" in health
    answer = upload(client, csrf, "录音.mp3", mp3_of(recording, tmp_path))
    assert answer.status_code == 303, answer.text
    page = client.get(answer.headers["location"]).text
    assert "录音已保存" in page and "已启用" in page
    kept = load_prompt(tmp_path)
    assert abs(kept.seconds - recording.seconds) < 0.1 and not kept.is_silent()
    heard = client.get("/speech/prompt.wav")
    assert heard.headers["content-type"] == "audio/wav" and Clip.from_wav(heard.content) == kept
    assert "media-src 'self'" in heard.headers["content-security-policy"]
    assert [e.data["file"] for e in panel.store.events_of_kinds(["speech_prompt_saved"])] \
        == ["录音.mp3"]
    removed = client.post("/speech/prompt/remove", data={"csrf": csrf})
    assert removed.status_code == 303 and not prompt_path(tmp_path).exists()
    assert "录音已删除" in client.get(removed.headers["location"]).text
    assert client.get("/speech/prompt.wav").status_code == 404


@pytest.mark.parametrize("name, data, words", [
    ("notes.txt", b"hello", "只能上传WAV、MP3或AMR"),
    ("录音.mp3", b"this is not audio at all" * 10, "无法读取"),
    ("静音.wav", Clip.silence(3.0).to_wav(), "没有声音"),
    ("嘀.wav", ToneSynthesiser().render("嘀").to_wav(), "太短"),
    ("长.wav", Clip(ToneSynthesiser().render("长" * 140).pcm).to_wav(), "太长"),
], ids=["text", "not-audio", "silent", "too-short", "too-long"])
def test_a_bad_upload_is_refused_in_words_and_keeps_the_prompt_there_was(
        office, tmp_path, recording, name, data, words):
    save_prompt(tmp_path, recording.to_wav(), "before.wav")
    client, csrf = office
    answer = upload(client, csrf, name, data)
    assert answer.status_code == 400 and words in answer.text and "未保存" in answer.text
    assert load_prompt(tmp_path) == recording  # nothing lost


def test_an_upload_past_the_size_limit_is_refused_before_it_is_read(office, tmp_path):
    client, csrf = office
    answer = upload(client, csrf, "huge.wav", bytes(6 * 1024 * 1024))
    assert answer.status_code == 413 and "未保存" in answer.text
    assert not prompt_path(tmp_path).exists()


@pytest.mark.slow
def test_alarm_calls_play_the_recorded_prompt_and_the_sms_still_names_the_caller(
        tmp_path, recording):
    save_prompt(tmp_path, recording.to_wav(), "村委.wav")  # beside the box's database
    emulator = EmulatorServer("ec25", Latency.realistic(scale=0.02, call_setup=5,
                                                        ring_timeout=250),
                              link=str(tmp_path / "modem"))
    emulator.start()
    emulator.set_callee(WANG, answer_after=0.3, press="1", press_after=1.0)
    daemon, db, _, log_path = start_box(tmp_path, [emulator], extra=(
        "[alarm]\nring_members = true\nring_seconds = 8\n"))
    try:
        emulator.call("18600138003")
        wait_for(lambda: any(e["kind"] == "audio" for e in emulator.log()), 60,
                 "the leader's ring call", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    [heard] = [e for e in emulator.log() if e["kind"] == "audio"]
    assert heard["number"] == WANG and heard["digest"] == recording.digest
    texts = [e["text"] for e in emulator.log() if e["kind"] == "sms_sent" and e["number"] == WANG]
    assert texts and "张伟" in texts[0]


def test_the_health_page_says_how_each_modem_speaks_into_calls(panel, office):
    client, _ = office
    assert 'class="speech-mechanism">?<' in client.get("/health").text  # never seen yet
    panel.store.append_event(utc_now(), "modem_ready", modem="m1", port="/dev/null",
                             identity="Quectel EC25", family="quectel", speech="qpsnd")
    assert "本机合成语音，经模块文件播放" in client.get("/health").text
    panel.store.append_event(utc_now(), "modem_speech", modem="m1", speech="tts", was="qpsnd")
    page = client.get("/health").text
    assert "模块自带的文字转语音" in page and "本机合成语音，经模块文件播放" not in page
    assert "Speech in calls" in client.get("/health?lang=en").text
