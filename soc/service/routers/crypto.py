"""``/v1/tokenize``, ``/v1/detokenize``, ``/v1/encrypt``, ``/v1/decrypt`` over the crypto area's
managed keys (the same ``ManagedKeys`` the masking engine uses, so tokens and ciphertexts that
``/v1/mask`` produced with the default parameters reverse here)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from classifier.errors import validation_error
from soc.service.auth.principal import Principal
from soc.service.deps import check_dataset, get_state, require
from soc.service.errors import ApiError
from soc.service.schemas import BODY, JsonInt, StrictModel, errors, integral

router = APIRouter(tags=["crypto"])
MAX_VALUES = 100_000
Made = tuple[Callable[[Any], Any], dict[str, Any]]  # per-value function, key facts for the audit event
RESPONSES = errors(404, 409, 422, 503, *BODY, e404="no such key id or version (keys are created by an admin)",
                   e409="the key cannot serve the call: no active version, a destroyed version, or "
                   "(detokenize) a rotated key and no key_version",
                   e422="a value does not fit the operation (outside the alphabet, not a valid ciphertext "
                   "for this dataset and field)", e503="the keyring cannot be opened (no master key)")


Text = Annotated[str, StringConstraints(min_length=1)]
# Anything JSON but null and "": encrypt keeps the JSON type, so a number decrypts to a number.
Plain = Text | int | float | bool | list[Any] | dict[str, Any]
Ciphertext = Annotated[str, StringConstraints(pattern=r"^sw1:")]


class _FieldValues(StrictModel):
    model_config = ConfigDict(extra="forbid")
    dataset: str = Field(min_length=1, examples=["pop_basic"])
    field: str = Field(min_length=1, examples=["联系电话"])
    values: Sequence[Any]  # each operation declares what its values are
    purpose: str | None = Field(default=None, description="declared purpose, recorded in the audit event")
    approval_id: str | None = Field(default=None, description="the share approval relied on (audited)")


class TokenizeRequest(_FieldValues):
    values: list[Text] = Field(max_length=MAX_VALUES, examples=[["13812345678"]],
                               description="the characters of each value outside the alphabet stay as "
                               "they are; a value with none inside it is answered 422")
    key_id: str = Field(default="fpe", min_length=1)
    cipher: Literal["AES", "SM4"] = "AES"
    alphabet: str = Field(default="0123456789", min_length=2,
                          description="distinct characters (a repeated one is answered 422)")
    keep_first: JsonInt = Field(default=0, ge=0)
    keep_last: JsonInt = Field(default=0, ge=0)
    key_version: Annotated[int, Field(ge=1), BeforeValidator(integral)] | None = Field(
        default=None, description="detokenize: the version that tokenized (default: the active one)")


class EncryptRequest(_FieldValues):
    values: list[Plain] = Field(max_length=MAX_VALUES, examples=[["13812345678"]])
    key_id: str = Field(default="default", min_length=1)
    algorithm: Literal["SM4-GCM", "AES-256-GCM"] = "SM4-GCM"
    deterministic: bool = Field(default=False, description="AES-SIV: equal in, equal out (joinable)")


class DecryptRequest(_FieldValues):
    values: list[Ciphertext] = Field(max_length=MAX_VALUES, description="ciphertexts as /v1/encrypt "
                                     "or /v1/mask gave them (a tampered or misplaced one is answered 422)",
                                     examples=[["sw1:SM4-GCM:default:1:…"]])


class ValuesResponse(BaseModel):
    values: list[Any]
    key_version: int | None = Field(default=None, description="tokenize/detokenize: the key version used "
                                    "(FF1 tokens do not carry it; keep it to detokenize after a rotation)")
    request_id: str


def _tokenizer(state: Any, body: TokenizeRequest, reverse: bool) -> Made:
    """The crypto area's one tokenizer factory: never creates a key; reversing resolves the version."""
    from crypto.strategies import TokenizeParams

    if len(set(body.alphabet)) != len(body.alphabet):
        raise ApiError(422, "alphabet has repeated characters", code="invalid_value", field="alphabet")
    params = TokenizeParams(key_id=body.key_id, cipher=body.cipher, alphabet=body.alphabet,
                            keep_first=body.keep_first, keep_last=body.keep_last)
    tok, version = state.backends.keys().tokenizer(params, reverse=reverse,
                                                   version=body.key_version if reverse else None)
    return (tok.decrypt if reverse else tok.encrypt), {"key_id": body.key_id, "key_version": version}


