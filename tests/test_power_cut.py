"""Power pulled, not just kill -9: the real image under QEMU, its power cut at random points.

kill -9 leaves the kernel's page cache to finish the writes; a power cut does not. One card (a
qcow2 overlay over the provisioned image, opened with cache=none so the host's page cache does
not stand in for the guest's) lives through a chain of points. At each point a household raises
an alarm (a call, or a fire SMS "火 …"), the box fans it out, members acknowledge, the ladder
climbs, the caller calls it off with "0" — and at a seeded random moment of one of those phases
the power goes: the QEMU monitor's ``quit`` (the guest's RAM is gone, the virtual disk keeps the
writes it completed) or SIGKILL to QEMU (the overlay's unflushed cluster mappings go too, as a
card's volatile write cache). The USB modem loses power with the board (the emulator's reboot).
The next power-on must, seen from the emulator and from the database:
- bring the alarm to every phone of every other member of the caller's group, at most twice;
- have made exactly one incident of it, each ladder step once, every delivery sent or
  cancelled, nothing sent more often than planned plus re-sent after the cut;
- keep the event log's seq gap-free and the database's integrity check "ok";
- find the data partition clean (its fsck at boot replays the journal and reports it clean,
  the kernel logs no ext4 error); and after the last point a full e2fsck of the data
  partition, on the host, finds nothing to fix;
- find the boot partition (FAT, no journal) clean: nothing for fsck.fat to repair.

EDGEBOX_LONG=1 runs 50 points (the long form, scripts/reliability --long); the short form, in
the ordinary suite, 3. The seed and every cut point are printed; EDGEBOX_POWER_SEED=<seed>
replays a run, and EDGEBOX_POWER_POINTS=<n,m> only some of its points (on a fresh card).
"""
from __future__ import annotations

import collections
import json
import os
import random
import re
import shutil
import subprocess
import threading
import time

import pytest

from tests.progress import say
from tests.qemu_box import REPO, Card, Emulator, Qemu, build_image, new_ssh_key, wait_for
from tests.test_kill_restart import HOUSEHOLDS, NAMES

# One image build and one QEMU at a time: with pytest-xdist the image's files run on one worker,
# which builds the image once (tests/qemu_box.py) and starts first (tests/conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("image")]

LONG = os.environ.get("EDGEBOX_LONG") == "1"
POINTS = 50 if LONG else 3
SEED = int(os.environ.get("EDGEBOX_POWER_SEED") or random.SystemRandom().randrange(1 << 32))
FIGURES_FILE = os.environ.get("EDGEBOX_RELIABILITY_FIGURES")
# EDGEBOX_POWER_POINTS=49,50 with the seed: only those points of the seed's draw, on a fresh card.
ONLY = {int(n) for n in os.environ.get("EDGEBOX_POWER_POINTS", "").split(",") if n.strip()}
PHASES = ("fan-out", "acknowledgement", "ladder", "cancel")

OFFICE = "+8657188886666"
TOWNSHIP = "+8613300138088"
# Who raises the alarm, and how. H02 lives alone (独居老人): the default ladder climbs twice as
# fast for her, and a fire twice again: steps at 30 s, 75 s and 150 s of the default 2/5/10
# minutes, so the ladder phase needs no config of its own.
ALARMS = (("H02", "call"), ("H03", "call"), ("H06", "call"), ("H02", "sms"), ("H06", "sms"))
LADDER_ALARM = ("H02", "sms")
FIRE = "火 柴房着火了，快来人"

