"""Read models: what the box's faces show (the web panel, the siren panel's LEDs, the CLI),
read from the store the daemon writes, never from the daemon's own objects. Any process may
use them: the web panel runs in a process of its own."""
