"""What an evidence report covers: the system, its protection level, the period, the clock.

The clock is part of the scope so every judgement is reproducible (tests pass their own ``now``)
and every time in the report is shown in the configured zone (``timezone``, default
Asia/Shanghai), never in the server's UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from classifier.dates import parse_when
from classifier.settings import ConfigError, Settings

DEFAULT_PERIOD_DAYS = 180  # the retention the Cybersecurity Law (art. 21) asks for
DEFAULT_SYSTEM = "数卫 Shuwei"


@dataclass(frozen=True)
class Scope:
    system: str
    level: int
    start: datetime  # inclusive
    end: datetime  # exclusive
    tz: ZoneInfo
    now: datetime

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end

    def local(self, when: datetime) -> str:
        return when.astimezone(self.tz).isoformat(sep=" ", timespec="seconds")

    def day(self, when: datetime) -> str:
        """The calendar day in the configured zone (charts and per-day counts)."""
        return when.astimezone(self.tz).date().isoformat()

    def as_dict(self) -> dict[str, object]:
        last = (self.end - timedelta(seconds=1)).astimezone(self.tz).date().isoformat()
        return {"system": self.system, "level": self.level, "timezone": str(self.tz),
                "from": self.start.astimezone(self.tz).date().isoformat(), "to": last,
                "generated_at": self.local(self.now)}


def make_scope(settings: Settings, *, system: str | None = None, level: int = 3,
               start: str | None = None, end: str | None = None,
               now: datetime | None = None) -> Scope:
    """``start``/``end`` as typed (YYYY-MM-DD or ISO date-time, read in the configured zone); a
    date alone as ``end`` includes that whole day. Default: the 180 days up to ``now``."""
    tz = ZoneInfo(settings.timezone)
    now = (now or datetime.now(timezone.utc)).astimezone(tz)
    try:
        to = parse_when(end, tz) if end else now
        if end and len(end.strip()) == 10:
            to += timedelta(days=1)
        since = parse_when(start, tz) if start else to - timedelta(days=DEFAULT_PERIOD_DAYS)
    except ValueError as exc:
        raise ConfigError(f"period: {exc}") from None
    except OverflowError:
        raise ConfigError(f"period: {start or ''}..{end or ''} reaches outside the years 0001–9999") from None
    if since >= to:
        raise ConfigError(f"period: from {start or since.date()} is not before to {end or to.date()}")
    name = system or str(settings.section("evidence").get("system") or DEFAULT_SYSTEM)
    return Scope(name, level, since, to, tz, now)