# The guest's database, read-only, as one JSON object (sent over SSH to the box's own Python).
SNAPSHOT = r"""
import json, sqlite3
db = sqlite3.connect("file:/var/lib/edgebox/edgebox.db?mode=ro", uri=True)
def rows(sql):
    cur = db.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]
kinds = [k for (k,) in db.execute("SELECT kind FROM events ORDER BY seq DESC")]
print(json.dumps({
    "ready": "modem_ready" in kinds and "daemon_started" in kinds
             and kinds.index("modem_ready") < kinds.index("daemon_started"),
    "starts": kinds.count("daemon_started"),
    "incidents": rows("SELECT id, group_id, caller_household_id AS caller, escalation_step AS "
                      "step, acked_at, state, closed_reason FROM incidents ORDER BY id"),
    "deliveries": rows("SELECT id, incident_id, kind, phone, purpose, text, state "
                       "FROM deliveries ORDER BY id"),
    "seqs": [s for (s,) in db.execute("SELECT seq FROM events ORDER BY seq")],
    "escalated": rows("SELECT incident_id, json_extract(data, '$.escalation_step') AS step "
                      "FROM events WHERE kind = 'escalated' ORDER BY seq"),
    "integrity": db.execute("PRAGMA integrity_check").fetchone()[0],
}))
"""
# The boot's own report on the data partition (the card's third partition): its fsck (journal
# replay) and the kernel's messages about it.
FSCK_REPORT = ("journalctl -b -o cat --no-pager "
               "-u 'systemd-fsck@dev-disk-by\\x2dlabel-EDGEDATA.service'; echo '----'; "
               "dmesg | grep -i 'vda3' || true")
FSCK_CLEAN = re.compile(r"EDGEDATA: (clean, )?\d+/\d+ files")
# The boot partition (FAT, no journal) after a cut: its fsck at boot and how it is mounted.
BOOT_PARTITION_REPORT = ("journalctl -b -o cat --no-pager "
                         "-u 'systemd-fsck@dev-disk-by\\x2dlabel-RASPIFIRM.service'; "
                         "echo '----'; findmnt -n -o OPTIONS /boot/firmware")
BARE_PROMPT = re.compile(r"[A-Z][a-z]*( [a-z]+)*\? yes")  # "Fix? yes", "Clear inode? yes"
SUMMARY_COUNT = re.compile(r"Free (blocks|inodes) count wrong \(\d+, counted=\d+\)\.")
EXT4_TROUBLE = re.compile(r"EXT4-fs (error|warning)|corrupt|inconsisten|I/O error", re.I)


def same_phone(a: str, b: str) -> bool:
    return re.sub(r"\D", "", a)[-11:] == re.sub(r"\D", "", b)[-11:]


def record(line: str) -> None:
    say(line)
    if FIGURES_FILE:
        with open(FIGURES_FILE, "a", encoding="utf-8") as out:
            out.write(f"power cut ({'long' if LONG else 'short'} form): {line}\n")


class Point:
    """One alarm and where in its life the power goes, drawn from the seeded generator."""

    def __init__(self, number: int, rng: random.Random, phase: str):
        self.number, self.phase = number, phase
        self.caller, self.how = LADDER_ALARM if phase == "ladder" else rng.choice(ALARMS)
        self.group = HOUSEHOLDS[self.caller][0]
        self.acked_by = rng.choice([p for h, (g, phones) in HOUSEHOLDS.items()
                                    if g == self.group and h != self.caller for p in phones])
        # Seconds after the alarm (fan-out, ladder) or after the "1" / "0" reached the modem.
        self.cut_after = {"fan-out": rng.uniform(0.5, 25.0), "ladder": rng.uniform(25.0, 85.0),
                          "acknowledgement": rng.uniform(0.0, 4.0),
                          "cancel": rng.uniform(0.0, 4.0)}[phase]
        self.cut_how = rng.choice(["quit", "kill"])

    def __str__(self):
        return (f"point {self.number}: {self.phase}, {self.how} from {self.caller}, power cut "
                f"({self.cut_how}) {self.cut_after:.2f} s after the "
                f"{'alarm' if self.phase in ('fan-out', 'ladder') else 'reply'}")


class Caller(threading.Thread):
    """A household calling the box: the phone rings until the box rejects it; a call that ends
    any other way (busy, the box without power rang out) is dialled again."""

    def __init__(self, emulator: Emulator, phone: str):
        super().__init__(daemon=True)
        self.emulator, self.phone, self.outcomes = emulator, phone, []

    def run(self) -> None:
        for _ in range(20):
            entry = self.emulator.client.call(self.phone, rings=150, wait=True)
            self.outcomes.append(entry["outcome"])
            if entry["outcome"] == "rejected":
                return
            time.sleep(2.0)


