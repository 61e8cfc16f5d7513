"""edgebox: a household's call to the box becomes SMS and calls to its whole group."""

__version__ = "0.1.0"
