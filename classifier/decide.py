"""The column decision: value evidence, the column name, and neighbouring columns → entity or null."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from classifier.columns import ColumnTally
from classifier.dates import parse_date
from classifier.evidence import mask_sample
from classifier.identifiers import resident_id
from classifier.policy import Policy, grade_rank
from classifier.recognizers.base import ShuweiRecognizer

# Digit identifiers whose validation a counter can pass (prefix only, or Luhn 1 in 10).
_SERIAL_PRONE = {"CN_MOBILE", "CN_BANK_CARD"}
_LON_NAMES = ("经度", "lng", "lon", "longitude", "jd")
_LAT_NAMES = ("纬度", "lat", "latitude", "wd")


def _tokens(name: str) -> tuple[set[str], str]:
    low = name.lower()
    return set(t for t in re.split(r"[^0-9a-z]+", low) if t), re.sub(r"[\s_\-.]+", "", low)


def name_matches(name: str | None, words: tuple[str, ...]) -> bool:
    """Chinese words and English words of ≥ 5 letters match inside the name; short pinyin initials
    (sfzh, xm, dh …) and short English words must be a whole token, so ``xm`` never fires on ``xmlid``."""
    if not name:
        return False
    tokens, compact = _tokens(name)
    for word in words:
        w = word.lower()
        if not w.isascii():
            if w in compact:
                return True
        elif w in tokens or w == compact or (len(w) >= 5 and w.replace("_", "") in compact):
            return True
    return False


@dataclass
class ColumnInput:
    name: str
    tally: ColumnTally
    profile: dict[str, Any]
    sequential: bool = False
    named_by_header: bool = True   # False for headerless files: judged on values alone
    sample: list[Any] = field(default_factory=list)  # sampled values, row-aligned across columns


@dataclass
class Decision:
    entity: str | None
    confidence: float
    hit_ratio: float
    evidence: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)  # other entities the values read as equally


# Entities that another column of the row can vouch for (an ambiguous value is more likely the
# person's card when the dataset names persons, the organisation's code when it names organisations).
_SUPPORTED_BY = {"CN_USCC": "ORGANIZATION_NAME", "CN_BANK_CARD": "PERSON_NAME",
                 "CN_RESIDENT_ID": "PERSON_NAME"}
# Identifiers Excel can turn into 2.10725E+17 (15+ digits, no letters but a check X).
_SCIENTIFIC_PRONE = ("CN_RESIDENT_ID", "CN_BANK_CARD")
_AMBIGUITY_MARGIN = 0.02


def decide_column(col: ColumnInput, recognizers: list[ShuweiRecognizer], policy: Policy,
                  dataset: str) -> Decision:
    det = policy.rules.detection
    suppressed = policy.suppressed(dataset)
    name = col.name if col.named_by_header else None
    candidates: list[tuple[float, int, ShuweiRecognizer, bool, float, bool]] = []
    rejected: list[str] = []
    for order, rec in enumerate(recognizers):
        et = col.tally.entities.get(rec.ENTITY)
        denom = col.tally.nonblank - (et.allowed if et else 0)
        if et is None or denom <= 0 or et.matches == 0:
            continue
        named = name_matches(name, rec.CONTEXT)
        ratio = (et.hits - (0 if named else et.weak)) / denom
        shape_ratio = et.matches / denom
        if rec.ENTITY in suppressed:
            if ratio >= det.min_hit_ratio_named:
                rejected.append(f"{rec.ENTITY} suppressed for this dataset by policy")
            continue
        if rec.ENTITY in _SERIAL_PRONE and col.sequential and ratio >= det.min_hit_ratio_named:
            rejected.append(f"{rec.ENTITY} rejected: sequential numbers (serials, not personal)")
            continue
        if getattr(rec, "NEEDS_CONTEXT", False) and not named:
            if ratio >= det.min_hit_ratio:
                rejected.append(f"{rec.ENTITY} rejected: dates without birth context in the name")
            continue
        threshold = det.min_hit_ratio_named if named else det.min_hit_ratio
        shape_only = False
        if ratio < threshold:
            validated = rec.EVIDENCE != "value pattern"
            if named and validated and shape_ratio >= threshold:
                # The header names this entity and the values have its shape but fail validation
                # (mistyped check chars, test data): keep the entity at low confidence. Releasing
                # real identifiers in clear is the costly mistake (就高原则); unnamed look-alikes
                # (serial numbers) still do not count.
                shape_only = True
            else:
                if shape_ratio >= det.min_hit_ratio and validated:
                    rejected.append(f"{rec.ENTITY} rejected: {et.matches} values fit the pattern, "
                                    f"only {et.hits} pass validation")
                continue
        score = (shape_ratio * 0.5 if shape_only else ratio) + (0.05 if named else 0.0)
        candidates.append((score, order, rec, named, ratio, shape_only))
    if not candidates:
        return _no_entity(col, recognizers, name, rejected)
    best = max(candidates, key=lambda c: (c[0], -c[1]))
    close = [c for c in candidates if not c[5] and not best[5] and c[4] >= best[4] - _AMBIGUITY_MARGIN]
    if any(c[3] for c in close):
        close = [c for c in close if c[3]]  # the header supports these readings
    alternatives: list[str] = []
    if len(close) > 1:
        # The values read as several entities equally well: the higher grade (就高原则) for now;
        # :func:`decide_ambiguous` prefers a reading other columns support.
        close.sort(key=lambda c: (-grade_rank(policy.entity_grade(c[2].ENTITY, dataset)[0]), c[1]))
        best = close[0]
        alternatives = [c[2].ENTITY for c in close[1:]]
    _, _, rec, named, ratio, shape_only = best
    et = col.tally.entities[rec.ENTITY]
    denom = col.tally.nonblank - et.allowed
    if shape_only:
        return Decision(rec.ENTITY, 0.5, round(et.matches / denom, 4), list(et.evidence),
                        ["column name", f"value shape: {et.matches} of {denom} non-blank values fit "
                         f"the pattern but only {et.hits} pass validation"])
    strong = rec.EVIDENCE != "value pattern"
    confidence = min(0.99, 0.6 * ratio + (0.3 if strong else 0.2) + (0.09 if named else 0.0))
    reasons = [rec.EVIDENCE]
    if named:
        reasons.append("column name")
    reasons.append(f"{round(ratio * denom)} of {denom} non-blank values ({ratio:.0%})")
    if alternatives:
        grade = policy.entity_grade(rec.ENTITY, dataset)[0]
        higher = all(grade_rank(grade) > grade_rank(policy.entity_grade(a, dataset)[0]) for a in alternatives)
        reasons.append(f"the values also read as {', '.join(alternatives)}: " + (
            "the higher grade is kept (就高原则)" if higher else "same grade, the more specific reading is kept"))
    return Decision(rec.ENTITY, round(confidence, 2), round(ratio, 4), list(et.evidence), reasons,
                    alternatives)


def _no_entity(col: ColumnInput, recognizers: list[ShuweiRecognizer], name: str | None,
               rejected: list[str]) -> Decision:
    """No entity: say why — and when Excel destroyed the identifiers, say that instead of guessing."""
    t = col.tally
    if t.nonblank and t.scientific / t.nonblank >= 0.5:
        sample = t.scientific_evidence[0] if t.scientific_evidence else ""
        lost = (f"{t.scientific} of {t.nonblank} values are long numbers in Excel scientific notation "
                f"(e.g. {mask_sample(sample)}): the digits after the first few are lost and cannot be "
                "validated; re-export the column as text")
        for rec in recognizers:
            if rec.ENTITY in _SCIENTIFIC_PRONE and name_matches(name, rec.CONTEXT):
                # The header names an identifier whose values Excel destroyed: the data owner still
                # holds the real numbers, so keep the entity (就高原则) at low confidence.
                return Decision(rec.ENTITY, 0.4, 0.0, [mask_sample(v) for v in t.scientific_evidence],
                                ["column name", lost])
        return Decision(None, 0.5, 0.0, [], [lost, *rejected])
    reasons = rejected or ["no entity reached the hit-ratio threshold"]
    return Decision(None, 0.9 if t.nonblank else 0.5, 0.0, [], reasons)


def decide_ambiguous(cols: list[ColumnInput], decisions: list[Decision], policy: Policy,
                     dataset: str) -> None:
    """A column whose values read as two entities takes the one another column supports (a USCC
    next to organisation names, a bank card next to person names); otherwise it keeps the higher
    grade chosen in :func:`decide_column`."""
    present = {d.entity for d in decisions if d.entity}
    for dec in decisions:
        if not dec.alternatives or dec.entity is None:
            continue
        readings = [dec.entity, *dec.alternatives]
        supported = [e for e in readings if _SUPPORTED_BY.get(e) in present]
        if len(supported) == 1 and supported[0] != dec.entity:
            chosen, other = supported[0], [e for e in readings if e != supported[0]]
            dec.reasons = [r for r in dec.reasons if not r.startswith("the values also read as")]
            dec.reasons.append(f"the values also read as {', '.join(other)}; {chosen} is the reading "
                               f"the {_SUPPORTED_BY[chosen]} column of the dataset supports")
            dec.entity, dec.alternatives = chosen, other
        elif len(supported) == 1:
            dec.reasons.append(f"{dec.entity} is also the reading the {_SUPPORTED_BY[dec.entity]} column "
                               "of the dataset supports")


def decide_split_coordinates(cols: list[ColumnInput], decisions: list[Decision],
                             policy: Policy, dataset: str) -> None:
    """Split lon/lat columns: a longitude column with a latitude partner named so or adjacent."""
    if "GEO_COORDINATE" in policy.suppressed(dataset):
        return
    min_ratio = policy.rules.detection.min_hit_ratio

    def axis(i: int) -> str | None:
        t = cols[i].tally
        if decisions[i].entity is not None or t.nonblank == 0:
            return None
        if t.lon_hits / t.nonblank >= min_ratio:
            return "lon"
        if t.lat_hits / t.nonblank >= min_ratio:
            return "lat"
        return None

    axes = [axis(i) for i in range(len(cols))]
    for i, ax in enumerate(axes):
        if ax != "lon":
            continue
        for j, other in enumerate(axes):
            if other != "lat":
                continue
            named = (name_matches(cols[i].name if cols[i].named_by_header else None, _LON_NAMES)
                     and name_matches(cols[j].name if cols[j].named_by_header else None, _LAT_NAMES))
            if not (named or abs(i - j) == 1):
                continue
            for k, partner in ((i, cols[j].name), (j, cols[i].name)):
                t = cols[k].tally
                hits = t.lon_hits if k == i else t.lat_hits
                ratio = hits / t.nonblank
                reasons = ["value pattern+bounds", f"split lon/lat columns with '{partner}'"]
                if named:
                    reasons.append("column name")
                reasons.append(f"{hits} of {t.nonblank} non-blank values ({ratio:.0%})")
                decisions[k] = Decision("GEO_COORDINATE", round(min(0.99, 0.6 * ratio + 0.25
                                                                     + (0.09 if named else 0)), 2),
                                        round(ratio, 4), list(t.degree_evidence), reasons)
            axes[i] = axes[j] = None
            break


def _id_birth(value: Any) -> str | None:
    text = resident_id.compact(str(value)) if value is not None else ""
    return text[6:14] if len(text) == 18 else None


def decide_birth_from_id(cols: list[ColumnInput], decisions: list[Decision], policy: Policy,
                         dataset: str) -> None:
    """A date column without birth context is still 出生日期 when, row by row, it equals the birth
    date inside the resident ID column of the same dataset (neighbour evidence)."""
    if "DATE_OF_BIRTH" in policy.suppressed(dataset):
        return
    ids = [i for i, d in enumerate(decisions) if d.entity == "CN_RESIDENT_ID"]
    for k, (col, dec) in enumerate(zip(cols, decisions)):
        et = col.tally.entities.get("DATE_OF_BIRTH")
        if dec.entity is not None or et is None or not col.tally.nonblank \
                or et.hits / col.tally.nonblank < policy.rules.detection.min_hit_ratio:
            continue
        for i in ids:
            pairs = [(parse_date(str(v).strip()), _id_birth(w)) for v, w in zip(col.sample, cols[i].sample)
                     if v is not None and w is not None]
            known = [(d, b) for d, b in pairs if d is not None and b is not None]
            same = sum(d.strftime("%Y%m%d") == b for d, b in known)
            if len(known) >= 10 and same / len(known) >= 0.9:
                ratio = et.hits / col.tally.nonblank
                decisions[k] = Decision("DATE_OF_BIRTH", round(min(0.99, 0.6 * ratio + 0.35), 2), round(ratio, 4),
                                        list(et.evidence),
                                        ["value pattern", f"equals the birth date in resident ID column '{cols[i].name}'",
                                         f"{same} of {len(pairs)} sampled rows agree"])
                break
