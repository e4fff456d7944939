"""The one surname definition: checked against Faker's zh_CN data (nobody on the team wrote it),
and used alike by the PERSON_NAME recognizer and the mask_name strategy."""

from __future__ import annotations

import pytest
from faker.providers.person.zh_CN import Provider as FakerZhCN

from classifier.recognizers.person import PersonNameRecognizer
from classifier.surnames import COMPOUND, SINGLE, split_name
from crypto.strategies import STRATEGIES


def test_single_surnames_cover_fakers_ranking() -> None:
    faker_single = {s for s in FakerZhCN.last_names if len(s) == 1}
    assert faker_single <= set(SINGLE)
    assert {s for s in FakerZhCN.last_names if len(s) == 2} <= set(COMPOUND)


def test_compound_list_is_the_baijiaxing_one() -> None:
    assert len(COMPOUND) == len(set(COMPOUND)) == 61
    assert {"淳于", "单于", "欧阳", "诸葛", "第五"} <= set(COMPOUND)
    assert "吴铭" not in COMPOUND and all(len(c) == 2 for c in COMPOUND)


@pytest.mark.parametrize("name,parts", [
    ("吴铭峰", ("吴", "铭峰")), ("欧阳娜娜", ("欧阳", "娜娜")), ("淳于琼", ("淳于", "琼")),
    ("单于晓华", ("单于", "晓华")), ("欧阳", ("欧", "阳")), ("张三", ("张", "三")), ("某某", None),
])
def test_split_name(name: str, parts: tuple[str, str] | None) -> None:
    assert split_name(name) == parts


@pytest.mark.parametrize("name,masked", [
    ("吴铭峰", "吴**"), ("欧阳娜娜", "欧阳**"), ("淳于琼", "淳于*"), ("单于晓华", "单于**"), ("张三", "张*"),
])
def test_mask_name_keeps_exactly_the_surname(name: str, masked: str) -> None:
    cls = STRATEGIES["mask_name"]
    assert cls.build(cls.Params(), "PERSON_NAME", "ds", "f", None)(name) == masked


@pytest.mark.parametrize("name", ["淳于琼", "单于晓华", "欧阳娜娜", "吴铭峰"])
def test_recognizer_knows_the_same_surnames(name: str) -> None:
    assert PersonNameRecognizer().validate_result(name) is not False
    assert PersonNameRecognizer().analyze(name, ["PERSON_NAME"], None)
