"""Load a Sigma rule pack (rules + correlation rules) with pySigma, collecting per-rule errors.

Every file is parsed on its own so one broken file cannot hide the others; each rule is then
compiled once by compiler.py and each correlation rule checked by correlation.py, so a construct
that cannot be evaluated is reported here, at load time, with its file, rule id and reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationCondition, SigmaCorrelationConditionOperator, SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.processing.pipeline import ProcessingPipeline
from sigma.modifiers import SigmaWideModifier, modifier_mapping
from sigma.rule import SigmaRule

from classifier.gcpause import gc_paused
from soc.detection.compiler import (
    Placeholders,
    Predicate,
    UnsupportedConstruct,
    compile_rule,
    condition_fields,
    parsed_conditions,
)
from soc.detection.doccache import MIN_FILES, DocCache, digest
from soc.detection.index import Anchor, rule_anchor

# libyaml's loader where PyYAML was built with it: the pure-Python one took 90% of loading the
# SigmaHQ corpus (measured 5x slower on its 3,780 files); same documents, same errors.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

RULE_SUFFIXES = (".yml", ".yaml")

# The Sigma spec names ``utf16le`` as an alias of ``wide``; pySigma 1.5 maps only ``wide``.
# Registering the alias in pySigma's own modifier table keeps parsing in pySigma.
modifier_mapping.setdefault("utf16le", SigmaWideModifier)


@dataclass(frozen=True)
class RuleLoadError:
    path: str
    rule_id: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.path} [{self.rule_id}]" if self.rule_id else self.path
        return f"{where}: {self.reason}"


def rule_key(rule: SigmaRule | SigmaCorrelationRule | SigmaFilter) -> str:
    """The id reported in matches: the rule's UUID, else its name, else its title."""
    if rule.id is not None:
        return str(rule.id)
    return rule.name or rule.title


def rule_level(rule: SigmaRule | SigmaCorrelationRule) -> str:
    return rule.level.name.lower() if rule.level is not None else "medium"


def rule_tags(rule: SigmaRule | SigmaCorrelationRule) -> list[str]:
    return [str(t) for t in rule.tags]


def _rule_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())
    return [path]


