"""Value types of the config models that strict validation alone would get wrong.

Config is validated strictly (no true for 1, no "5" for 5), but dates arrive as text: Pulumi
reads stack files with a YAML library that keeps dates as strings, and hands objects to the
program as JSON. So a date is parsed here, from text, with a message that says what is wrong
with it. ``Literal`` numbers need a guard of their own: ``True == 1`` in Python, and pydantic
accepts it for ``Literal[1, ...]`` even in strict mode.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from blueprint.config_errors import close_match, shown

SERVICE_PRINCIPALS_FILE = Path(__file__).resolve().parent.parent / "policies" / "service-principals.yaml"

ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def iso_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"{value.isoformat()} has a time: give the date only, YYYY-MM-DD, e.g. {value.date().isoformat()}")
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expects a date written YYYY-MM-DD, e.g. 2026-12-31, got {shown(value)}")
    m = ISO_DATE.match(value.strip())
    if not m:
        raise ValueError(f"{value!r} is not a date: write it YYYY-MM-DD, e.g. 2026-12-31")
    year, month, day = map(int, m.groups())
    if not 1 <= month <= 12:
        raise ValueError(f"{value} is not a date: there is no month {month}")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise ValueError(f"{value} is not a date: {calendar.month_name[month]} {year} has {days} days")
    return date(year, month, day)


def exact_int(value: Any) -> Any:
    """Let only real integers through to a ``Literal`` of numbers (not true, 1.0 or "1")."""
    if type(value) is not int:
        raise ValueError(f"expects a whole number such as 365, got {shown(value)}")
    return value


@lru_cache(maxsize=1)
def service_principals() -> frozenset[str]:
    return frozenset(yaml.safe_load(SERVICE_PRINCIPALS_FILE.read_text())["principals"])


def service_principal(value: str) -> str:
    if value not in service_principals():
        raise ValueError(f"{value!r} is not a service principal AWS Organizations knows{close_match(value, service_principals())} "
                         "(policies/service-principals.yaml lists them)")
    return value


IsoDate = Annotated[date, BeforeValidator(iso_date)]
ServicePrincipal = Annotated[str, AfterValidator(service_principal),
                             WithJsonSchema({"type": "string", "enum": sorted(service_principals())})]
