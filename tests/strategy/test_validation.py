"""Strategy documents: every problem names the path inside the document and the reason;
questionable shapes become warnings; TOML and YAML load the same strategy."""

# ruff: noqa: E501  (the table of cases reads best one case per line)
from __future__ import annotations

import copy
from decimal import Decimal

import pytest
import yaml

from arrears.strategy import StrategyError, load_strategy, parse_strategy
from arrears.strategy.loader import default_strategy_path, read_document

BASE = {
    "name": "t",
    "version": 2,
    "amount_tiers": {
        "column": "overdue_amount",
        "tiers": [{"name": "small", "below": 1000}, {"name": "big"}],
    },
    "segments": [
        {"name": "early", "when": {"dpd": {"min": 1, "max": 30}}, "ladder": "soft"},
        {"name": "rest", "ladder": "soft"},
    ],
    "ladders": {
        "soft": {
            "steps": [
                {"name": "sms1", "offset": 1, "channel": "sms", "template": "sms_a"},
                {
                    "name": "call5",
                    "offset": 5,
                    "channel": "call",
                    "template": "call_a",
                    "script": "script_a",
                },
            ]
        }
    },
    "arms": [{"name": "champion", "share": 0.9}, {"name": "hold", "share": 0.1, "holdout": True}],
}


def problems(doc) -> list[tuple[str, str]]:
    with pytest.raises(StrategyError) as caught:
        parse_strategy(doc, "s.toml")
    assert str(caught.value).startswith("s.toml: ")
    return caught.value.problems


def changed(path: list, value=None, delete=False):
    doc = copy.deepcopy(BASE)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


def test_base_document_is_valid_with_version_and_fingerprint():
    s = parse_strategy(copy.deepcopy(BASE), "s.toml")
    assert (s.name, s.version, s.champion) == ("t", 2, "champion")
    assert len(s.fingerprint) == 64 and s.warnings == ()
    assert [a.share for a in s.arms] == [Decimal("0.9"), Decimal("0.1")]


def test_fingerprint_changes_with_content_not_with_key_order():
    reordered = dict(reversed(list(copy.deepcopy(BASE).items())))
    assert parse_strategy(reordered).fingerprint == parse_strategy(copy.deepcopy(BASE)).fingerprint
    other = changed(["ladders", "soft", "steps", 0, "template"], "sms_b")
    assert parse_strategy(other).fingerprint != parse_strategy(copy.deepcopy(BASE)).fingerprint


@pytest.mark.parametrize(
    ("path", "value", "where", "reason"),
    [
        (["segments", 0, "when", "dpd"], {"min": 30, "max": 1}, "segments[0].when.dpd", "empty range"),
        (["segments", 0, "when", "dpd"], {"min": -1}, "segments[0].when.dpd.min", ">= 0"),
        (["segments", 0, "when", "dpd"], {"min": 1.5}, "segments[0].when.dpd.min", "whole number"),
        (["segments", 0, "when", "mood"], "x", "segments[0].when.mood", "unknown dimension"),
        (["segments", 0, "when", "customer_type"], "alien", "segments[0].when.customer_type", "unknown value 'alien'"),
        (["segments", 0, "when", "willingness"], ["sad"], "segments[0].when.willingness[0]", "unknown value"),
        (["segments", 0, "when", "amount_tier"], ["huge"], "segments[0].when.amount_tier[0]", "unknown value 'huge'"),
        (["segments", 0, "when", "score_band"], ["low"], "segments[0].when.score_band", "needs the [score_bands]"),
        (["segments", 0, "ladder"], "nope", "segments[0].ladder", "no ladder called 'nope'"),
        (["segments", 0, "colour"], "red", "segments[0].colour", "unknown key"),
        (["ladders", "soft", "steps", 0, "channel"], "fax", "ladders.soft.steps[0].channel", "unknown channel 'fax'"),
        (["ladders", "soft", "steps", 0, "send_hour"], 24, "ladders.soft.steps[0].send_hour", "0-23"),
        (["ladders", "soft", "steps", 0, "offset"], "3", "ladders.soft.steps[0].offset", "whole number"),
        (["ladders", "soft", "steps", 0, "min_amount"], -5, "ladders.soft.steps[0].min_amount", "negative"),
        (["ladders", "soft", "steps", 0, "name"], "call5", "ladders.soft.steps[1].name", "duplicate step"),
        (["ladders", "soft", "steps", 1, "script"], None, "ladders.soft.steps[1].script", "call script"),
        (["ladders", "soft", "steps", 0, "when"], {"columns": {"x": {"min": "a"}}}, "ladders.soft.steps[0].when.columns.x.min", "expected a number"),
        (["arms", 0, "share"], 0.8, "arms", "sum to 1, they sum to 0.9"),
        (["arms", 1, "share"], 1.5, "arms[1].share", "between 0 and 1"),
        (["arms", 1, "name"], "champion", "arms[1].name", "duplicate arm"),
        (["arms", 0, "ladders"], {"soft": "gone"}, "arms[0].ladders.soft", "no ladder called 'gone'"),
        (["champion"], "hold", "champion", "cannot be a holdout"),
        (["champion"], "nobody", "champion", "no arm called 'nobody'"),
        (["version"], "two", "version", "whole number"),
        (["version"], 0, "version", "1 or more"),
        (["amount_tiers", "tiers"], [{"name": "a", "below": 10}, {"name": "b", "below": 5}, {"name": "c"}], "amount_tiers.tiers[1].below", "above the previous edge"),
        (["amount_tiers", "tiers"], [{"name": "a"}, {"name": "b"}], "amount_tiers.tiers[0].below", "upper edge"),
        (["amount_tiers", "tiers"], [{"name": "a", "below": 1}, {"name": "b", "below": 2}], "amount_tiers.tiers[1].below", "last tier has no upper end"),
        (["extra"], 1, "extra", "unknown key"),
    ],
)  # fmt: skip
def test_each_problem_names_its_path_and_reason(path, value, where, reason):
    found = problems(changed(path, value))
    assert any(p == where and reason in r for p, r in found), found


