"""Product catalog: the default file loads; every error names file, table and field."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from arrears.domain.calendar import DayCount
from arrears.domain.errors import DomainError, ProductError
from arrears.domain.products import (
    DEFAULT_CATALOG_PATH,
    BucketScheme,
    ClassificationScheme,
    Component,
    InstallmentOrder,
    PrincipalRounding,
    ScheduleMethod,
    WaterfallMode,
    load_catalog,
    parse_catalog,
)

D = Decimal

MINIMAL = """\
[portfolio]
currency = "CNY"

[products.X]
method = "annuity"
annual_rate = 0.18
term_months = 12
{extra}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "products.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ProductError) as info:
        load_catalog(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message  # the file is named first
    return message


def test_default_catalog_loads_with_exact_rates():
    cat = load_catalog()
    assert set(cat.products) == {"CONSUMER", "CARD", "MICRO", "SME"}
    assert cat.currency == "CNY"
    assert cat.buckets == BucketScheme((0, 30, 60, 90, 120, 150, 180))
    assert cat.classification == ClassificationScheme(0, 90, 270, 360)

    consumer = cat.product("CONSUMER")
    assert consumer.method is ScheduleMethod.ANNUITY
    assert consumer.annual_rate == D("0.18") and consumer.term_months == 12
    assert consumer.day_count is DayCount.THIRTY_360 and consumer.grace_days == 3
    assert consumer.charges.penalty_rate == D("0.27")  # 0.18 × 1.5, exactly
    assert consumer.charges.compound_rate == D("0.27")
    assert consumer.charges.late_fee_fixed == D(30) and consumer.charges.cost_cap == D("0.24")
    assert consumer.waterfall.mode is WaterfallMode.BY_INSTALLMENT
    assert consumer.name_zh == "消费分期贷款"

    card = cat.product("CARD")
    assert card.annual_rate == D("0.1825")  # not 0.18249999999999999…
    assert card.day_count is DayCount.ACT_365  # 0.05% a day: actual days count
    assert card.charges.penalty_rate == 0 and card.charges.compound_rate == D("0.1825")
    assert card.charges.late_fee_rate == D("0.05") and card.charges.late_fee_fixed == 0
    assert (card.card.min_rate, card.card.min_floor) == (D("0.10"), D(100))
    assert card.waterfall.mode is WaterfallMode.BY_COMPONENT
    assert card.waterfall.order[-1] is Component.PENALTY

    micro = cat.product("MICRO")
    assert micro.method is ScheduleMethod.EQUAL_PRINCIPAL and micro.day_count is DayCount.ACT_365
    assert micro.principal_rounding is PrincipalRounding.HALF_UP
    assert micro.charges.penalty_rate == D("0.315") and micro.charges.compound_rate == 0
    assert micro.waterfall.order[:2] == (Component.INTEREST, Component.PRINCIPAL)

    sme = cat.product("SME")
    assert sme.method is ScheduleMethod.INTEREST_ONLY and sme.day_count is DayCount.ACT_360
    assert sme.grace_days == 0 and sme.charges.late_fee_fixed == 0
    assert sme.waterfall.installments is InstallmentOrder.OLDEST_FIRST


def test_minimal_product_gets_the_defaults(tmp_path):
    cat = load_catalog(write(tmp_path, MINIMAL.format(extra="")))
    x = cat.product("X")
    assert x.name == "X" and x.currency == "CNY" and x.grace_days == 0
    assert x.day_count is DayCount.THIRTY_360
    assert x.principal_rounding is PrincipalRounding.HALF_UP
    assert x.charges.cost_cap is None and x.charges.penalty_rate == 0


def test_explicit_penalty_rate_wins_over_the_multiplier(tmp_path):
    extra = "penalty_rate_multiplier = 1.5\npenalty_rate = 0.2"
    cat = load_catalog(write(tmp_path, MINIMAL.format(extra=extra)))
    assert cat.product("X").charges.penalty_rate == D("0.2")


def test_missing_method(tmp_path):
    text = MINIMAL.format(extra="").replace('method = "annuity"\n', "")
    message = load_error(tmp_path, text)
    assert "products.X.method" in message and "missing" in message


def test_unknown_field(tmp_path):
    message = load_error(tmp_path, MINIMAL.format(extra="grace_dayz = 3"))
    assert "products.X" in message and "grace_dayz" in message and "unknown" in message


def test_unknown_field_in_portfolio(tmp_path):
    text = MINIMAL.format(extra="").replace('currency = "CNY"', 'currency = "CNY"\nbukets = [0]')
    message = load_error(tmp_path, text)
    assert "portfolio" in message and "bukets" in message


def test_bad_day_count(tmp_path):
    message = load_error(tmp_path, MINIMAL.format(extra='day_count = "30/365"'))
    assert "products.X.day_count" in message and "30/365" in message


def test_principal_rounding_is_read_and_checked(tmp_path):
    cat = load_catalog(write(tmp_path, MINIMAL.format(extra='principal_rounding = "down"')))
    assert cat.product("X").principal_rounding is PrincipalRounding.DOWN
    message = load_error(tmp_path, MINIMAL.format(extra='principal_rounding = "up"'))
    assert "products.X.principal_rounding" in message and "'up'" in message


def test_bad_method(tmp_path):
    message = load_error(tmp_path, MINIMAL.format(extra="").replace("annuity", "balloon"))
    assert "products.X.method" in message and "balloon" in message


def test_negative_grace(tmp_path):
    message = load_error(tmp_path, MINIMAL.format(extra="grace_days = -1"))
    assert "products.X.grace_days" in message and "negative" in message


@pytest.mark.parametrize(
    "waterfall",
    [
        'waterfall = { order = ["fee", "penalty", "compound", "interest"] }',
        'waterfall = { order = ["fee", "fee", "penalty", "compound", "interest", "principal"] }',
        'waterfall = { order = ["fees", "penalty", "compound", "interest", "principal"] }',
        'waterfall = { order = ["interest", "fee", "principal", "penalty", "compound"] }',
        'waterfall = { installments = "newest_first" }',
        'waterfall = { mode = "by_loan" }',
        'waterfall = { oder = ["fee"] }',
    ],
)
def test_bad_waterfall(tmp_path, waterfall):
    message = load_error(tmp_path, MINIMAL.format(extra=waterfall))
    assert "products.X.waterfall" in message


@pytest.mark.parametrize("edges", ["[0, 30, 30, 60]", "[0, 60, 30]", "[1, 30]", "[]"])
def test_bad_bucket_edges(tmp_path, edges):
    text = MINIMAL.format(extra="").replace(
        'currency = "CNY"', f'currency = "CNY"\nbucket_edges = {edges}'
    )
    message = load_error(tmp_path, text)
    assert "portfolio.bucket_edges" in message


def test_bad_classification(tmp_path):
    text = MINIMAL.format(extra="").replace(
        'currency = "CNY"', 'currency = "CNY"\nclassification = { normal = 0, special = 90 }'
    )
    assert "portfolio.classification" in load_error(tmp_path, text)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("annual_rate_x = 1", "annual_rate_x"),
        ("term_months = 0", "term_months"),
        ("late_fee = -5", "late_fee"),
        ("cost_cap = 24", "cost_cap"),  # 2400%: outside 0..10, surely meant 0.24
        ('penalty_rate = "abc"', "penalty_rate"),
        ("penalty_rate = true", "penalty_rate"),
    ],
)
def test_other_bad_fields_are_named(tmp_path, extra, field):
    if field == "term_months":
        text = MINIMAL.format(extra="").replace("term_months = 12", extra)
    else:
        text = MINIMAL.format(extra=extra)
    message = load_error(tmp_path, text)
    assert field in message


