"""Entity shapes for masking: the classifier's definitions (one per entity), re-exported.

A value that does not fit (an 8-digit "mobile", a 17-char ID) takes the safe fallback instead of
a partial mask that could leak it; see :mod:`classifier.identifiers.shapes`.
"""

from __future__ import annotations

from classifier.identifiers.shapes import ENTITY_SHAPES, SHAPES, fits, mask_positions

__all__ = ["ENTITY_SHAPES", "SHAPES", "fits", "mask_positions"]
