"""The modem port's lock serves waiting threads in order: a worker that releases it and asks
again at once goes behind whoever was already waiting."""
import threading
import time

from edgebox.adapters.modem.fair_lock import FairLock


def wait_queued(lock: FairLock, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(lock._waiting) < count:
        assert time.monotonic() < deadline, "the thread never started waiting"
        time.sleep(0.001)


def test_a_thread_taking_it_again_goes_behind_the_waiting_ones():
    lock, order = FairLock(), []

    def other(name):
        with lock:
            order.append(name)

    lock.acquire()
    first = threading.Thread(target=other, args=("read sms",))
    first.start()
    wait_queued(lock, 1)
    second = threading.Thread(target=other, args=("reject call",))
    second.start()
    wait_queued(lock, 2)
    lock.release()
    with lock:  # at once, as a worker does for its next submit
        order.append("next submit")
    first.join(5)
    second.join(5)
    assert order == ["read sms", "reject call", "next submit"]


def test_it_is_reentrant_and_only_the_owner_releases_it():
    lock = FairLock()
    with lock:
        with lock:
            pass
        got = []
        t = threading.Thread(target=lambda: got.append(lock.acquire() and lock.release()))
        t.start()
        wait_queued(lock, 1)
        assert got == []  # still held by the outer block
        errors = []

        def release_from_elsewhere():
            try:
                lock.release()
            except RuntimeError as exc:
                errors.append(exc)
        stranger = threading.Thread(target=release_from_elsewhere)
        stranger.start()
        stranger.join(5)
        assert len(errors) == 1 and got == []
    t.join(5)
    assert got == [None]


def test_a_hang_up_goes_ahead_of_the_queued_submits_but_after_the_one_in_flight():
    lock, order = FairLock(), []

    def submit(name):
        with lock:
            order.append(name)

    def hang_up():
        with lock.first():
            order.append("ATH")

    lock.acquire()  # the submit in flight
    queued = [threading.Thread(target=submit, args=(f"submit {n}",)) for n in (2, 3)]
    for count, thread in enumerate(queued, start=1):
        thread.start()
        wait_queued(lock, count)
    rejecting = threading.Thread(target=hang_up)
    rejecting.start()
    wait_queued(lock, 3)
    order.append("submit 1 done")
    lock.release()
    for thread in (*queued, rejecting):
        thread.join(5)
    assert order == ["submit 1 done", "ATH", "submit 2", "submit 3"]
