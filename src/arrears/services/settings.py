"""Workspace settings: who the lender is (legal name, brand, hotline, repayment account,
the law firm that writes its lawyer letters — per workspace, overridden per product),
which compliance pack governs its contacts, how cases are allocated to teams, and
whether a day whose model scores have shifted is treated or held.

They live in ``<workspace>/arrears.toml``; every key is optional and falls back to the
defaults below (a clearly fictional lender, 示例消费金融有限公司), so a new workspace
works at once and a real lender overrides what it must. ``arrears init`` and ``arrears
demo`` write the ``[lender]`` table with these defaults for the lender to edit. A bad
file is an error naming the file and the setting (``lender.law_firm.phone …``).
Format: docs/settings.md.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arrears.channels.fields import MergeFields
from arrears.compliance import available_packs
from arrears.services.portal.config import PortalSettings, load_portal
from arrears.services.portal.links import PortalLinks

if TYPE_CHECKING:
    from arrears.channels.letters import AmountLine, Letter

SETTINGS_FILE = "arrears.toml"
PLACEHOLDER_PAY_LINK = "https://pay.example.com/r/{reference}"


class SettingsError(ValueError):
    """The settings file is not valid; the message names file, setting and reason."""


@dataclass(frozen=True)
class RepaymentAccount:
    """The lender's account a debtor may pay into by bank transfer (对公还款账户). Its
    number is the lender's, printed in full (a debtor's own account is always masked)."""

    bank: str = "示例银行上海示例路支行"
    bank_en: str = "Example Bank, Example Road Sub-branch, Shanghai"
    account_name: str = "示例消费金融有限公司"
    account_name_en: str = "Example Consumer Finance Co., Ltd."
    number: str = "0000 1234 5678 9012 345"


@dataclass(frozen=True)
class LawFirm:
    """The law firm that writes the lender's lawyer letters (律师函) on its behalf."""

    name: str = "示例律师事务所"
    name_en: str = "Example & Partners Law Firm"
    address: tuple[str, ...] = ("上海市示例区示例路200号",)
    address_en: tuple[str, ...] = ("200 Example Road", "Example District, Shanghai")
    phone: str = "021-0000-0200"


@dataclass(frozen=True)
class Voice:
    """A lender's settings in one language: what its letters and messages print."""

    legal_name: str
    brand: str
    hotline: str
    address: tuple[str, ...]
    collector_name: str
    signatory: str
    bank: str
    account_name: str
    account_number: str
    law_firm: str
    law_firm_address: tuple[str, ...]
    law_firm_phone: str


