"""Field paths in masking: policy ``fields:`` patterns, and rebuilding a nested record leaf by leaf.

Paths are the classifier's (:mod:`classifier.flatten`): ``applicant.id_no``, ``materials[].number``,
``payload.contact.tel`` for JSON held in a string. A record keeps its exact shape: same keys, same
nesting, same array lengths; JSON in a string is masked inside and stays a string of valid JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from classifier.flatten import ARRAY, child, looks_like_json, parents

LeafFn = Callable[[str, Any], Any]


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(p) for p in pattern.split("*")))


def field_matches(name: str, patterns: Iterable[str]) -> bool:
    """A field fits a policy's ``fields:`` entry by name, by glob (``applicant.*``, ``*.tel``), or
    as a descendant of a named parent (``applicant`` covers ``applicant.id_no``)."""
    ancestors: set[str] | None = None
    for p in patterns:
        if p == name:
            return True
        if "*" in p:
            if _glob(p).fullmatch(name):
                return True
            continue
        if ancestors is None:
            ancestors = set(parents(name))
        if p in ancestors:
            return True
    return False


_BINARY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


def is_binary(text: str) -> bool:
    """Text that is not text: NUL or other control characters, or undecodable bytes (U+FFFD)."""
    return _BINARY.search(text) is not None


def any_nesting(values: Iterable[Any]) -> bool:
    """Does any value need the per-path engine: an object, an array, JSON or binary held in a
    string. Binary is checked once over all the strings joined (its marks are single
    characters) instead of a search per value: a masking call over 50,000 flat records spent
    ~10% of its time asking value by value."""
    strings: list[str] = []
    for v in values:
        if isinstance(v, str):
            if v and (v[0] in "{[" or v[0].isspace()) and looks_like_json(v):
                return True
            strings.append(v)
        elif isinstance(v, (dict, list)):
            return True
    return is_binary("".join(strings))


class Broken(Exception):
    """A string that looks like JSON but does not parse, or binary: the leaf takes the fallback."""


def transform(value: Any, path: str, leaf: LeafFn, broken: Callable[[str, Any], Any]) -> Any:
    """``value`` rebuilt with ``leaf(path, v)`` at every leaf (``broken(path, v)`` for unparseable)."""
    if isinstance(value, dict):
        return {k: transform(v, child(path, str(k)), leaf, broken) for k, v in value.items()}
    if isinstance(value, list):
        return [transform(v, path + ARRAY, leaf, broken) for v in value]
    if isinstance(value, str):
        if looks_like_json(value):
            try:
                inner = json.loads(value)
            except ValueError:
                return broken(path, value)
            if isinstance(inner, (dict, list)):
                compact = ", " not in value and ": " not in value
                return json.dumps(transform(inner, path, leaf, broken), ensure_ascii=False,
                                  separators=(",", ":") if compact else None)
        elif is_binary(value):
            return broken(path, value)
    return leaf(path, value)


def leaf_values(value: Any, path: str, out: dict[str, list[Any]]) -> None:
    """Path → leaf values of one field (the masking engine's view, same paths as the classifier)."""
    if isinstance(value, dict):
        for k, v in value.items():
            leaf_values(v, child(path, str(k)), out)
    elif isinstance(value, list):
        for v in value:
            leaf_values(v, path + ARRAY, out)
    elif isinstance(value, str) and looks_like_json(value):
        try:
            inner = json.loads(value)
        except ValueError:
            out.setdefault(path, []).append(value)
            return
        if isinstance(inner, (dict, list)):
            leaf_values(inner, path, out)
        else:
            out.setdefault(path, []).append(value)
    else:
        out.setdefault(path, []).append(value)


def get_path(record: dict[str, Any], path: str) -> Any:
    """The leaf values at ``path`` as a hashable tuple (k-anonymity classes over nested fields)."""
    out: dict[str, list[Any]] = {}
    top = path.split(".", 1)[0].removesuffix(ARRAY)
    if top not in record:
        return None
    leaf_values(record[top], top, out)
    found = out.get(path)
    if found is None:
        return None
    return found[0] if len(found) == 1 else tuple(found)