@dataclass
class RulePack:
    """Valid rules and correlation rules of a pack, plus what failed and why."""

    rules: list[SigmaRule] = field(default_factory=list)
    correlations: list[SigmaCorrelationRule] = field(default_factory=list)
    errors: list[RuleLoadError] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)  # rule key -> file
    # Range conditions (``gte: 5`` and ``lte: 10`` together): pySigma accepts one operator per
    # correlation condition, so the others are kept here, parsed by pySigma one at a time.
    extra_conditions: dict[str, list[SigmaCorrelationCondition]] = field(default_factory=dict)
    # Each valid rule's predicate, compiled once at load with ``placeholders`` (None: stubs).
    compiled: dict[str, Predicate] = field(default_factory=dict)
    # Sigma filters (meta rules adding ``and not ...`` to the rules they name), applied at load
    # by pySigma's own SigmaFilter.apply_on_rule to every rule of the pack they concern.
    filters: list[SigmaFilter] = field(default_factory=list)
    placeholders: Placeholders | None = None
    pipeline: ProcessingPipeline | None = None
    with_placeholders: set[str] = field(default_factory=set)  # keys of rules using %name%
    anchors: dict[str, Anchor] = field(default_factory=dict)  # see index.py
    reads: dict[str, frozenset[str] | None] = field(default_factory=dict)  # compiler.condition_fields

    @property
    def collection(self) -> SigmaCollection:
        """The valid rules as a pySigma collection (for backends such as Elasticsearch)."""
        rules: list[SigmaRule | SigmaCorrelationRule | SigmaFilter] = [*self.rules, *self.correlations]
        return SigmaCollection(rules, resolve_references=False)

    def by_key(self) -> dict[str, SigmaRule | SigmaCorrelationRule]:
        rules: list[SigmaRule | SigmaCorrelationRule] = [*self.rules, *self.correlations]
        return {rule_key(r): r for r in rules}

    @classmethod
    def load(cls, path: str | Path | Sequence[str | Path], placeholders: Placeholders | None = None,
             pipeline: ProcessingPipeline | None = None) -> "RulePack":
        """Parse every rule file under ``path`` (directories, recursively, or files);
        ``pipeline`` (pipelines.load_pipeline) maps field names before rules are compiled."""
        pack = cls(placeholders=placeholders, pipeline=pipeline)
        parsed: list[tuple[Path, SigmaRule | SigmaCorrelationRule]] = []
        with gc_paused():  # 35% of the SigmaHQ load was collector passes
            for root in map(Path, [path] if isinstance(path, (str, Path)) else path):
                if not root.exists():
                    pack.errors.append(RuleLoadError(str(root), None, "no such file or directory"))
                    continue
                files = _rule_files(root)
                cache = DocCache(root) if root.is_dir() and len(files) >= MIN_FILES else None
                for file in files:
                    parsed.extend(pack._parse_file(file, cache, root))
                if cache is not None:
                    cache.save()
            pack._add(parsed, placeholders)
        return pack

    def _parse_file(self, file: Path, cache: DocCache | None = None,
                    root: Path | None = None) -> list[tuple[Path, SigmaRule | SigmaCorrelationRule]]:
        """The valid rules of one file; its filters go to ``self.filters``, its errors to
        ``self.errors``. ``cache`` (doccache.py) holds the YAML documents of files under ``root``."""
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.errors.append(RuleLoadError(str(file), None, f"cannot read: {exc}"))
            return []
        try:
            rel, sha = (file.relative_to(root).as_posix(), digest(text)) if cache and root else ("", "")
            docs = cache.get(rel, sha) if cache and rel else None
            if docs is None:
                docs = list(yaml.load_all(text, Loader=_YAML_LOADER))
                if cache and rel:
                    cache.put(rel, sha, docs)
            extras = {k: v for d in docs if (k := _doc_key(d)) and (v := _split_range(d))}
            coll = SigmaCollection.from_dicts(docs, collect_errors=True, resolve_references=False,
                                              collect_filters=True, source=SigmaRuleLocation(file))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark else ""
            self.errors.append(RuleLoadError(str(file), None,
                                             f"invalid YAML: {where}{getattr(exc, 'problem', exc)}"))
            return []
        except (SigmaError, TypeError, AttributeError, ValueError) as exc:
            self.errors.append(RuleLoadError(str(file), None, f"not a Sigma rule file: {exc}"))
            return []
        except RecursionError:  # PyYAML builds nested nodes recursively
            self.errors.append(RuleLoadError(str(file), None, "invalid YAML: nested too deeply"))
            return []
        except Exception as exc:  # noqa: BLE001 - one file must never stop the others loading
            self.errors.append(RuleLoadError(str(file), None, f"cannot parse: {_describe(exc)}"))
            return []
        out = []
        bad: set[str] = set()
        for key, conds in extras.items():
            try:
                self.extra_conditions[key] = [SigmaCorrelationCondition.from_dict(c) for c in conds]
            except SigmaError as exc:
                self.errors.append(RuleLoadError(str(file), key, str(exc)))
                bad.add(key)
        for rule in coll.rules:
            if _safe_key(rule) in bad:
                continue
            if rule.errors:
                reasons = "; ".join(str(e) for e in rule.errors)
                self.errors.append(RuleLoadError(str(file), _safe_key(rule), reasons))
            else:
                out.append((file, rule))
        for flt in coll.filters:
            if flt.errors:
                self.errors.append(RuleLoadError(str(file), _safe_key(flt),
                                                 "; ".join(str(e) for e in flt.errors)))
            else:
                self.filters.append(flt)
                self.paths[rule_key(flt)] = str(file)
        for err in coll.errors:
            if not any(err in r.errors for r in [*coll.rules, *coll.filters]):
                self.errors.append(RuleLoadError(str(file), None, str(err)))
        return out

    def _add(self, parsed: list[tuple[Path, SigmaRule | SigmaCorrelationRule]],
             placeholders: Placeholders | None) -> None:
        from soc.detection.correlation import check_correlation

        seen: dict[str, Path] = {}
        ok: list[tuple[Path, SigmaRule | SigmaCorrelationRule]] = []
        for file, rule in parsed:
            key = rule_key(rule)
            if key in seen:
                self.errors.append(RuleLoadError(str(file), key,
                                                 f"duplicate rule id (also in {seen[key]})"))
                continue
            seen[key] = file
            ok.append((file, rule))
        base = [(f, r) for f, r in ok if isinstance(r, SigmaRule)]
        for file, rule in base:
            try:
                for flt in self.filters:
                    flt.apply_on_rule(rule)
                if self.pipeline is not None:
                    self.pipeline.apply(rule)
                parsed = parsed_conditions(rule)
                pred = compile_rule(rule, placeholders, parsed)
                self.anchors[rule_key(rule)] = rule_anchor(parsed)
                self.reads[rule_key(rule)] = condition_fields(parsed)
            except (UnsupportedConstruct, SigmaError) as exc:
                self.errors.append(RuleLoadError(str(file), rule_key(rule), str(exc)))
                continue
            except Exception as exc:  # noqa: BLE001 - reported; the other rules still load
                self.errors.append(RuleLoadError(str(file), rule_key(rule),
                                                 f"cannot compile: {_describe(exc)}"))
                continue
            self.compiled[rule_key(rule)] = pred
            if uses_placeholders(rule):
                self.with_placeholders.add(rule_key(rule))
            self.rules.append(rule)
            self.paths[rule_key(rule)] = str(file)
        # Correlations resolve against valid rules only, so a correlation over a broken rule
        # (or over a broken correlation) is itself reported instead of silently never firing.
        pending = [(f, r) for f, r in ok if isinstance(r, SigmaCorrelationRule)]
        while pending:
            lookup = SigmaCollection([*self.rules, *(r for _, r in pending)],
                                     resolve_references=False)
            failed = []
            for file, rule in pending:
                try:
                    rule.resolve_rule_references(lookup)
                    check_correlation(rule)
                except (SigmaError, UnsupportedConstruct) as exc:
                    failed.append((file, rule, str(exc)))
            for file, rule, reason in failed:
                self.errors.append(RuleLoadError(str(file), rule_key(rule), reason))
            dropped = {id(r) for _, r, _ in failed}
            pending = [(f, r) for f, r in pending if id(r) not in dropped]
            if not failed:
                break
        for file, rule in pending:
            self.correlations.append(rule)
            self.paths[rule_key(rule)] = str(file)
        # lower-level correlations first, so a match feeds the correlations above it
        self.correlations = _referenced_first(self.correlations)