class PowerCutBox:
    """The card, the emulator and the QEMU of the current power-on."""

    def __init__(self, work, image):
        self.work = work
        settings = ("BOX_ID=power-cut-1\nOFFICE_NUMBERS=0571-8888 6666\n"
                    "ESCALATION_NUMBERS=133 0013 8088\nMODEM_PORT=/dev/edgebox-modem\n"
                    "TIMEZONE=Asia/Shanghai\n")
        self.card = Card(image, work, settings, new_ssh_key(work))
        self.overlay = work / "card.qcow2"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(self.card.path),
                        "-F", "raw", str(self.overlay)], check=True, timeout=60)
        # SMS submits and call set-up at a real modem's pace; a member's phone rings 5 s.
        self.emulator = Emulator(work, "--sms-latency", "1.0", "--call-setup", "1",
                                 "--ring-timeout", "5")
        self.boots = 0
        self.starts = 0  # the daemon's starts the database had recorded before this power-on
        self.qemu: Qemu | None = None

    def power_on(self) -> float:
        """Boot; seconds until the daemon's modem is ready."""
        self.boots += 1
        self.qemu = Qemu(self.card, f"file={self.overlay},format=qcow2,cache=none",
                         self.emulator.link, f"boot{self.boots}",
                         monitor=self.work / f"monitor{self.boots}.sock", evidence=True)
        self.qemu.wait_for_ssh()

        def ready():
            snap = self.snapshot(booting=True)
            return snap["ready"] and snap["starts"] > self.starts and snap
        self.starts = wait_for(ready, 600, "the daemon started and its modem ready",
                               self.qemu.console, interval=3.0)["starts"]
        return time.monotonic() - self.qemu.started

    def pull_the_plug(self, how: str) -> None:
        self.qemu.pull_the_plug(how)
        # The USB modem loses power with the board, and is there again at the next power-on.
        replugged = len([e for e in self.network() if e["kind"] == "replugged"])
        self.emulator.client.reboot()
        wait_for(lambda: len([e for e in self.network() if e["kind"] == "replugged"])
                 > replugged, 60, "the modem back on USB", interval=0.2)

    def snapshot(self, booting: bool = False) -> dict:
        """The guest's database now. While ``booting`` (no database or no SSH yet) a failure
        reads as not ready; later one is retried twice (SSH in a busy emulated guest)."""
        for _ in range(1 if booting else 3):
            result = self.qemu.ssh("/opt/edgebox/venv/bin/python -", stdin=SNAPSHOT,
                                   check=False)
            if result.returncode == 0:
                return json.loads(result.stdout)
            time.sleep(2.0)
        assert booting, (f"reading the box's database: {result.stdout}{result.stderr}\n"
                         f"the user network (info usernet):\n{self.qemu.usernet()}")
        return {"ready": False}

    def network(self) -> list[dict]:
        return self.emulator.client.log()

    def sms_to(self, phone: str, network=None) -> list[dict]:
        return [e for e in (network if network is not None else self.network())
                if e["kind"] == "sms_sent" and same_phone(e["number"], phone)]

    def send(self, phone: str, text: str) -> None:
        self.emulator.client.sms(phone, text)

    def check_data_partition_clean(self, label: str) -> str:
        report = self.qemu.ssh(FSCK_REPORT).stdout
        print(report, flush=True)
        fsck = report.split("----", 1)[0]
        assert FSCK_CLEAN.search(fsck), (label, "no clean fsck of the data partition", report)
        assert not EXT4_TROUBLE.search(report), (label, "the data partition is damaged", report)
        return "recovering journal" if "recovering journal" in fsck else "clean"

    def check_boot_partition_clean(self, label: str) -> None:
        """The cut found the FAT boot partition clean: read-only but while provisioning wrote
        to it, so fsck.fat had nothing to repair (no dirty bit, nothing written at boot)."""
        fsck, options = self.qemu.ssh(BOOT_PARTITION_REPORT).stdout.split("----", 1)
        assert "Dirty bit" not in fsck and "changed" not in fsck, (label, fsck)
        assert options.strip().split(",")[0] == "ro", (label, "boot partition", options)


def raise_alarm(box: PowerCutBox, point: Point) -> Caller | None:
    phone = HOUSEHOLDS[point.caller][1][0]
    if point.how == "sms":
        box.send(phone, FIRE)
        return None
    caller = Caller(box.emulator, phone)
    caller.start()
    return caller


