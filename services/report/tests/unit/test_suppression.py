"""Suppression, checked as an attacker would: for every hidden entry, solve for it (integer
programming, scipy) from everything shown, and require more than one feasible value. This
check is written from the rules ("<3" is 1 or 2, "x" at least 3, the declared totals add up),
not from suppression.py's network."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from jejaring.report.model import Label, PartnerTiming, Table
from jejaring.report.suppression import ShownTable, shown, timing_shown, trend_shown

BIG = 10_000


def label(code: str) -> Label:
    return Label(code, code, code)


def table(cells: list[list[int]], *, row_totals: bool = True, column_totals: bool = True) -> Table:
    return Table(
        key="t",
        title=label("t"),
        unit=label("korban"),
        rows=tuple(label(f"r{i}") for i in range(len(cells))),
        columns=tuple(label(f"c{j}") for j in range(len(cells[0]))),
        cells=tuple(tuple(row) for row in cells),
        row_totals=row_totals,
        column_totals=column_totals,
    )


def attacker_ranges(view: ShownTable) -> dict[str, tuple[float, float]]:
    """Every hidden entry's smallest and largest value consistent with what `view` shows."""
    t = view.table
    n, m = len(t.rows), len(t.columns)
    names: list[str] = []
    lower: list[float] = []
    upper: list[float] = []

    def variable(name: str, text: str) -> tuple[int | None, float]:
        """(index of the unknown, or None; the known value, or 0). A hidden cell is at least
        3, a hidden total at least 1 (a total of 0 is shown)."""
        if text == "<3":
            low, high = 1, 2
        elif text == "x":
            low, high = (3 if name.startswith("cell") else 1), BIG
        else:
            return None, int(text)
        names.append(name)
        lower.append(low)
        upper.append(high)
        return len(names) - 1, 0

    cells = {
        (i, j): variable(f"cell {i},{j}", view.cells[i][j]) for i in range(n) for j in range(m)
    }
    sums: list[tuple[list[tuple[int, int]], tuple[int | None, float]]] = []
    if view.row_totals is not None:
        for i in range(n):
            sums.append(([(i, j) for j in range(m)], variable(f"row {i}", view.row_totals[i])))
    if view.column_totals is not None:
        for j in range(m):
            sums.append(
                ([(i, j) for i in range(n)], variable(f"column {j}", view.column_totals[j]))
            )
    if view.grand_total is not None:
        every = list(itertools.product(range(n), range(m)))
        sums.append((every, variable("grand", view.grand_total)))
    if not names:
        return {}
    rows, rhs = [], []
    for members, (total_index, total_value) in sums:
        coefficients = np.zeros(len(names))
        constant = 0.0
        for cell in members:
            index, value = cells[cell]
            if index is None:
                constant += value
            else:
                coefficients[index] += 1
        if total_index is None:
            target = total_value - constant
        else:
            coefficients[total_index] -= 1
            target = -constant
        rows.append(coefficients)
        rhs.append(target)
    constraints = [LinearConstraint(np.array(rows), rhs, rhs)] if rows else []
    bounds = Bounds(lower, upper)
    ranges = {}
    for k, name in enumerate(names):
        objective = np.zeros(len(names))
        objective[k] = 1
        low = milp(
            objective, constraints=constraints, bounds=bounds, integrality=np.ones(len(names))
        )
        high = milp(
            -objective, constraints=constraints, bounds=bounds, integrality=np.ones(len(names))
        )
        assert low.success and high.success, f"{name}: the shown table is infeasible"
        ranges[name] = (round(low.fun), round(-high.fun))
    return ranges


def assert_protected(t: Table) -> ShownTable:
    view = shown(t)
    every = [*itertools.chain.from_iterable(view.cells)]
    every += [*(view.row_totals or ()), *(view.column_totals or ()), view.grand_total or "0"]
    assert not {"1", "2"} & set(every), view
    pairs = [(view.grand_total, t.grand_total())]
    for i, text in enumerate(view.row_totals or ()):
        pairs.append((text, t.row_total(i)))
    for j, text in enumerate(view.column_totals or ()):
        pairs.append((text, t.column_total(j)))
    for text, value in pairs:
        assert text in (None, "x", "<3", str(value))
    for name, (low, high) in attacker_ranges(view).items():
        assert low < high, f"{name} of {t.cells} is {low} for certain: {view}"
    for i, j in itertools.product(range(len(t.rows)), range(len(t.columns))):
        text, value = view.cells[i][j], t.cells[i][j]
        assert text == {"<3": text, "x": text}.get(text, str(value))
        if text == "<3":
            assert value in (1, 2)
        if text == "x":
            assert value >= 3
    return view


