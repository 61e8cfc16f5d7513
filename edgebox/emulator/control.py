"""Driving an emulator from another process: a Unix-socket JSON-lines protocol.

Each request is one JSON object on one line, ``{"op": ..., ...arguments}``; each answer is one
line, ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``.

Operations: ping, call, sms, log, set_latency, set_callee, set_delivery, set_balance,
set_ussd_style, set_clock_offset, network, and the faults unplug, reboot, reboot_in_place,
random_reboots, report_slot, garbage (``data_hex``), stuck, sms_error, sim_not_ready,
release_sim — each with the arguments of the ``EmulatorServer`` method of that name.
"""
from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from typing import Callable

from edgebox.emulator.event_log import Entries, describe_timeout

CALL_WAIT_LIMIT = 3600.0


class ControlServer:
    """Serves the control operations of an ``EmulatorServer`` on a Unix socket."""

    def __init__(self, emulator, path: str):
        self.emulator = emulator
        self.path = path
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._running = False

    def start(self) -> None:
        _remove_stale_socket(self.path)
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.bind(self.path)
        self._socket.listen(8)
        self._socket.settimeout(0.2)  # lets the accept loop notice stop()
        self._running = True
        self._thread = threading.Thread(target=self._accept_loop, name="emulator-control", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        self._thread.join(timeout=5)
        self._socket.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _accept_loop(self) -> None:
        while self._running:
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve_connection, args=(connection,), daemon=True).start()

    def _serve_connection(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rwb") as stream:
            for raw in stream:
                try:
                    request = json.loads(raw)
                    answer = {"ok": True, "result": self.handle(request)}
                except (ValueError, TypeError, KeyError, TimeoutError, RuntimeError) as exc:
                    answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                stream.write(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")
                stream.flush()

    def handle(self, request: dict):
        emulator = self.emulator
        op = request.get("op")
        if op == "ping":
            return {"port": emulator.port, "link": emulator.link}
        if op == "call":
            interval = request.get("ring_interval")  # None: the modem's own cadence
            call_id = emulator.call(str(request["number"]), int(request.get("rings", 10)),
                                    None if interval is None else float(interval))
            if not request.get("wait"):
                return {"id": call_id}
            return emulator.wait_for_call(call_id, float(request.get("timeout_seconds", CALL_WAIT_LIMIT)))
        if op == "sms":
            return emulator.sms(str(request["number"]), str(request["text"]))
        if op == "log":
            return emulator.log()
        if op == "set_latency":
            return emulator.set_latency(**request.get("latency", {}))
        if op == "set_callee":
            emulator.set_callee(str(request["number"]), answer_after=request.get("answer_after"),
                                busy=bool(request.get("busy", False)),
                                hangup_after=request.get("hangup_after"), press=request.get("press"),
                                press_after=float(request.get("press_after", 0.0)))
            return None
        if op == "garbage":
            emulator.garbage(bytes.fromhex(str(request["data_hex"])))
            return None
        if op in SIMPLE_OPERATIONS:
            getattr(emulator, op)(**{name: request[name] for name in SIMPLE_OPERATIONS[op]
                                     if name in request})
            return None
        raise ValueError(f"unknown operation {op!r}")


# Operations that are one EmulatorServer method call with JSON-ready arguments.
SIMPLE_OPERATIONS = {
    "set_delivery": ("number", "status"), "set_balance": ("text",),
    "set_clock_offset": ("seconds",), "network": ("registered", "rssi", "roaming"),
    "unplug": ("seconds",), "reboot": (), "stuck": ("prefix", "count"),
    "sms_error": ("number", "code", "count"), "sim_not_ready": ("seconds",),
    "release_sim": (), "set_ussd_style": ("style",),
    "reboot_in_place": ("lines_lost", "sim_seconds"),
    "random_reboots": ("mean_seconds", "seed", "lines_lost_share"), "report_slot": ("how",),
}


class EmulatorClient:
    """Talks to an emulator's control socket; the same operations as ``EmulatorServer``."""

    def __init__(self, socket_path: str, timeout: float = 30.0):
        self.socket_path = socket_path
        self.timeout = timeout

    def request(self, op: str, timeout: float | None = None, **arguments):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout or self.timeout)
            connection.connect(self.socket_path)
            with connection.makefile("rwb") as stream:
                stream.write(json.dumps({"op": op, **arguments}, ensure_ascii=False).encode("utf-8") + b"\n")
                stream.flush()
                line = stream.readline()
        if not line:
            raise ConnectionError(f"emulator at {self.socket_path} closed the connection")
        answer = json.loads(line)
        if not answer["ok"]:
            raise RuntimeError(f"emulator refused {op}: {answer['error']}")
        return answer["result"]

    def ping(self) -> dict:
        return self.request("ping")

    def call(self, number: str, rings: int = 10, ring_interval: float | None = None,
             wait: bool = False,
             timeout: float | None = None):
        """Ring the box. Returns ``{"id": n}``, or with ``wait`` the call's log entry once it ended."""
        if not wait:
            return self.request("call", number=number, rings=rings, ring_interval=ring_interval)
        # Without an interval the modem rings at most every 6 s of real time (scaled, so sooner).
        limit = timeout if timeout is not None else rings * (ring_interval or 6.0) + 30.0
        return self.request("call", timeout=limit + 5.0, number=number, rings=rings,
                            ring_interval=ring_interval, wait=True, timeout_seconds=limit)

    def sms(self, number: str, text: str) -> dict:
        return self.request("sms", number=number, text=text)

    def log(self) -> Entries:
        return self.request("log")

    def set_latency(self, **latency: float) -> dict:
        return self.request("set_latency", latency=latency)

    def set_callee(self, number: str, answer_after: float | None = None, busy: bool = False,
                   hangup_after: float | None = None, press: str | None = None,
                   press_after: float = 0.0) -> None:
        self.request("set_callee", number=number, answer_after=answer_after, busy=busy,
                     hangup_after=hangup_after, press=press, press_after=press_after)

    def set_delivery(self, number: str, status: str = "delivered") -> None:
        self.request("set_delivery", number=number, status=status)

    def set_balance(self, text: str) -> None:
        self.request("set_balance", text=text)

    def set_clock_offset(self, seconds: float) -> None:
        self.request("set_clock_offset", seconds=seconds)

    def set_ussd_style(self, style: str | None) -> None:
        self.request("set_ussd_style", style=style)

    def network(self, registered: bool, rssi: int | None = None, roaming: bool = False) -> None:
        self.request("network", registered=registered, rssi=rssi, roaming=roaming)

    # -- faults (see EmulatorServer) ---------------------------------------------------------

    def unplug(self, seconds: float) -> None:
        self.request("unplug", seconds=seconds)

    def reboot(self) -> None:
        self.request("reboot")

    def reboot_in_place(self, lines_lost: bool = False, sim_seconds: float = 0.0) -> None:
        self.request("reboot_in_place", lines_lost=lines_lost, sim_seconds=sim_seconds)

    def random_reboots(self, mean_seconds: float | None, seed: int | None = None,
                       lines_lost_share: float = 0.0) -> None:
        self.request("random_reboots", mean_seconds=mean_seconds, seed=seed,
                     lines_lost_share=lines_lost_share)

    def report_slot(self, how: str | None) -> None:
        self.request("report_slot", how=how)

    def garbage(self, data: bytes) -> None:
        self.request("garbage", data_hex=bytes(data).hex())

    def stuck(self, prefix: str, count: int = 1) -> None:
        self.request("stuck", prefix=prefix, count=count)

    def sms_error(self, number: str, code: int, count: int | None = None) -> None:
        self.request("sms_error", number=number, code=code, count=count)

    def sim_not_ready(self, seconds: float | None) -> None:
        self.request("sim_not_ready", seconds=seconds)

    def release_sim(self) -> None:
        self.request("release_sim")

    def wait_for(self, predicate: Callable[[Entries], object], timeout: float = 10.0,
                 poll_interval: float = 0.05) -> Entries:
        deadline = time.monotonic() + timeout
        while True:
            entries = self.log()
            if predicate(entries):
                return entries
            if time.monotonic() >= deadline:
                raise TimeoutError(describe_timeout(predicate, timeout, entries))
            time.sleep(poll_interval)


def _remove_stale_socket(path: str) -> None:
    """Remove a socket left by an emulator that died; refuse to touch anything else."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        os.unlink(path)
    else:
        raise FileExistsError(f"another emulator is serving {path}")
    finally:
        probe.close()
