"""``edgebox speaker test``: for the technician wiring the amplifier and its relay.

It plays the chime and a test sentence through the configured output with the relay's pre- and
post-roll, as the daemon would, and prints each step. It opens the relay's pin itself, so it
refuses beside a running daemon (``systemctl stop edgebox`` first), like ``edgebox siren test``.
"""
from __future__ import annotations

import time

import click

from edgebox.adapters.gpio.cli import _open_pins, pins_config_option
from edgebox.cli_support import fail
from edgebox.errors import EdgeboxError
from edgebox.i18n import said


@click.group()
def speaker() -> None:
    """The village loudspeaker: try the audio output and the amplifier relay.

    \b
    Example:
      edgebox speaker test --config /etc/edgebox/edgebox.toml
    """


@speaker.command("test")
@pins_config_option
@click.option("--text", default="", help="what to say instead of the test sentence")
def speaker_test(config_path: str, text: str) -> None:
    """Play the chime and a sentence on the loudspeaker, the relay on around them.

    \b
    Example:
      edgebox speaker test --config /etc/edgebox/edgebox.toml --text "喇叭测试"
    """
    from edgebox.speaker.player import NOTICE, Loudspeaker
    from edgebox.speaker.service import speech_cache
    from edgebox.speaker.settings import build_output, build_relay, speaker_settings
    from edgebox.speaker.sounds import chime
    from edgebox.speaker.words import spoken
    config, _, gpio = _open_pins(config_path, "edgebox speaker test")
    try:
        settings = speaker_settings(config)
        output = build_output(settings)
        relay = build_relay(settings, gpio, output)
        speech = speech_cache(config)
        sentence = text or spoken(settings.language, "test")
        words = speech.render(sentence)
    except (EdgeboxError, RuntimeError) as exc:
        fail(said(exc, config.box_language))
    relay_name = f"GPIO {settings.relay_pin}" if settings.relay_pin else "no relay wired"
    click.echo(f"output: {output.name}; amplifier relay: {relay_name}; "
               f"pre-roll {settings.pre_roll:g} s, post-roll {settings.post_roll:g} s")
    click.echo(f"speech: {speech.synthesiser.name}; sentence: {sentence} "
               f"({words.seconds:.1f} s)")
    relay.watch(lambda on: click.echo(f"  {time.monotonic() - start:6.2f}s  relay "
                                      f"{'ON' if on else 'off'}"))
    player = Loudspeaker(output, relay, settings.pre_roll, settings.post_roll)
    start = time.monotonic()
    player.start()
    outcome = []
    item = player.queue(NOTICE, "test", [("chime", chime()), (sentence, words)],
                        on_end=outcome.append)
    item.done.wait()
    while not player.idle():  # the post-roll, then the relay off
        time.sleep(0.05)
    player.stop()
    if not outcome or not outcome[0]:
        fail(f"not played: {player.last_error or 'stopped'}")
    click.echo(f"  {time.monotonic() - start:6.2f}s  played {player.played} clips on "
               f"{output.name}")