def test_missing_annual_rate(tmp_path):
    text = MINIMAL.format(extra="").replace("annual_rate = 0.18\n", "")
    message = load_error(tmp_path, text)
    assert "products.X.annual_rate" in message and "missing" in message


def test_bad_toml_syntax(tmp_path):
    message = load_error(tmp_path, "[portfolio\ncurrency = 'CNY'\n")
    assert "not valid TOML" in message
    assert re.search(r"line \d", message)  # tomllib says where


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ProductError, match=re.escape(str(path))):
        load_catalog(path)


def test_no_products(tmp_path):
    message = load_error(tmp_path, '[portfolio]\ncurrency = "CNY"\n')
    assert "products" in message


def test_unknown_portfolio_currency(tmp_path):
    message = load_error(tmp_path, MINIMAL.format(extra="").replace('"CNY"', '"XYZ"'))
    assert "portfolio.currency" in message and "XYZ" in message


def test_unknown_top_level_table(tmp_path):
    message = load_error(tmp_path, MINIMAL.format(extra="") + "\n[extras]\nx = 1\n")
    assert "extras" in message


def test_unknown_product_lookup_lists_the_known_ones():
    cat = load_catalog()
    with pytest.raises(DomainError) as info:
        cat.product("MORTGAGE")
    message = str(info.value)
    assert "MORTGAGE" in message
    assert all(code in message for code in ("CARD", "CONSUMER", "MICRO", "SME"))


def test_default_path_is_the_packaged_file():
    assert DEFAULT_CATALOG_PATH.name == "default.toml" and DEFAULT_CATALOG_PATH.is_file()


def test_unknown_product_currency(tmp_path):
    message = load_error(tmp_path, MINIMAL.format(extra='currency = "XYZ"'))
    assert "products.X.currency" in message


def test_unknown_key_in_card_table(tmp_path):
    message = load_error(tmp_path, MINIMAL.format(extra="card = { min_rat = 0.05 }"))
    assert "products.X.card" in message and "min_rat" in message


def test_fractional_grace_days(tmp_path):
    message = load_error(tmp_path, MINIMAL.format(extra="grace_days = 2.5"))
    assert "products.X.grace_days" in message


def test_classification_thresholds_per_product():
    # issue 25, contract 3: a product may class by its own DPD thresholds
    cat = parse_catalog(
        {
            "products": {
                "OWN": {
                    "method": "annuity",
                    "annual_rate": 0.18,
                    "term_months": 12,
                    "classification": {  # 关注 to 60 DPD, 次级 to 90, 可疑 to 180
                        "normal": 0,
                        "special_mention": 60,
                        "substandard": 90,
                        "doubtful": 180,
                    },
                },
                "BOOK": {"method": "annuity", "annual_rate": 0.18, "term_months": 12},
            }
        }
    )
    own, book = (
        cat.classification_of(cat.product("OWN")),
        cat.classification_of(cat.product("BOOK")),
    )
    assert own.classify(61).value == "substandard" and book.classify(61).value == "special_mention"
    assert book == cat.classification
    with pytest.raises(ProductError, match=r"products\.OWN\.classification"):
        parse_catalog(
            {
                "products": {
                    "OWN": {
                        "method": "annuity",
                        "annual_rate": 0.18,
                        "term_months": 12,
                        "classification": {"normal": 0, "special_mention": 0},
                    }
                }
            }
        )
