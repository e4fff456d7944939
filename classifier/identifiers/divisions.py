"""Administrative division codes (GB/T 2260) from python-stdnum's ``stdnum/cn/loc.dat``.

python-stdnum keeps the list up to date from the published tables; this turns it into one array
indexed by the 6-digit code: the last year the code was in use (9999 = still in use, 0 = never a
county-level code). Built once, on first use, from the installed package (nothing fetched).

One code is added: ``830000``, the number prefix of 台湾居民居住证 (港澳台居民居住证申领发放办法,
2018). Residence permits carry a 公民身份号码 of the resident-ID structure; those of Hong Kong and
Macao residents start with their GB/T 2260 codes 810000 and 820000, those of Taiwan residents with
830000, which is no division code and so not in ``loc.dat`` — without it such a number would be
released in clear.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
from stdnum import numdb

STILL_IN_USE = 9999
RESIDENCE_PERMIT_PREFIXES = (830000,)  # beside the division codes, see above
_PERIOD = re.compile(r"^\[(\d*)-(\d*)\]")


def _last_year(county: str) -> int:
    """``[1983-1993]潮阳县,[1994-]…`` → the latest end year over the listed periods."""
    last = 0
    for name in county.split(","):
        m = _PERIOD.match(name)
        last = max(last, STILL_IN_USE if m is None or not m.group(2) else int(m.group(2)))
    return last


@cache
def last_year_table() -> np.ndarray:
    """int16[1_000_000]: code → last year in use (0: no such county)."""
    table = np.zeros(1_000_000, dtype=np.int16)
    for length, low, high, _props, children in numdb.get("cn/loc").prefixes:
        for province in range(int(low), int(high) + 1):
            for clen, clow, chigh, props, _ in children:
                county = props.get("county")
                if county is None or length + clen != 6:
                    continue
                for code in range(int(clow), int(chigh) + 1):
                    table[province * 10 ** clen + code] = _last_year(county)
    table[list(RESIDENCE_PERMIT_PREFIXES)] = STILL_IN_USE
    return table
