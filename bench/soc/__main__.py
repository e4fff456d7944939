"""bench/soc: a generated day of exchange traffic through the SOC, measured against baselines.

    .venv/bin/python -m bench.soc [--events 1000000] [--backend sqlite|elasticsearch]
    .venv/bin/python -m bench.soc --corpus ../shared/sigmahq [--windows-events 20000]

Prints median figures, the same-run baselines and their ratio, PASS/MISS per target of issue 4,
and the scenarios detected vs injected with the alerts raised on benign users.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.soc.run import run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.soc", description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="benign events of the day")
    ap.add_argument("--backend", choices=("sqlite", "elasticsearch"), default="sqlite")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions of the short measurements")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--corpus", type=Path, help="a Sigma corpus (SigmaHQ): run bench/soc/corpus.py")
    ap.add_argument("--windows-events", type=int, default=20_000,
                    help="Windows-style events hunted with --corpus")
    ap.add_argument("--exchange-events", type=int, default=200_000,
                    help="exchange events streamed with --corpus")
    args = ap.parse_args(argv)
    if args.corpus is not None:
        from bench.soc.corpus import run_corpus

        return run_corpus(args.corpus, args.windows_events, args.exchange_events, args.repeat,
                          args.seed)
    return run(args.events, backend=args.backend, repeat=args.repeat, seed=args.seed)


if __name__ == "__main__":
    sys.exit(main())
