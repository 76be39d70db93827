"""`arrears compliance packs` lists what each pack obliges beyond the per-contact rules,
with sources: opt-outs, the validation notice, time-barred debts and retention."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from arrears.cli import app

runner = CliRunner()


def listing(pack: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, ["compliance", "packs", "--pack", pack, "--json"])
    assert result.exit_code == 0, result.output
    (only,) = json.loads(result.output)
    return only


def test_us_packs_list_the_new_obligations_with_sources() -> None:
    for name in ("us-regf", "us-ma"):
        p = listing(name)
        sources = {o["id"]: o["source"] for o in p["obligations"]}
        assert "FCC 24-24" in sources["hold.consent_withdrawn"]
        assert "1006.34" in sources["hold.validation_pending"]
        assert "1006.26(b)" in sources["time_barred.suit"]
        assert "CPLR 214-i" in sources["limitation.state.NY"]
        assert "337" in sources["limitation.state.CA"]
        assert "1788.14(d)" in sources["time_barred.disclosure.CA"]
        assert "23 NYCRR 1.3" in sources["time_barred.disclosure.NY"]
        assert "1006.100" in sources["retention"]
        disclosures = {(d["id"], d["language"]): d["source"] for d in p["disclosures"]}
        assert "1006.6(e)" in disclosures[("us-regf.disclosure.opt-out", "en")]


def test_cn_packs_list_retention_and_consent() -> None:
    for name in ("cn", "cn-2026"):
        sources = {o["id"]: o["source"] for o in listing(name)["obligations"]}
        assert set(sources) == {"hold.consent_withdrawn", "retention"}
        assert "第六十八条" in sources["retention"] and "2年" in sources["retention"]
        assert "个人信息保护法" in sources["hold.consent_withdrawn"]


def test_the_text_listing_prints_the_sources() -> None:
    result = runner.invoke(app, ["compliance", "packs", "--pack", "us-regf"])
    assert result.exit_code == 0
    assert "  retention: Contact records, recordings and documents kept 3 years" in result.output
    assert "      source: 12 CFR 1006.100(a)" in result.output
