"""CPU time of the free-text column scan alone, for comparing two trees in alternating processes.

    PYTHONPATH=<tree> .venv/bin/python bench/classify/textscan.py [--repeat 12] [--dump out.pkl] [--profile tottime]

Builds the same 50,000 speed texts as ``bench.classify.text`` (same seeded corpus, same draws) and
times ``ColumnScanner.update`` over them in process time (min of ``--repeat``): the wall-clock
bench shares 2 cores with other work and varies by ±30%, CPU time by a few %. ``--dump`` pickles
the spans of the labelled corpus and of the speed texts (to compare two trees byte for byte).
"""

from __future__ import annotations

import argparse
import os
import pickle
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=12, help="scans timed (min of)")
    parser.add_argument("--cut", type=int, default=0, help="characters kept per text, as bench.classify.text "
                        "(0: whole texts, ≈ 40 characters on average)")
    parser.add_argument("--dump", help="pickle the spans of the corpus and speed texts here")
    parser.add_argument("--profile", choices=("tottime", "cumulative"), help="cProfile 3 scans, print the top")
    args = parser.parse_args()

    import pyarrow as pa

    import classifier
    from classifier.columns import ColumnScanner, ColumnTally
    from classifier.recognizers import all_recognizers
    from classifier.text import TextScanner, normalize

    from bench.classify.textcorpus import bench_draws

    texts, _, short = bench_draws(50_000, args.cut or None)
    labelled = [t.text for t in texts]
    column = pa.array(short)
    scanner = ColumnScanner(all_recognizers(), {})
    scanner.update(ColumnTally(), column)  # warm: jieba, compiled patterns
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        for _ in range(3):
            scanner.update(ColumnTally(), column)
        prof.disable()
        pstats.Stats(prof).sort_stats(args.profile).print_stats(45)
        return
    best = float("inf")
    for _ in range(args.repeat):
        start = time.process_time()
        scanner.update(ColumnTally(), column)
        best = min(best, time.process_time() - start)
    print(f"{os.path.dirname(classifier.__file__)}: scan of {len(short):,} texts {best * 1000:.1f} ms CPU "
          f"(min of {args.repeat}), load {os.getloadavg()[0]:.1f}")
    if args.dump:
        tally = ColumnTally()
        scanner.update(tally, column)
        fresh = TextScanner()
        out = {"corpus": fresh.find_many([normalize(t) for t in labelled]),
               "speed": TextScanner().find_many(short),
               "speed_table": tuple(x.tolist() if hasattr(x, "tolist") else x
                                    for x in TextScanner().spans_in(column)),
               "tally": repr(tally)}
        with open(args.dump, "wb") as f:
            pickle.dump(out, f)


if __name__ == "__main__":
    main()
