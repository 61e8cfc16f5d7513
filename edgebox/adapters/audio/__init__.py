"""Audio out of the box: the village loudspeaker (村村响/大喇叭) fed from the Pi's audio output.

The PA amplifier's line input is wired to an ALSA device (the 3.5 mm jack of a Pi 3/4, a USB
sound card on a Pi 5) and its mains or 12 V supply goes through a GPIO relay, so the horn
hums only while something plays. Two backends behind one port (``AudioOutput``):

- ``AplayOutput``: Debian's ``aplay`` (alsa-utils) playing the box's 8 kHz PCM on the
  configured ALSA device. A player process can be killed at once, which is how an alarm
  pre-empts a broadcast or a live voice; no compiled binding has to match the Pi's Python.
- ``SimulatedOutput``: writes each clip it "plays" (digest, length, what it says, start and end)
  and every relay change as JSON lines to a file, taking the clip's time (scaled for tests) as
  the GPIO simulation records pin changes with their times.

``AmplifierRelay`` is the relay on its pin; the player (edgebox.daemon.loudspeaker) switches it
on a pre-roll before the first clip and off a post-roll after the last.
"""
from edgebox.adapters.audio.alsa import AplayOutput, list_playback_devices
from edgebox.adapters.audio.port import AudioError, AudioOutput
from edgebox.adapters.audio.relay import AmplifierRelay
from edgebox.adapters.audio.simulated import SimulatedOutput, played_pcm, read_simulated_log

__all__ = ["AudioError", "AudioOutput", "AplayOutput", "SimulatedOutput", "AmplifierRelay",
           "list_playback_devices", "played_pcm", "read_simulated_log"]
