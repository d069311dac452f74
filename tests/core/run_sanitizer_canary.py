#!/usr/bin/env python3
"""Runs tests/core/sanitizer_canary.cpp's program in one mode and checks that
the sanitized build stops it as a finding must stop a test: with the
sanitizer's report on stderr and status PSGM_SANITIZER_EXIT_CODE
(cmake/PsgmSanitize.cmake).

  run_sanitizer_canary.py CANARY MODE EXIT_CODE REPORT_REGEX

MODE none expects a clean exit 0 and no report (the canary itself is sound).
"""
import re
import subprocess
import sys

canary, mode, code, report = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
r = subprocess.run([canary, mode], capture_output=True, text=True, timeout=120)
err = r.stderr
if mode == "none":
    ok = r.returncode == 0 and "Sanitizer" not in err and "runtime error" not in err
    want = "exit 0 and no report"
else:
    ok = r.returncode == code and re.search(report, err) is not None
    want = f"exit {code} and a report matching {report!r}"
if not ok:
    sys.exit(f"canary {mode}: expected {want}; got exit {r.returncode}, stderr:\n{err[-3000:]}")
first = next((line for line in err.splitlines() if re.search(report, line)), "") if mode != "none" else ""
print(f"canary {mode}: exit {r.returncode}" + (f"; {first.strip()}" if first else ""))