def test_a_table_without_small_numbers_is_shown_as_it_is() -> None:
    view = assert_protected(table([[5, 7], [3, 0]]))
    assert view.cells == (("5", "7"), ("3", "0"))
    assert view.row_totals == ("12", "3")
    assert view.column_totals == ("8", "7")
    assert view.grand_total == "15"


def test_one_small_cell_alone_in_its_row_and_column_hides_three_more() -> None:
    view = assert_protected(table([[1, 4, 9], [6, 5, 8], [7, 12, 10]]))
    assert view.cells[0][0] == "<3"
    hidden = sum(text == "x" for text in itertools.chain(*view.cells))
    assert hidden == 3
    # the smallest cells give the room: 4, 6 and 5, not 9, 12 or 10
    assert view.cells[0][1] == view.cells[1][0] == view.cells[1][1] == "x"


def test_small_cells_in_a_two_by_two_pattern_protect_each_other() -> None:
    view = assert_protected(table([[1, 2, 9], [2, 1, 8], [7, 12, 10]]))
    assert "x" not in itertools.chain(*view.cells)


def test_an_all_small_table() -> None:
    assert_protected(table([[1, 2], [2, 1]]))
    assert_protected(table([[1]]))
    assert_protected(table([[2, 1, 1]]))


def test_small_totals() -> None:
    view = assert_protected(table([[1, 0], [0, 5]]))
    assert view.grand_total == "x"  # else 6 - 5 gives the "<3" away
    assert_protected(table([[1, 0, 0], [0, 0, 0], [0, 0, 4]]))
    assert_protected(table([[0, 1], [0, 1], [3, 4]]))


def test_tables_with_one_kind_of_total() -> None:
    assert_protected(table([[1, 4, 9], [6, 5, 8]], row_totals=False))
    assert_protected(table([[1, 4, 9], [6, 5, 8]], column_totals=False))
    view = shown(table([[1, 4], [6, 5]], row_totals=False, column_totals=False))
    assert view.cells == (("<3", "4"), ("6", "5"))
    assert view.grand_total is None


@st.composite
def tables(draw: st.DrawFn) -> Table:
    n = draw(st.integers(1, 5))
    m = draw(st.integers(1, 5))
    value = st.one_of(st.integers(0, 2), st.integers(0, 15))
    cells = draw(st.lists(st.lists(value, min_size=m, max_size=m), min_size=n, max_size=n))
    return table(cells, row_totals=draw(st.booleans()), column_totals=draw(st.booleans()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_no_hidden_entry_can_be_worked_out(t: Table) -> None:
    assert_protected(t)


def test_the_trend_shows_only_small_numbers_hidden() -> None:
    view = trend_shown(table([[1, 4], [0, 2]], row_totals=False, column_totals=False))
    assert view.cells == (("<3", "4"), ("0", "<3"))
    assert view.row_totals is None and view.grand_total is None


@pytest.mark.parametrize(
    ("accepted", "received", "median_shown", "overdue_shown"),
    [(2, 5, False, True), (3, 2, True, False), (3, 3, True, True), (0, None, False, False)],
)
def test_timings_over_few_referrals_are_not_shown(
    accepted: int, received: int | None, median_shown: bool, overdue_shown: bool
) -> None:
    timing = PartnerTiming(label("p"), accepted, 30.0, 50.0, 20.0, received=received)
    view = timing_shown(timing)
    assert (view.median_minutes is not None, view.p90_minutes is not None) == (median_shown,) * 2
    assert (view.overdue_percent is not None) == overdue_shown
    assert view.accepted == ("<3" if accepted in (1, 2) else str(accepted))