def _referenced_first(rules: list[SigmaCorrelationRule]) -> list[SigmaCorrelationRule]:
    done: dict[int, SigmaCorrelationRule] = {}

    def visit(rule: SigmaCorrelationRule) -> None:
        if id(rule) in done:
            return
        for ref in rule.referenced_rules:
            if isinstance(ref.rule, SigmaCorrelationRule):
                visit(ref.rule)
        done[id(rule)] = rule
    for rule in rules:
        visit(rule)
    return list(done.values())


def _doc_key(doc: Any) -> str | None:
    """The rule key (see rule_key) a raw YAML document will get once pySigma parses it."""
    if not isinstance(doc, dict):
        return None
    if doc.get("id") is not None:
        try:
            return str(UUID(str(doc["id"])))
        except ValueError:
            return None
    return doc.get("name") or doc.get("title")


def _split_range(doc: Any) -> list[dict[str, Any]]:
    """Move all but the first operator of a correlation condition out of the document."""
    corr = doc.get("correlation") if isinstance(doc, dict) else None
    cond = corr.get("condition") if isinstance(corr, dict) else None
    if not isinstance(cond, dict):
        return []
    ops = [k for k in cond if k in SigmaCorrelationConditionOperator.operators()]
    extra = []
    for op in ops[1:]:
        extra.append({op: cond.pop(op), **({"field": cond["field"]} if "field" in cond else {})})
    return extra


def _safe_key(rule: Any) -> str | None:
    try:
        return rule_key(rule)
    except Exception:  # a rule with errors may lack even a title
        return None


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def detection_leaves(rule: SigmaRule) -> Iterator[Any]:
    """Every leaf detection item of a rule (field, values), walked without recursion: community rules
    nest deeper than Python's stack allows."""
    stack: list[Any] = list(rule.detection.detections.values())
    while stack:
        node = stack.pop()
        items = getattr(node, "detection_items", None)
        if items is not None:
            stack.extend(items)
        else:
            yield node


def uses_placeholders(rule: SigmaRule) -> bool:
    """Whether any detection value still holds a ``%name%`` stub."""
    return any(getattr(value, "contains_placeholder", lambda: False)()
               for node in detection_leaves(rule) for value in getattr(node, "value", None) or ())
