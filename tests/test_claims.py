"""A lesson's claims: strict under tests, shown in a learner's session, judged only where they were measured."""
import json

import pytest

from sslcourse import claims
from sslcourse.config import profile


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.delenv("SSLCOURSE_CLAIMS_LOG", raising=False)
    claims.set_context(profile=profile("quick", device="cpu", smoke=False), seed=0)
    yield
    claims._context.clear()


def test_a_claim_that_holds_passes_in_both_modes_with_its_margin(quick, monkeypatch, capsys):
    for mode in ("strict", "show"):
        monkeypatch.setenv("SSLCOURSE_CLAIMS", mode)
        claims.claim("the gain is at least 20 points", 0.27, ">=", 0.20, fmt="{:+.1%}")
        c = claims.made[-1]
        assert c.holds and c.judged and c.margin == pytest.approx(0.07)
        assert "✔ claim: the gain is at least 20 points — got +27.0% (expected ≥ +20.0%)" in capsys.readouterr().out


def test_a_result_described_in_words_shows_the_comparison_it_was_judged_on(quick, monkeypatch, capsys):
    """``got`` describes the result for the reader; the box also shows the number actually compared, so a ✔ never
    reads "got 25.0% of the pairs (expected < 0.03)"."""
    monkeypatch.setenv("SSLCOURSE_CLAIMS", "show")
    claims.claim("a quarter of the pairs", abs(0.25 - 0.25), "<", 0.03, fmt="{:.1%}", got="25.0% of the pairs")
    assert "— got 25.0% of the pairs (checked: 0.0% < 3.0%)" in capsys.readouterr().out
    claims.claim("a quarter of the pairs", abs(0.40 - 0.25), "<", 0.03, fmt="{:.1%}", got="40.0% of the pairs")
    out = capsys.readouterr().out
    assert "this run got:        40.0% of the pairs" in out and "checked:             15.0% < 3.0%" in out


def test_strict_mode_stops_with_the_sentence_what_was_expected_and_what_came(quick, monkeypatch):
    monkeypatch.setenv("SSLCOURSE_CLAIMS", "strict")
    with pytest.raises(claims.ClaimFailed, match="the lesson says “B beats A”, but this run does not show it: "
                                                 "expected < 0.3, got 0.4"):
        claims.claim("B beats A", 0.4, "<", 0.3)
    with pytest.raises(AssertionError, match="expected it to hold, got no"):
        claims.claim("a yes/no claim", False)


def test_show_mode_draws_a_box_and_goes_on(quick, monkeypatch, capsys):
    monkeypatch.setenv("SSLCOURSE_CLAIMS", "show")
    claims.claim("SimCLR leads", 0.10, ">", 0.15, fmt="{:.0%}")
    c = claims.made[-1]
    out = capsys.readouterr().out
    assert not c.holds and "✘ This run does not show what the lesson says" in out
    assert "“SimCLR leads”" in out and "expected: > 15%" in out and "this run got:        10%" in out
    assert "the lesson goes on" in out and "c0392b" in c._repr_html_()


def test_the_margin_is_positive_on_the_side_that_holds():
    claims.set_context(profile=profile("quick", device="cpu", smoke=False))
    try:
        margins = []
        for args in (("x", 3, ">", 1), ("x", 1, "<", 3), ("x", 1, "<=", 1), ("x", True)):
            claims.claim(*args)
            margins.append((claims.made[-1].holds, claims.made[-1].margin))
        assert margins == [(True, 2), (True, 2), (True, 0), (True, None)]
    finally:
        claims._context.clear()


@pytest.mark.parametrize("settings,judged,why", [
    (dict(name="quick"), True, ""),
    (dict(name="gpu"), False, "measured in the quick profile; this run is gpu"),
    (dict(name="quick", dataset="folder"), False, "measured on shapes; this run uses folder"),
    (dict(name="quick", smoke=True), False, "smoke run"),
])
def test_a_claim_is_judged_only_where_it_was_measured(settings, judged, why, monkeypatch):
    monkeypatch.setenv("SSLCOURSE_CLAIMS", "strict")
    claims.set_context(profile=profile(settings["name"], dataset=settings.get("dataset"), device="cpu",
                                       smoke=settings.get("smoke", False)))
    try:
        if judged:
            with pytest.raises(claims.ClaimFailed):
                claims.claim("a quick-profile finding", 0.0, ">", 1.0)
        else:
            claims.claim("a quick-profile finding", 0.0, ">", 1.0)
            c = claims.made[-1]
            assert not c.judged and why in c.why_not_judged and "not judged" in c.text()
    finally:
        claims._context.clear()


def test_always_is_judged_even_in_smoke_runs_and_any_everywhere_but_smoke(monkeypatch):
    monkeypatch.setenv("SSLCOURSE_CLAIMS", "strict")
    claims.set_context(profile=profile("gpu", device="cpu", smoke=True))
    try:
        with pytest.raises(claims.ClaimFailed):
            claims.claim("an identity", 1.0, "<", 0.5, where="always")
        claims.claim("a trained result", 0.0, ">", 1.0, where="any")
        assert not claims.made[-1].judged
        claims.set_context(profile=profile("full", device="cpu", smoke=False))
        with pytest.raises(claims.ClaimFailed):
            claims.claim("a trained result", 0.0, ">", 1.0, where="any")
    finally:
        claims._context.clear()


def test_every_claim_is_logged_with_its_margin_for_the_seed_and_precision_table(quick, monkeypatch, tmp_path):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("SSLCOURSE_CLAIMS_LOG", str(log))
    monkeypatch.setenv("SSLCOURSE_LESSON", "04_simclr")
    claims.claim("SimCLR beats random init", 0.27, ">=", 0.2)
    row = json.loads(log.read_text().splitlines()[-1])
    assert row["lesson"] == "04_simclr" and row["margin"] == pytest.approx(0.07) and row["holds"]
    assert row["profile"] == "quick" and row["seed"] == 0 and row["precision"] in ("fp32", "bf16")


def test_a_wrong_mode_or_operator_is_a_clear_error(quick, monkeypatch):
    monkeypatch.setenv("SSLCOURSE_CLAIMS", "loud")
    with pytest.raises(ValueError, match="use strict .* or show"):
        claims.claim("x", 1, ">", 0)
    monkeypatch.setenv("SSLCOURSE_CLAIMS", "strict")
    with pytest.raises(ValueError, match="op must be one of"):
        claims.claim("x", 1, "=>", 0)
    with pytest.raises(TypeError, match="give the comparison"):
        claims.claim("x", 1, bound=0)
