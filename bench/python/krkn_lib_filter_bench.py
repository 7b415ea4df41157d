"""Runs krkn-lib's own log filter over a must-gather folder, as krkn does after a run.

Same work as `KrknOpenshift.filter_folder_logs` (krkn-lib 7.0.3): every `*.log` below the
gather folder goes into a queue drained by THREADS threads running
`krkn_lib.utils.filter_log_file_worker`, which writes the kept lines to DEST under the path
turned into a dotted name. The method itself needs a live cluster client, so its dozen lines of
set-up are repeated here; the filtering is krkn-lib's code, untouched.

Usage: krkn_lib_filter_bench.py GATHER_FOLDER DEST START END THREADS
Prints "seconds files bytes_in" on stdout.
"""

import os
import sys
import threading
import time
from pathlib import Path
from queue import Queue

from krkn_lib.utils import filter_log_file_worker

PATTERNS = [
    r"(\w{3}\s\d{1,2}\s\d{2}:\d{2}:\d{2}\.\d+).+",
    r"kinit (\d+/\d+/\d+\s\d{2}:\d{2}:\d{2})\s+",
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z).+",
]

gather, dest, start, end, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
os.makedirs(dest, exist_ok=True)
began = time.monotonic()
queue = Queue()
files = list(Path(gather).rglob("*.log"))
for file in files:
    queue.put(file)
workers = [
    threading.Thread(
        target=filter_log_file_worker,
        args=(start, end, gather, dest, "UTC", "UTC", PATTERNS, queue),
        daemon=True,
    )
    for _ in range(threads)
]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
elapsed = time.monotonic() - began
print(f"{elapsed:.3f} {len(files)} {sum(f.stat().st_size for f in files)}")
