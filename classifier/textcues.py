"""Entities in text that patterns alone cannot bound: names, addresses, birth dates, diagnoses.

- Names: a context word (申请人, 来电人, 联系人, 市民 …) then a surname of the one surname list and
  one or two given characters; where the name ends is decided with jieba's dictionary (its word
  frequencies and ``nr`` person tags). ``jieba.posseg.cut`` measured 80–230 µs per short text here,
  dictionary look-ups ~1 µs, so the tagger's dictionary is consulted rather than the tagger run.
- Addresses: administrative-division names from python-stdnum's division data (省/市/区/县 names),
  then a street part (路/街/巷/村/小区 … and house numbers); after an address cue (地址, 家住 …)
  the division may be left out.
- Birth dates: a real date right after a birth cue (出生, 生于 …); other dates are not personal.
- Diagnoses: the diagnosis recognizer's dictionary names.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from classifier.recognizers.base import HAN
from classifier.recognizers.health import DIAGNOSES
from classifier.recognizers.person import DateOfBirthRecognizer
from classifier.surnames import COMPOUND, SINGLE

# Entities found by context here, not by their recognizer's pattern (ORGANIZATION_NAME is L1 and
# its suffix pattern swallows running text, so it is not searched in text).
FOUND_BY_CONTEXT = ("PERSON_NAME", "ADDRESS", "DATE_OF_BIRTH", "MEDICAL_DIAGNOSIS")
CONTEXT_ENTITIES = (*FOUND_BY_CONTEXT, "ORGANIZATION_NAME")

NAME_CUES = ("被申请人", "申请人", "来电人", "联系人", "投诉人", "举报人", "当事人", "代理人", "经办人",
             "法定代表人", "收件人", "户主", "患者", "市民", "姓名", "业主", "群众", "居民", "家属", "监护人")
# Cues for a group of people, often followed by what they did (市民来电反映, 户主方便时联系); after
# the others (联系人, 申请人 …) a name nearly always follows, even one that reads as a word (修建军).
GROUP_CUES = frozenset(("户主", "患者", "市民", "业主", "群众", "居民", "家属"))
ADDRESS_CUES = ("详细地址", "家庭住址", "居住地址", "联系地址", "户籍地址", "地址", "住址", "家住", "住在",
                "居住在", "现住", "位于")
BIRTH_CUES = ("出生日期", "出生于", "出生", "生于", "生日")
# Single characters that, right after a surname and one given character, start the next word.
_FOLLOW = set("称说于在向的等因和及与是为到将对从被把已也都")
_STREET = "路|街|大道|巷|弄|胡同|里|村|组|小区|社区|花园|公寓|大厦|广场|苑|庄|屯"
_UNIT = "号楼|号院|栋|幢|单元|楼|室|层|号|户"
_NUM = "[0-9一二三四五六七八九十百零〇]{1,6}"
_SEP = "[:：是为\\s]{0,2}"
_DIVISION = "省|自治区|市|自治州|地区|盟|区|县|旗"
_DIVISION_CHARS = frozenset("省区市州盟县旗")
_DIVISION_CLASS = "[" + "".join(sorted(_DIVISION_CHARS)) + "]"  # the last character of any division
# Which texts the address pattern is tried on: a division character, then only the characters
# the pattern allows up to a street word (necessary for a match, so the same addresses). Without
# a counted repetition RE2's DFA stays small: 16 → 8 ms per 36,000 texts measured here, no
# more texts let through in the bench (the former ``[^，。；;,]{0,24}`` let the same 21,216).
_ADDRESS_SEEN = _DIVISION_CLASS + "[{han}0-9A-Za-z]*(?:{street})"


@cache
def admin_names() -> tuple[str, ...]:
    """Province, prefecture and county names in python-stdnum's division data (current and past)."""
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    names = set(re.findall(r'(?:province|prefecture|county)="(?:\[[^\]]*\])?([^"]+)"', text))
    return tuple(sorted((n for n in names if len(n) >= 2 and n[-1] in "省市区县旗州盟"), key=len, reverse=True))


