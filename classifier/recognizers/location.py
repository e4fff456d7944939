"""Whereabouts: coordinates, licence plates, detailed addresses."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from classifier.identifiers import plate
from classifier.recognizers.base import HAN, ShuweiRecognizer

# China's bounding box (mainland and islands), degrees.
LON_RANGE = (73.4, 135.1)
LAT_RANGE = (3.8, 53.6)


def in_lon(value: float) -> bool:
    return LON_RANGE[0] <= value <= LON_RANGE[1]


def in_lat(value: float) -> bool:
    return LAT_RANGE[0] <= value <= LAT_RANGE[1]


class GeoCoordinateRecognizer(ShuweiRecognizer):
    """精确位置: "lon,lat" with ≥ 4 decimals inside China (split lon/lat columns: see the engine)."""

    ENTITY = "GEO_COORDINATE"
    CORE = "[0-9]{1,3}\\.[0-9]{4,}\\s*[,，]\\s*[0-9]{1,3}\\.[0-9]{4,}"
    CONTEXT = ("经纬度", "坐标", "位置", "定位", "经度", "纬度", "gps", "location", "coordinate", "coord",
               "lnglat", "latlng", "lng", "lon", "lat", "longitude", "latitude", "jwd", "zb", "jd", "wd")
    MIN_LEN, MAX_LEN = 11, 40
    EVIDENCE = "value pattern+bounds"
    # One column of decimal degrees; pairs with a neighbour holding the other axis.
    SINGLE = "^-?[0-9]{1,3}\\.[0-9]{4,}$"

    def validate(self, text: str) -> bool:
        first, second = (float(p) for p in text.replace("，", ",").split(","))
        return (in_lon(first) and in_lat(second)) or (in_lat(first) and in_lon(second))


class LicensePlateRecognizer(ShuweiRecognizer):
    """机动车号牌 (GA 36-2018): ordinary, new-energy (any D/A/B/C/E/F/G/H/J/K), police, consulate."""

    ENTITY = "CN_LICENSE_PLATE"
    CORE = plate.CORE
    CONTEXT = ("车牌", "车牌号", "车牌号码", "号牌", "号牌号码", "机动车号牌", "plate", "plate_no",
               "license_plate", "car_no", "cph", "cphm", "hphm")
    MIN_LEN, MAX_LEN = plate.MIN_LEN, plate.MAX_LEN
    ASCII_ONLY = False


_ADMIN = "省|市|自治区|自治州|区|县|旗|盟"
_STREET = "路|街|大道|道|巷|弄|胡同|号|村|镇|乡|座|栋|幢|室|单元|小区|大厦|组|屯"
# Names of organisations mention places too; a value ending like this is an organisation.
_ORG_END = "公司|集团|局|委员会|委|厅|政府|医院|学校|大学|学院|银行|中心|办事处|法院|检察院|研究院|研究所"


_PART = f"[{HAN}0-9A-Za-z·（）()#\\- ]"
_TAIL = f"[{HAN}0-9A-Za-z·（）()#\\-, ]"
# Up to this many characters the two {0,40} bounds of CORE cannot bind (the division and street
# words take ≥ 2), so CORE with them unbounded fullmatches exactly the same values.
_SHORT = 42


class AddressRecognizer(ShuweiRecognizer):
    """详细地址: an administrative division (省/市/区/县…) followed by a street-level part."""

    ENTITY = "ADDRESS"
    CORE = f"{_PART}{{0,20}}(?:{_ADMIN}){_PART}{{0,40}}(?:{_STREET}){_TAIL}{{0,40}}"
    # CORE without its two {0,40} bounds: RE2 keeps its DFA on it (three overlapping counted
    # repeats make the DFA give up: 430 ms per 50,000 texts of ~35 chars, this form 10 ms).
    SHORT = f"^(?:{_PART}{{0,20}}(?:{_ADMIN}){_PART}*(?:{_STREET}){_TAIL}*)$"
    CONTEXT = ("地址", "住址", "详细地址", "家庭住址", "户籍地址", "居住地址", "现住址", "通讯地址",
               "联系地址", "address", "addr", "home_address", "dz", "zz", "jtzz", "hjdz", "xzz", "txdz")
    MIN_LEN, MAX_LEN = 6, 120
    ASCII_ONLY = False
    REJECT = f"(?:{_ORG_END})$"

    @property
    def fullmatch_pattern(self) -> str:
        return self.SHORT  # every value fullmatch accepts matches SHORT

    def fullmatch(self, values: pa.Array) -> np.ndarray:
        """Same result as the base's CORE fullmatch: :attr:`SHORT` decides values of up to
        ``_SHORT`` characters (and rules longer ones out: it is a superset), CORE the rest."""
        if len(values) == 0:
            return np.zeros(0, dtype=bool)
        matched: np.ndarray = pc.fill_null(pc.match_substring_regex(values, self.SHORT), False) \
            .to_numpy(zero_copy_only=False)
        long_ = np.flatnonzero(matched & (pc.utf8_length(values).to_numpy(zero_copy_only=False) > _SHORT))
        if long_.size:
            matched[long_] = super().fullmatch(values.take(pa.array(long_)))
        return matched
