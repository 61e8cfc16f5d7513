"""``edgebox selftest``: what a technician runs before leaving the box on the wall.

    at_probe.py   a short, read-mostly AT conversation with the modem (no stored SMS touched)
    checks.py     one function per check, each giving pass/warn/fail/skip and what to do
    report.py     the readable report and the JSON one
"""
