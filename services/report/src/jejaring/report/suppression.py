"""Small-number suppression: what a table shows once it leaves the coordinator.

Primary: a count of 1 or 2 is shown as "<3" (0 stays "0"). Secondary: an entry is hidden as
"x" (a count of at least 3) wherever a "<3" could otherwise be worked out from what is shown.

The attacker knows every shown number, the declared totals that are shown, that "<3" is 1 or 2,
that "x" is at least 3 and that counts are never negative. The table is a circulation in a
small network: source -> row i (the row's total) -> column j (cell i,j) -> sink (the column's
total) -> source (the grand total). Each edge has the bounds the attacker knows: a shown value
fixes it, "<3" is [1, 2], "x" is [3, inf), an undeclared total is [0, inf). That constraint
matrix is totally unimodular, so a hidden entry can take another value iff some cycle through
it in the residual network (by the true values) can carry one unit: a hidden entry is safe iff
such a cycle exists. Where none does, the cheapest cycle is opened by hiding shown entries
(a shortest path, a cell costing its value so the smallest cells go first, a total costing more
than any cell), until every hidden entry is safe. A hidden cell ("x") is at least 3; a hidden
total ("x") is only known to be at least 1: a total of 1 or 2 must itself be hidden where its
"<3" would give its cells away (a row "<3" with two "<3" cells: both are 1).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

from jejaring.report.model import Label, PartnerTiming, Table

SMALL = "<3"
HIDDEN = "x"
THRESHOLD = 3
INF = float("inf")
TOTAL_COST = 1_000_000  # hiding a total costs more than hiding any cell


@dataclass(frozen=True)
class ShownTable:
    """A table as it is shown: every cell and total a string ("12", "0", "<3", "x")."""

    table: Table
    cells: tuple[tuple[str, ...], ...]
    row_totals: tuple[str, ...] | None
    column_totals: tuple[str, ...] | None
    grand_total: str | None

    @property
    def key(self) -> str:
        return self.table.key


@dataclass(frozen=True)
class ShownTiming:
    """A partner's timing as shown: None where fewer than 3 referrals lie behind a figure."""

    partner: Label
    accepted: str
    median_minutes: float | None
    p90_minutes: float | None
    overdue_percent: float | None


def primary(value: int) -> str:
    return SMALL if 0 < value < THRESHOLD else str(value)


def has_grand_total(table: Table) -> bool:
    """The grand total is shown where it is the sum of a declared total row or column."""
    return table.row_totals or table.column_totals


# An entry of the network: ("cell", i, j), ("row", i), ("column", j) or ("grand",).
Entry = tuple[object, ...]
SOURCE, SINK = "source", "sink"


def _ends(entry: Entry) -> tuple[object, object]:
    match entry:
        case ("cell", i, j):
            return ("r", i), ("c", j)
        case ("row", i):
            return SOURCE, ("r", i)
        case ("column", j):
            return ("c", j), SINK
        case _:
            return SINK, SOURCE


class _Network:
    def __init__(self, table: Table) -> None:
        self.value: dict[Entry, int] = {}
        self.shown: dict[Entry, str] = {}
        self.declared: set[Entry] = set()
        rows, columns = range(len(table.rows)), range(len(table.columns))
        for i, j in itertools.product(rows, columns):
            self._add(("cell", i, j), table.cells[i][j], declared=True)
        for i in rows:
            self._add(("row", i), table.row_total(i), declared=table.row_totals)
        for j in columns:
            self._add(("column", j), table.column_total(j), declared=table.column_totals)
        self._add(("grand",), table.grand_total(), declared=has_grand_total(table))

    def _add(self, entry: Entry, value: int, *, declared: bool) -> None:
        self.value[entry] = value
        if declared:
            self.declared.add(entry)
            self.shown[entry] = primary(value)

    def bounds(self, entry: Entry) -> tuple[float, float]:
        if entry not in self.declared:
            return 0, INF
        shown = self.shown[entry]
        if shown == SMALL:
            return 1, THRESHOLD - 1
        if shown == HIDDEN:
            return _hidden_low(entry), INF
        return self.value[entry], self.value[entry]

    def hidden(self) -> list[Entry]:
        return [e for e in self.declared if self.shown[e] in (SMALL, HIDDEN)]

    def openable(self, entry: Entry) -> bool:
        """A shown cell of 3 or more, or a shown total other than 0 (a "<3" total too)."""
        if entry not in self.declared:
            return False
        closed = (SMALL, HIDDEN, "0") if entry[0] == "cell" else (HIDDEN, "0")
        return self.shown[entry] not in closed

    def arcs(self, *, opening: bool) -> list[tuple[object, object, Entry, int]]:
        """Residual arcs (from, to, entry, cost): one unit more or less on an entry. With
        `opening`, also those of shown entries, at the cost of hiding them."""
        arcs = []
        for entry, value in self.value.items():
            low, high = self.bounds(entry)
            cost = 0
            if opening and self.openable(entry):
                low, high = _hidden_low(entry), INF
                cost = value if entry[0] == "cell" else TOTAL_COST + value
            elif low == high:
                continue
            tail, head = _ends(entry)
            if value + 1 <= high:
                arcs.append((tail, head, entry, cost))
            if value - 1 >= low:
                arcs.append((head, tail, entry, cost))
        return arcs

    def cycle(self, entry: Entry, *, opening: bool) -> list[Entry] | None:
        """The cheapest cycle through `entry` that moves it by one unit: the entries on it."""
        low, high = self.bounds(entry)
        value = self.value[entry]
        tail, head = _ends(entry)
        arcs = [arc for arc in self.arcs(opening=opening) if arc[2] != entry]
        best: list[Entry] | None = None
        best_cost = INF
        for start, goal, possible in (
            (head, tail, value + 1 <= high),
            (tail, head, value - 1 >= low),
        ):
            if not possible:
                continue
            found = _shortest(arcs, start, goal)
            if found is not None and found[0] < best_cost:
                best_cost, best = found[0], found[1]
        return best

    def hide(self, entry: Entry) -> None:
        self.shown[entry] = HIDDEN


