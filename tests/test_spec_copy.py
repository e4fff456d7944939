"""docs/spec is the project's copy of the contracts; ../shared/spec (beside the clone, as under CI)
stays the source for changes, and the copy must not drift from it."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COPY = REPO / "docs" / "spec"
SOURCE = REPO.parent / "shared" / "spec"


def test_the_copy_is_in_the_repository() -> None:
    assert {p.name for p in COPY.glob("*.md")} >= {"audit-event.md", "classification.md",
                                                   "masking-and-crypto.md"}


@pytest.mark.skipif(not SOURCE.is_dir(), reason=f"{SOURCE} is not beside this checkout")
def test_docs_spec_matches_shared_spec() -> None:
    source = {p.name: p.read_bytes() for p in SOURCE.glob("*.md")}
    copy = {p.name: p.read_bytes() for p in COPY.glob("*.md")}
    assert sorted(copy) == sorted(source), "docs/spec and shared/spec list different files"
    stale = [name for name in source if source[name] != copy[name]]
    assert not stale, f"docs/spec differs from {SOURCE} in {stale}: copy shared/spec/*.md to docs/spec/"
