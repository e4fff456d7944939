"""bench/soc: a generated day of exchange traffic through the SOC, measured against baselines.

    .venv/bin/python -m bench.soc [--events 1000000] [--backend sqlite|elasticsearch]

Prints median figures, the same-run baselines and their ratio, PASS/MISS per target of issue 4,
and the scenarios detected vs injected with the alerts raised on benign users.
"""

from __future__ import annotations

import argparse
import sys

from bench.soc.run import run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.soc", description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="benign events of the day")
    ap.add_argument("--backend", choices=("sqlite", "elasticsearch"), default="sqlite")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions of the short measurements")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    return run(args.events, backend=args.backend, repeat=args.repeat, seed=args.seed)


if __name__ == "__main__":
    sys.exit(main())
