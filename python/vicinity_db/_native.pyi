"""Type stubs of the native module ``vicinity_db._native``."""

from os import PathLike
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

Ids = Union[Sequence[Union[int, str]], npt.NDArray[np.integer]]
FilterLike = Union[Dict[str, Any], Any]

class VicinityError(Exception):
    """An error of the Vicinity engine or server, with Qdrant's message."""

class BadInputError(VicinityError):
    """The request is malformed or does not fit the collection."""

class NotFoundError(VicinityError):
    """A collection or point does not exist."""

class AlreadyExistsError(VicinityError):
    """A collection of that name exists already."""

class Server:
    """The server of ``vicinity serve`` inside this process."""

    def __init__(
        self,
        path: Optional[Union[str, PathLike[str]]] = None,
        *,
        host: str = "127.0.0.1",
        http_port: int = 0,
        grpc_port: int = 0,
        api_key: Optional[str] = None,
        read_only_api_key: Optional[str] = None,
        jwt_rbac: bool = False,
    ) -> None: ...
    @property
    def host(self) -> str: ...
    @property
    def http_port(self) -> int: ...
    @property
    def grpc_port(self) -> int: ...
    @property
    def running(self) -> bool: ...
    def reset(self) -> None:
        """Deletes every collection and alias."""
    def stop(self) -> None:
        """Stops serving and flushes a folder's database; idempotent."""

class Collection:
    """One collection: points with one vector each and a JSON payload."""

    @property
    def name(self) -> str: ...
    @property
    def dim(self) -> int: ...
    def __len__(self) -> int: ...
    def upsert(
        self,
        ids: Ids,
        vectors: npt.ArrayLike,
        payloads: Optional[Sequence[Optional[Dict[str, Any]]]] = None,
        *,
        wait: bool = True,
    ) -> None:
        """Inserts or replaces points; vectors of shape (len(ids), dim)."""
    def search(
        self,
        query: npt.ArrayLike,
        limit: int = 10,
        *,
        filter: Optional[FilterLike] = None,
        ef: Optional[int] = None,
        exact: bool = False,
        score_threshold: Optional[float] = None,
    ) -> Tuple[np.ndarray, npt.NDArray[np.float32]]:
        """(ids, scores): 1-D for one query, (n, limit) for a matrix."""
    def retrieve(
        self, ids: Ids, *, with_payload: bool = True, with_vectors: bool = False
    ) -> List[Dict[str, Any]]:
        """Points by id: dicts with id, payload and vector."""
    def delete(self, ids: Optional[Ids] = None, *, filter: Optional[FilterLike] = None) -> None:
        """Deletes points by id or by filter."""
    def count(self, filter: Optional[FilterLike] = None) -> int:
        """Points passing the filter (all without one)."""
    def create_payload_index(self, field: str, schema: str) -> None:
        """Indexes a payload key: keyword, integer, float, bool, datetime, uuid, geo, text."""
    def finish_indexing(self) -> None:
        """Waits until every point is in the HNSW graph."""
    def optimize(self) -> None:
        """Compacts deleted rows and renumbers rows for locality."""
    def info(self) -> Dict[str, Any]:
        """status, points_count, indexed_vectors_count, memory_bytes."""

class Database:
    """The engine: collections in memory, or durable in the folder ``path``."""

    def __init__(self, path: Optional[Union[str, PathLike[str]]] = None) -> None: ...
    def create_collection(
        self,
        name: str,
        dim: int,
        distance: str = "Cosine",
        *,
        m: Optional[int] = None,
        ef_construct: Optional[int] = None,
        full_scan_threshold: Optional[int] = None,
        on_disk: bool = False,
    ) -> Collection: ...
    def collection(self, name: str) -> Collection: ...
    def collection_exists(self, name: str) -> bool: ...
    def list_collections(self) -> List[str]: ...
    def delete_collection(self, name: str) -> bool: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Database": ...
    def __exit__(self, *exc: Any) -> bool: ...

def cli(args: List[str]) -> None:
    """Runs the ``vicinity`` command (program name first)."""

def version() -> str:
    """The engine's version."""
