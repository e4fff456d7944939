"""FF1 format-preserving encryption (NIST SP 800-38G Rev.1).

Over AES we use ``fastfpe`` (Rust; passes the nine NIST FF1 samples, ~3 µs a token). No
maintained Python package offers FF1 over SM4, so :class:`_Feistel` implements the SP 800-38G
FF1 Feistel network over any 128-bit block cipher on `cryptography`'s ECB encryptor; the tests
check it against the NIST samples with AES as the block cipher before trusting it with SM4.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import CipherContext
from fastfpe import ff1 as _fastff1

from crypto.errors import DomainError
from crypto.primitives import aes_ecb_encryptor, sm4_ecb_encryptor

DIGITS = "0123456789"
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
MIN_DOMAIN = 1_000_000  # SP 800-38G Rev.1: radix^minlen >= 1,000,000
MAX_RADIX = 1 << 16


def default_alphabet(radix: int) -> str:
    if 2 <= radix <= 36:
        return BASE36[:radix]
    raise DomainError(f"radix {radix} needs an explicit alphabet (built-in ones cover 2..36)")


def min_length(radix: int) -> int:
    """Shortest input whose domain radix^n reaches 1,000,000 (and at least 2, per FF1)."""
    n, size = 1, radix
    while size < MIN_DOMAIN:
        n, size = n + 1, size * radix
    return max(n, 2)


class _Feistel:
    """FF1 (SP 800-38G, Algorithms 7–9) over a cached ECB encryptor of a 128-bit block cipher."""

    def __init__(self, ecb: CipherContext, radix: int) -> None:
        self._ecb = ecb
        self._radix = radix
        self._p_cache: dict[tuple[int, int], bytes] = {}

    def _ciph_p(self, n: int, t: int) -> bytes:
        """CIPH_K(P): P depends only on radix, n and tweak length, so it is computed once."""
        key = (n, t)
        if key not in self._p_cache:
            p = (bytes([1, 2, 1]) + self._radix.to_bytes(3, "big") + bytes([10, (n // 2) % 256])
                 + n.to_bytes(4, "big") + t.to_bytes(4, "big"))
            self._p_cache[key] = self._ecb.update(p)
        return self._p_cache[key]

    def _prf_rounds(self, digits: list[int], tweak: bytes, encrypt: bool) -> list[int]:
        radix, ecb = self._radix, self._ecb
        n, t = len(digits), len(tweak)
        u, v = n // 2, n - n // 2
        b = ((radix ** v - 1).bit_length() + 7) // 8
        d = 4 * ((b + 3) // 4) + 4
        y0 = int.from_bytes(self._ciph_p(n, t), "big")
        pad = bytes((-t - b - 1) % 16)
        mod_u, mod_v = radix ** u, radix ** v

        def num(xs: list[int]) -> int:
            x = 0
            for ch in xs:
                x = x * radix + ch
            return x

        def digits_of(x: int, m: int) -> list[int]:
            out = [0] * m
            for i in range(m - 1, -1, -1):
                x, out[i] = divmod(x, radix)
            return out

        a, bb = num(digits[:u]), num(digits[u:])
        rounds = range(10) if encrypt else range(9, -1, -1)
        for i in rounds:
            m, mod = (u, mod_u) if i % 2 == 0 else (v, mod_v)
            half = bb if encrypt else a
            q = tweak + pad + bytes([i]) + half.to_bytes(b, "big")
            # CBC-MAC (PRF) over P || Q with the encryptor cached: XOR each block into the chain.
            y = y0
            for off in range(0, len(q), 16):
                y = int.from_bytes(ecb.update((y ^ int.from_bytes(q[off:off + 16], "big"))
                                              .to_bytes(16, "big")), "big")
            r = y.to_bytes(16, "big")
            s = r
            j = 1
            while len(s) < d:
                s += ecb.update((y ^ j).to_bytes(16, "big"))
                j += 1
            yy = int.from_bytes(s[:d], "big")
            if encrypt:
                a, bb = bb, (a + yy) % mod
            else:
                a, bb = (bb - yy) % mod, a
        return digits_of(a, u) + digits_of(bb, v)

    def encrypt(self, digits: list[int], tweak: bytes) -> list[int]:
        return self._prf_rounds(digits, tweak, True)

    def decrypt(self, digits: list[int], tweak: bytes) -> list[int]:
        return self._prf_rounds(digits, tweak, False)


class FF1:
    """FF1 over AES (``fastfpe``) or SM4 (``cipher="SM4"``, own Feistel; see module docstring).

    ``key``: 16/24/32 bytes for AES, 16 for SM4. ``alphabet`` overrides ``radix`` (its length is
    the radix), e.g. ``"0123456789"`` or Chinese numerals; characters must be distinct.
    """

    def __init__(self, key: bytes, radix: int = 10, alphabet: str | None = None,
                 cipher: str = "AES") -> None:
        if alphabet is None:
            alphabet = default_alphabet(radix)
        if len(set(alphabet)) != len(alphabet):
            raise DomainError("FF1 alphabet has repeated characters")
        radix = len(alphabet)
        if not 2 <= radix <= MAX_RADIX:
            raise DomainError(f"FF1 radix must be 2..65536, got {radix}")
        self.alphabet, self.radix, self.cipher = alphabet, radix, cipher.upper()
        self.min_len = min_length(radix)
        self._index = {ch: i for i, ch in enumerate(alphabet)}
        if self.cipher == "AES":
            if len(key) not in (16, 24, 32):
                raise DomainError("FF1-AES keys are 16, 24 or 32 bytes")
            self._hexkey = key.hex()
            self._feistel = None
        elif self.cipher == "SM4":
            if len(key) != 16:
                raise DomainError("FF1-SM4 keys are 16 bytes")
            self._feistel = _Feistel(sm4_ecb_encryptor(key), radix)
        else:
            raise DomainError(f"FF1 block cipher must be AES or SM4, got {cipher!r}")

    def _check(self, text: str) -> None:
        if len(text) < self.min_len:
            raise DomainError(
                f"FF1 domain too small: radix {self.radix} needs at least {self.min_len} characters "
                f"(SP 800-38G Rev.1: radix^len >= 1,000,000), got {len(text)}")
        for pos, ch in enumerate(text):
            if ch not in self._index:
                raise DomainError(f"FF1 input has a character outside the alphabet at position {pos + 1}")

    def encrypt(self, plaintext: str, tweak: bytes = b"") -> str:
        return self._run(plaintext, tweak, True)

    def decrypt(self, ciphertext: str, tweak: bytes = b"") -> str:
        return self._run(ciphertext, tweak, False)

    def _run(self, text: str, tweak: bytes, encrypt: bool) -> str:
        self._check(text)
        if self._feistel is None:
            fn = _fastff1.encrypt if encrypt else _fastff1.decrypt
            result: str = fn(self._hexkey, tweak.hex(), self.alphabet, text)
            return result
        digits = [self._index[ch] for ch in text]
        out = self._feistel.encrypt(digits, tweak) if encrypt else self._feistel.decrypt(digits, tweak)
        return "".join(self.alphabet[i] for i in out)


def feistel_for_test(cipher: str, key: bytes, radix: int) -> _Feistel:
    """The hand-written Feistel over AES or SM4 — lets the tests hold it to the NIST samples."""
    ecb = aes_ecb_encryptor(key) if cipher == "AES" else sm4_ecb_encryptor(key)
    return _Feistel(ecb, radix)
