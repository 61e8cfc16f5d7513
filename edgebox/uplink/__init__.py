"""The box's uplink: ships the event log to the county hub whenever a link exists.

Modules: protocol (the signed, compressed wire format both ends share), ledger (the cursor and
other uplink state kept in the box's database), client (one HTTP exchange with the hub), link
(bringing a link up and checking it), retention (pruning), diskwatch (the warning before the disk
is full, on every box, uplink or not), summary (the SMS fallback when no upload succeeds),
uploader (the service thread tying them together).
"""
