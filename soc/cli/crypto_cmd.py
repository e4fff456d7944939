"""`shuwei crypto` subcommands: keys (create, rotate, list, rewrap, retokenize, destroy), field encryption
and format-preserving tokens over JSON Lines (stdin → stdout)."""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import typer

from classifier.errors import validation_error
from classifier.settings import get_settings
from classifier.whoami import current_user
from crypto import fieldops
from crypto.envelope import FieldCipher, is_ciphertext
from crypto.keyring import ACTIVE, Keyring
from crypto.keys import ManagedKeys
from crypto.primitives import ALGORITHMS
from crypto.records_io import iter_jsonl
from crypto.strategies import TokenizeParams, Tokenizer
from soc.cli.common import OutputFormat, fail, print_json, print_table
from soc.cli.mask import guarded

app = typer.Typer(no_args_is_help=True)
keys_app = typer.Typer(no_args_is_help=True)
app.add_typer(keys_app, name="keys", help="Keyring: create, rotate, list, rewrap, retokenize, destroy.")

DATASET = typer.Option(..., "--dataset", "-d", help="dataset the values belong to (bound into the ciphertext)")
FIELDS = typer.Option(..., "--fields", help="comma-separated field names")
KEY = typer.Option("default", "--key", "-k", help="key id in the keyring")


def _keyring() -> Keyring:
    return guarded(lambda: Keyring.open(get_settings(), actor=current_user()))


def _keys() -> ManagedKeys:
    return ManagedKeys(get_settings(), actor=current_user())


def _choice(option: str, value: str, allowed: tuple[str, ...]) -> str:
    """Case-insensitive pick from ``allowed``; otherwise a one-line error listing them (exit 2)."""
    for name in allowed:
        if value.upper() == name.upper():
            return name
    fail(f"{option}: {value!r} is not one of {', '.join(allowed)}")


def _fields(text: str) -> list[str]:
    names = [f.strip() for f in text.split(",") if f.strip()]
    if not names:
        fail("--fields needs at least one field name")
    return names


def _run(operation: str, dataset: Optional[str], fields: list[str], fn: Any, **extra: Any) -> None:
    """Read all of stdin, transform, then write: an error leaves stdout empty."""
    records = guarded(lambda: list(iter_jsonl(sys.stdin.buffer, "<stdin>")))
    out = guarded(lambda: fieldops.apply(records, fields, fn))
    sys.stdout.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in out)
    fieldops.audit_batch(get_settings(), operation, user=current_user(), dataset=dataset,
                         fields=fields, rows=len(out), **extra)


# -- keys ------------------------------------------------------------------------------------
@keys_app.command("create")
def keys_create(key_id: str = typer.Argument(..., help="new key id (letters, digits, _ . -)")) -> None:
    """Create a key (version 1, active); its material is stored wrapped by the master key."""
    ring = _keyring()
    guarded(lambda: ring.create(key_id))
    typer.echo(f"created key '{key_id}' version 1 (active)")


@keys_app.command("rotate")
def keys_rotate(key_id: str = typer.Argument(..., help="key id")) -> None:
    """Add a version for new writes; the previous version stays readable (decrypt-only)."""
    ring = _keyring()
    version = guarded(lambda: ring.rotate(key_id))
    typer.echo(f"key '{key_id}' version {version} is active; older versions are decrypt-only. "
               "Ciphertexts (sw1:…) name their version: `shuwei crypto keys rewrap` moves them forward. "
               f"FF1 tokens do not: detokenize older ones with `--version {version - 1}` (or the version "
               "their audit event names), or move them with `shuwei crypto keys retokenize "
               f"--from-version {version - 1}`; hash pseudonyms change from now on.")


@keys_app.command("list")
def keys_list(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="json or table"),
              limit: Optional[int] = typer.Option(None, "--limit", min=1, help="at most this many rows")) -> None:
    """Key ids, versions, states and data-key counts — never key material."""
    rows = guarded(lambda: _keyring().entries())[:limit]
    if fmt is OutputFormat.json:
        print_json(rows)
    else:
        print_table(rows, ["key_id", "version", "state", "created", "destroyed", "data_keys"])