@dataclass(frozen=True)
class Institution:
    """The lender as its letters and messages name it (``[lender]`` in arrears.toml).
    The defaults are a fictional lender: every name, address and number is made up."""

    legal_name: str = "示例消费金融有限公司"
    legal_name_en: str = "Example Consumer Finance Co., Ltd."
    brand: str = "示例贷"
    brand_en: str = "ExampleLoan"
    hotline: str = "400-000-0000"
    address: tuple[str, ...] = ("上海市示例区示例路100号",)
    address_en: tuple[str, ...] = ("100 Example Road", "Example District, Shanghai")
    pay_link: str = PLACEHOLDER_PAY_LINK
    collector_name: str = "客户服务中心"
    collector_name_en: str = "Customer Care"
    signatory: str = "催收管理部"
    signatory_en: str = "Collections Department"
    repayment_account: RepaymentAccount = RepaymentAccount()
    law_firm: LawFirm = LawFirm()
    # the workspace's portal links (set by load_settings): the placeholder pay_link
    # becomes each debtor's personal link into the portal
    portal: PortalLinks | None = field(default=None, repr=False, compare=False)

    # the names the lender had before [lender] (settings.Institution.name / .phone)
    @property
    def name(self) -> str:
        return self.legal_name

    @property
    def phone(self) -> str:
        return self.hotline

    def voice(self, language: str) -> Voice:
        """Everything this lender prints, in ``language`` (zh_CN or en)."""
        zh = language == "zh_CN"
        account, firm = self.repayment_account, self.law_firm
        return Voice(
            legal_name=self.legal_name if zh else self.legal_name_en,
            brand=self.brand if zh else self.brand_en,
            hotline=self.hotline,
            address=self.address if zh else self.address_en,
            collector_name=self.collector_name if zh else self.collector_name_en,
            signatory=self.signatory if zh else self.signatory_en,
            bank=account.bank if zh else account.bank_en,
            account_name=account.account_name if zh else account.account_name_en,
            account_number=account.number,
            law_firm=firm.name if zh else firm.name_en,
            law_firm_address=firm.address if zh else firm.address_en,
            law_firm_phone=firm.phone,
        )

    def named(self, language: str) -> tuple[str, tuple[str, ...], str, str]:
        """Legal name, address, collector name and signatory in ``language``."""
        v = self.voice(language)
        return v.legal_name, v.address, v.collector_name, v.signatory

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
        lender, in ``language``: ``due_date`` and ``amount_due`` are the instalment's
        own (pre-due) or the arrears' (overdue), as the caller found them."""
        v = self.voice(language)
        return MergeFields(
            customer_name=customer_name,
            account=loan_id,
            amount_due=amount_due,
            currency=currency,
            due_date=due_date,
            pay_link=self.pay_link_for(reference, loan_id),
            collector_name=v.collector_name,
            collector_phone=v.hotline,
            institution_name=v.legal_name,
            reference=reference,
            **_lender_fields(v, language),
        )

    def letter(
        self,
        language: str,
        *,
        template: str,
        reference: str,
        letter_date: date,
        addressee_name: str,
        addressee_address: tuple[str, ...],
        loan_id: str,
        currency: str,
        amounts: tuple[AmountLine, ...],
        due_date: date,
        from_law_firm: bool = False,
    ) -> Letter:
        """A letter from this lender (``from_law_firm``: a lawyer letter, on the law
        firm's letterhead and signed by the firm on the lender's behalf)."""
        from arrears.channels.letters import Letter

        v = self.voice(language)
        return Letter(
            template=template,
            language=language,
            reference=reference,
            letter_date=letter_date,
            institution_name=v.legal_name,
            institution_address=v.address,
            institution_phone=v.hotline,
            addressee_name=addressee_name,
            addressee_address=addressee_address,
            account=loan_id,
            currency=currency,
            amounts=amounts,
            due_date=due_date,
            pay_link=self.pay_link_for(reference, loan_id),
            collector_name=v.collector_name,
            collector_phone=v.hotline,
            signatory=v.signatory,
            brand_name=v.brand,
            repayment_bank=v.bank,
            repayment_account_name=v.account_name,
            repayment_account_number=v.account_number,
            law_firm_name=v.law_firm,
            law_firm_address=v.law_firm_address,
            law_firm_phone=v.law_firm_phone,
            from_law_firm=from_law_firm,
        )

    def pay_link_for(self, reference: str, loan_id: str) -> str:
        """The pay link of a message with ``reference`` about ``loan_id``: a signed
        personal link into the portal unless the lender set a pay_link of its own."""
        if self.portal is not None and self.pay_link == PLACEHOLDER_PAY_LINK:
            return self.portal.link_for(reference, loan_id)
        return self.pay_link.format(reference=reference, loan_id=loan_id)


Lender = Institution


def _lender_fields(v: Voice, language: str) -> dict[str, str]:
    return {
        "lender_name": v.legal_name,
        "brand_name": v.brand,
        "service_hotline": v.hotline,
        "repayment_bank": v.bank,
        "repayment_account_name": v.account_name,
        "repayment_account_number": v.account_number,
        "law_firm_name": v.law_firm,
        "law_firm_address": join_address(v.law_firm_address, language),
        "law_firm_phone": v.law_firm_phone,
    }


def join_address(lines: tuple[str, ...], language: str) -> str:
    """Address lines as one line of text: run together in Chinese, comma-separated in
    English."""
    return ("" if language == "zh_CN" else ", ").join(lines)


