"""The pytest plugin of yunxin_ecp, registered through the ``pytest11`` entry point.

It provides one fixture, ``yunxin_mock``: a fresh ``yunxin_ecp.testing.MockServer`` for each
test, stopped when the test ends.
"""

from typing import Iterator

import pytest

from .testing import MockServer

__all__ = ["yunxin_mock"]


@pytest.fixture
def yunxin_mock() -> Iterator[MockServer]:
    """A running mock ECP server with the sample app; stopped after the test."""
    with MockServer() as server:
        yield server