def alarm_reached(box: PowerCutBox, point: Point, phone: str, since: int) -> bool:
    """The alarm's SMS (its text names the caller) reached ``phone`` after entry ``since``."""
    return any(NAMES[point.caller] in e["text"] for e in box.sms_to(phone, box.network()[since:]))


def run_until_the_cut(box: PowerCutBox, point: Point, since: int) -> Caller | None:
    box.starts = box.snapshot()["starts"]
    caller = raise_alarm(box, point)
    started = time.monotonic()
    if point.phase in ("acknowledgement", "cancel"):
        wait_for(lambda: alarm_reached(box, point, point.acked_by, since), 300,
                 f"the alarm to reach {point.acked_by}", box.qemu.console, interval=0.5)
        if point.phase == "acknowledgement":
            box.send(point.acked_by, "1")
        else:
            box.send(HOUSEHOLDS[point.caller][1][0], "0")
        started = time.monotonic()
    time.sleep(max(0.0, started + point.cut_after - time.monotonic()))
    box.pull_the_plug(point.cut_how)
    return caller


def close_the_alarm(box: PowerCutBox, point: Point, caller: Caller | None, first_id: int,
                    label: str) -> dict:
    """After the power came back: wait for the alarm to reach its group, acknowledge and call it
    off if that had not happened, and wait until the outbox is empty."""
    if caller is not None:
        caller.join(600)
        assert caller.outcomes and "rejected" in caller.outcomes[-1], (label, caller.outcomes)

    def mine(snap):
        return [i for i in snap["incidents"] if i["id"] >= first_id]

    def fanned_out():
        snap = box.snapshot()
        incidents = mine(snap)
        return incidents and all(d["state"] in ("sent", "cancelled") for d in snap["deliveries"]
                                 if d["incident_id"] == incidents[0]["id"]
                                 and d["purpose"] in ("alarm", "confirm")) and snap
    snap = wait_for(fanned_out, 600, f"{label}: the alarm fanned out", box.qemu.console, 3.0)
    incident = mine(snap)[0]
    if incident["acked_at"] is None and incident["state"] != "closed":
        box.send(point.acked_by, "1")
        wait_for(lambda: mine(box.snapshot())[0]["acked_at"], 300, f"{label}: the ack",
                 box.qemu.console, 3.0)
    if incident["state"] != "closed":
        box.send(HOUSEHOLDS[point.caller][1][0], "0")

    def settled():
        snap = box.snapshot()
        done = mine(snap)[0]["state"] == "closed" and not [
            d for d in snap["deliveries"] if d["state"] in ("pending", "sending")]
        return done and snap
    return wait_for(settled, 600, f"{label}: the alarm closed and the outbox empty",
                    box.qemu.console, 3.0)


