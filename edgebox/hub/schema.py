"""The hub's tables (its own database, not a box's), written once for SQLite and PostgreSQL.

- boxes: every registered box with its token, its place (county → township → village), and
  what its last upload said: when, which of its logs (``log_no``) and how far the hub has it
  (``acked_seq``), its backlog and health.
- box_logs: the logs of each box, numbered 1, 2 … in the order the hub first saw them. A box's
  log is its database, named by a random id made with it; a box whose database was replaced
  starts a new log at seq 1, kept apart from the old one. Each log has its own ``acked_seq``.
- events: every box's logs, one row per (box, log, seq): the key is what makes a duplicate
  harmless.
- incidents: one row per alarm per box log, kept up to date from the events as they arrive
  (opened, closed, first acknowledgement, sends, failures) so the dashboard never scans the log.
- nonces: recently seen request nonces per box, so a replayed request is refused.
- users, sessions: the people who log in to the dashboard (separate from boxes), each with a
  role and scope (county: all; township: its boxes; village: one box).
- audit: who logged in, exported, acknowledged or changed an account, when and from where.
- sms_reports: what boxes with no data link texted the hub's modem (edgebox.uplink.sms_format),
  one row per (box, seq), so a replayed or twice-delivered text counts once; sms_refused, the
  texts that looked like reports and were refused, with why (nothing received is lost).
- duty_officers: the numbers per township that the hub texts its alerts to.
- alerts: what the township must act on (a silent box, a modem fault …), when it was texted and
  who acknowledged it; ``alert_key`` tells repeats of one alert from a new one.
- box_months: each box's alarms, waits for a first acknowledgement, drills and failed
  deliveries per month, kept at ingest (edgebox.hub.box_months) for the statistics.

Every migration runs unchanged on SQLite and PostgreSQL (a table whose key changes is rebuilt
and its rows copied), and each runs in one transaction, so an existing hub upgrades in place.
"""
from __future__ import annotations

