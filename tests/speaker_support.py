"""What the loudspeaker tests read from the simulated output's log."""


def relay_only_around_plays(entries):
    """Every clip played with the relay on; the relay never off while a clip played."""
    relay, playing = False, False
    for entry in entries:
        if entry["event"] == "relay":
            if playing and not entry["on"]:
                return False
            relay = entry["on"]
        elif not entry["relay"] or not relay:
            return False
        else:
            playing = entry["event"] == "start"
    return True


def played(entries):
    """The clips' end entries (what played, cut or not), oldest first."""
    return [e for e in entries if e["event"] == "play"]