def check_point(box: PowerCutBox, point: Point, snap: dict, first_id: int, since: int,
                label: str) -> int:
    """Asserts what must hold after the power came back; the number of duplicate SMS."""
    network = box.network()[since:]  # what the network carried since this point's alarm
    incidents = [i for i in snap["incidents"] if i["id"] >= first_id]
    assert [(i["group_id"], i["caller"]) for i in incidents] == [(point.group, point.caller)], (
        label, "one incident for the alarm", incidents)
    incident = incidents[0]
    mine = [d for d in snap["deliveries"] if d["incident_id"] == incident["id"]]

    def received(delivery):
        return len([e for e in box.sms_to(delivery["phone"], network)
                    if e["text"] == delivery["text"]])

    members = {p for h, (g, phones) in HOUSEHOLDS.items()
               if g == point.group and h != point.caller for p in phones}
    alarm_sms = [d for d in mine if d["purpose"] == "alarm"]
    assert sorted(d["phone"] for d in alarm_sms) == sorted(members), (label, "planned once")
    # The caller's own "0" while the fan-out is still going calls the alarm off: an alarm SMS not
    # yet sent is cancelled, not sent (a false alarm is not news to a neighbour who has not heard
    # of it), and whoever the network brought the alarm to hears it is over. Only at a cancel
    # point, and only when the caller's cancel closed it: every other alarm reaches every phone.
    called_off = (point.phase == "cancel" and incident["closed_reason"] == "cancelled")
    for d in alarm_sms:
        if called_off and d["state"] == "cancelled":
            assert received(d) <= 1, (label, "a cancelled alarm SMS went out twice", d["phone"])
        else:
            assert 1 <= received(d) <= 2, (label, "the alarm SMS reached a member", d["phone"],
                                           received(d))
    if incident["closed_reason"] == "cancelled":
        # (An alarm SMS the network carried while the box, after a cut, still had it pending is
        # cancelled by the "0" like any other: the box never learnt it went out.)
        told = {d["phone"] for d in alarm_sms if d["state"] == "sent"}
        cleared = {d["phone"] for d in mine if d["purpose"] == "all_clear" and received(d)}
        assert told <= cleared, (label, "told of the alarm, never that it is over",
                                 told - cleared)
    assert not [d for d in mine if d["state"] not in ("sent", "cancelled")], (label, mine)
    # Nothing went out more than once more than planned. (A power cut may take back the claim
    # of a delivery, whose commit does not wait for the disk: then it was pending, not sending,
    # at the next start, and goes out again without a deliveries_requeued event.)
    planned = collections.Counter()
    for d in mine:
        planned[(d["phone"][-11:], d["text"]) if d["kind"] == "sms" else d["phone"][-11:]] += 1
    texts = {d["text"] for d in mine}
    seen = collections.Counter((e["number"][-11:], e["text"]) for e in network
                               if e["kind"] == "sms_sent" and e["text"] in texts)
    rung = collections.Counter(e["number"][-11:] for e in network
                               if e["kind"] == "call_placed")
    for key, count in list(seen.items()) + list(rung.items()):
        assert count <= planned[key] + 1, (label, "more than one duplicate", key, count,
                                           planned[key])
    duplicates = sum(max(0, count - planned[key]) for key, count in seen.items())
    for d in mine:
        if d["kind"] == "sms" and d["state"] == "sent":
            assert received(d) >= 1, (label, "the store says sent, the network never saw it", d)
    steps = [e["step"] for e in snap["escalated"] if e["incident_id"] == incident["id"]]
    assert steps == list(range(1, incident["step"] + 1)), (label, "each ladder step once", steps)
    assert snap["seqs"] == list(range(1, len(snap["seqs"]) + 1)), (label, "gaps in the log")
    assert snap["integrity"] == "ok", (label, snap["integrity"])
    errors = box.qemu.ssh("journalctl -b -u edgebox -o cat --no-pager | grep -c Traceback",
                          check=False).stdout.strip()
    if errors != "0":  # the traceback itself, and the lines before it, into the failure
        journal = box.qemu.ssh("journalctl -b -u edgebox -o short-monotonic --no-pager | "
                               "grep -B 20 -A 40 Traceback | tail -c 12000", check=False).stdout
        raise AssertionError(f"{label}: the daemon hit an error ({errors} tracebacks)\n{journal}")
    return duplicates


def e2fsck_repairs(lines: list[str]) -> list[str]:
    """What ``e2fsck -y`` answered yes to: the question is the line above a bare prompt
    ("Free blocks count wrong (…)." then "Fix? yes") or the prompt's own line when the
    question shares it ("Inode 64 extent tree … could be shorter.  Optimize? yes")."""
    repairs = []
    for n, line in enumerate(lines):
        if not line.endswith("? yes"):
            continue
        bare_prompt = BARE_PROMPT.fullmatch(line.strip())
        repairs.append(lines[n - 1] if bare_prompt and n else line)
    return repairs


