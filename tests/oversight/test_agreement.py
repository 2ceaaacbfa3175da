"""Percent agreement and Cohen's kappa on tables whose values are known (issue 14, scope 3)."""
from __future__ import annotations

import pytest

from app.domain.agreement import agreement, cohen_kappa, contingency, kappa_from_table


def pairs_from(table, categories):
    return [(categories[r], categories[c]) for r, row in enumerate(table) for c, n in enumerate(row)
            for _ in range(n)]


def test_two_by_two_textbook_table():
    # 50 items: both yes 20, first yes / second no 5, first no / second yes 10, both no 15.
    # p_o = 35/50 = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.2 / 0.5 = 0.4
    table = [[20, 5], [10, 15]]
    assert kappa_from_table(table) == pytest.approx(0.4)
    result = agreement(pairs_from(table, ["yes", "no"]))
    assert (result.pairs, result.agreed, result.percent) == (50, 35, 70.0)
    assert result.kappa == pytest.approx(0.4)


def test_three_categories():
    # rows: rater A, columns: rater B, 100 items.
    table = [[25, 3, 2], [4, 30, 6], [1, 5, 24]]
    # p_o = 79/100; row shares .30 .40 .30; column shares .30 .38 .32
    # p_e = .30*.30 + .40*.38 + .30*.32 = .09 + .152 + .096 = .338; kappa = (.79 - .338) / .662
    assert kappa_from_table(table) == pytest.approx((0.79 - 0.338) / 0.662)
    assert cohen_kappa(pairs_from(table, ["met", "not-met", "not-applicable"])) == pytest.approx(0.6828, abs=1e-4)


def test_perfect_agreement_and_agreement_worse_than_chance():
    assert kappa_from_table([[10, 0], [0, 10]]) == pytest.approx(1.0)
    assert kappa_from_table([[0, 10], [10, 0]]) == pytest.approx(-1.0)


def test_kappa_is_undefined_where_chance_explains_everything():
    assert kappa_from_table([[12]]) is None  # one category used by both raters for every item
    assert cohen_kappa([("met", "met")] * 7) is None
    assert agreement([]).kappa is None and agreement([]).percent is None
    assert kappa_from_table([[0, 0], [0, 0]]) is None


def test_contingency_in_a_given_order_and_refuses_unknown_categories():
    order, table = contingency([("approved", "referred"), ("approved", "approved")],
                               ["approved", "denied", "referred"])
    assert order == ["approved", "denied", "referred"]
    assert table == [[1, 0, 1], [0, 0, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="categories"):
        contingency([("approved", "maybe")], ["approved"])
    with pytest.raises(ValueError, match="square"):
        kappa_from_table([[1, 2]])