@keys_app.command("destroy")
def keys_destroy(key_id: str = typer.Argument(..., help="key id"),
                 version: int = typer.Option(..., "--version", help="version to destroy"),
                 yes: bool = typer.Option(False, "--yes", help="confirm: data under this version becomes unreadable"),
                 force_active: bool = typer.Option(False, "--force-active", help="also when it is the active version "
                                                   "(audited; the key then needs a rotate before new writes)")) -> None:
    """Destroy one key version on purpose: everything encrypted under it becomes unreadable.
    The active version is refused unless --force-active: rotate first."""
    if not yes:
        fail(f"destroying key '{key_id}' version {version} makes its data unreadable forever; "
             "repeat with --yes to confirm")
    ring = _keyring()
    guarded(lambda: ring.destroy(key_id, version, force_active=force_active))
    left_active = ACTIVE in guarded(lambda: ring.versions(key_id)).values()
    typer.echo(f"key '{key_id}' version {version} destroyed"
               + ("" if left_active else f"; no version is active: `shuwei crypto keys rotate {key_id}` "
                  "before new writes"))


@keys_app.command("rewrap")
def keys_rewrap(dataset: str = DATASET, fields: str = FIELDS, key: str = KEY) -> None:
    """Re-encrypt ciphertexts of FIELDS (stdin JSONL → stdout) under the key's active version."""
    names = _fields(fields)
    ring = _keyring()
    guarded(lambda: ring.versions(key))  # an unknown target key is an error, not "0 values"
    fc = FieldCipher(ring, key)
    moved = [0]

    def rewrap(name: str, value: Any) -> Any:
        if not is_ciphertext(value):
            return value
        new = fc.rewrap(dataset, name, value)
        moved[0] += new != value
        return new
    _run("rewrap", dataset, names, rewrap, key_id=key)
    typer.echo(f"rewrapped {moved[0]} values", err=True)


# -- values ----------------------------------------------------------------------------------
@app.command("encrypt")
def encrypt(dataset: str = DATASET, fields: str = FIELDS, key: str = KEY,
            algorithm: str = typer.Option("SM4-GCM", "--algorithm", help="SM4-GCM or AES-256-GCM"),
            deterministic: bool = typer.Option(False, "--deterministic", help="AES-SIV: equal values give equal ciphertexts"),
            blind_index: bool = typer.Option(False, "--blind-index", help="add <field>_bidx (HMAC-SM3) for equality search")) -> None:
    """Encrypt FIELDS of JSON Lines records (stdin → stdout) into self-describing ciphertexts."""
    names = _fields(fields)
    algorithm = _choice("--algorithm", algorithm, ALGORITHMS)
    fc = guarded(lambda: _keys().cipher(key, algorithm))

    def enc(name: str, value: Any) -> Any:
        return fc.encrypt(dataset, name, value, deterministic=deterministic)
    if not blind_index:
        _run("encrypt", dataset, names, enc, key_id=key, algorithm=algorithm, deterministic=deterministic)
        return
    records = guarded(lambda: list(iter_jsonl(sys.stdin.buffer, "<stdin>")))
    for _, rec in records:
        for name in names:
            if rec.get(name) is not None:
                rec[f"{name}_bidx"] = guarded(lambda: fc.blind_index(rec[name], f"{dataset}.{name}"))
    out = guarded(lambda: fieldops.apply(records, names, enc))
    sys.stdout.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in out)
    fieldops.audit_batch(get_settings(), "encrypt", user=current_user(), dataset=dataset, fields=names,
                         rows=len(out), key_id=key, algorithm=algorithm, blind_index=True)


@app.command("decrypt")
def decrypt(dataset: str = DATASET, fields: str = FIELDS) -> None:
    """Decrypt FIELDS (stdin → stdout); tampered, moved or destroyed-key values are an error."""
    names = _fields(fields)
    fc = FieldCipher(_keyring())
    _run("decrypt", dataset, names, lambda name, value: fc.decrypt(dataset, name, value))