def final_fsck(box: PowerCutBox) -> str:
    """A full e2fsck of the data partition as the last power cut left it (journal replayed on a
    copy, as the next boot would): nothing else may need fixing."""
    raw = box.work / "final.img"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(box.overlay), str(raw)], check=True,
                   timeout=900)
    table = json.loads(subprocess.run(["sfdisk", "-J", str(raw)], check=True,
                                      capture_output=True, text=True, timeout=60).stdout)
    part = table["partitiontable"]["partitions"][2]
    data = box.work / "data.img"
    subprocess.run(["dd", f"if={raw}", f"of={data}", "bs=512", f"skip={part['start']}",
                    f"count={part['size']}", "conv=sparse", "status=none"], check=True,
                   timeout=900)
    raw.unlink()
    # no_optimize_extents: e2fsck also offers to make a shrunken file's extent tree shallower
    # ("Inode 64 extent tree (at level 1) could be shorter.  Optimize?"), seen after SQLite
    # truncated its WAL; a tidier layout, not a repair, and the boot's preen never does it.
    first = subprocess.run(["e2fsck", "-fy", "-E", "no_optimize_extents", str(data)],
                           capture_output=True, text=True, timeout=900)
    again = subprocess.run(["e2fsck", "-fn", "-E", "no_optimize_extents", str(data)],
                           capture_output=True, text=True, timeout=900)
    data.unlink()
    lines = first.stdout.splitlines()
    fixed = e2fsck_repairs(lines)
    # ext4 does not keep the superblock's free totals up to date while mounted (the groups'
    # counts are the journalled truth, summed at mount): after any unclean stop e2fsck resets
    # them, as the boot's preen does ("Setting free blocks count to …"). Anything else is damage.
    damage = [line for line in fixed if not SUMMARY_COUNT.fullmatch(line)]
    assert first.returncode in (0, 1) and not damage, first.stdout + first.stderr
    assert again.returncode == 0, again.stdout + again.stderr
    return lines[-1]


@pytest.fixture(scope="module")
def image():
    return build_image()


def keep_the_evidence(work) -> None:
    """A failed run's consoles (each power-on's journal), QEMU and emulator logs and LAN
    captures, copied to build/artifacts/power-cut-<seed>/: pytest keeps only its last few
    temporary directories, and a long run's would be gone once other test runs start."""
    keep = REPO / "build" / "artifacts" / f"power-cut-{SEED}"
    keep.mkdir(parents=True, exist_ok=True)
    for path in work.iterdir():
        if path.suffix in (".log", ".pcap", ".txt") and path.is_file():
            shutil.copy2(path, keep / path.name)
    say(f"the run's logs are kept in {keep}")


def test_power_cuts_at_random_points_lose_no_alarm(image, tmp_path):
    for tool in ("qemu-system-aarch64", "qemu-img", "ssh", "mcopy", "e2fsck", "sfdisk"):
        assert shutil.which(tool), f"{tool} missing: scripts/install-deps test installs it"
    rng = random.Random(SEED)
    phases = [PHASES[n % len(PHASES)] for n in range(POINTS)]
    rng.shuffle(phases)
    points = [Point(n + 1, rng, phase) for n, phase in enumerate(phases)]
    if ONLY:  # replaying a few points of a long run on a fresh card, in minutes, not hours
        points = [p for p in points if p.number in ONLY]
    record(f"seed {SEED} (EDGEBOX_POWER_SEED={SEED} replays it), {len(points)} points")
    for point in points:
        print(point, flush=True)
    box = PowerCutBox(tmp_path, image)
    held = collections.Counter()
    duplicates = 0
    try:
        first_boot = box.power_on()
        record(f"first boot (provisioning, data partition grown) ready in {first_boot:.0f} s")
        for point in points:
            label = f"seed {SEED} {point}"
            started = time.monotonic()
            first_id = 1 + max([i["id"] for i in box.snapshot()["incidents"]] or [0])
            say(f"{label}: raising the alarm")
            since = len(box.network())
            caller = run_until_the_cut(box, point, since)
            boot = box.power_on()
            replay = box.check_data_partition_clean(label)
            box.check_boot_partition_clean(label)
            snap = close_the_alarm(box, point, caller, first_id, label)
            duplicates += check_point(box, point, snap, first_id, since, label)
            held[point.phase] += 1
            held[replay] += 1
            record(f"{point}: held; boot to ready {boot:.0f} s, point "
                   f"{time.monotonic() - started:.0f} s, data partition {replay}")
        box.pull_the_plug("kill")
        record(f"all {len(points)} points held ({dict(held)}), {duplicates} duplicate SMS; "
               f"final e2fsck: {final_fsck(box)}")
    except BaseException:
        keep_the_evidence(tmp_path)
        raise
    finally:
        if box.qemu is not None and box.qemu.process.poll() is None:
            box.qemu.pull_the_plug("kill")
        box.emulator.stop()
