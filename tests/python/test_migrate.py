"""The official client's own QdrantClient.migrate(), with Vicinity's server
as the destination and as the source, against the client's local mode."""

import pytest
from qdrant_client import QdrantClient, models


@pytest.fixture
def remote(client):
    """The `client` fixture (each protocol) with no migration left over."""
    for col in client.get_collections().collections:
        if col.name.startswith("mig_"):
            client.delete_collection(col.name)
    return client


def fill(client, name):
    client.create_collection(
        name,
        vectors_config={
            "img": models.VectorParams(size=3, distance=models.Distance.DOT),
            "txt": models.VectorParams(size=2, distance=models.Distance.EUCLID),
        },
    )
    client.upsert(
        name,
        points=[
            models.PointStruct(
                id=i,
                vector={"img": [i * 0.5, 1.0, -1.0], "txt": [float(i), 2.0]},
                payload={"brand": f"b{i % 3}", "n": i, "tags": ["x", i]},
            )
            for i in range(1, 251)
        ],
    )


def everything(client, name):
    points, offset = [], None
    while True:
        page, offset = client.scroll(name, limit=100, offset=offset, with_vectors=True)
        points += page
        if offset is None:
            return {p.id: (p.payload, p.vector) for p in points}


def test_migrate_from_local_mode_to_vicinity_and_back(remote):
    local = QdrantClient(":memory:")
    fill(local, "mig_products")
    local.migrate(remote, collection_names=["mig_products"], batch_size=64)
    assert remote.count("mig_products").count == 250
    assert everything(remote, "mig_products") == everything(local, "mig_products")
    info = remote.get_collection("mig_products")
    assert info.config.params.vectors["img"].distance == models.Distance.DOT
    # (local mode keeps no payload indexes, so there are none to copy)
    # a collision is refused unless asked to recreate
    with pytest.raises(ValueError):
        local.migrate(remote, collection_names=["mig_products"])
    # and back, into a fresh local client (this collection only: others on
    # the shared server have payload indexes, which local mode warns about)
    back = QdrantClient(":memory:")
    remote.migrate(back, collection_names=["mig_products"], batch_size=100)
    assert everything(back, "mig_products") == everything(local, "mig_products")
