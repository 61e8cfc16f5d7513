"""The selftest's word on voice in calls: which mechanism this modem has to speak into alarm
calls (asked the way the daemon asks at start-up, speech_out.probed), whether the box can
render the sentence, and whether the live loudspeaker has the modem's voice port."""
from __future__ import annotations

import time

from edgebox.adapters.modem.dialect import detect
from edgebox.adapters.modem.speech_out import mechanism_of, probed
from edgebox.adapters.speech import SpeechError, ToneSynthesiser, synthesiser_from_settings
from edgebox.domain.timeline import SPEECH
from edgebox.errors import EdgeboxError
from edgebox.i18n import Text

PASS, WARN = "pass", "warn"  # as checks names them

TEST_SENTENCE = "紧急求助，第一组张伟，石桥村一组3号，请立即前往。按1确认前往，按2再听一遍"
SOUND_MECHANISMS = ("ccmxplay", "qpsnd", "crec", "pcm_port")


def check_speech(probe, maker: str, model: str, config,
                 audio_port: str = "") -> tuple[str, str, str]:
    """(status, detail, fix) for the modem ``probe`` talks to (``audio_port``: its voice
    port, for a Huawei stick)."""
    def answers(command: str) -> bool:
        try:
            probe.command(command)
            return True
        except EdgeboxError:
            return False
    dialect = detect(maker, model)
    if dialect.audio == "pcm_port" and not audio_port:
        dialect = dialect.without(audio=None)  # as the daemon does (SpeechPort.probe)
    mechanism = mechanism_of(probed(dialect, answers))
    how = Text.coded("speech.", SPEECH, mechanism)  # said in the report's language
    if mechanism not in SOUND_MECHANISMS:
        return (WARN, how, Text(
            "selftest.speech_none_fix", "Alarm calls cannot play the box's Mandarin voice or a "
            "recorded prompt on this modem; the SMS carries every word. A SIM7600/A76xx or "
            "Quectel EC2x module plays them (a Huawei voice stick too, with modems.audio_port "
            "set to its voice port)."))
    synthesiser = synthesiser_from_settings(config.get("speech.engine"),
                                            config.get("speech.voice"),
                                            config.get("speech.words_per_minute"))
    started = time.monotonic()
    try:
        clip = synthesiser.render(TEST_SENTENCE)
    except SpeechError as exc:
        return (WARN, Text("selftest.speech_unrendered", "{how}; but the sentence cannot be "
                           "rendered: {error}", how=how, error=exc.args[0]),
                Text("selftest.speech_packages_fix", "Install the speech packages: `apt "
                     "install espeak-ng sox libsox-fmt-base libsox-fmt-mp3`."))
    # the simulated synthesiser's name is words; espeak-ng's is the program's and its voice's
    engine = (Text("selftest.speech_tones", "tones (simulated)")
              if isinstance(synthesiser, ToneSynthesiser) else synthesiser.name)
    fields = dict(how=how, engine=engine, seconds=f"{clip.seconds:.1f}",
                  took=f"{time.monotonic() - started:.1f}")
    if clip.is_silent():
        return (WARN, Text("selftest.speech_silent", "{how}; {engine} rendered a {seconds} s "
                           "sentence in {took} s that is silent", **fields),
                Text("selftest.speech_voice_fix", "Check [speech] voice."))
    return (PASS, Text("selftest.speech_rendered", "{how}; {engine} rendered a {seconds} s "
                       "sentence in {took} s", **fields), "")


def live_voice_port(settings, config, maker: str, model: str) -> tuple[str, str, str] | None:
    """(status, detail, fix) when the live loudspeaker would read the caller's voice on this
    modem's audio serial port (SIM7600, Huawei) and ``audio_port`` names none: the caller
    would speak and nothing would play. None when all is well or live voice is off."""
    from edgebox.adapters.audio.call_audio import SERIAL, route_for
    if not (config.speaker_enabled and config.speaker_live_numbers and settings.voice):
        return None
    route = route_for(detect(maker, model).family, f"{maker} {model}", config.speaker_call_audio)
    if route.kind != SERIAL or settings.audio_port:
        return None
    return (WARN, Text("selftest.no_live_port", "no `audio_port`: the live loudspeaker cannot "
                       "hear callers on this modem"),
            Text("selftest.no_live_port_fix", "Set `audio_port` in its `[[modems]]` table to "
                 "the modem's audio serial port (SIM7600: its Audio interface, ttyUSB4; "
                 "Huawei: the voice port, ttyUSB1; a udev name is safer)."))
