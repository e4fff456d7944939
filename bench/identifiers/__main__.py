"""Identifier fidelity: Shuwei's vectorised validators against python-stdnum and phonenumbers.

    .venv/bin/python -m bench.identifiers [--n 20000] [--seed 7]

Per entity: ``n`` generated values (half valid per the reference, half near misses, in the written
forms people use), the share on which Shuwei and the reference agree, and every disagreement by
class; then the documented differences, and column-level accuracy on a messy-format corpus.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

from bench.identifiers import corpus, generate
from bench.identifiers.oracle import REFERENCE, shuwei
from classifier.evidence import mask_sample

TARGET = 0.995
GENERATORS = {"CN_RESIDENT_ID": generate.resident_ids, "CN_USCC": generate.usccs,
              "CN_MOBILE": generate.mobiles, "CN_LANDLINE": generate.landlines}
DIFFERENCES = {"CN_RESIDENT_ID": generate.id_differences, "CN_USCC": generate.uscc_differences,
               "CN_LANDLINE": generate.landline_differences}


def compare(entity: str, cases: list[generate.Case]
            ) -> tuple[int, Counter[tuple[str, bool, bool]], dict[tuple[str, bool, bool], str]]:
    ref = REFERENCE[entity]
    ours = shuwei(entity, [written for _, written, _ in cases])
    agree, disagree = 0, Counter[tuple[str, bool, bool]]()
    examples: dict[tuple[str, bool, bool], str] = {}
    for (klass, written, bare), mine in zip(cases, ours):
        theirs = ref(bare)
        if mine == theirs:
            agree += 1
        else:
            disagree[(klass, mine, theirs)] += 1
            examples.setdefault((klass, mine, theirs), mask_sample(written))
    return agree, disagree, examples


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    print(f"Identifier agreement with the reference libraries ({args.n} generated values per entity, "
          f"seed {args.seed}; target ≥ {TARGET:.1%})")
    for entity, gen in GENERATORS.items():
        t0 = time.perf_counter()
        cases = gen(rng, args.n)
        agree, disagree, examples = compare(entity, cases)
        share = agree / len(cases)
        valid = sum(1 for k, _, _ in cases if k == "valid")
        print(f"\n{entity}: {agree}/{len(cases)} agree = {share:.3%} ({valid} valid, {len(cases) - valid} "
              f"near misses) {'PASS' if share >= TARGET else 'MISS'}  [{time.perf_counter() - t0:.1f} s]")
        for (klass, mine, theirs), count in sorted(disagree.items(), key=lambda kv: -kv[1]):
            print(f"  disagree {count:6d}  {klass}: Shuwei {'accepts' if mine else 'rejects'}, reference "
                  f"{'accepts' if theirs else 'rejects'} (e.g. {examples[(klass, mine, theirs)]})")
        if not disagree:
            print("  no disagreement")
    print("\nDocumented differences (deliberate; see README, classify section)")
    for entity, gen in DIFFERENCES.items():
        cases = gen(rng, 2000)
        agree, disagree, examples = compare(entity, cases)
        print(f"{entity}: {len(cases)} values, reference agrees on {agree}")
        for (klass, mine, theirs), count in sorted(disagree.items()):
            print(f"  differ   {count:6d}  {klass}: Shuwei {'accepts' if mine else 'rejects'}, reference "
                  f"{'accepts' if theirs else 'rejects'} (e.g. {examples[(klass, mine, theirs)]})")
    corpus.report(random.Random(args.seed))


if __name__ == "__main__":
    main()
