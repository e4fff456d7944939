"""Vectorised calendar checks for the dates inside identifiers."""

from __future__ import annotations

import numpy as np


def days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    table = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    result: np.ndarray = table[np.clip(month, 0, 12)] + ((month == 2) & leap)
    return result


def real_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray, *, min_year: int = 1900,
               max_date: np.datetime64 | None = None) -> np.ndarray:
    """Vectorised: is (year, month, day) a real calendar date between ``min_year`` and today?"""
    ok = (year >= min_year) & (month >= 1) & (month <= 12) & (day >= 1)
    ok &= day <= days_in_month(year, month)
    today = max_date if max_date is not None else np.datetime64("today", "D")
    ty, tm, td = (int(x) for x in str(today).split("-"))
    ok &= (year * 10000 + month * 100 + day) <= ty * 10000 + tm * 100 + td
    result: np.ndarray = ok
    return result
