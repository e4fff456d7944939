"""Network identifiers: IP and MAC addresses."""

from __future__ import annotations

import ipaddress

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from classifier.recognizers.base import ShuweiRecognizer

_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"


class IpAddressRecognizer(ShuweiRecognizer):
    """IP 地址: IPv4 dotted quad (pattern is exact) or IPv6 (checked by :mod:`ipaddress`)."""

    ENTITY = "IP_ADDRESS"
    CORE = f"{_OCTET}(?:\\.{_OCTET}){{3}}|[0-9A-Fa-f]{{0,4}}(?::[0-9A-Fa-f]{{0,4}}){{2,7}}"
    CONTEXT = ("ip", "ip地址", "ip_addr", "ip_address", "src_ip", "dst_ip", "client_ip", "客户端ip",
               "来源ip", "ipdz")
    MIN_LEN, MAX_LEN = 2, 39

    def validate(self, text: str) -> bool:
        if ":" not in text:
            return True
        try:  # the stdlib parser is the reference for IPv6 forms (:: compression etc.)
            ipaddress.IPv6Address(text)
        except ValueError:
            return False
        return True

    def validate_many(self, values: pa.Array) -> np.ndarray:
        # IPv4 is exact in the pattern; IPv6 needs 8 groups unless compressed with "::"
        ok = np.ones(len(values), dtype=bool)
        colons = pc.count_substring(values, ":").to_numpy(zero_copy_only=False)
        compressed = pc.match_substring(values, "::").to_numpy(zero_copy_only=False)
        ok[(colons > 0) & ~compressed & (colons != 7)] = False
        check = np.flatnonzero((colons > 0) & ok)
        if check.size:
            ok[check] = [self.validate(v) for v in values.take(pa.array(check)).to_pylist()]
        return ok


class MacAddressRecognizer(ShuweiRecognizer):
    """MAC 地址: 6 hex octets separated by ':' or '-' (one separator throughout), or Cisco dots."""

    ENTITY = "MAC_ADDRESS"
    CORE = "[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}"
    CONTEXT = ("mac", "mac地址", "mac_addr", "mac_address", "物理地址", "网卡地址", "wldz")
    MIN_LEN, MAX_LEN = 14, 17
    REJECT = ":.*-|-.*:"  # one separator throughout
