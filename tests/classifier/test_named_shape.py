"""A header that names an entity keeps it when values have its shape but fail validation."""

from classifier.classify import classify_records

BAD_CHECK_ID = "110105194912310021"  # the spec's example: check char should be X


def test_named_column_with_failing_check_chars_stays_resident_id() -> None:
    grades = classify_records([{"公民身份号码": BAD_CHECK_ID}], "adhoc")
    assert grades["公民身份号码"].entity == "CN_RESIDENT_ID"
    assert grades["公民身份号码"].grade == "L4"


def test_unnamed_look_alikes_still_do_not_count() -> None:
    grades = classify_records([{"serial_no": BAD_CHECK_ID}] * 20, "adhoc")
    assert grades["serial_no"].entity is None


def test_named_column_needs_the_shape_too() -> None:
    grades = classify_records([{"sfzh": "not an id"}, {"sfzh": "12345"}], "adhoc")
    assert grades["sfzh"].entity is None