def message_reference(day: date, loan_id: str) -> str:
    """The reference number a message or letter about ``loan_id`` sent after ``day``
    carries: stable for the day and loan, and without the account number itself (a
    reference is printed in full where the account is masked)."""
    digest = hashlib.sha256(f"{day.isoformat()}|{loan_id}".encode()).hexdigest()[:8].upper()
    return f"ARR-{day:%Y%m%d}-{digest}"


PAYMENT_TOLERANCE = (30, 3600)  # seconds a signed webhook timestamp may be off, at most
CHECKOUT_MINUTES = (5, 1440)  # how long a hosted checkout stays payable: 5 min … a day


@dataclass(frozen=True)
class PaymentSettings:
    """``[payments]``: the processor debtors pay through (``standin``, the local
    stand-in, unless a lender connects its own; docs/payments.md), the file holding its
    webhook secret (never the secret itself), and how far a signed timestamp may be
    from now before a delivery is refused as a replay."""

    processor: str = "standin"
    secret_file: str = ""
    tolerance_seconds: int = 300
    # how long a hosted checkout page may be paid: the amounts it asks for are the
    # day's, and a page left open is not a standing invitation to pay
    checkout_minutes: int = 60


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
    # [lender.products.<CODE>]: the lender of a product's loans, where it differs
    products: tuple[tuple[str, Institution], ...] = field(default=())
    # [portal]: the debtor portal's address and self-service policy
    portal: PortalSettings = field(default_factory=PortalSettings)
    payments: PaymentSettings = PaymentSettings()

    def allocation_rules(self) -> dict[str, tuple[str, ...]]:
        """The allocation rules as a mapping, teams in file order."""
        return dict(self.allocation)

    def lender_for(self, product_code: str | None) -> Institution:
        """The lender of a loan of ``product_code``: the product's override, else the
        workspace's ``[lender]``."""
        return dict(self.products).get(product_code or "", self.institution)


def load_settings(root: Path) -> Settings:
    """The settings of the workspace at ``root`` (defaults where the file is silent)."""
    path = Path(root) / SETTINGS_FILE
    if not path.exists():
        return _with_portal(Settings(), Path(root), PortalSettings())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    tables = {"lender", "institution", "compliance", "allocation", "models", "queue", "workspace"}
    tables.add("payments")
    tables.add("portal")
    unknown = set(data) - tables
    if unknown:
        raise SettingsError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}")
    _check_workspace(path, data.get("workspace", {}))
    institution, products = _lender(path, Path(root), data)
    pack = data.get("compliance", {}).get("pack", "cn")
    if pack not in available_packs() and not Path(pack).exists():
        raise SettingsError(
            f"{path}: compliance.pack {pack!r} is neither a pack ({', '.join(available_packs())})"
            " nor a pack file"
        )
    settings = Settings(
        institution=institution,
        compliance_pack=pack,
        allocation=_allocation(path, data),
        shifted_scores=_shifted_scores(path, data),
        products=products,
        payments=_payments(path, data.get("payments", {})),
    )
    return _with_portal(settings, Path(root), load_portal(path, data.get("portal", {})))


def _with_portal(settings: Settings, root: Path, portal: PortalSettings) -> Settings:
    """``settings`` whose lenders make personal links into the workspace's portal."""
    links = PortalLinks(portal.base_url, root, portal.link_days)
    return replace(
        settings,
        portal=portal,
        institution=replace(settings.institution, portal=links),
        products=tuple((code, replace(lender, portal=links)) for code, lender in settings.products),
    )


def _check_workspace(path: Path, table: Any) -> None:
    """``[workspace]``: ``time_zone``, the IANA zone of the business clock
    (``arrears.services.clock``)."""
    from arrears.services.clock import ClockError, zone

    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [workspace] must be a table")
    unknown = set(table) - {"time_zone"}
    if unknown:
        raise SettingsError(
            f"{path}: unknown key(s) workspace.{', workspace.'.join(sorted(unknown))}"
        )
    if "time_zone" in table:
        if not isinstance(table["time_zone"], str):
            raise SettingsError(f"{path}: workspace.time_zone must be a time zone name")
        try:
            zone(table["time_zone"])
        except ClockError as exc:
            raise SettingsError(f"{path}: workspace.{exc}") from None


