"""Time the default demo build and show one past day's timesheet (T020, the day before the demo day)."""

import tempfile
import time
from datetime import date

from data.db import open_database
from data.demo import build_demo
from data.services.timesheets import compute_timesheet

d = tempfile.mkdtemp()
db = open_database(f"sqlite:///{d}/b.sqlite", create=True)
t = time.perf_counter()
s = build_demo(db, today=date(2026, 11, 25))
print("build", round(time.perf_counter() - t, 2), "s")
f = compute_timesheet(db, "T020", date(2026, 11, 24))
print("T020 2026-11-24 paid", f.paid_minutes, "break", f.break_minutes, "clock", f.clock_in, f.clock_out)
