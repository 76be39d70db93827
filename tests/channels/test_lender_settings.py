"""The lender's settings ([lender] in arrears.toml): the fictional defaults a new
workspace gets written, per-product overrides, and errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.services.settings import (
    SETTINGS_FILE,
    Institution,
    SettingsError,
    lender_settings_text,
    load_settings,
    write_default_settings,
)
from arrears.workspace import Workspace


def _load(tmp_path: Path, text: str):
    (tmp_path / SETTINGS_FILE).write_text(text, encoding="utf-8")
    return load_settings(tmp_path)


def test_a_new_workspace_gets_the_fictional_lender_written_once(tmp_path: Path):
    ws = Workspace.at(tmp_path / "ws")
    ws.init()
    path = ws.root / SETTINGS_FILE
    text = path.read_text(encoding="utf-8")
    assert "[lender]" in text and "[lender.law_firm]" in text
    assert "[lender.repayment_account]" in text
    assert load_settings(ws.root).institution == Institution()
    assert "示例" in Institution().legal_name and "Example" in Institution().legal_name_en
    path.write_text('[lender]\nbrand = "自家品牌"\n', encoding="utf-8")
    ws.init()  # an existing file is the lender's: never rewritten
    assert not write_default_settings(ws.root)
    assert load_settings(ws.root).institution.brand == "自家品牌"


def test_the_written_text_reads_back_as_the_lender_it_holds(tmp_path: Path):
    lender = Institution(legal_name="某某消费金融有限公司", hotline="400-123-4567")
    assert _load(tmp_path, lender_settings_text(lender)).institution == lender


def test_a_product_override_takes_the_rest_from_the_workspace_lender(tmp_path: Path):
    settings = _load(
        tmp_path,
        '[lender]\nbrand = "甲"\n[lender.law_firm]\nname = "乙律师事务所"\n'
        '[lender.products.CARD]\nbrand = "丙卡"\n[lender.products.CARD.law_firm]\n'
        'phone = "010-1234-5678"\n',
    )
    card = settings.lender_for("CARD")
    assert (card.brand, card.law_firm.name, card.law_firm.phone) == ("丙卡", "乙律师事务所",
                                                                      "010-1234-5678")  # fmt: skip
    assert settings.lender_for("CONSUMER").brand == "甲"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[lender]\nbrand = ""\n', "lender.brand must be a non-empty string"),
        ("[lender]\nbrand = 3\n", "lender.brand must be a non-empty string"),
        ('[lender]\nbrnad = "x"\n', "lender.brnad is not a setting"),
        ('[lender]\nhotline = "call us"\n', "lender.hotline must be a phone number"),
        ('[lender.law_firm]\nphone = "abc"\n', "lender.law_firm.phone must be a phone number"),
        ('[lender.law_firm]\naddress = "one line"\n', "lender.law_firm.address must be"),
        ('[lender.repayment_account]\niban = "x"\n', "lender.repayment_account.iban is not a"),
        ('[lender]\npay_link = "https://p/{customer}"\n', "lender.pay_link may hold {reference}"),
        ('[lender]\npay_link = "pay here"\n', "lender.pay_link must be a web address"),
        ('[lender.products.NOSUCH]\nbrand = "x"\n', "lender.products.NOSUCH: no product 'NOSUCH'"),
        ('[lender.products.CARD]\nhotline = ""\n', "lender.products.CARD.hotline must be"),
        ("[lender]\nrepayment_account = 1\n", "lender.repayment_account must be a table"),
        ('[institution]\nname = "x"\n[lender]\nbrand = "y"\n', "[institution] is the old name"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_an_error_naming_it(tmp_path: Path, text: str, named: str):
    with pytest.raises(SettingsError) as caught:
        _load(tmp_path, text)
    assert named in str(caught.value)
    assert str(tmp_path / SETTINGS_FILE) in str(caught.value)


def test_the_older_institution_table_still_reads(tmp_path: Path):
    lender = _load(tmp_path, '[institution]\nname = "旧名称有限公司"\nphone = "400-222-3333"\n')
    assert (lender.institution.legal_name, lender.institution.hotline) == (
        "旧名称有限公司", "400-222-3333",
    )  # fmt: skip
