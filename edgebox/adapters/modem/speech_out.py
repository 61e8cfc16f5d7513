"""Speech into a ring call, by each modem family's own mechanism.

The daemon hands ``SerialModem.ring`` a ``Speech``: the sentence and its audio (``Clip``,
made on the box by the speech adapter, or the office's recorded prompt). The audio goes to the
modem's flash as a file before the member's phone is dialled, once per sentence (twelve
members hear the same file), and is played to the far end when the member answers; key 2
plays it again. The commands, from the makers' manuals:

    mechanism  modems            file in                                play to the far end
    ccmxplay   SIM7600, A76xx    AT+CFTRANRX="c:/edgebox.wav",<len> >   AT+CCMXPLAY="c:/…",1,0
    qpsnd      Quectel EC2x      AT+QFUPL="UFS:edgebox.wav",<len>,<s>   AT+QPSND=1,"UFS:…",0,1,0
                                 CONNECT … +QFUPL: <len>,<checksum>
    crec       SIM800 (UART)     AT+FSCREATE=C:\\User\\edgebox.amr,     AT+CREC=4,"C:\\User\\…",0,90
                                 AT+FSWRITE=…,<mode>,<size>,10 >

(SIMCom A76XX Series Audio Application Note 3.2.1-3.2.2 and AT Command Manual "File"
chapter; Quectel EC2x AT Commands Manual 12.18 AT+QPSND and FILE AT Commands Manual AT+QFUPL,
AT+QFDEL; SIM800 Series AT Command Manual V1.09 AT+FSCREATE, AT+FSWRITE, AT+CREC.) The USB
modules take 8 kHz 16-bit WAV, which their USB port carries in a blink; the SIM800 sits on a
115200-baud UART with ~40 KB of flash, so it gets AMR-NB (12.2 kbit/s: a 10 s sentence is
~15 KB, 1.3 s on the wire).

A modem that refuses its file commands falls back, once and for good, to its own TTS
(AT+CTTS / AT+QTTS, text only, at most ``TTS_LIMIT`` bytes of UCS-2), and one without TTS
rings without words: the SMS carries them.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from edgebox.adapters.modem.pcm_stream import PcmStream
from edgebox.adapters.speech.clip import Clip, SpeechError
from edgebox.adapters.speech.convert import encode
from edgebox.errors import ModemError, ModemRestarted, ModemTimeout

log = logging.getLogger(__name__)

# AT+QTTS takes at most 548 bytes of text (EC2x AT Commands Manual 12.19), AT+CTTS about as
# much; a longer sentence is not cut mid-word: the call rings without it.
TTS_LIMIT = 512
MECHANISMS = ("ccmxplay", "qpsnd", "crec", "tts", "none")
REPLAY_KEY = "2"
KEY_SECONDS = 10.0  # after the sentence, for the member to find the key


@dataclass(frozen=True)
class Speech:
    """What a ring call says: ``text`` (for a modem's TTS, and the log) and ``clip``, its audio
    as the box rendered it (None when it could not be rendered: then only TTS can speak)."""

    text: str
    clip: Clip | None = None

    @classmethod
    def of(cls, speech: Speech | str | None) -> Speech | None:
        if speech is None or isinstance(speech, Speech):
            return speech
        return cls(speech) if speech else None


@dataclass(frozen=True)
class Upload:
    """One AT command that writes (part of) a file: the banner the modem shows before it takes
    the bytes, and the bytes."""

    command: str
    banner: str
    payload: bytes


@dataclass(frozen=True)
class FileMechanism:
    name: str
    fmt: str  # what the file holds: "wav" or "amr" (convert.encode)
    path: str  # where it lives on the modem
    play: str  # the command that plays it to the far end
    stop: str  # the command that stops it
    clear: tuple[str, ...]  # commands that make room for a new file (refusals are fine)

    def encode(self, clip: Clip) -> bytes:
        return encode(clip, self.fmt)

    def uploads(self, data: bytes) -> list[Upload]:
        if self.name == "ccmxplay":
            return [Upload(f'AT+CFTRANRX="{self.path}",{len(data)}', "> ", data)]
        if self.name == "qpsnd":
            return [Upload(f'AT+QFUPL="{self.path}",{len(data)},{QFUPL_TIMEOUT}', "CONNECT",
                           data)]
        # SIM800: one AT+FSWRITE takes at most 10240 bytes; mode 0 starts the file, 1 appends.
        return [Upload(f"AT+FSWRITE={self.path},{0 if start == 0 else 1},"
                       f"{len(data[start:start + FSWRITE_LIMIT])},{FSWRITE_SECONDS}", "> ",
                       data[start:start + FSWRITE_LIMIT])
                for start in range(0, len(data), FSWRITE_LIMIT)]

    def check(self, upload: Upload, answer: list[str]) -> str | None:
        """What is wrong with the modem's answer to ``upload``, or None. AT+QFUPL says how
        many bytes it stored and their checksum: a byte lost on the way would play as noise."""
        if self.name != "qpsnd":
            return None
        line = next((ln for ln in answer if ln.startswith("+QFUPL:")), None)
        expected = f"+QFUPL: {len(upload.payload)},{xor_checksum(upload.payload):x}"
        if line is None or line.replace(" ", "").lower() != expected.replace(" ", "").lower():
            return f"the modem stored {line or 'nothing'}, not {expected}"
        return None


QFUPL_TIMEOUT = 10  # seconds the modem waits for the bytes (its <timeout>)
FSWRITE_LIMIT = 10240
FSWRITE_SECONDS = 10

FILE_MECHANISMS = {
    "ccmxplay": FileMechanism("ccmxplay", "wav", "c:/edgebox.wav",
                              'AT+CCMXPLAY="c:/edgebox.wav",1,0', "AT+CCMXSTOP",
                              ('AT+FSDEL="c:/edgebox.wav"',)),
    "qpsnd": FileMechanism("qpsnd", "wav", "UFS:edgebox.wav",
                           'AT+QPSND=1,"UFS:edgebox.wav",0,1,0', "AT+QPSND=0",
                           ('AT+QFDEL="UFS:edgebox.wav"',)),
    "crec": FileMechanism("crec", "amr", "C:\\User\\edgebox.amr",
                          'AT+CREC=4,"C:\\User\\edgebox.amr",0,90', "AT+CREC=5",
                          ("AT+FSDEL=C:\\User\\edgebox.amr", "AT+FSCREATE=C:\\User\\edgebox.amr")),
}


# What each mechanism's play command answers in its test form (AT+…=?) on a modem that has it;
# firmwares without it (a SIM800 build without audio files, an EC25 without AT+QPSND) answer
# ERROR. Asked at start-up, so the box says truthfully how it will speak before an alarm.
PROBES = {"ccmxplay": "AT+CCMXPLAY=?", "qpsnd": "AT+QPSND=?", "crec": "AT+CREC=?",
          "pcm_port": "AT^CVOICE?"}  # a Huawei stick without voice firmware answers ERROR
PCM_PORT = "pcm_port"  # a Huawei stick's voice port (pcm_stream)


def mechanism_of(dialect) -> str:
    """A sound file mechanism (``FILE_MECHANISMS``), "tts", or "none" (the call rings without
    words; the SMS carries them)."""
    if dialect.audio in FILE_MECHANISMS or dialect.audio == PCM_PORT:
        return dialect.audio
    return "tts" if dialect.tts_command else "none"


def probed(dialect, answers):
    """``dialect`` with what the modem does not know switched off; ``answers(command)`` says
    whether the modem answered the command OK."""
    if dialect.audio in PROBES and not answers(PROBES[dialect.audio]):
        dialect = dialect.without(audio=None)
    if dialect.tts_command and not answers(f"{dialect.tts_command}=?"):
        dialect = dialect.without(tts_command=None)
    return dialect


def xor_checksum(data: bytes) -> int:
    """AT+QFUPL's checksum: the 16-bit XOR of the data as big-endian words, an odd last byte
    as its word's high byte (Quectel FILE AT Commands Manual, AT+QFUPL note 2)."""
    total = 0
    for i in range(0, len(data), 2):
        total ^= (data[i] << 8) | (data[i + 1] if i + 1 < len(data) else 0)
    return total


def tts_fits(text: str) -> bool:
    return len(text.encode("utf-16-be")) <= TTS_LIMIT


class Listening:
    """How long an answered call stays up: the ring time left, but at least the sentence once
    more from now and time to press a key. A member who picks up late in the ring time (the
    default 25 s, of which alerting takes 10 or more) would else be hung up on in the middle
    of a 15 s sentence, before "按1确认前往" was said."""

    def __init__(self, deadline: float, speech: Speech | None):
        self.deadline, self._speech = deadline, speech

    def heard(self, played: bool) -> bool:
        if played and self._speech is not None and self._speech.clip is not None:
            self.deadline = max(self.deadline, time.monotonic() + self._speech.clip.seconds
                                + KEY_SECONDS)
        return played

    def until(self) -> float:
        return self.deadline


PLAYED, REFUSED, FAILED = "played", "refused", "failed"


class SpeechPort:
    """A SerialModem's way of speaking into its ring calls: which mechanism, the sound file
    it holds, playing it or the TTS text, and switching off what the modem refuses."""

    def __init__(self, modem, audio_port: str = ""):
        self._modem = modem
        self._audio_port = audio_port  # a Huawei stick's voice port, or ""
        self._on_modem: str | None = None  # digest of the clip in the modem's sound file
        self._stream: PcmStream | None = None

    @property
    def mechanism(self) -> str:
        return mechanism_of(self._modem.dialect)

    def probe(self) -> None:
        """At start-up: ask the modem whether it has the commands its family should have."""
        modem = self._modem

        def answers(command: str) -> bool:
            try:
                modem.command(command)
                return True
            except (ModemTimeout, ModemRestarted):
                raise
            except ModemError:
                return False
        if modem.dialect.audio == PCM_PORT and not self._audio_port:
            modem.dialect = modem.dialect.without(audio=None)  # no voice port configured
        modem.dialect = probed(modem.dialect, answers)

    def forget(self) -> None:
        self._on_modem = None

    def load(self, speech: Speech | None) -> None:
        """The speech's audio into the modem's sound file, unless it is there already (the
        same alarm rung to the next member). A modem that refuses its file commands speaks by
        TTS from now on; one that times out or restarts climbs the worker's ladder."""
        modem = self._modem
        if modem.dialect.audio == PCM_PORT and speech is not None and speech.clip is not None:
            self._on_modem = speech.clip.digest  # streamed when the call is answered
            return
        file = FILE_MECHANISMS.get(modem.dialect.audio)
        if file is None or speech is None or speech.clip is None:
            return
        if self._on_modem == speech.clip.digest:
            return
        try:
            data = file.encode(speech.clip)  # sox for AMR: before the port is taken
        except SpeechError as exc:
            log.warning("modem %s: the speech could not be made into %s (%s); this call "
                        "speaks by TTS if it can", modem.name, file.fmt, exc)
            return
        self._on_modem = None
        try:
            with modem.exchange():
                for command in file.clear:
                    try:
                        modem.command(command)
                    except (ModemTimeout, ModemRestarted):
                        raise
                    except ModemError:
                        pass  # no file to delete, say: the upload says whether all is well
                for upload in file.uploads(data):
                    answer = modem.send_file(upload.command, upload.banner, upload.payload)
                    if problem := file.check(upload, answer):
                        raise ModemError(f"modem {modem.name}: {problem}")
        except (ModemTimeout, ModemRestarted):
            raise
        except ModemError as exc:
            if not modem.alive:
                raise
            self._no_more(f"{file.name} files ({exc})", audio=None)
            return
        self._on_modem = speech.clip.digest
        log.info("modem %s holds the speech: %d bytes of %s, %.1f s", modem.name, len(data),
                 file.fmt, speech.clip.seconds)

    def speak(self, speech: Speech | None, again: bool = False) -> bool:
        """Play the speech into the answered call: its sound file, else the modem's TTS;
        whether it plays. ``again`` (key 2): what is playing stops first, as a modem plays
        one thing at a time."""
        if speech is None:
            return False
        dialect = self._modem.dialect
        if (dialect.audio == PCM_PORT and speech.clip is not None
                and self._on_modem == speech.clip.digest):
            self.call_over()  # key 2: from the start again
            result = self._play("AT^DDSETEX=2", None)  # the call's audio to the voice port
            if result == PLAYED:
                self._stream = PcmStream(self._audio_port, speech.clip.pcm).start()
                return True
            if result == REFUSED:
                self._no_more("voice port", audio=None)
            return False
        file = FILE_MECHANISMS.get(dialect.audio)
        if file and speech.clip is not None and self._on_modem == speech.clip.digest:
            result = self._play(file.play, file.stop if again else None)
            if result != REFUSED:
                return result == PLAYED
            self._no_more(f"{file.name} playing", audio=None)
        dialect = self._modem.dialect
        if not dialect.tts_command or not tts_fits(speech.text):
            return False
        result = self._play(dialect.speak(speech.text),
                            f"{dialect.tts_command}=0" if again else None)
        if result == REFUSED:
            self._no_more("TTS", tts_command=None)
        return result == PLAYED

    def call_over(self) -> None:
        """The call ended (or the sentence starts again): a stream to the voice port stops."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()

    def _play(self, command: str, stop_first: str | None) -> str:
        modem = self._modem
        if stop_first:
            try:
                modem.command(stop_first)
            except ModemError as exc:  # nothing was playing, say
                log.debug("modem %s: %s answered %s", modem.name, stop_first, exc)
        try:
            modem.command(command)
            return PLAYED
        except (ModemTimeout, ModemRestarted) as exc:
            # Not a refusal: the mechanism stays, this call goes on without words.
            log.info("modem %s did not answer %r (%s)", modem.name, command[:30], exc)
            return FAILED
        except ModemError as exc:
            log.info("modem %s refused %r (%s)", modem.name, command[:30], exc)
            return REFUSED

    def _no_more(self, what: str, **off) -> None:
        modem = self._modem
        modem.dialect = modem.dialect.without(**off)
        self._on_modem = None
        log.warning("modem %s: no more %s; speaking by %s from now on", modem.name, what,
                    self.mechanism)
