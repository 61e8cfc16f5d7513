"""Helpers shared by the tests that run the daemon as a process against the emulator."""
import os
import sqlite3
import time

# A small village sheet as an official types it: mixed phone forms, a second phone, flags.

SHEET = """户号,户主姓名,地址,电话,组别,中心户长,标记
H01,王建国,石桥村一组1号,138 0013 8001,第一组,是,
H02,李秀英,石桥村一组2号,"139 0013 8002; 0086 150 1380 0022",第一组,,独居老人
H03,张伟,石桥村一组3号,+86 186 0013 8003,第一组,,
H04,刘洋,石桥村一组4号,13700138004,第一组,,应急骨干
H05,陈静,石桥村二组1号,13600138005,第二组,是,
H06,杨磊,石桥村二组2号,13500138006,第二组,,
"""

def query(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def kinds(db):
    if not os.path.exists(db):
        return []
    try:
        return [r[0] for r in query(db, "SELECT kind FROM events ORDER BY seq")]
    except sqlite3.OperationalError:
        return []


def wait_for(condition, timeout, what, log_path=None):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = log_path.read_text()[-3000:] if log_path else ""
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.1)
