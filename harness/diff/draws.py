"""Drawing choices for the program generators: cached strategies, a choice among options
that shrinks towards the first, and the loop over a program's operations.

Choices are integer indexes into option tuples listed simplest first, so Hypothesis's shrinker
(which makes integers smaller) moves every choice towards the plainest program.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import TypeVar

from hypothesis import strategies as st

MAX_OPS = 24  # operations per program, before the queries

T = TypeVar("T")
Avoid = frozenset[tuple[str, object]]  # what the target cannot run: not to draw (see search)


@functools.cache
def _integers(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


def pick(draw: st.DrawFn, options: Sequence[T]) -> T:
    return options[draw(_integers(0, len(options) - 1))]


def integer(draw: st.DrawFn, low: int, high: int) -> int:
    return draw(_integers(low, high))


_BOOLEANS = st.booleans()


def operations(draw: st.DrawFn, most: int) -> Iterator[None]:
    """Loop over a program's operations: at least one, at most `most`.

    Before each operation after the first, one draw says whether to go on (15 in 16: a mean
    near 16 operations). So an operation is a block of choices of its own, which Hypothesis's
    shrinker deletes whole, and shrinking that draw to 0 ends the program there; a count drawn
    up front would tie every operation to it.
    """
    for done in range(most):
        if done and not integer(draw, 0, 15):
            return
        yield None


def mostly(draw: st.DrawFn) -> bool:
    """True three times in four; shrinks to True (the usual case)."""
    return integer(draw, 0, 3) != 3


def boolean(draw: st.DrawFn) -> bool:
    return draw(_BOOLEANS)
