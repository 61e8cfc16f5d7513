"""The village loudspeaker (村村响/大喇叭) as the box drives it (issue: alarms spoken over the PA,
the office speaking live by phone).

- ``settings``: the ``[speaker]`` section read and checked as a whole, and the output and relay
  it names (edgebox.adapters.audio).
- ``player``: one thread that plays what is queued, the most urgent first; an alarm cuts short
  whatever plays. It powers the amplifier a pre-roll before and a post-roll after.
- ``words`` and ``sounds``: what the loudspeaker says (Chinese first), the chime and the beep.
- ``announcements``: a listener of the alarm core's committed events (alarm opened, all-clear,
  drill, broadcast); never in the alarm's path: it only queues, and its own thread speaks.
- ``live_voice``: an authorised number's PIN, its lock-out, and the caller's voice on the horn.
"""
