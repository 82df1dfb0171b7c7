"""The embedded engine's numpy API against an exact numpy search."""

import numpy as np
import pytest
from qdrant_client import models

import vicinity_db
from vicinity_db import BadInputError, Database, NotFoundError

N, DIM = 3000, 32


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(42)
    base = rng.standard_normal((N, DIM), dtype=np.float32)
    queries = rng.standard_normal((50, DIM), dtype=np.float32)
    payloads = [{"brand": f"b{i % 7}", "price": float(i % 100), "n": i} for i in range(N)]
    return base, queries, payloads


def exact_cosine(base, queries, k, mask=None):
    b = base / np.linalg.norm(base, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    scores = q @ b.T
    if mask is not None:
        scores[:, ~mask] = -np.inf
    ids = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return ids, np.take_along_axis(scores, ids, axis=1)


@pytest.fixture(scope="module")
def products(data):
    base, _, payloads = data
    db = Database()
    c = db.create_collection("products", DIM, "Cosine", full_scan_threshold=0)
    c.upsert(np.arange(N, dtype=np.uint64), base, payloads)
    c.finish_indexing()
    return c


def test_exact_search_matches_numpy(products, data):
    base, queries, _ = data
    ids, scores = products.search(queries, limit=10, exact=True)
    want_ids, want_scores = exact_cosine(base, queries, 10)
    assert ids.shape == (50, 10) and ids.dtype == np.int64 and scores.dtype == np.float32
    np.testing.assert_allclose(scores, want_scores, rtol=1e-4, atol=1e-5)
    assert (ids == want_ids).mean() > 0.99  # ties of float rounding aside


def test_graph_recall(products, data):
    base, queries, _ = data
    ids, _ = products.search(queries, limit=10, ef=64)
    want, _ = exact_cosine(base, queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, want)])
    assert recall >= 0.95, recall


def test_one_query_gives_1d_arrays(products, data):
    base, queries, _ = data
    ids, scores = products.search(queries[0].tolist(), limit=5)  # a list converts
    assert ids.shape == (5,) and scores.shape == (5,)
    assert np.all(np.diff(scores) <= 0)


def test_filters_as_dicts_and_client_models(products, data):
    base, queries, payloads = data
    mask = np.array([p["brand"] == "b3" for p in payloads])
    want, _ = exact_cosine(base, queries[:5], 10, mask)
    as_dict = {"must": [{"key": "brand", "match": {"value": "b3"}}]}
    as_model = models.Filter(
        must=[models.FieldCondition(key="brand", match=models.MatchValue(value="b3"))]
    )
    for f in (as_dict, as_model):
        ids, _ = products.search(queries[:5], limit=10, filter=f, exact=True)
        assert (ids == want).mean() > 0.99
        assert all(payloads[i]["brand"] == "b3" for i in ids.ravel())
    assert products.count(as_dict) == int(mask.sum())
    # fewer matches than the limit: padded with -1 and NaN
    few = {"must": [{"key": "n", "range": {"lt": 3}}]}
    ids, scores = products.search(queries[:2], limit=5, filter=few)
    assert sorted(ids[0][:3]) == [0, 1, 2]
    assert list(ids[0][3:]) == [-1, -1] and np.isnan(scores[0][3:]).all()


def test_payloads_delete_and_uuids():
    db = Database()
    c = db.create_collection("c", 3, "Dot")
    u = "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"
    c.upsert([1, u.upper()], np.array([[1, 0, 0], [0, 1, 0]]), [{"a": 1, "f": 1.0}, None])
    got = c.retrieve([u, 1, 99], with_vectors=True)
    assert [g["id"] for g in got] == [u, 1]
    assert got[0]["payload"] == {} and got[1]["payload"] == {"a": 1, "f": 1.0}
    assert isinstance(got[1]["payload"]["a"], int) and isinstance(got[1]["payload"]["f"], float)
    np.testing.assert_array_equal(got[1]["vector"], [1, 0, 0])
    ids, scores = c.search(np.array([[0, 1, 0]], dtype=np.float32), limit=2)
    assert ids.dtype == object and list(ids[0]) == [u, 1]
    c.delete([1])
    assert len(c) == 1
    c.delete(filter={"must": [{"has_id": [u]}]})
    assert len(c) == 0


def test_reopen_from_a_folder(tmp_path, data):
    base, queries, payloads = data
    with Database(tmp_path) as db:
        c = db.create_collection("kept", DIM, "Euclid")
        c.upsert(range(500), base[:500], payloads[:500])
        c.create_payload_index("brand", "keyword")
        before = c.search(queries[:3], limit=5, exact=True)
    db = Database(tmp_path)
    c = db.collection("kept")
    assert len(c) == 500
    after = c.search(queries[:3], limit=5, exact=True)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_allclose(before[1], after[1])
    assert c.retrieve([7])[0]["payload"] == payloads[7]
    db.close()


def test_errors_carry_qdrants_messages(tmp_path):
    db = Database()
    c = db.create_collection("c", 4)
    with pytest.raises(BadInputError, match="Vector dimension error: expected dim: 4, got 3"):
        c.upsert([1], np.zeros((1, 3), dtype=np.float32))
    with pytest.raises(BadInputError, match="expected dim: 4, got 2"):
        c.search(np.zeros(2, dtype=np.float32))
    with pytest.raises(NotFoundError, match="Collection `nope` doesn't exist!"):
        db.collection("nope")
    with pytest.raises(BadInputError, match="filter"):
        c.search(np.ones(4), filter={"must": [{"key": "a", "range": {"gt": "x"}}]})
    with pytest.raises(BadInputError):
        c.upsert([-1], np.ones((1, 4)))
    with pytest.raises(vicinity_db.AlreadyExistsError):
        db.create_collection("c", 4)
    with pytest.raises(BadInputError, match="2 ids and 1 vectors"):
        c.upsert([1, 2], np.ones((1, 4)))
    # a second process-wide open of the same folder is refused
    first = Database(tmp_path)
    with pytest.raises(vicinity_db.VicinityError):
        Database(tmp_path)
    first.close()
    Database(tmp_path).close()
