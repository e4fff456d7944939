"""One Shuwei scan in a child process, so the parent can read its peak RSS (os.wait4)."""

from __future__ import annotations

import json
import sys
import time

from classifier.scan import run_scan
from classifier.settings import load_settings


def main() -> None:
    mode, path, data_dir = sys.argv[1:4]
    settings = load_settings(environ={"SHUWEI_DATA_DIR": data_dir})
    start, cpu = time.perf_counter(), time.process_time()
    (outcome,) = run_scan([path], settings, full=mode == "full", force=True)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    report = outcome.report
    json.dump({"seconds": seconds, "cpu": cpu, "rows_scanned": report["rows_scanned"], "rows_total": report["rows_total"],
               "entities": {c["name"]: c["entity"] for c in report["columns"]}}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