# The keys of [institution], the table's name before [lender], that were renamed.
_LEGACY_KEYS = {"name": "legal_name", "name_en": "legal_name_en", "phone": "hotline"}
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{2,24}")
_PHONE_KEYS = frozenset({"hotline", "phone"})
_PARTS: dict[str, type] = {"repayment_account": RepaymentAccount, "law_firm": LawFirm}


def _lender(
    path: Path, root: Path, data: dict[str, Any]
) -> tuple[Institution, tuple[tuple[str, Institution], ...]]:
    """``[lender]`` (or the older ``[institution]``) and its ``[lender.products.<CODE>]``
    overrides, each over the defaults, every value checked and named when bad."""
    if "lender" in data and "institution" in data:
        raise SettingsError(f"{path}: [institution] is the old name of [lender]; keep one")
    if "institution" in data:
        table = _table(path, "institution", data["institution"])
        table = {_LEGACY_KEYS.get(k, k): v for k, v in table.items()}
        where = "institution"
    else:
        table = _table(path, "lender", data.get("lender", {}))
        where = "lender"
    overrides = _table(path, f"{where}.products", table.pop("products", {}))
    lender = _apply(path, where, Institution(), table)
    products = []
    known = _product_codes(root)
    for code, override in overrides.items():
        name = f"{where}.products.{code}"
        if known is not None and code not in known:
            raise SettingsError(
                f"{path}: {name}: no product {code!r} in the catalog "
                f"(products: {', '.join(sorted(known))})"
            )
        products.append((code, _apply(path, name, lender, _table(path, name, override))))
    return lender, tuple(products)


def _apply(path: Path, where: str, base: Any, table: Mapping[str, Any]) -> Any:
    """``base`` with the values of ``table`` (named ``where``) put in, each checked."""
    known = {f.name for f in fields(base)} - {"portal"}
    changes: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{where}.{key}"
        if key not in known:
            raise SettingsError(
                f"{path}: {name} is not a setting (settings: {', '.join(sorted(known))})"
            )
        current = getattr(base, key)
        if key in _PARTS:
            changes[key] = _apply(path, name, current, _table(path, name, value))
        elif isinstance(current, tuple):
            if not (
                isinstance(value, list)
                and value
                and all(isinstance(v, str) and v.strip() for v in value)
            ):
                raise SettingsError(f"{path}: {name} must be a non-empty list of lines (strings)")
            changes[key] = tuple(v.strip() for v in value)
        elif not isinstance(value, str) or not value.strip():
            raise SettingsError(f"{path}: {name} must be a non-empty string, not {value!r}")
        elif key in _PHONE_KEYS and not _PHONE.fullmatch(value.strip()):
            raise SettingsError(
                f"{path}: {name} must be a phone number (digits, spaces, + ( ) -), not {value!r}"
            )
        elif key == "pay_link":
            _check_pay_link(path, name, value)
            changes[key] = value.strip()
        else:
            changes[key] = value.strip()
    return replace(base, **changes)


def _check_pay_link(path: Path, name: str, value: str) -> None:
    try:
        value.format(reference="R", loan_id="L")
    except (KeyError, IndexError, ValueError) as exc:
        raise SettingsError(
            f"{path}: {name} may hold {{reference}} and {{loan_id}} only ({exc!r})"
        ) from None
    if not value.startswith(("https://", "http://")):
        raise SettingsError(f"{path}: {name} must be a web address (https://…), not {value!r}")


