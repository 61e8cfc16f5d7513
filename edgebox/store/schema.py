"""Every table edgebox keeps, and the migrations that build them.

One list of migrations, applied in order; ``PRAGMA user_version`` records how many have run, so an
old box's database is brought forward on its first start with new firmware. Never edit a shipped
migration: append a new one.

Tables
- households, village_groups, group_members: the roster as last imported.
- incidents: one row per alarm, written and committed before anything else happens.
- deliveries: the outbox. Every SMS and call to every phone, with state
  (pending → sending → sent | failed | cancelled), attempts and the modem's reference. Workers
  drain it; after a crash, rows left in "sending" go back to "pending".
- acks: who acknowledged which incident, on which channel; one per household and incident.
- sms_parts: one row per SMS part a modem submitted, with the network's message reference, so a
  delivery report is matched to its own message (not "any report").
- modem_health: signal, registration, SIM, operator, balance and network time per check.
- events: the append-only log, ``seq`` strictly increasing with no gaps; the uploader ships it and
  the web panel streams it.
- broadcasts: office broadcasts, with how many households and SMS they planned.
- inbox: every SMS a modem received, kept before the modem deletes it, and when it was acted on.
- office_actions: every office action (web panel, panel buttons), kept before the event loop
  hears of it, and when it was carried out.
- roster_generation: one row, counting the roster's replacements.
- held_reports: delivery reports that arrived before their SMS was recorded, until it is.
- web_sessions: the web panel's logins (the token's hash, never the token), until they expire.
- wal_restarts: one row the WAL checkpointer writes after each checkpoint, so that the log's
  restart (whose header SQLite syncs on its own, a second wait for the disk) is its write and
  never an alarm's (see store/wal_checkpoints.py).
- check_ins: one row per household and day of its daily check-in (报平安): due, safe or
  missed, the ring call in the outbox, how 平安 was said, the missed check-in's incident.
- uplink_state: the uploader's cursor (the hub's last acknowledgement) and its other notes, and
  the log's own random id (``log_id``), which tells the hub this log from one before it.
"""
from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: the foundation.
    """
    CREATE TABLE households (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        address TEXT NOT NULL,
        phones TEXT NOT NULL,          -- JSON list of E.164 numbers, first is primary
        flags TEXT NOT NULL,           -- JSON list of flag names
        position INTEGER NOT NULL
    );
    CREATE TABLE village_groups (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        leader_id TEXT NOT NULL REFERENCES households(id),
        position INTEGER NOT NULL
    );
    CREATE TABLE group_members (
        group_id TEXT NOT NULL REFERENCES village_groups(id),
        household_id TEXT NOT NULL REFERENCES households(id),
        position INTEGER NOT NULL,
        PRIMARY KEY (group_id, household_id)
    );
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY,
        group_id TEXT NOT NULL,
        caller_household_id TEXT NOT NULL,
        caller_phone TEXT NOT NULL,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        closed_at TEXT,
        planned INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX incidents_state ON incidents(state);
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER REFERENCES incidents(id),
        kind TEXT NOT NULL,
        phone TEXT NOT NULL,
        household_id TEXT,
        purpose TEXT NOT NULL,
        text TEXT NOT NULL,
        priority INTEGER NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before TEXT,
        last_error TEXT,
        modem_ref TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX deliveries_queue ON deliveries(state, priority, id);
    CREATE INDEX deliveries_incident ON deliveries(incident_id);
    CREATE TABLE acks (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        household_id TEXT NOT NULL,
        phone TEXT NOT NULL,
        channel TEXT NOT NULL,
        at TEXT NOT NULL,
        UNIQUE (incident_id, household_id)
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        incident_id INTEGER,
        data TEXT NOT NULL             -- JSON object
    );
    CREATE INDEX events_incident ON events(incident_id);
    """,
    # 2: several modems, delivery reports, health.
    """
    ALTER TABLE deliveries ADD COLUMN modem TEXT;
    ALTER TABLE deliveries ADD COLUMN report TEXT;
    CREATE TABLE sms_parts (
        id INTEGER PRIMARY KEY,
        delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
        modem TEXT NOT NULL,
        reference INTEGER NOT NULL,
        part INTEGER NOT NULL,
        submitted_at TEXT NOT NULL,
        status TEXT,                   -- NULL until the report comes: delivered / failed
        reported_at TEXT
    );
    CREATE INDEX sms_parts_reference ON sms_parts(modem, reference);
    CREATE TABLE modem_health (
        id INTEGER PRIMARY KEY,
        modem TEXT NOT NULL,
        at TEXT NOT NULL,
        signal INTEGER,                -- +CSQ rssi 0-31, NULL when unknown (99)
        registration TEXT,             -- home / roaming / searching / denied / none
        technology TEXT,               -- 2G (+CREG) or 4G (+CEREG)
        sim TEXT,                      -- READY, NOT READY, SIM PIN, …
        operator TEXT,
        balance REAL,
        network_time TEXT,
        error TEXT
    );
    CREATE INDEX modem_health_latest ON modem_health(modem, id);
    """,
    # 3: the uplink's own state: the last sequence number the hub acknowledged, when an upload
    # last succeeded, which warnings and summaries went out today.
    """
    CREATE TABLE uplink_state (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE INDEX events_kind ON events(kind, seq);
    """,
    # 4: the alarm policy: alarm types and their words, the escalation ladder's progress,
    # acknowledgement time, drills, households that joined an alarm, broadcasts.
    """
    ALTER TABLE incidents ADD COLUMN alarm_type TEXT NOT NULL DEFAULT 'call';
    ALTER TABLE incidents ADD COLUMN text TEXT;
    ALTER TABLE incidents ADD COLUMN escalation_step INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE incidents ADD COLUMN acked_at TEXT;
    ALTER TABLE incidents ADD COLUMN drill INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE incidents ADD COLUMN closed_reason TEXT;
    ALTER TABLE incidents ADD COLUMN co_callers TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE deliveries ADD COLUMN broadcast_id INTEGER;
    CREATE TABLE broadcasts (
        id INTEGER PRIMARY KEY,
        sender TEXT NOT NULL,
        group_id TEXT,
        text TEXT NOT NULL,
        households INTEGER NOT NULL,
        messages INTEGER NOT NULL,
        at TEXT NOT NULL,
        reported INTEGER NOT NULL DEFAULT 0    -- progress already logged, in quarters
    );
    CREATE INDEX deliveries_broadcast ON deliveries(broadcast_id);
    """,
    # 5: the log's identity, a random id born with the database. The hub keys a box's events by
    # (box, log, seq): a box whose database was replaced starts again at seq 1 under a new id,
    # and the hub keeps its new log apart from the old one instead of taking it for duplicates.
    """
    INSERT INTO uplink_state (name, value) VALUES ('log_id', lower(hex(randomblob(16))))
        ON CONFLICT(name) DO NOTHING;
    """,
    # 6: the SMS inbox. A received SMS is kept here before the modem's copy is deleted, and
    # marked handled in the same transaction as what it caused (see store/inbox_rows.py).
    """
    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY,
        modem TEXT NOT NULL,
        number TEXT NOT NULL,          -- as the network gave it
        text TEXT NOT NULL,            -- all parts joined; a PIN redacted once handled
        sent_at TEXT,                  -- the service centre's time stamp, when known
        identity TEXT,                 -- digest of modem, number, sent_at and text (NULL: none)
        received_at TEXT NOT NULL,
        handled_at TEXT                -- NULL until acted on
    );
    CREATE INDEX inbox_unhandled ON inbox(handled_at);
    CREATE INDEX inbox_identity ON inbox(identity);
    """,
    # 7: office actions, kept like received SMS: a click on the web panel or a panel button is
    # a row before the event loop hears of it, marked handled with what it caused.
    """
    CREATE TABLE office_actions (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,            -- acknowledge, cancel, siren_on, siren_off, broadcast, drill
        source TEXT NOT NULL,          -- web, button …
        user TEXT NOT NULL,
        incident_id INTEGER,           -- NULL: the newest open incident, when it is carried out
        group_id TEXT,
        text TEXT NOT NULL,
        asked_at TEXT NOT NULL,
        handled_at TEXT                -- NULL until carried out
    );
    CREATE INDEX office_actions_unhandled ON office_actions(handled_at);
    """,
    # 8: delivery reports that came before the SMS they answer was recorded, held until it is
    # (store/delivery_reports.py says why that happens and how long one is held).
    """
    CREATE TABLE held_reports (
        id INTEGER PRIMARY KEY,
        modem TEXT NOT NULL,
        reference INTEGER NOT NULL,
        delivered INTEGER NOT NULL,
        received_at TEXT NOT NULL
    );
    CREATE INDEX held_reports_reference ON held_reports(modem, reference);
    CREATE INDEX held_reports_received ON held_reports(received_at);
    """,
    # 9: the roster's generation, one more at every replacement: a running daemon compares it
    # on every turn of its loop (one primary-key read) and reloads the roster when it moved,
    # whichever process wrote it (the CLI, the web page, a leader's SMS).
    """
    CREATE TABLE roster_generation (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        generation INTEGER NOT NULL
    );
    INSERT INTO roster_generation (id, generation) VALUES (1, 0);
    """,
    # 10: the web panel's logins, so they outlive a restart of its process or of the box. Only
    # the SHA-256 of the cookie's token is kept: the database (or a copy of the SD card) does
    # not hold a live session. Visitors who are not logged in are never written here.
    """
    CREATE TABLE web_sessions (
        token_hash TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        csrf TEXT NOT NULL,
        lang TEXT NOT NULL,
        expires_at TEXT NOT NULL       -- UTC
    );
    """,
    # 11: relatives' phones (亲属电话) that hear a household's alarms by SMS, and the sheet's
    # 备注, kept so an exported sheet is the office's sheet with nothing dropped.
    """
    ALTER TABLE households ADD COLUMN guardians TEXT NOT NULL DEFAULT '[]';  -- JSON E.164 list
    ALTER TABLE households ADD COLUMN note TEXT NOT NULL DEFAULT '';
    """,
    # 12: a leader's own PIN for administration by SMS, as a scrypt hash (never the digits).
    # Keyed by household id, without a foreign key: re-importing the sheet replaces every
    # household row, and the leader's PIN must outlive that.
    """
    CREATE TABLE leader_pins (
        household_id TEXT PRIMARY KEY,
        pin_hash TEXT NOT NULL,
        set_at TEXT NOT NULL           -- UTC
    );
    """,
    # 13: indexes for a box with a year of history (300k SMS), each found with EXPLAIN QUERY PLAN
    # (tests/test_store_speed.py): a delivery report's other parts and retention's deletes by
    # delivery (and every delete of a delivery, which checks this foreign key); a report's own
    # part among the few still unreported (by reference alone it walks every part ever sent
    # with that reference, 1200 of them at 300k SMS, for a stray report); the open alarms
    # that told a household, asked for every SMS it sends; retention's old events by time; the
    # roster's foreign keys, checked on every re-import.
    """
    CREATE INDEX sms_parts_delivery ON sms_parts(delivery_id);
    CREATE INDEX sms_parts_unreported ON sms_parts(modem, reference) WHERE status IS NULL;
    CREATE INDEX deliveries_household ON deliveries(household_id, purpose, incident_id);
    CREATE INDEX events_at ON events(at);
    CREATE INDEX village_groups_leader ON village_groups(leader_id);
    CREATE INDEX group_members_household ON group_members(household_id);
    CREATE TABLE wal_restarts (     -- one row: when the checkpointer last restarted the WAL
        id INTEGER PRIMARY KEY CHECK (id = 1),
        at TEXT NOT NULL
    );
    """,
    # 14: daily check-ins for households that asked for one (报平安时间, box-local "HH:MM", ""
    # for none), and each day's check-in (see domain/check_ins.py and daemon/check_ins.py).
    # Keyed by household id and day without a foreign key, like leader_pins: a re-import
    # replaces every household row and today's check-in must outlive that.
    """
    ALTER TABLE households ADD COLUMN check_in TEXT NOT NULL DEFAULT '';
    CREATE TABLE check_ins (
        household_id TEXT NOT NULL,
        day TEXT NOT NULL,             -- the box-local date whose window this is
        state TEXT NOT NULL,           -- due, safe, missed (its incident open), closed
        rings INTEGER NOT NULL DEFAULT 0,   -- ring calls finished
        delivery_id INTEGER,           -- the ring call in the outbox now, NULL between rings
        next_ring_at TEXT,             -- UTC; NULL while a ring call is in the outbox
        how TEXT,                      -- ring, call, late_call: how 平安 was said
        incident_id INTEGER,           -- the missed check-in's incident
        updated_at TEXT NOT NULL,      -- UTC
        PRIMARY KEY (household_id, day)
    );
    CREATE INDEX check_ins_state ON check_ins(state);
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration not yet applied; return the schema version now in force."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema version {version} is newer than this edgebox knows "
            f"({len(MIGRATIONS)}); refusing to touch it"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        # executescript commits first; the version bump is part of the same script so a crash
        # mid-migration leaves the old version number and the migration is re-run.
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    return len(MIGRATIONS)