def _hidden_low(entry: Entry) -> int:
    """What "x" tells: a hidden cell is at least 3; a hidden total (which may also hide a total
    of 1 or 2 that would give its cells away) at least 1, as a total of 0 is never hidden."""
    return THRESHOLD if entry[0] == "cell" else 1


def _shortest(
    arcs: list[tuple[object, object, Entry, int]], start: object, goal: object
) -> tuple[float, list[Entry]] | None:
    """Dijkstra from start to goal: its cost and the entries on the path."""
    out: dict[object, list[tuple[object, Entry, int]]] = {}
    for tail, head, entry, arc_cost in arcs:
        out.setdefault(tail, []).append((head, entry, arc_cost))
    queue: list[tuple[float, int, object]] = [(0, 0, start)]
    came: dict[object, tuple[object, Entry] | None] = {start: None}
    done: set[object] = set()
    distance: dict[object, float] = {start: 0}
    counter = itertools.count(1)
    while queue:
        cost, _, node = heapq.heappop(queue)
        if node in done:
            continue
        done.add(node)
        if node == goal:
            path: list[Entry] = []
            step = came[node]
            while step is not None:
                path.append(step[1])
                step = came[step[0]]
            return cost, path
        for head, entry, arc_cost in out.get(node, ()):
            new = cost + arc_cost
            if head not in done and new < distance.get(head, INF):
                distance[head] = new
                came[head] = (node, entry)
                heapq.heappush(queue, (new, next(counter), head))
    return None


def shown(table: Table) -> ShownTable:
    """`table` with every 1-2 shown as "<3" and enough entries hidden as "x" that no hidden
    entry can be worked out from what is shown."""
    network = _Network(table)
    while unsafe := sorted(
        (e for e in network.hidden() if network.cycle(e, opening=False) is None), key=str
    ):
        path = network.cycle(unsafe[0], opening=True)
        if path is None:  # nothing left to open: hide every shown entry above zero
            for entry in list(network.declared):
                if network.openable(entry):
                    network.hide(entry)
            break
        for entry in path:
            if network.openable(entry):
                network.hide(entry)
    rows, columns = range(len(table.rows)), range(len(table.columns))
    return ShownTable(
        table=table,
        cells=tuple(tuple(network.shown["cell", i, j] for j in columns) for i in rows),
        row_totals=tuple(network.shown["row", i] for i in rows) if table.row_totals else None,
        column_totals=(
            tuple(network.shown["column", j] for j in columns) if table.column_totals else None
        ),
        grand_total=network.shown["grand",] if has_grand_total(table) else None,
    )


def exact(table: Table) -> ShownTable:
    """`table` as the coordinator sees it: every number as it is."""
    rows, columns = range(len(table.rows)), range(len(table.columns))
    return ShownTable(
        table=table,
        cells=tuple(tuple(str(table.cells[i][j]) for j in columns) for i in rows),
        row_totals=tuple(str(table.row_total(i)) for i in rows) if table.row_totals else None,
        column_totals=(
            tuple(str(table.column_total(j)) for j in columns) if table.column_totals else None
        ),
        grand_total=str(table.grand_total()) if has_grand_total(table) else None,
    )


def trend_shown(table: Table) -> ShownTable:
    """The trend has no totals: only "<3"."""
    rows, columns = range(len(table.rows)), range(len(table.columns))
    return ShownTable(
        table=table,
        cells=tuple(tuple(primary(table.cells[i][j]) for j in columns) for i in rows),
        row_totals=None,
        column_totals=None,
        grand_total=None,
    )


def timing_shown(timing: PartnerTiming) -> ShownTiming:
    """A median or 90th percentile over fewer than 3 acceptances, an overdue share over fewer
    than 3 received referrals: not shown."""
    few_accepted = timing.accepted < THRESHOLD
    few_received = timing.received is None or timing.received < THRESHOLD
    return ShownTiming(
        partner=timing.partner,
        accepted=primary(timing.accepted),
        median_minutes=None if few_accepted else timing.median_minutes,
        p90_minutes=None if few_accepted else timing.p90_minutes,
        overdue_percent=None if few_received else timing.overdue_percent,
    )


def timing_exact(timing: PartnerTiming) -> ShownTiming:
    return ShownTiming(
        partner=timing.partner,
        accepted=str(timing.accepted),
        median_minutes=timing.median_minutes,
        p90_minutes=timing.p90_minutes,
        overdue_percent=timing.overdue_percent,
    )
