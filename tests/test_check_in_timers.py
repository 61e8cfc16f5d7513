"""The daemon's check-in timer (daemon/check_ins.py) on a real store, its clock in the test's
hands: what it does with check-ins the box could not finish."""
from datetime import date, datetime, timedelta, timezone

from edgebox.config_file import parse_config
from edgebox.daemon.check_ins import CheckIns, check_in_settings
from edgebox.domain.roster import Group, Household, Roster
from edgebox.store import SqliteStore

CONFIG = parse_config('[check_in]\nwindow_minutes = 60\n[[modems]]\nport = "/dev/null"\n')


def village(check_in="08:30"):
    people = (Household("H01", "王建国", "一组1号", ("+8613800138001",)),
              Household("H02", "李秀英", "一组2号", ("+8613900138002",), check_in=check_in))
    return Roster(people, (Group("G1", "第一组", "H01", ("H01", "H02")),))


class Rosters:
    def __init__(self, roster):
        self.roster = roster

    def reload(self):
        pass


class Line:
    """The modem side the check-ins reach: the workers woken, calls rejected."""

    def __init__(self, woken):
        self.woken = woken

    def wake(self):
        self.woken.append(1)

    def reject_call(self, modem):
        pass


def timer(tmp_path, roster, now):
    store = SqliteStore(tmp_path / "box.db")
    store.roster.replace(roster, now)
    woken = []
    line = Line(woken)
    return store, CheckIns(store, store.incidents, store.check_ins, Rosters(roster), line, line,
                           lambda: now, check_in_settings(CONFIG)), woken


def test_a_check_in_left_from_days_ago_is_dropped_without_asking_anyone(tmp_path):
    now = datetime.now(timezone.utc)
    local_day = now.astimezone().date()
    store, check_ins, woken = timer(tmp_path, village(check_in=""), now)
    old = local_day - timedelta(days=3)
    assert store.check_ins.start(now - timedelta(days=3), "H02", old, "08:30")
    check_ins.tick(now)
    assert store.check_ins.row("H02", old).state == "closed"
    [dropped] = store.events_of_kinds(["check_in_dropped"])
    assert dropped.data == {"household": "H02", "day": old.isoformat(), "reason": "day_over"}
    assert store.outbox.all() == [] and woken == []


def test_a_household_taken_off_the_roster_is_no_longer_rung(tmp_path):
    now = datetime.now(timezone.utc)
    day = now.astimezone().date()
    store, check_ins, _ = timer(tmp_path, village(check_in=""), now)
    store.check_ins.start(now, "H09", day, "08:30")
    check_ins.tick(now)
    assert store.check_ins.row("H09", day).state == "closed"
    assert store.outbox.all() == []


def test_a_window_open_now_starts_once_and_plans_one_ring(tmp_path):
    now = datetime.now(timezone.utc)
    local = now.astimezone()
    roster = village(check_in=(local - timedelta(minutes=1)).strftime("%H:%M"))
    store, check_ins, woken = timer(tmp_path, roster, now)
    check_ins.tick(now)
    check_ins.tick(now)
    [ring] = store.outbox.all()
    assert (ring.kind, ring.phone, ring.purpose, ring.text) == (
        "call", "+8613900138002", "check_in", "")
    assert len(store.events_of_kinds(["check_in_due"])) == 1 and woken == [1]
    day = date.fromisoformat(store.check_ins.in_progress()[0].day)
    assert day in (local.date(), local.date() - timedelta(days=1))


def test_a_box_left_on_for_weeks_remembers_only_the_last_days_check_ins(tmp_path):
    # The set of days already started must not grow by a key a day for years.
    start = datetime.now(timezone.utc)
    roster = village(check_in=(start.astimezone() - timedelta(minutes=1)).strftime("%H:%M"))
    store, check_ins, _ = timer(tmp_path, roster, start)
    for days in range(30):
        check_ins.tick(start + timedelta(days=days))
    assert len(check_ins._started) <= 2
    assert len(store.events_of_kinds(["check_in_due"])) == 30