def _table(path: Path, name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SettingsError(f"{path}: {name} must be a table ([{name}])")
    return dict(value)


def _product_codes(root: Path) -> frozenset[str] | None:
    """The product codes of the workspace's catalog (None when it cannot be read: the
    catalog's own loader reports that)."""
    from arrears.domain.products import DEFAULT_CATALOG_PATH, load_catalog

    catalog = root / "products.toml"
    try:
        return frozenset(
            load_catalog(catalog if catalog.exists() else DEFAULT_CATALOG_PATH).products
        )
    except (OSError, ValueError):  # the catalog's own loader reports these where it is used
        return None


def lender_settings_text(lender: Institution | None = None) -> str:
    """The ``[lender]`` table of ``arrears.toml`` holding ``lender`` (the fictional
    defaults when None), commented, for a new workspace's lender to edit."""
    lender = lender or Institution()

    def value(v: Any) -> str:
        if isinstance(v, tuple):
            return "[" + ", ".join(json.dumps(x, ensure_ascii=False) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string

    def rows(obj: Any) -> list[str]:
        return [
            f"{f.name} = {value(getattr(obj, f.name))}"
            for f in fields(obj)
            if f.name not in _PARTS and f.name != "portal"
        ]

    lines = [
        "# The lender its letters and messages name (docs/settings.md). These are the",
        "# fictional defaults of `arrears init` / `arrears demo`: put your own here.",
        "[lender]",
        *rows(lender),
        "",
        "# the account a debtor may pay into by bank transfer",
        "[lender.repayment_account]",
        *rows(lender.repayment_account),
        "",
        "# the law firm whose lawyer letters (律师函) are sent on the lender's behalf",
        "[lender.law_firm]",
        *rows(lender.law_firm),
        "",
        "# a product whose loans name another brand, hotline or account, e.g.:",
        "# [lender.products.CARD]",
        '# brand = "示例卡"',
        "# [lender.products.CARD.repayment_account]",
        '# number = "0000 1234 5678 9012 999"',
    ]
    return "\n".join(lines) + "\n"


def write_default_settings(root: Path) -> bool:
    """Write ``arrears.toml`` with the default ``[lender]`` when the workspace has none
    (an existing file is never touched). True when it was written."""
    from arrears.files import write_atomically

    path = Path(root) / SETTINGS_FILE
    if path.exists():
        return False
    write_atomically(path, lender_settings_text())
    return True


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


_PROCESSOR_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def _payments(path: Path, table: Any) -> PaymentSettings:
    """``[payments]``: ``processor`` (a name), ``secret_file`` (a path, relative to the
    workspace), ``tolerance_seconds`` and ``checkout_minutes``. A ``secret`` key is
    refused: the secret belongs in its own file or the environment, not in a file that
    is copied around."""
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: payments must be a table ([payments])")
    if "secret" in table:
        raise SettingsError(
            f"{path}: payments.secret does not belong in arrears.toml; put the secret in "
            "$ARREARS_PROCESSOR_SECRET or a file named by payments.secret_file"
        )
    unknown = set(table) - {"processor", "secret_file", "tolerance_seconds", "checkout_minutes"}
    if unknown:
        raise SettingsError(f"{path}: payments.{sorted(unknown)[0]} is not a setting")
    base = PaymentSettings()
    processor = table.get("processor", base.processor)
    if not isinstance(processor, str) or not _PROCESSOR_NAME.fullmatch(processor):
        raise SettingsError(
            f"{path}: payments.processor must be a name (a-z, 0-9, _ or -), not {processor!r}"
        )
    secret_file = table.get("secret_file", base.secret_file)
    if not isinstance(secret_file, str):
        raise SettingsError(f"{path}: payments.secret_file must be a path (a string)")
    tolerance = table.get("tolerance_seconds", base.tolerance_seconds)
    low, high = PAYMENT_TOLERANCE
    whole = isinstance(tolerance, int) and not isinstance(tolerance, bool)
    if not whole or not low <= tolerance <= high:
        raise SettingsError(
            f"{path}: payments.tolerance_seconds must be a whole number from {low} to {high}"
        )
    minutes = table.get("checkout_minutes", base.checkout_minutes)
    low, high = CHECKOUT_MINUTES
    whole = isinstance(minutes, int) and not isinstance(minutes, bool)
    if not whole or not low <= minutes <= high:
        raise SettingsError(
            f"{path}: payments.checkout_minutes must be a whole number from {low} to {high}"
        )
    return PaymentSettings(processor, secret_file.strip(), tolerance, minutes)