def _run(request: Request, principal: Principal, body: _FieldValues, operation: str,
         make: Callable[[], Made]) -> dict[str, Any]:
    """Apply ``make()`` per value; one audit event per call naming the API key (``decrypt`` for
    releases of clear text). ``make`` opens the keys inside the error handling, so a missing
    master key is a 503, an unknown key id a 404 and a key in the wrong state a 409 — not a 500."""
    from crypto.errors import (CryptoError, DecryptError, DomainError, KeyStateError, MasterKeyError,
                               UnknownKeyError)
    from crypto.strategies import Unfit

    state = get_state(request)
    rid = request.state.request_id
    check_dataset(request, principal, body.dataset)
    action = "decrypt" if operation in ("decrypt", "detokenize") else "api_call"
    extra: dict[str, Any] = {"operation": operation}
    audit: dict[str, Any] = dict(dataset=body.dataset, fields=[body.field], purpose=body.purpose,
                                 approval_id=body.approval_id)
    out: list[Any] = []
    try:
        try:
            fn, keys_used = make()
            extra.update(keys_used)
            for i, value in enumerate(body.values):
                try:
                    out.append(fn(value))
                except Unfit:
                    raise ApiError(422, f"values[{i}] does not fit {operation} (empty, or outside the alphabet)",
                                   code="invalid_value", field=f"values[{i}]") from None
                except (DecryptError, DomainError) as exc:
                    raise ApiError(422, f"values[{i}]: {exc}", code="invalid_value", field=f"values[{i}]") from None
                except (UnknownKeyError, KeyStateError) as exc:  # the key a ciphertext names
                    raise ApiError(404 if isinstance(exc, UnknownKeyError) else 409, f"values[{i}]: {exc}",
                                   code="key_not_found" if isinstance(exc, UnknownKeyError) else "key_state",
                                   field=f"values[{i}]") from None
        except MasterKeyError as exc:
            raise ApiError(503, f"keys unavailable: {exc}", code="unavailable") from None
        except UnknownKeyError as exc:
            raise ApiError(404, str(exc), code="key_not_found",
                           field="key_id" if exc.version is None else "key_version") from None
        except KeyStateError as exc:
            raise ApiError(409, str(exc), code="key_state",
                           field="key_version" if operation == "detokenize" else "key_id") from None
        except CryptoError as exc:
            raise ApiError(422, str(exc), code="key_error", field="key_id") from None
        except ValidationError as exc:  # parameters the crypto area refuses
            field, msg = validation_error(exc)
            raise ApiError(422, f"{field}: {msg}" if field else msg, code="invalid_value",
                           field=field) from None
        except ValueError as exc:
            raise ApiError(422, str(exc).splitlines()[0], code="invalid_value") from None
    except ApiError as exc:
        state.record(action, principal, request_id=rid, result="error", rows=0,
                     extra={**extra, "reason": exc.message}, **audit)
        raise
    state.record(action, principal, request_id=rid, rows=len(out), extra=extra, **audit)
    return {"values": out, "key_version": extra.get("key_version"), "request_id": rid}


@router.post("/v1/tokenize", response_model=ValuesResponse, responses=RESPONSES,
             summary="FF1 format-preserving tokens (same format, reversible with permission)")
def tokenize(body: TokenizeRequest, request: Request,
             principal: Principal = Depends(require("tokenize"))) -> dict[str, Any]:
    return _run(request, principal, body, "tokenize", lambda: _tokenizer(get_state(request), body, False))


@router.post("/v1/detokenize", response_model=ValuesResponse, responses=RESPONSES,
             summary="Tokens back to clear text (needs an explicit detokenize grant)")
def detokenize(body: TokenizeRequest, request: Request,
               principal: Principal = Depends(require("detokenize"))) -> dict[str, Any]:
    return _run(request, principal, body, "detokenize", lambda: _tokenizer(get_state(request), body, True))


@router.post("/v1/encrypt", response_model=ValuesResponse, responses=RESPONSES,
             summary="Envelope field encryption (SM4-GCM default), bound to dataset and field")
def encrypt(body: EncryptRequest, request: Request,
            principal: Principal = Depends(require("encrypt"))) -> dict[str, Any]:
    def make() -> Made:
        from crypto.strategies import Unfit

        cipher = get_state(request).backends.keys().cipher(body.key_id, body.algorithm)

        def one(value: Any) -> str:
            if value is None or value == "":
                raise Unfit
            return cipher.encrypt(body.dataset, body.field, value, deterministic=body.deterministic)
        return one, {"key_id": body.key_id, "algorithm": body.algorithm}
    return _run(request, principal, body, "encrypt", make)


@router.post("/v1/decrypt", response_model=ValuesResponse, responses=RESPONSES,
             summary="Ciphertexts back to clear text (needs an explicit decrypt grant)")
def decrypt(body: DecryptRequest, request: Request,
            principal: Principal = Depends(require("decrypt"))) -> dict[str, Any]:
    # Algorithm, key id and version come from each ciphertext's header; any cipher object reads them.
    def make() -> Made:
        from crypto.envelope import FieldCipher

        cipher = FieldCipher(get_state(request).backends.keys().keyring)  # creates nothing
        return (lambda v: cipher.decrypt(body.dataset, body.field, v)), {}
    return _run(request, principal, body, "decrypt", make)
