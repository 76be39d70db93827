"""Workspace settings: who the lender is (letterhead, pay link, phone), which
compliance pack governs its contacts, how cases are allocated to teams, and whether a
day whose model scores have shifted is treated or held.

They live in ``<workspace>/arrears.toml``; every key is optional and falls back to the
defaults below, so a new workspace works at once and a real lender overrides what it
must. A bad file is an error naming the file and key.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from arrears.channels.fields import MergeFields
from arrears.compliance import available_packs

SETTINGS_FILE = "arrears.toml"


class SettingsError(ValueError):
    """The settings file is not valid; the message names file, key and reason."""


@dataclass(frozen=True)
class Institution:
    """The lender as its letters and messages name it."""

    name: str = "示例消费金融有限公司"
    name_en: str = "Example Consumer Finance Ltd."
    address: tuple[str, ...] = ("上海市浦东新区世纪大道100号",)
    address_en: tuple[str, ...] = ("100 Century Avenue", "Pudong, Shanghai")
    phone: str = "400-800-1234"
    pay_link: str = "https://pay.example.com/r/{reference}"
    collector_name: str = "客户服务中心"
    collector_name_en: str = "Customer Care"
    signatory: str = "催收管理部"
    signatory_en: str = "Collections Department"

    def named(self, language: str) -> tuple[str, tuple[str, ...], str, str]:
        """Name, address, collector name and signatory in ``language``."""
        if language == "zh_CN":
            return self.name, self.address, self.collector_name, self.signatory
        return self.name_en, self.address_en, self.collector_name_en, self.signatory_en

    def merge_fields(
        self,
        language: str,
        *,
        customer_name: str,
        loan_id: str,
        amount_due: Decimal,
        currency: str,
        due_date: date,
        reference: str,
    ) -> MergeFields:
        """The merge fields of a message (or call script) about ``loan_id`` from this
        lender, in ``language``."""
        name, _, collector, _ = self.named(language)
        return MergeFields(
            customer_name=customer_name,
            account=loan_id,
            amount_due=amount_due,
            currency=currency,
            due_date=due_date,
            pay_link=self.pay_link_for(reference, loan_id),
            collector_name=collector,
            collector_phone=self.phone,
            institution_name=name,
            reference=reference,
        )

    def pay_link_for(self, reference: str, loan_id: str) -> str:
        """The pay link of a message with ``reference`` about ``loan_id``."""
        return self.pay_link.format(reference=reference, loan_id=loan_id)


def message_reference(day: date, loan_id: str) -> str:
    """The reference number a message or letter about ``loan_id`` sent after ``day``
    carries: stable for the day and loan, and without the account number itself (a
    reference is printed in full where the account is masked)."""
    digest = hashlib.sha256(f"{day.isoformat()}|{loan_id}".encode()).hexdigest()[:8].upper()
    return f"ARR-{day:%Y%m%d}-{digest}"


@dataclass(frozen=True)
class Settings:
    institution: Institution = Institution()
    compliance_pack: str = "cn"
    # [allocation.teams]: team name → the buckets it works (empty: no allocation rules)
    allocation: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # [models] shifted_scores: when a closed day's scores have shifted from the model's
    # training rows, "warn" (treat the day anyway) or "hold" its treatments, if the
    # strategy reads that model's score, until `arrears treat --accept-shifted-scores`
    shifted_scores: str = "warn"

    def allocation_rules(self) -> dict[str, tuple[str, ...]]:
        """The allocation rules as a mapping, teams in file order."""
        return dict(self.allocation)


def load_settings(root: Path) -> Settings:
    """The settings of the workspace at ``root`` (defaults where the file is silent)."""
    path = Path(root) / SETTINGS_FILE
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(data) - {"institution", "compliance", "allocation", "models", "queue"}
    if unknown:
        raise SettingsError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}")
    institution = Institution()
    known = {f.name: f for f in fields(Institution)}
    for key, value in data.get("institution", {}).items():
        if key not in known:
            raise SettingsError(f"{path}: institution.{key} is not a setting")
        if isinstance(getattr(institution, key), tuple):
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise SettingsError(f"{path}: institution.{key} must be a list of strings")
            value = tuple(value)
        elif not isinstance(value, str):
            raise SettingsError(f"{path}: institution.{key} must be a string")
        institution = replace(institution, **{key: value})
    pack = data.get("compliance", {}).get("pack", "cn")
    if pack not in available_packs() and not Path(pack).exists():
        raise SettingsError(
            f"{path}: compliance.pack {pack!r} is neither a pack ({', '.join(available_packs())})"
            " nor a pack file"
        )
    return Settings(
        institution=institution,
        compliance_pack=pack,
        allocation=_allocation(path, data),
        shifted_scores=_shifted_scores(path, data),
    )


SHIFTED_SCORES = ("warn", "hold")


def _shifted_scores(path: Path, data: dict) -> str:
    """``[models] shifted_scores``: "warn" (the default) or "hold"."""
    table = data.get("models", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: models must be a table ([models])")
    unknown = set(table) - {"shifted_scores"}
    if unknown:
        raise SettingsError(f"{path}: models.{sorted(unknown)[0]} is not a setting")
    value = table.get("shifted_scores", "warn")
    if value not in SHIFTED_SCORES:
        raise SettingsError(
            f"{path}: models.shifted_scores must be one of {', '.join(SHIFTED_SCORES)}, "
            f"not {value!r}"
        )
    return value


def _allocation(path: Path, data: dict) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``[allocation.teams]``: each team's buckets, a list of bucket labels (M1, M2 …)."""
    table = data.get("allocation", {})
    unknown = set(table) - {"teams"}
    if unknown:
        raise SettingsError(f"{path}: allocation.{sorted(unknown)[0]} is not a setting")
    teams = table.get("teams", {})
    if not isinstance(teams, dict):
        raise SettingsError(f"{path}: allocation.teams must be a table of team = [buckets]")
    out = []
    for team, buckets in teams.items():
        if not (
            isinstance(buckets, list)
            and buckets
            and all(isinstance(b, str) and b.strip() for b in buckets)
        ):
            raise SettingsError(
                f"{path}: allocation.teams.{team} must be a non-empty list of buckets"
            )
        out.append((team, tuple(buckets)))
    return tuple(out)
