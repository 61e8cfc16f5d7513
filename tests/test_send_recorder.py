"""The recorder records a worker's sent SMS on its own thread, one at a time and in order;
``flush`` returns only once what was handed over is done, and closing finishes it."""
import threading

from edgebox.daemon.send_recorder import SendRecorder


def test_records_run_in_order_one_at_a_time_and_flush_waits_for_them():
    recorder, done, running = SendRecorder("m1"), [], []
    gate = threading.Event()

    def job(n):
        def run():
            running.append(n)
            assert len(running) == 1, "two records at once"
            if n == 1:
                gate.wait(5)
            done.append(n)
            running.remove(n)
        return run
    recorder.record(job(1))
    handing = threading.Thread(target=lambda: recorder.record(job(2)))
    handing.start()
    handing.join(0.2)
    assert handing.is_alive() and done == []  # the second waits for the first
    gate.set()
    handing.join(5)
    recorder.flush()
    assert done == [1, 2] and not recorder.busy
    recorder.close()


def test_a_failing_record_does_not_stop_the_next():
    recorder, done = SendRecorder("m1"), []
    recorder.record(lambda: 1 / 0)
    recorder.record(lambda: done.append("next"))
    recorder.flush()
    assert done == ["next"]
    recorder.close()


def test_closing_finishes_the_record_in_flight_and_records_later_ones_in_place():
    recorder, done = SendRecorder("m1"), []
    gate = threading.Event()
    recorder.record(lambda: (gate.wait(5), done.append("in flight")))
    closing = threading.Thread(target=recorder.close)
    closing.start()
    gate.set()
    closing.join(5)
    assert done == ["in flight"]
    recorder.record(lambda: done.append("after close"))  # on the caller's thread, at once
    assert done == ["in flight", "after close"]
