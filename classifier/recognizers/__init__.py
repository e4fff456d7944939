"""The 17 entity recognizers of the classification contract, in tie-break order (most specific first)."""

from __future__ import annotations

from classifier.recognizers.base import ShuweiRecognizer
from classifier.recognizers.contact import EmailRecognizer, LandlineRecognizer, MobileRecognizer
from classifier.recognizers.finance import BankCardRecognizer, UsccRecognizer
from classifier.recognizers.health import DiagnosisRecognizer
from classifier.recognizers.identity import (HkMacaoPermitRecognizer, PassportRecognizer,
                                             ResidentIdRecognizer)
from classifier.recognizers.location import (AddressRecognizer, GeoCoordinateRecognizer,
                                             LicensePlateRecognizer)
from classifier.recognizers.network import IpAddressRecognizer, MacAddressRecognizer
from classifier.recognizers.organization import OrganizationRecognizer
from classifier.recognizers.person import DateOfBirthRecognizer, PersonNameRecognizer

RECOGNIZER_CLASSES: tuple[type[ShuweiRecognizer], ...] = (
    ResidentIdRecognizer, UsccRecognizer, BankCardRecognizer, MobileRecognizer, PassportRecognizer,
    HkMacaoPermitRecognizer, EmailRecognizer, MacAddressRecognizer, IpAddressRecognizer,
    GeoCoordinateRecognizer, LandlineRecognizer, LicensePlateRecognizer, DateOfBirthRecognizer,
    DiagnosisRecognizer, OrganizationRecognizer, AddressRecognizer, PersonNameRecognizer,
)


def all_recognizers() -> list[ShuweiRecognizer]:
    """Fresh instances (Presidio recognizers are cheap to build and hold no data)."""
    return [cls() for cls in RECOGNIZER_CLASSES]
