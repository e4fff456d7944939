"""Each recognizer: pattern + validator on known vectors, the same verdict per cell (Presidio) and per column."""

from __future__ import annotations

import pyarrow as pa
import pytest

from classifier.analyzer import build_analyzer
from classifier.evidence import mask_sample
from classifier.recognizers import all_recognizers

CASES = {
    "CN_RESIDENT_ID": (["11010519491231002X", "11010519491231002x", "110105491231002",
                        "440524188001010014", "110105 19491231 002X", "110105-19491231-002X"],
                       ["110105194912310021", "11010519490230002X", "110105491331002",
                        "990426199001010015", "920302199001010017"]),
    "CN_USCC": (["91110000600037341L", "91 110000 600037341L", "91-110000-600037341L",
                 "91110000600037341l"],
                ["91110000600037341M", "9111000060003734IL", "04110000600037341R"]),
    "CN_BANK_CARD": (["4111111111111111", "4111 1111 1111 1111", "6222-0212-3456-7890-128",
                      "370247001234565", "378282246310005"],
                     ["4111111111111112", "41111111111111", "411111111111116"]),
    "CN_MOBILE": (["13812345678", "+86 138 1234 5678", "138-1234-5678", "8619912345678",
                   "0086 13812345678", "0086 138 1234 5678", "(+86)13812345678", "008613812345678"],
                  ["12012345678", "14012345678", "1381234567", "17406123456"]),
    "CN_PASSPORT": (["E12345678", "EA1234567", "G12345678", "DE1234567", "e12345678", "K12345678",
                     "MA1234567", "141234567", "151234567"],
                    ["E1234567", "A12345678", "EI1234567", "161234567"]),
    "CN_HK_MACAO_PERMIT": (["C12345678", "H12345678", "M1234567890", "c12345678"], ["C1234567", "H123456789"]),
    "EMAIL_ADDRESS": (["zhang.san@example.com.cn"], ["zhang.san@", "a..b@example.com"]),
    "MAC_ADDRESS": (["4a:dd:63:fc:35:c7", "4A-DD-63-FC-35-C7", "4add.63fc.35c7"], ["4a:dd-63:fc:35:c7"]),
    "IP_ADDRESS": (["192.168.1.20", "2001:db8::1"], ["256.1.1.1", "4a:dd:63:fc:35:c7"]),
    "GEO_COORDINATE": (["116.397128,39.916527", "39.916527, 116.397128"], ["116.39,39.91", "16.3971,39.9165"]),
    "CN_LANDLINE": (["010-62345678", "(0571)87654321", "0755-87654321-123", "03355213206", "020 25935186",
                     "022 3466 1306", "+86 21 6869 2259", "+862122017620", "+86-22-23456789",
                     "0086 10 62345678", "(+86)21 68692259"],
                    ["010-12345678", "62345678", "020-9999999", "0302-2345678", "0755-8765432-123"]),
    "CN_LICENSE_PLATE": (["京A12345", "川Q-68387", "粤BD12345", "沪A·D12345", "京AA92035", "粤BA03205",
                          "辽J49448C", "沪A1234领", "京A0001警"], ["京I12345", "A12345", "京AL92035"]),
    "DATE_OF_BIRTH": (["1990-01-02", "19900102", "1990年1月2日"], ["19900230", "2990-01-02"]),
    "MEDICAL_DIAGNOSIS": (["高血压", "急性阑尾炎", "2型糖尿病"], ["北京", "张三"]),
    "ORGANIZATION_NAME": (["杭州数卫科技有限公司", "北京市公安局"], ["张三", "有限公司"]),
    "ADDRESS": (["浙江省杭州市西湖区文三路100号", "北京市朝阳区建国路88号院3号楼"], ["北京市公安局", "浙江省"]),
    "PERSON_NAME": (["张三", "欧阳娜娜", "John Smith", "阿卜杜·热合曼"], ["北京市", "高血压症"]),
}


@pytest.fixture(scope="module")
def recognizers():
    return {r.ENTITY: r for r in all_recognizers()}


def test_one_recognizer_per_entity(recognizers):
    assert set(recognizers) == set(CASES)


@pytest.mark.parametrize("entity", sorted(CASES))
def test_column_verdicts(recognizers, entity):
    rec = recognizers[entity]
    good, bad = CASES[entity]
    values = pa.array(good + bad)
    matched = rec.fullmatch(values)
    valid = matched.copy()
    valid[matched] = rec.validate_many(values.filter(pa.array(matched)))
    assert list(valid) == [True] * len(good) + [False] * len(bad)
    # the scalar validator Presidio calls agrees with the vectorised one
    for text, verdict in zip(good + bad, valid):
        if rec.fullmatch(pa.array([text]))[0]:
            assert rec.validate(text) == verdict, text


def test_presidio_analyzer_finds_entities_in_text():
    engine = build_analyzer()
    text = "申请人身份证号 11010519491231002X，手机 13812345678，邮箱 a.b@example.com；错号 110105194912310021"
    found = {(r.entity_type, text[r.start:r.end]) for r in engine.analyze(text, language="zh")
             if r.score >= 0.5}
    assert ("CN_RESIDENT_ID", "11010519491231002X") in found
    assert ("CN_MOBILE", "13812345678") in found
    assert ("EMAIL_ADDRESS", "a.b@example.com") in found
    assert not any(v == "110105194912310021" for e, v in found if e == "CN_RESIDENT_ID")


def test_masking_never_keeps_more_than_half():
    assert mask_sample("11010519491231002X") == "1101**********002X"
    assert mask_sample("张三") == "张*"
    for value in ("13812345678", "a@b.cn", "浙江省杭州市西湖区文三路100号"):
        masked = mask_sample(value)
        assert len(masked) == len(value) and masked.count("*") >= len(value) / 2