MIGRATIONS: list[str] = [
    """
    CREATE TABLE boxes (
        box_id TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        county TEXT NOT NULL,
        township TEXT NOT NULL,
        village TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_seen TEXT,
        last_address TEXT,
        acked_seq BIGINT NOT NULL DEFAULT 0,
        backlog BIGINT,
        status TEXT
    );
    CREATE TABLE events (
        box_id TEXT NOT NULL REFERENCES boxes(box_id),
        seq BIGINT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        incident_id BIGINT,
        data TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (box_id, seq)
    );
    CREATE INDEX events_kind_at ON events(kind, at);
    CREATE TABLE incidents (
        box_id TEXT NOT NULL REFERENCES boxes(box_id),
        incident_id BIGINT NOT NULL,
        group_id TEXT,
        household TEXT,
        phone TEXT,
        kind TEXT,                     -- the alarm's type (fire, fall …) or how it was raised
        drill INTEGER NOT NULL DEFAULT 0,
        opened_at TEXT NOT NULL,
        closed_at TEXT,
        close_reason TEXT,
        first_ack_at TEXT,
        acks INTEGER NOT NULL DEFAULT 0,
        sms_sent INTEGER NOT NULL DEFAULT 0,
        calls INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (box_id, incident_id)
    );
    CREATE INDEX incidents_opened ON incidents(opened_at);
    CREATE TABLE nonces (
        box_id TEXT NOT NULL,
        nonce TEXT NOT NULL,
        seen_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (box_id, nonce)
    );
    CREATE INDEX nonces_seen ON nonces(seen_at);
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        password TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users(name),
        csrf TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL
    )
    """,
    # 2: a box's logs, so a replaced box database (seq restarting at 1) is a new log and not
    # "duplicates", and when each user last logged in. What was there becomes log 1 of its box,
    # with no id yet: the box's first upload naming its log claims it (see ingest).
    """
    CREATE TABLE box_logs (
        box_id TEXT NOT NULL REFERENCES boxes(box_id),
        log_no INTEGER NOT NULL,
        log_id TEXT,
        started_at TEXT NOT NULL,
        acked_seq BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (box_id, log_no)
    );
    CREATE UNIQUE INDEX box_logs_id ON box_logs(box_id, log_id);
    INSERT INTO box_logs (box_id, log_no, log_id, started_at, acked_seq)
        SELECT box_id, 1, NULL, created_at, acked_seq FROM boxes;
    ALTER TABLE boxes ADD COLUMN log_no INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE events_by_log (
        box_id TEXT NOT NULL,
        log_no INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        incident_id BIGINT,
        data TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (box_id, log_no, seq),
        FOREIGN KEY (box_id, log_no) REFERENCES box_logs(box_id, log_no)
    );
    INSERT INTO events_by_log (box_id, log_no, seq, at, kind, incident_id, data, received_at)
        SELECT box_id, 1, seq, at, kind, incident_id, data, received_at FROM events;
    DROP TABLE events;
    ALTER TABLE events_by_log RENAME TO events;
    CREATE INDEX events_kind_at ON events(kind, at);
    CREATE TABLE incidents_by_log (
        box_id TEXT NOT NULL,
        log_no INTEGER NOT NULL,
        incident_id BIGINT NOT NULL,
        group_id TEXT,
        household TEXT,
        phone TEXT,
        kind TEXT,
        drill INTEGER NOT NULL DEFAULT 0,
        opened_at TEXT NOT NULL,
        closed_at TEXT,
        close_reason TEXT,
        first_ack_at TEXT,
        acks INTEGER NOT NULL DEFAULT 0,
        sms_sent INTEGER NOT NULL DEFAULT 0,
        calls INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (box_id, log_no, incident_id),
        FOREIGN KEY (box_id, log_no) REFERENCES box_logs(box_id, log_no)
    );
    INSERT INTO incidents_by_log (box_id, log_no, incident_id, group_id, household, phone, kind,
                                  drill, opened_at, closed_at, close_reason, first_ack_at, acks,
                                  sms_sent, calls, failed)
        SELECT box_id, 1, incident_id, group_id, household, phone, kind, drill, opened_at,
               closed_at, close_reason, first_ack_at, acks, sms_sent, calls, failed
        FROM incidents;
    DROP TABLE incidents;
    ALTER TABLE incidents_by_log RENAME TO incidents;
    CREATE INDEX incidents_opened ON incidents(opened_at);
    ALTER TABLE users ADD COLUMN last_login_at TEXT
    """,
    # 3: the SMS uplink and the township's alerts (edgebox.hub.sms_ingest, edgebox.hub.alerts).
    """
    CREATE TABLE sms_reports (
        box_id TEXT NOT NULL REFERENCES boxes(box_id),
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        happened TEXT NOT NULL,
        data TEXT NOT NULL,
        sender TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (box_id, seq)
    );
    CREATE INDEX sms_reports_received ON sms_reports(received_at);
    CREATE TABLE sms_refused (
        sender TEXT NOT NULL,
        text TEXT NOT NULL,
        reason TEXT NOT NULL,
        received_at TEXT NOT NULL
    );
    CREATE INDEX sms_refused_received ON sms_refused(received_at);
    CREATE TABLE duty_officers (
        township TEXT NOT NULL,
        phone TEXT NOT NULL,
        name TEXT NOT NULL,
        added_at TEXT NOT NULL,
        PRIMARY KEY (township, phone)
    );
    CREATE TABLE alerts (
        alert_id INTEGER PRIMARY KEY,
        box_id TEXT NOT NULL REFERENCES boxes(box_id),
        kind TEXT NOT NULL,
        alert_key TEXT NOT NULL,
        detail TEXT NOT NULL,
        raised_at TEXT NOT NULL,
        sent_at TEXT,
        sent_to TEXT,
        acked_at TEXT,
        acked_by TEXT
    );
    CREATE INDEX alerts_box_kind ON alerts(box_id, kind, raised_at)
    """,
    # 4: scoped accounts and the audit log. A user's role says what they may see: 'county'
    # every box (the users of older hubs, who saw everything, stay so), 'township' the boxes
    # of their township, 'village' their one box. The audit log keeps who did what, when and
    # from where (logins, exports, account changes); it has no key of its own, rows are only
    # ever added. ``households_registered``: the village's own count of its households, entered
    # on the box's page, against which the roster's enrolment is reported.
    """
    ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'county';
    ALTER TABLE users ADD COLUMN township TEXT;
    ALTER TABLE users ADD COLUMN box_id TEXT;
    CREATE TABLE audit (
        at TEXT NOT NULL,
        user_name TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_at ON audit(at);
    ALTER TABLE boxes ADD COLUMN households_registered INTEGER
    """,
    # 5: failed logins are counted from the audit log (edgebox.hub.login_limits), so that
    # several worker processes share one count: by address and by account, newest last.
    """
    CREATE INDEX audit_address ON audit(address, action, at);
    CREATE INDEX audit_user ON audit(user_name, action, at)
    """,
    # 6: each box's months in a few numbers (edgebox.hub.box_months), kept at ingest so the
    # statistics and the monthly report need not read every alarm; filled from what the hub
    # holds by FILLS[6] in the same transaction.
    """
    CREATE TABLE box_months (
        box_id TEXT NOT NULL REFERENCES boxes(box_id),
        month TEXT NOT NULL,
        alarms BIGINT NOT NULL DEFAULT 0,
        kinds TEXT NOT NULL DEFAULT '{}',
        waits TEXT NOT NULL DEFAULT '[]',
        drills BIGINT NOT NULL DEFAULT 0,
        failed BIGINT NOT NULL DEFAULT 0,
        drill_acked BIGINT NOT NULL DEFAULT 0,
        drill_total BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (box_id, month)
    );
    CREATE INDEX box_months_month ON box_months(month)
    """,
]


def _fill_box_months(tx) -> None:
    from edgebox.hub.box_months import fill
    fill(tx)


# Migrations that also compute rows (in Python, the same on both databases) after their
# statements, in their transaction.
FILLS = {6: _fill_box_months}


def migrate(db) -> int:
    """Bring the hub's database to the newest schema; the version now in force."""
    with db.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS hub_schema (version INTEGER NOT NULL)")
        row = tx.one("SELECT version FROM hub_schema")
        if row is None:
            tx.execute("INSERT INTO hub_schema (version) VALUES (0)")
    version = row[0] if row else 0
    if version > len(MIGRATIONS):
        from edgebox.hub.errors import HubStoreError
        raise HubStoreError(f"hub database schema {version} is newer than this edgebox knows"
                            f" ({len(MIGRATIONS)})")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        statements = [s.strip() for s in script.split(";") if s.strip()]
        with db.transaction() as tx:
            # Re-read under the write lock: two hubs starting at once migrate only once.
            if tx.one("SELECT version FROM hub_schema" + tx.for_update)[0] >= number:
                continue
            for statement in statements:
                tx.execute(statement)
            if number in FILLS:
                FILLS[number](tx)
            tx.execute("UPDATE hub_schema SET version = ?", (number,))
    return len(MIGRATIONS)