TOKEN_KEY = typer.Option("fpe", "--key", "-k", help="key id in the keyring")
CIPHER = typer.Option("AES", "--cipher", help="FF1 block cipher: AES (fastfpe) or SM4")
ALPHABET = typer.Option("0123456789", "--alphabet", help="characters that are encrypted; others stay in place")
KEEP_FIRST = typer.Option(0, "--keep-first", min=0, help="leading characters left in clear (e.g. 6 = ID region)")
KEEP_LAST = typer.Option(0, "--keep-last", min=0, help="trailing characters left in clear")


def _tokenizer(key: str, cipher: str, alphabet: str, keep_first: int, keep_last: int,
               version: Optional[int] = None, *, reverse: bool = False) -> tuple[Tokenizer, int]:
    params = guarded(lambda: _params(key, cipher, alphabet, keep_first, keep_last))
    return guarded(lambda: _keys().tokenizer(params, reverse=reverse, version=version))


def _params(key: str, cipher: str, alphabet: str, keep_first: int, keep_last: int) -> TokenizeParams:
    from pydantic import ValidationError

    try:
        return TokenizeParams.model_validate({"key_id": key, "cipher": cipher.upper(), "alphabet": alphabet,
                                              "keep_first": keep_first, "keep_last": keep_last})
    except ValidationError as exc:
        field, msg = validation_error(exc)
        fail(f"--{(field or '').replace('_', '-')}: {msg}")


@app.command("tokenize")
def tokenize(fields: str = FIELDS, key: str = TOKEN_KEY, cipher: str = CIPHER, alphabet: str = ALPHABET,
             keep_first: int = KEEP_FIRST, keep_last: int = KEEP_LAST,
             dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="dataset id, for the audit trail")) -> None:
    """FF1 format-preserving tokens for FIELDS (stdin → stdout) under the key's active version;
    reversible with detokenize (give --version once the key has been rotated)."""
    names = _fields(fields)
    tok, version = _tokenizer(key, cipher, alphabet, keep_first, keep_last)
    _run("tokenize", dataset, names, lambda name, value: tok.encrypt(value), key_id=key, cipher=tok.p.cipher,
         key_version=version)
    typer.echo(f"tokens made under key '{key}' version {version}", err=True)


@app.command("detokenize")
def detokenize(fields: str = FIELDS, key: str = TOKEN_KEY, cipher: str = CIPHER, alphabet: str = ALPHABET,
               keep_first: int = KEEP_FIRST, keep_last: int = KEEP_LAST,
               version: Optional[int] = typer.Option(None, "--version", min=1, help="key version the tokens were made "
                                                     "under; required once the key has more than one version"),
               dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="dataset id, for the audit trail")) -> None:
    """Reverse FF1 tokens (same options as tokenize). Refused without --version once the key has
    been rotated: a token does not record its version, and another one would give wrong digits."""
    names = _fields(fields)
    tok, used = _tokenizer(key, cipher, alphabet, keep_first, keep_last, version, reverse=True)
    _run("detokenize", dataset, names, lambda name, value: tok.decrypt(value), key_id=key, cipher=tok.p.cipher,
         key_version=used)


@keys_app.command("retokenize")
def keys_retokenize(fields: str = FIELDS, from_version: int = typer.Option(..., "--from-version", min=1,
                                                                         help="key version the tokens were made under"),
                    key: str = TOKEN_KEY, cipher: str = CIPHER, alphabet: str = ALPHABET,
                    keep_first: int = KEEP_FIRST, keep_last: int = KEEP_LAST,
                    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="dataset id, for the audit trail")) -> None:
    """Move FF1 tokens of FIELDS (stdin JSONL → stdout) from --from-version to the key's active
    version — the explicit migration after a rotation (tokens cannot be rewrapped: they do not
    record their version)."""
    names = _fields(fields)
    old, _ = _tokenizer(key, cipher, alphabet, keep_first, keep_last, from_version, reverse=True)
    new, active = _tokenizer(key, cipher, alphabet, keep_first, keep_last)
    _run("retokenize", dataset, names, lambda name, value: new.encrypt(old.decrypt(value)), key_id=key,
         cipher=new.p.cipher, from_version=from_version, key_version=active)
    typer.echo(f"tokens moved from key '{key}' version {from_version} to version {active}", err=True)