def test_missing_required_keys_are_named():
    found = problems(changed(["ladders", "soft", "steps", 0, "template"], delete=True))
    assert ("ladders.soft.steps[0].template", "required key is missing") in found
    found = problems(changed(["name"], delete=True))
    assert ("name", "required key is missing") in found


def test_no_catch_all_is_an_error():
    doc = changed(["segments", 1, "when"], {"dpd": {"min": 31}})
    assert ("segments[1]", "the last segment must be a catch-all (no 'when')") in problems(doc)


def test_all_problems_are_reported_together():
    doc = changed(["arms", 1, "share"], 1.5)
    doc["ladders"]["soft"]["steps"][0]["channel"] = "fax"
    found = {p for p, _ in problems(doc)}
    assert {"arms[1].share", "ladders.soft.steps[0].channel"} <= found


def test_unreachable_and_overlapping_segments_and_unused_ladders_warn():
    doc = copy.deepcopy(BASE)
    doc["segments"] = [
        {"name": "a", "when": {"dpd": {"min": 1, "max": 30}}, "ladder": "soft"},
        {"name": "b", "when": {"dpd": {"min": 5, "max": 10}}, "ladder": "soft"},
        {"name": "c", "when": {"dpd": {"min": 20, "max": 60}}, "ladder": "soft"},
        {"name": "d", "when": {"dpd": {"min": 61}, "amount_tier": "big"}, "ladder": "soft"},
        {"name": "rest", "ladder": "soft"},
        {"name": "after", "when": {"bucket": "M3"}, "ladder": "soft"},
    ]
    doc["ladders"]["spare"] = copy.deepcopy(doc["ladders"]["soft"])
    s = parse_strategy(doc)
    text = "\n".join(s.warnings)
    assert "segments[1]: unreachable" in text and "segments[0] ('a')" in text
    assert "segments[2]: overlaps segments[0]" in text
    assert "segments[3]" not in text  # disjoint DPD from a/b/c
    assert "segments[5]: unreachable" in text  # after the catch-all
    assert "ladders.spare: no segment or arm uses this ladder" in text


def test_two_pre_due_steps_on_one_day_warn():
    doc = copy.deepcopy(BASE)
    doc["ladders"]["soft"]["steps"] += [
        {"name": "a", "offset": -3, "channel": "sms", "template": "x"},
        {"name": "b", "offset": -3, "channel": "email", "template": "y"},
    ]
    (warning,) = parse_strategy(doc).warnings
    assert warning.startswith("ladders.soft: several steps at offset -3")


def test_yaml_and_toml_give_the_same_strategy(tmp_path):
    toml_path = default_strategy_path()
    yaml_path = tmp_path / "s.yaml"
    document = read_document(toml_path)
    yaml_path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    a, b = load_strategy(toml_path), load_strategy(yaml_path)
    assert a.fingerprint == b.fingerprint
    assert (a.segments, a.ladders, a.arms) == (b.segments, b.ladders, b.arms)


def test_unparsable_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(StrategyError, match=r"bad\.toml: <document>: cannot parse"):
        load_strategy(bad)


def test_workspace_file_wins_over_the_default(tmp_path):
    assert load_strategy(None, tmp_path).source == str(default_strategy_path())
    (tmp_path / "strategies.toml").write_text(
        default_strategy_path().read_text().replace("version = 1", "version = 7")
    )
    assert load_strategy(None, tmp_path).version == 7


def test_default_strategy_is_valid_and_warning_free():
    s = load_strategy()
    assert s.warnings == ()
    channels = {st.channel for lad in s.ladders.values() for st in lad.steps}
    assert channels >= {"sms", "email", "push", "call", "letter", "lawyer_letter", "visit",
                        "agency", "litigation"}  # fmt: skip
    assert any(a.holdout for a in s.arms)
