"""The in-process server with the official client, over REST and gRPC,
through the package's own pytest fixtures."""

import json
import os
import subprocess
import sys
import uuid

import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

import vicinity_db


@pytest.fixture(params=[False, True], ids=["rest", "grpc"])
def vicinity_prefer_grpc(request):
    return request.param


def products(client, name="products"):
    client.create_collection(
        name, vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
    )
    brands = ["acme", "bolt", "acme", "core", "bolt"]
    client.upsert(
        name,
        points=[
            models.PointStruct(
                id=i + 1,
                vector=[1.0, i * 0.1, 0.0, 0.5],
                payload={"brand": b, "price": 10 * (i + 1)},
            )
            for i, b in enumerate(brands)
        ],
    )


def test_crud_and_filtered_query(qdrant_client):
    products(qdrant_client)
    assert qdrant_client.count("products").count == 5
    acme = models.Filter(
        must=[models.FieldCondition(key="brand", match=models.MatchValue(value="acme"))]
    )
    hits = qdrant_client.query_points(
        "products", query=[1.0, 0.0, 0.0, 0.5], query_filter=acme, limit=10, with_payload=True
    ).points
    assert sorted(h.id for h in hits) == [1, 3]
    assert all(h.payload["brand"] == "acme" for h in hits)
    assert hits[0].id == 1 and hits[0].score == pytest.approx(1.0, abs=1e-5)
    # payload updates, scroll, delete
    qdrant_client.set_payload("products", payload={"sale": True}, points=[2])
    (p,) = qdrant_client.retrieve("products", ids=[2])
    assert p.payload == {"brand": "bolt", "price": 20, "sale": True}
    page, nxt = qdrant_client.scroll("products", limit=3)
    assert [r.id for r in page] == [1, 2, 3] and nxt == 4
    qdrant_client.delete("products", points_selector=models.PointIdsList(points=[1, 3]))
    assert qdrant_client.count("products", count_filter=acme).count == 0
    assert qdrant_client.count("products").count == 3


def test_each_test_starts_clean(qdrant_client):
    # test_crud_and_filtered_query made "products" on the same server
    assert qdrant_client.get_collections().collections == []


def message(e):
    """The server's message in either protocol's exception."""
    if isinstance(e, UnexpectedResponse):
        return json.loads(e.content)["status"]["error"]
    return e.details()


def test_errors_are_qdrants(qdrant_client, vicinity_prefer_grpc):
    products(qdrant_client)
    with pytest.raises(Exception) as e:
        qdrant_client.query_points("nope", query=[1.0, 0, 0, 0])
    assert message(e.value) == "Not found: Collection `nope` doesn't exist!"
    with pytest.raises(Exception) as e:
        qdrant_client.upsert("products", points=[models.PointStruct(id=9, vector=[1.0, 2.0])])
    assert "Vector dimension error: expected dim: 4, got 2" in message(e.value)
    if not vicinity_prefer_grpc:
        assert e.value.status_code == 400


def test_rest_and_grpc_share_the_state(vicinity_server):
    vicinity_server.reset()
    rest = vicinity_server.client()
    grpc = vicinity_server.client(prefer_grpc=True)
    products(rest, "shared")
    assert grpc.count("shared").count == 5
    grpc.upsert("shared", points=[models.PointStruct(id=str(uuid.UUID(int=7)), vector=[0, 1, 0, 0])])
    assert rest.count("shared").count == 6
    rest.close()
    grpc.close()


def test_two_servers_at_once_and_api_keys():
    with vicinity_db.Server() as a, vicinity_db.Server(api_key="s3cret") as b:
        assert a.http_port != b.http_port
        products(a.client(), "only_in_a")
        keyed = b.client()
        assert keyed.get_collections().collections == []
        assert [c.name for c in a.client().get_collections().collections] == ["only_in_a"]
        anonymous = QdrantClient(url=b.url)
        with pytest.raises(UnexpectedResponse) as e:
            anonymous.get_collections()
        assert e.value.status_code == 401
    assert not a.running and not b.running


def _token(claims, secret):
    """An HS256 JWT, signed here with the standard library."""
    import base64
    import hashlib
    import hmac

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


@pytest.mark.parametrize("grpc", [False, True], ids=["rest", "grpc"])
def test_jwt_tokens_limit_what_a_client_sees(grpc):
    import grpc as grpc_lib

    with vicinity_db.Server(api_key="s3cret", jwt_rbac=True) as s:
        admin = s.client()
        products(admin, "shop_a")
        products(admin, "shop_b")
        limited = _token({"access": [{"collection": "shop_a", "access": "r"}]}, "s3cret")
        c = s.client(prefer_grpc=grpc, api_key=limited)
        assert [x.name for x in c.get_collections().collections] == ["shop_a"]
        assert len(c.query_points("shop_a", query=[1, 0, 0, 0.5], limit=3).points) == 3
        with pytest.raises((UnexpectedResponse, grpc_lib.RpcError)) as e:
            c.count("shop_b")
        assert "Access to collection shop_b is required" in str(e.value)
        with pytest.raises((UnexpectedResponse, grpc_lib.RpcError)) as e:
            c.upsert("shop_a", points=[models.PointStruct(id=9, vector=[1, 0, 0, 0])])
        assert "Write access to collection shop_a is required" in str(e.value)
        c.close()


def test_a_folder_survives_a_restart(tmp_path):
    with vicinity_db.Server(tmp_path) as s:
        products(s.client(), "kept")
    with vicinity_db.Server(tmp_path) as s:
        assert s.client().count("kept").count == 5


def test_the_vicinity_command_is_installed():
    bindir = os.path.dirname(sys.executable)
    out = subprocess.run(
        [os.path.join(bindir, "vicinity"), "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"vicinity {vicinity_db.__version__}"
    out = subprocess.run(
        [sys.executable, "-m", "vicinity_db", "serve", "--nonsense"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "--nonsense" in out.stderr
