"""The pytest plugin of ``vicinity-db``, registered on install.

Fixtures:

- ``vicinity_server`` (session): a :class:`vicinity_db.Server` in memory on
  free ports, for the whole test session;
- ``qdrant_client`` (function): an official ``QdrantClient`` on that
  server over REST, after every collection of earlier tests is deleted.
  Run a module over gRPC with ``@pytest.mark.parametrize(
  "vicinity_prefer_grpc", [True])`` or by overriding the
  ``vicinity_prefer_grpc`` fixture.

An existing Qdrant test suite runs against Vicinity by taking its client
from ``qdrant_client`` instead of ``QdrantClient("http://localhost:6333")``.
"""

from typing import Iterator

import pytest

from . import Server


@pytest.fixture(scope="session")
def vicinity_server() -> Iterator[Server]:
    """A Vicinity server in memory on free ports, for the session."""
    with Server() as server:
        yield server


@pytest.fixture
def vicinity_prefer_grpc() -> bool:
    """Whether ``qdrant_client`` speaks gRPC (REST by default)."""
    return False


@pytest.fixture
def qdrant_client(vicinity_server: Server, vicinity_prefer_grpc: bool):
    """An official QdrantClient on a clean ``vicinity_server``."""
    vicinity_server.reset()
    client = vicinity_server.client(prefer_grpc=vicinity_prefer_grpc)
    try:
        yield client
    finally:
        client.close()
