"""The pure domain: households, groups, incidents, fan-out planning and message templates.

Nothing here does I/O, touches a clock, a thread, a database or a device: time comes in as an
argument, so every rule can be tested without sleeping.
"""
