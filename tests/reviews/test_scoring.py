"""Scoring rules and grades (pure arithmetic)."""

from decimal import Decimal as D

import pytest

from reviews import scoring


def test_linear_from_floor_to_target_capped():
    assert scoring.score_linear(D(50), floor=D(0), target=D(100)) == D(50)
    assert scoring.score_linear(D(150), floor=D(0), target=D(100)) == D(100)  # capped
    assert scoring.score_linear(D(-5), floor=D(0), target=D(100)) == D(0)
    # Lower is better: the floor (worst acceptable) lies above the target.
    assert scoring.score_linear(D("0.10"), floor=D("0.20"), target=D("0.05")) == pytest.approx(
        D("66.6667"), abs=D("0.001")
    )
    assert scoring.score_linear(D("0.02"), floor=D("0.20"), target=D("0.05")) == D(100)
    assert scoring.score_linear(None, floor=D(0), target=D(1)) is None


def test_thresholds_in_the_kpis_direction():
    steps = [[60, 40], [30, 70], [20, 85], [15, 100]]
    assert scoring.score_thresholds(D(25), thresholds=steps, lower_is_better=True) == D(70)
    assert scoring.score_thresholds(D(12), thresholds=steps, lower_is_better=True) == D(100)
    assert scoring.score_thresholds(D(90), thresholds=steps, lower_is_better=True) == D(0)
    higher = [[100, 50], [200, 100]]
    assert scoring.score_thresholds(D(150), thresholds=higher, lower_is_better=False) == D(50)


def test_rank_within_the_team():
    assert [scoring.score_rank(r, of=5) for r in (1, 3, 5)] == [D(100), D(50), D(0)]
    assert scoring.score_rank(1, of=1) == D(100)
    assert scoring.score_rank(None, of=4) is None


def test_ratings_weighted_between_raters_missing_ones_left_out():
    weights = {"manager": D("0.7"), "self": D("0.3"), "peer": D(0)}
    # Manager 5 (100), self 3 (50): 0.7 × 100 + 0.3 × 50 = 85.
    assert scoring.score_rating({"manager": [5], "self": [3]}, weights) == D(85)
    assert scoring.score_rating({"self": [4]}, weights) == D(75)  # only the self rating yet
    assert scoring.score_rating({"peer": [5, 3]}, weights | {"peer": D("0.2")}) == D(75)  # peers averaged
    assert scoring.score_rating({}, weights) is None


def test_weights_and_grades():
    assert scoring.weighted([(D(100), D("0.8")), (D(50), D("0.15")), (D(0), D("0.05"))]) == D("87.5")
    assert scoring.weighted([(None, D("0.5")), (D(60), D("0.5"))]) == D(60)
    assert [scoring.grade_for(D(x)) for x in (95, 90, 85, 72, 60, 59.99)] == ["S", "S", "A", "B", "C", "D"]
    assert scoring.grade_for(None) == ""


def test_a_pending_item_empties_its_dimension_and_the_total_an_excluded_one_is_carried():
    weights = {1: D("0.8"), 2: D("0.2")}
    parts = [scoring.Part(1, D(90), D("0.5")), scoring.Part(1, None, D("0.5"), pending=True),
             scoring.Part(2, D(100), D(1))]  # fmt: skip
    # Before: the pending item was left out and the total came from the rest (92).
    assert scoring.dimension_scores(parts) == {1: None, 2: D(100)}
    assert scoring.total_score(parts, weights) is None
    # Excluded (no score, not pending): the rest of the dimension carries its weight.
    excluded = [parts[0], scoring.Part(1, None, D("0.5")), parts[2]]
    assert scoring.dimension_scores(excluded) == {1: D(90), 2: D(100)}
    assert scoring.total_score(excluded, weights) == D(92)
    # A whole dimension excluded: the other dimensions carry the total.
    assert scoring.total_score([scoring.Part(1, None, D(1)), parts[2]], weights) == D(100)
