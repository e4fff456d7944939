"""Shared by the SQLite and Elasticsearch integrity tests: a real keyring under a master key, a
fixed signing clock, and the insider's tools (recompute the chain, sign with a key of one's own)."""

from __future__ import annotations

import base64
import os
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto.keyring import Keyring
from crypto.masterkey import LocalMasterKey
from soc.integrity.checkpoints import KEY_ID, Checkpoint, CheckpointKey, CheckpointPolicy, Signing, parse

SIGNED_AT = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
DAY_FILE = "2026-03-02.jsonl"


def checkpoint_key(directory: Path, master: bytes | None = None) -> CheckpointKey:
    """The checkpoint key of a keyring ``directory/keyring.json`` under ``master`` (default: random)."""
    keyring = Keyring(directory / "keyring.json", LocalMasterKey(master or os.urandom(32)))
    keyring.ensure(KEY_ID)
    return CheckpointKey(keyring)


def signing(key: CheckpointKey, anchors: Path | None, every: int = 10) -> Signing:
    return Signing(key, CheckpointPolicy(events=every, seconds=3600, now=lambda: SIGNED_AT), anchors)


def resign_with_own_key(cp: Checkpoint, **changes: object) -> Checkpoint:
    """What an insider without the master key can do: a well-formed checkpoint under another key."""
    import orjson

    body = orjson.loads(cp.body)
    body.update(changes)
    text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
    sig = base64.b64encode(Ed25519PrivateKey.generate().sign(text.encode())).decode()
    return parse(text, sig)
