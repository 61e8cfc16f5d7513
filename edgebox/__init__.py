"""edgebox: a household's call to the box becomes SMS and calls to its whole group."""
from datetime import datetime, timezone

__version__ = "0.1.0"
# No clock reading earlier than this can be right on a box running this software; the clock
# policy uses it to recognise an unset clock and an absurd network time.
__built__ = datetime(2026, 11, 1, tzinfo=timezone.utc)
