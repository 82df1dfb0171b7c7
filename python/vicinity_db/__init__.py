"""Vicinity: a vector index with Qdrant's semantics and protocols.

- :class:`Server` runs Qdrant's REST API and gRPC protocol inside this
  process (``server.client()`` gives the official ``QdrantClient``);
- :class:`Database` and :class:`Collection` are the engine itself, with
  numpy arrays in and out;
- the pytest plugin (``vicinity_server`` and ``qdrant_client`` fixtures)
  is registered when the package is installed.

The distribution is ``vicinity-db``; the import name ``vicinity_db``
(``import vicinity_db as vicinity`` reads as the examples do).
"""

from __future__ import annotations

from typing import Any, Optional

from . import _native
from ._native import (
    AlreadyExistsError,
    BadInputError,
    Collection,
    Database,
    NotFoundError,
    VicinityError,
)

__version__: str = _native.version()

__all__ = [
    "AlreadyExistsError",
    "BadInputError",
    "Collection",
    "Database",
    "NotFoundError",
    "Server",
    "VicinityError",
    "__version__",
]


class Server:
    """Vicinity's server in this process: Qdrant's REST API (``http_port``)
    and gRPC protocol (``grpc_port``) over one database, served on
    background threads (the GIL is not held while it serves).

    ``path=None`` keeps collections in memory; a folder makes them durable.
    Ports default to free ones. ``jwt_rbac=True`` also accepts JWTs signed
    with ``api_key`` (Qdrant's role-based access). Use it as a context manager, or call
    :meth:`stop`::

        with vicinity_db.Server() as server:
            client = server.client()           # REST; prefer_grpc=True for gRPC
            client.create_collection(...)
    """

    def __init__(
        self,
        path: Optional[str] = None,
        *,
        host: str = "127.0.0.1",
        http_port: int = 0,
        grpc_port: int = 0,
        api_key: Optional[str] = None,
        read_only_api_key: Optional[str] = None,
        jwt_rbac: bool = False,
    ) -> None:
        self._server = _native.Server(
            None if path is None else str(path),
            host=host,
            http_port=http_port,
            grpc_port=grpc_port,
            api_key=api_key,
            read_only_api_key=read_only_api_key,
            jwt_rbac=jwt_rbac,
        )
        self.api_key = api_key

    @property
    def host(self) -> str:
        """The address both ports listen on."""
        return self._server.host

    @property
    def http_port(self) -> int:
        """The REST port."""
        return self._server.http_port

    @property
    def grpc_port(self) -> int:
        """The gRPC port."""
        return self._server.grpc_port

    @property
    def url(self) -> str:
        """The REST URL, as ``QdrantClient(url=...)`` takes it."""
        return f"http://{self.host}:{self.http_port}"

    @property
    def running(self) -> bool:
        """Whether the server still serves."""
        return self._server.running

    def client(self, *, prefer_grpc: bool = False, **kwargs: Any) -> Any:
        """An official ``qdrant_client.QdrantClient`` for this server: REST
        by default, gRPC with ``prefer_grpc=True``; the server's API key
        unless ``api_key`` is given; other keyword arguments go to the
        client."""
        import warnings

        from qdrant_client import QdrantClient

        if self.api_key is not None:
            kwargs.setdefault("api_key", self.api_key)
            kwargs.setdefault("https", False)
        with warnings.catch_warnings():
            # the key goes in plain text to a server in this very process
            warnings.filterwarnings("ignore", message="Api key is used with an insecure connection")
            return QdrantClient(
                host=self.host,
                port=self.http_port,
                grpc_port=self.grpc_port,
                prefer_grpc=prefer_grpc,
                **kwargs,
            )

    def reset(self) -> None:
        """Deletes every collection and alias (a clean state, no restart)."""
        self._server.reset()

    def stop(self) -> None:
        """Stops serving and flushes a folder's database; idempotent.

        A ``QdrantClient`` checks the server's version on a thread of its
        own when it is made; those checks are let finish first, so that a
        client made just before ``stop`` does not warn that the server
        went away."""
        import threading

        for t in threading.enumerate():
            if "_check_compatibility" in t.name and t is not threading.current_thread():
                t.join(timeout=5)
        self._server.stop()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<vicinity_db.Server {self.url} grpc={self.grpc_port} {state}>"