@cache
def _jieba() -> tuple[dict[str, int], dict[str, str]]:
    """jieba's dictionary (frequencies and part-of-speech tags), loaded once, only when needed."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt.FREQ, jieba.posseg.dt.word_tag_tab


def _alt(words: tuple[str, ...] | list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


class ContextFinder:
    """Per kind of context, one RE2 pass over the texts says which to search, then one Python
    pattern per kind. A division name is checked against the division set after the match (a
    3,500-name alternation took 2.8 ms per text with ``regex``, ~50 µs with RE2 or Aho-Corasick)."""

    def __init__(self) -> None:
        surname = f"(?:{_alt(COMPOUND)}|[{SINGLE}])"
        self._name = re.compile(f"(?P<c>{_alt(NAME_CUES)}){_SEP}(?P<s>{surname})(?P<g>[{HAN}]{{1,2}})")
        street = (f"[{HAN}0-9A-Za-z]{{1,12}}?(?:{_STREET})(?:{_NUM}(?:号|弄|巷))?"
                  f"(?:{_NUM}(?:{_UNIT}))*")
        division = f"[{HAN}]{{1,7}}?(?:{_DIVISION})"
        # The lookahead only says what the first division needs (1–9 Han characters, then one
        # ending in a division character): same matches, but most start positions fail on one
        # greedy character-class run instead of the lazy division alternation (address search
        # over the bench's 21,000 address texts: 97 → 59 ms measured here).
        self._address = re.compile(f"(?=[{HAN}]{{1,9}}{_DIVISION_CLASS})"
                                   f"(?P<d>(?:{division}){{1,4}})(?:[{HAN}]{{1,8}}?(?:街道|镇|乡))?{street}")
        self._cued = re.compile(f"(?:{_alt(ADDRESS_CUES)}){_SEP}(?P<a>{street})")
        self._birth = re.compile(f"(?:{_alt(BIRTH_CUES)}){_SEP}(?:日期)?{_SEP}"
                                 f"(?P<d>{DateOfBirthRecognizer.CORE})(?![0-9])")
        self._diagnosis = re.compile(_alt(DIAGNOSES))
        self._dob = DateOfBirthRecognizer()
        self._divisions = frozenset(admin_names())
        self._ends: dict[tuple[bool, int, str], int] = {}  # (group cue, surname length, text) → end offset (0: no name)
        self._starts: dict[str, int | None] = {}  # division run → offset of the first name
        self._kinds = (("name", "PERSON_NAME", _alt(NAME_CUES)), ("cued", "ADDRESS", _alt(ADDRESS_CUES)),
                       ("birth", "DATE_OF_BIRTH", _alt(BIRTH_CUES)),
                       ("address", "ADDRESS", _ADDRESS_SEEN.format(han=HAN, street=_STREET)),
                       ("diagnosis", "MEDICAL_DIAGNOSIS", _alt(DIAGNOSES)))
        # Kinds whose cue words are in few texts share one RE2 pass over all texts; each then
        # runs on the texts that pass only. Any pass over a column costs ~10 ms per 50,000 texts
        # here whatever it finds (birth and diagnosis found nothing in the bench's tickets).
        self._rare = "|".join(f"(?:{p})" for k, _, p in self._kinds if k in _RARE_KINDS)

    def find_many(self, texts: pa.Array) -> dict[int, list[tuple[str, int, int]]]:
        """Row index → (entity, start, end) for the texts with any context."""
        out: dict[int, list[tuple[str, int, int]]] = {}
        for entity, rows, starts, ends in self.find_arrays(texts):
            for i, a, b in zip(rows.tolist(), starts.tolist(), ends.tolist()):
                out.setdefault(i, []).append((entity, a, b))
        return out

    def find_arrays(self, texts: pa.Array, py: list[str] | None = None
                    ) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
        """Per kind of context that found any: (entity, rows, starts, ends), rows in order.
        ``py``: the same texts as Python strings, when the caller has them already."""
        out = []
        rare = _matches(texts, self._rare)
        rare_rows = np.flatnonzero(rare)
        rare_texts = texts.take(pa.array(rare_rows)) if 0 < rare_rows.size < len(texts) else texts
        for kind, entity, pattern in self._kinds:
            if kind not in _RARE_KINDS:
                hit = _matches(texts, pattern)
            elif rare_texts is texts:
                hit = _matches(texts, pattern) if rare_rows.size else rare
            else:
                hit = np.zeros(len(texts), dtype=bool)
                hit[rare_rows] = _matches(rare_texts, pattern)
            if not hit.any():
                continue
            if py is None:
                py = texts.to_pylist()
            idx = np.flatnonzero(hit)
            k, a, b = getattr(self, "_" + kind + "_in")([py[i] for i in idx.tolist()])
            if k.size:
                out.append((entity, idx[k], a, b))
        return out

    def find(self, text: str) -> list[tuple[str, int, int]]:
        return self.find_many(pa.array([text])).get(0, [])

    # Names and addresses are searched in all their texts at once, joined by NUL (no pattern
    # here matches it, so no match spans two texts; one ``finditer`` instead of one per text:
    # names 41 → 16 ms per 27,000 texts measured here). Offsets map back by ``searchsorted``.
    def _name_in(self, texts: list[str]) -> _Found:
        blob, base = _joined(texts)
        found = [(m.start("s"), m.end("s"), m.end("g"), m["c"] in GROUP_CUES) for m in self._name.finditer(blob)]
        if not found:
            return _NONE
        at = np.searchsorted(base, np.array([f[0] for f in found]), side="right") - 1
        rows, starts, ends = [], [], []
        known = self._ends
        if len(known) > _MEMO_MAX:
            known.clear()
        for k, b0, (s, given, stop, group) in zip(at.tolist(), base[at].tolist(), found):
            # the end depends on the cue's kind, the surname's length and at most 4 characters
            # from the surname
            key = (group, given - s, blob[s:given + 3])
            if (off := known.get(key)) is not None:
                end = off + s - b0 if off else 0
            else:
                end = self._name_end(texts[k], s - b0, given - b0, stop - b0, group)
                known[key] = end - (s - b0) if end else 0
            if end:
                rows.append(k)
                starts.append(s - b0)
                ends.append(end)
        return _arrays(rows, starts, ends)

    def _address_in(self, texts: list[str]) -> _Found:
        """The pattern finds division-suffixed runs + a street part; the address starts at the
        first real division name inside the run (so 市民…反映北京市 starts at 北京市)."""
        blob, base = _joined(texts)
        starts: list[int] = []
        ends: list[int] = []
        # ``finditer`` goes on from a match's end as ``search(blob, m.end())`` would; only a run
        # without a real division name (~3% of matches) restarts one character later. One
        # iterator instead of a ``search`` call per match: 71 → 66 ms per 21,216 texts here (min of 7).
        pos: int | None = 0
        while pos is not None:
            restart = None
            for m in self._address.finditer(blob, pos):
                start = self._division_start(blob, m.start("d"), m.end("d"))
                if start is None:
                    restart = m.start() + 1
                    break
                starts.append(start)
                ends.append(m.end())
            pos = restart
        a, b = np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)
        k = np.searchsorted(base, a, side="right") - 1
        return k, a - base[k], b - base[k]

    def _cued_in(self, texts: list[str]) -> _Found:
        return _per_text(texts, lambda t: ((m.start("a"), m.end("a")) for m in self._cued.finditer(t)))

    def _birth_in(self, texts: list[str]) -> _Found:
        return _per_text(texts, lambda t: ((m.start("d"), m.end("d")) for m in self._birth.finditer(t)
                                           if self._dob.validate(m["d"])))

    def _diagnosis_in(self, texts: list[str]) -> _Found:
        return _per_text(texts, lambda t: ((m.start(), m.end()) for m in self._diagnosis.finditer(t)))

    def _division_start(self, text: str, start: int, end: int) -> int | None:
        """Where the first division name of ``text[start:end]`` starts; remembered per run of
        characters (they repeat: 北京市朝阳区 …), which halves the address search's Python time."""
        run = text[start:end]
        known = self._starts
        off = known.get(run, -1)
        if off == -1:
            if len(known) > _MEMO_MAX:
                known.clear()
            off = known[run] = self._first_division(run, 0, len(run))
        return None if off is None else start + off

    def _first_division(self, text: str, start: int, end: int) -> int | None:
        for k in range(start + 1, end):
            if text[k] in _DIVISION_CHARS:
                for p in range(max(start, k - 7), k):
                    if text[p:k + 1] in self._divisions:
                        return p
        return None

    @staticmethod
    def _name_end(text: str, start: int, given: int, stop: int, group: bool) -> int:
        """Where a surname + given name ends: one or two given characters (0: not a name)."""
        freq, tags = _jieba()
        two = text[start:given + 1]
        if (_is_common_word(two, freq, tags, _GROUP_CUE_WORDS if group else _FUNCTION_WORDS)
                and not tags.get(text[start:given + 2], "").startswith("nr")):
            return 0  # 市民来电反映: 来 is a surname, but 来电 is the verb that follows the cue
        if stop - given == 1:
            return stop
        three = text[start:given + 2]
        if tags.get(three, "").startswith("nr"):
            return given + 2
        nxt = text[given + 1]
        if nxt in _FOLLOW or freq.get(text[given + 1:given + 3], 0) > 0 and not tags.get(three):
            return given + 1 if not _is_org_tail(two) else 0
        return given + 2


_MEMO_MAX = 100_000  # remembered name ends / division starts; then they start over
_RARE_KINDS = ("cued", "birth", "diagnosis")


def _matches(texts: pa.Array, pattern: str) -> np.ndarray:
    """Per text: does ``pattern`` occur in it (RE2; nulls: no)."""
    hit: np.ndarray = pc.fill_null(pc.match_substring_regex(texts, pattern), False).to_numpy(zero_copy_only=False)
    return hit
_Found = tuple[np.ndarray, np.ndarray, np.ndarray]  # (text index, start, end) per span
_NONE: _Found = (np.zeros(0, dtype=np.int64),) * 3


def _arrays(rows: list[int], starts: list[int], ends: list[int]) -> _Found:
    return (np.array(rows, dtype=np.int64), np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64))


def _per_text(texts: list[str], spans: Callable[[str], Iterable[tuple[int, int]]]) -> _Found:
    """For the rare kinds (a few % of texts): one search per text."""
    rows, starts, ends = [], [], []
    for k, text in enumerate(texts):
        for a, b in spans(text):
            rows.append(k)
            starts.append(a)
            ends.append(b)
    return _arrays(rows, starts, ends)


def _joined(texts: list[str]) -> tuple[str, np.ndarray]:
    """The texts joined by NUL, and where each starts in the joined string."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    base = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=base[1:])
    return "\x00".join(texts), base


# A surname + one character that jieba's dictionary knows as a frequent non-noun word (来电 v,
# 关于 p, 马上 d, 于是 c, 周末 t, 方便 a): after a cue that is the next word, not a name. Nouns stay
# names (李娜 nr, 宁静 nr …); the threshold keeps rare dictionary entries (freq < 100) out.
# jieba tags of common words that, right after a cue, are not a name: after a group cue also
# verbs, adjectives, time and number words (市民来电, 户主方便); after a role cue (联系人) only
# function words (于是, 如果), since a role is followed by a name even when it reads as a word.
_GROUP_CUE_WORDS = ("v", "p", "d", "c", "t", "m", "r", "u", "f", "q", "a", "b")
_FUNCTION_WORDS = ("p", "d", "c", "r", "u")


def _is_common_word(two: str, freq: dict[str, int], tags: dict[str, str], kinds: tuple[str, ...]) -> bool:
    return freq.get(two, 0) >= 100 and tags.get(two, "n").startswith(kinds)


def _is_org_tail(name: str) -> bool:
    return name[-1] in "市县区省路街局院村镇乡"
