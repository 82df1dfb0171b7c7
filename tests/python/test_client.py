"""The official Python client (qdrant-client 1.20.0) against `vicinity
serve --memory`, started on free ports for the session. Every test that
takes `client` runs twice: over gRPC (prefer_grpc=True) and over REST
(the client's default), with the same assertions.

Run through tests/python/run.sh (or tests/run-all.sh), which makes the venv
and says which binary to use ($VICINITY_BIN).
"""

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
import warnings

import pytest
from qdrant_client import QdrantClient, models


def _refused(client, call):
    """Runs a call that must fail; returns (code, message) in the
    protocol's terms: the gRPC status name, or the HTTP status."""
    import grpc
    from qdrant_client.http.exceptions import UnexpectedResponse

    try:
        call()
    except grpc.RpcError as e:
        return e.code().name, e.details()
    except UnexpectedResponse as e:
        return e.status_code, e.content.decode()
    raise AssertionError("the call succeeded")


def test_connect_prints_no_warning(server):
    # The version check runs in a daemon thread over REST `GET /`: give it
    # time to finish, in a process of its own, and read what it printed.
    script = textwrap.dedent(
        f"""
        import time
        from qdrant_client import QdrantClient
        for grpc in (True, False):
            c = QdrantClient(host="127.0.0.1", port={server['http']}, grpc_port={server['grpc']}, prefer_grpc=grpc)
            print(c.get_collections())
            print(c.info())
        # the tutorials' first line
        c = QdrantClient(url="http://127.0.0.1:{server['http']}")
        print(c.get_collections())
        time.sleep(2)
        """
    )
    r = subprocess.run(
        [sys.executable, "-W", "always", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert "Warning" not in r.stderr, r.stderr
    assert "version" in r.stdout


def test_collections(client):
    params = models.VectorParams(size=4, distance=models.Distance.COSINE)
    client.create_collection("py_a", vectors_config=params)
    assert client.collection_exists("py_a")
    assert not client.collection_exists("py_missing")
    client.upsert("py_a", points=[models.PointStruct(id=1, vector=[1.0, 0.0, 0.0, 0.0])])
    # recreate (deprecated in the client, still used): delete and create again
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client.recreate_collection(
            "py_a",
            vectors_config=models.VectorParams(size=8, distance=models.Distance.DOT),
            hnsw_config=models.HnswConfigDiff(m=8, ef_construct=50),
        )
    info = client.get_collection("py_a")
    assert info.status == models.CollectionStatus.GREEN
    assert info.points_count == 0
    assert info.config.params.vectors.size == 8
    assert info.config.params.vectors.distance == models.Distance.DOT
    assert info.config.hnsw_config.m == 8
    assert info.config.optimizer_config.deleted_threshold == 0.2
    assert info.config.wal_config.wal_capacity_mb == 32
    names = [c.name for c in client.get_collections().collections]
    assert "py_a" in names
    with pytest.raises(Exception) as e:
        client.create_collection("py_a", vectors_config=params)
    assert "already exists" in str(e.value)
    client.delete_collection("py_a")
    assert not client.collection_exists("py_a")


def test_points(client):
    name = "py_points"
    client.create_collection(
        name, vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE)
    )
    u = uuid.UUID("5c56c793-69f3-4fbf-87e6-c4bf54c28c26")
    client.upsert(
        name,
        points=[
            models.PointStruct(id=1, vector=[1.0, 0.0, 0.0], payload={"n": 1, "f": 1.0, "tag": "a"}),
            models.PointStruct(id=2, vector=[0.0, 1.0, 0.0], payload={"n": 2, "tag": "b"}),
            models.PointStruct(id=str(u).upper(), vector=[0.0, 0.0, 1.0], payload={"n": 3}),
        ],
        wait=True,
    )
    # upload_points from two processes, as users load data
    client.upload_points(
        name,
        points=[
            models.PointStruct(id=i, vector=[1.0, i / 100.0, 0.5], payload={"n": i})
            for i in range(100, 400)
        ],
        parallel=2,
        batch_size=64,
        wait=True,
    )
    assert client.count(name, exact=True).count == 303

    got = client.retrieve(name, ids=[1, str(u)], with_vectors=True)
    assert [p.id for p in got] == [1, str(u)]
    assert got[0].payload == {"n": 1, "f": 1.0, "tag": "a"}
    assert isinstance(got[0].payload["n"], int) and isinstance(got[0].payload["f"], float)
    assert len(got[0].vector) == 3

    # scroll through everything in pages of 50
    seen, offset = [], None
    while True:
        page, offset = client.scroll(name, limit=50, offset=offset)
        seen.extend(p.id for p in page)
        if offset is None:
            break
    assert len(seen) == 303
    assert seen[:2] == [1, 2] and seen[-1] == str(u)

    hits = client.query_points(name, query=[1.0, 0.0, 0.0], limit=3, with_payload=True).points
    assert hits[0].id == 1
    assert abs(hits[0].score - 1.0) < 1e-6
    assert hits[0].payload["tag"] == "a"
    by_id = client.query_points(name, query=2, limit=2).points
    assert all(h.id != 2 for h in by_id)

    client.set_payload(name, payload={"color": "red"}, points=[1, 2], wait=True)
    client.overwrite_payload(name, payload={"only": True}, points=[2], wait=True)
    client.delete_payload(name, keys=["tag"], points=[1], wait=True)
    client.clear_payload(name, points_selector=[str(u)], wait=True)
    p1, p2, p3 = client.retrieve(name, ids=[1, 2, str(u)])
    assert p1.payload == {"n": 1, "f": 1.0, "color": "red"}
    assert p2.payload == {"only": True}
    assert p3.payload == {}

    client.delete(name, points_selector=models.PointIdsList(points=[1, 2]), wait=True)
    assert client.count(name).count == 301
    assert client.retrieve(name, ids=[1, 2]) == []

    # filters, with and without a payload index: the same answers
    big = models.Filter(must=[models.FieldCondition(key="n", range=models.Range(gte=300))])
    def filtered():
        hits = client.query_points(name, query=[1.0, 0.5, 0.5], query_filter=big, limit=500).points
        assert hits and all(h.id >= 300 for h in hits if isinstance(h.id, int))
        return sorted(h.id for h in hits), client.count(name, count_filter=big, exact=True).count
    before = filtered()
    assert before[1] == 100
    client.create_payload_index(name, field_name="n", field_schema=models.PayloadSchemaType.INTEGER, wait=True)
    assert client.get_collection(name).payload_schema["n"].data_type == models.PayloadSchemaType.INTEGER
    assert filtered() == before
    # delete by filter
    client.delete(name, points_selector=models.FilterSelector(filter=big), wait=True)
    assert client.count(name, count_filter=big, exact=True).count == 0
    assert client.count(name).count == 201

    client.delete_collection(name)
    assert not client.collection_exists(name)


def test_errors_keep_their_codes(client):
    code, msg = _refused(client, lambda: client.get_collection("py_nope"))
    assert code in ("NOT_FOUND", 404), code
    assert "doesn't exist" in msg
    client.create_collection(
        "py_err", vectors_config=models.VectorParams(size=2, distance=models.Distance.EUCLID)
    )
    code, msg = _refused(
        client,
        lambda: client.upsert("py_err", points=[models.PointStruct(id=1, vector=[1.0, 2.0, 3.0])]),
    )
    assert code in ("INVALID_ARGUMENT", 400), code
    assert "dimension" in msg
    client.delete_collection("py_err")


def _start(args):
    binary = os.environ.get("VICINITY_BIN", "target/debug/vicinity")
    proc = subprocess.Popen(
        [binary, "serve", *args, "--grpc-port", "0", "--http-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = [proc.stdout.readline() for _ in range(3)]
    grpc_port = int(next(l for l in lines if "gRPC on" in l).rsplit(":", 1)[1])
    return proc, grpc_port


def test_durable_storage_survives_a_restart_and_sigint_stops_cleanly(tmp_path):
    proc, port = _start(["--storage", str(tmp_path)])
    c = QdrantClient(host="127.0.0.1", grpc_port=port, prefer_grpc=True, check_compatibility=False)
    c.create_collection("keep", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    c.upsert("keep", points=[models.PointStruct(id=i, vector=[1.0, float(i)], payload={"i": i}) for i in range(50)], wait=True)
    c.create_payload_index("keep", field_name="i", field_schema=models.PayloadSchemaType.INTEGER, wait=True)
    c.close()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    assert "shutting down" in out
    # a new process on the same folder sees everything
    proc, port = _start(["--storage", str(tmp_path)])
    try:
        c = QdrantClient(host="127.0.0.1", grpc_port=port, prefer_grpc=True, check_compatibility=False)
        assert c.count("keep", exact=True).count == 50
        assert c.retrieve("keep", ids=[7])[0].payload == {"i": 7}
        hits = c.query_points("keep", query=[0.0, 1.0], limit=1).points
        assert hits[0].id == 49
        c.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


# The universal query, checked against scores computed here (dot product
# on a few 2-D points, so every score is a plain sum).
QPOINTS = {
    1: ([1.0, 0.1], "a"),
    2: ([0.2, 1.0], "b"),
    3: ([0.9, 0.8], "a"),
    4: ([-0.7, 0.4], "b"),
    5: ([0.6, -0.9], 1),
    6: ([1.7, 0.3], 1),
    7: ([-0.2, -0.6], -2),
    8: ([0.4, 0.45], "a"),
}


def _dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def _sigmoid(x):
    return 0.5 * (x / (1.0 + abs(x)) + 1.0)


def _check(what, hits, expected, limit):
    """`hits` are a best-first top `limit` of `expected` (id -> score)."""
    assert len(hits) == min(limit, len(expected)), (what, hits)
    scores = [h.score for h in hits]
    assert all(a >= b - 1e-4 for a, b in zip(scores, scores[1:])), (what, scores)
    for h in hits:
        assert h.id in expected, (what, h.id)
        assert abs(h.score - expected[h.id]) < 1e-4, (what, h.id, h.score, expected[h.id])
    seen = {h.id for h in hits}
    if hits:
        for i, s in expected.items():
            if i not in seen:
                assert s <= hits[-1].score + 1e-4, (what, i, s)


@pytest.fixture()
def qcoll(client):
    name = "py_query"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    client.upsert(
        name,
        points=[
            models.PointStruct(id=i, vector=v, payload={"g": g}) for i, (v, g) in QPOINTS.items()
        ],
        wait=True,
    )
    return name


def _recommend_expected(strategy):
    pos = [QPOINTS[1][0], [0.5, 0.5]]
    neg = [QPOINTS[2][0]]
    cands = {i: v for i, (v, _) in QPOINTS.items() if i not in (1, 2)}
    if strategy == models.RecommendStrategy.AVERAGE_VECTOR:
        p = [sum(c) / len(pos) for c in zip(*pos)]
        n = [sum(c) / len(neg) for c in zip(*neg)]
        q = [2 * a - b for a, b in zip(p, n)]
        return {i: _dot(q, v) for i, v in cands.items()}
    if strategy == models.RecommendStrategy.BEST_SCORE:
        out = {}
        for i, v in cands.items():
            bp = max(_dot(p, v) for p in pos)
            bn = max(_dot(n, v) for n in neg)
            out[i] = _sigmoid(bp) if bp > bn else -_sigmoid(bn)
        return out
    return {
        i: sum(_dot(p, v) for p in pos) - sum(_dot(n, v) for n in neg) for i, v in cands.items()
    }


def test_recommend_query_all_strategies(client, qcoll):
    for strategy in models.RecommendStrategy:
        res = client.query_points(
            qcoll,
            query=models.RecommendQuery(
                recommend=models.RecommendInput(
                    positive=[1, [0.5, 0.5]], negative=[2], strategy=strategy
                )
            ),
            limit=4,
        )
        _check(strategy, res.points, _recommend_expected(strategy), 4)


def test_discover_query(client, qcoll):
    target = [1.0, 0.0]
    p, n = QPOINTS[3][0], QPOINTS[4][0]
    expected = {
        i: (1.0 if _dot(v, p) > _dot(v, n) else -1.0) + _sigmoid(_dot(v, target))
        for i, (v, _) in QPOINTS.items()
        if i not in (3, 4)
    }
    res = client.query_points(
        qcoll,
        query=models.DiscoverQuery(
            discover=models.DiscoverInput(
                target=target, context=[models.ContextPair(positive=3, negative=4)]
            )
        ),
        limit=10,
    )
    _check("discover", res.points, expected, 10)


def _nearest_list(q, limit):
    return sorted(
        ((i, _dot(q, v)) for i, (v, _) in QPOINTS.items()), key=lambda x: -x[1]
    )[:limit]


def test_prefetch_fusion(client, qcoll):
    a, b = [1.0, 0.0], [0.0, 1.0]
    lists = [_nearest_list(a, 4), _nearest_list(b, 4)]
    prefetch = [models.Prefetch(query=a, limit=4), models.Prefetch(query=b, limit=4)]

    rrf = {}
    for lst in lists:
        for rank, (i, _) in enumerate(lst):
            rrf[i] = rrf.get(i, 0.0) + 1.0 / (2 + rank)
    res = client.query_points(
        qcoll, prefetch=prefetch, query=models.FusionQuery(fusion=models.Fusion.RRF), limit=10
    )
    _check("rrf", res.points, rrf, 10)

    # Qdrant's normalisation: mean +- 3 sample standard deviations, not
    # clamped to [0, 1]
    dbsf = {}
    for lst in lists:
        scores = [s for _, s in lst]
        mean = sum(scores) / len(scores)
        sd = (sum((s - mean) ** 2 for s in scores) / (len(scores) - 1)) ** 0.5
        lo, hi = mean - 3 * sd, mean + 3 * sd
        for i, s in lst:
            dbsf[i] = dbsf.get(i, 0.0) + (s - lo) / (hi - lo)
    res = client.query_points(
        qcoll, prefetch=prefetch, query=models.FusionQuery(fusion=models.Fusion.DBSF), limit=10
    )
    _check("dbsf", res.points, dbsf, 10)


def test_query_batch(client, qcoll):
    res = client.query_batch_points(
        qcoll,
        requests=[
            models.QueryRequest(query=[1.0, 0.0], limit=3),
            models.QueryRequest(
                query=models.RecommendQuery(
                    recommend=models.RecommendInput(
                        positive=[1, [0.5, 0.5]],
                        negative=[2],
                        strategy=models.RecommendStrategy.SUM_SCORES,
                    )
                ),
                limit=3,
            ),
        ],
    )
    assert len(res) == 2
    _check("nearest", res[0].points, {i: _dot([1.0, 0.0], v) for i, (v, _) in QPOINTS.items()}, 3)
    _check(
        "recommend", res[1].points, _recommend_expected(models.RecommendStrategy.SUM_SCORES), 3
    )


def test_query_groups(client, qcoll):
    q = [1.0, 0.0]
    groups, order = [], []
    for i, _ in _nearest_list(q, 8):
        g = QPOINTS[i][1]
        if g not in order:
            if len(order) == 4:
                continue
            order.append(g)
            groups.append((g, []))
        hits = groups[order.index(g)][1]
        if len(hits) < 2:
            hits.append(i)
    res = client.query_points_groups(qcoll, group_by="g", query=q, limit=4, group_size=2)
    got = [(g.id, [h.id for h in g.hits]) for g in res.groups]
    assert got == groups
    for g in res.groups:
        for h in g.hits:
            assert abs(h.score - _dot(q, QPOINTS[h.id][0])) < 1e-4


def test_query_groups_with_lookup(client, qcoll):
    # Group ids name points of another collection: the integer group 1 does
    # (as point 1); "a", "b" (not UUIDs) and -2 (negative) cannot.
    lookup = "py_group_info"
    if client.collection_exists(lookup):
        client.delete_collection(lookup)
    client.create_collection(
        lookup, vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE)
    )
    client.upsert(
        lookup,
        points=[
            models.PointStruct(id=1, vector=[0.0, 3.0, 4.0], payload={"title": "group one"}),
            models.PointStruct(id=2, vector=[1.0, 0.0, 0.0], payload={"title": "unused"}),
        ],
        wait=True,
    )
    q = [1.0, 0.0]
    res = client.query_points_groups(
        qcoll, group_by="g", query=q, limit=10, group_size=1, with_lookup=lookup
    )
    assert sorted(str(g.id) for g in res.groups) == ["-2", "1", "a", "b"]
    for g in res.groups:
        if g.id == 1:
            assert g.lookup is not None and g.lookup.id == 1
            assert g.lookup.payload == {"title": "group one"}
            assert g.lookup.vector is None
        else:
            assert g.lookup is None, g
        # the best hit of each group, scored independently
        best = max((_dot(q, v), i) for i, (v, gg) in QPOINTS.items() if gg == g.id)
        assert g.hits[0].id == best[1]
        assert abs(g.hits[0].score - best[0]) < 1e-4

    # with vectors, without payload; stored vectors are normalised (cosine)
    res = client.query_points_groups(
        qcoll,
        group_by="g",
        query=q,
        limit=10,
        group_size=1,
        with_lookup=models.WithLookup(collection=lookup, with_payload=False, with_vectors=True),
    )
    one = next(g for g in res.groups if g.id == 1)
    assert not one.lookup.payload
    assert one.lookup.vector == pytest.approx([0.0, 0.6, 0.8], abs=1e-6)

    code, msg = _refused(
        client,
        lambda: client.query_points_groups(
            qcoll, group_by="g", query=q, with_lookup="py_no_such_collection"
        ),
    )
    assert code in ("NOT_FOUND", 404), code
    assert "py_no_such_collection" in msg


def test_lookup_from_another_collection(client, qcoll):
    users = "py_users"
    if client.collection_exists(users):
        client.delete_collection(users)
    client.create_collection(
        users,
        vectors_config={"taste": models.VectorParams(size=2, distance=models.Distance.DOT)},
    )
    taste = {1: [0.3, -1.0], 2: [-0.5, 0.5]}
    client.upsert(
        users,
        points=[models.PointStruct(id=i, vector={"taste": v}) for i, v in taste.items()],
        wait=True,
    )
    res = client.query_points(
        qcoll,
        query=models.RecommendQuery(recommend=models.RecommendInput(positive=[1], negative=[2])),
        lookup_from=models.LookupLocation(collection=users, vector="taste"),
        limit=8,
    )
    # average vector: 2·pos − neg; id 1 and 2 of *this* collection stay in
    v = [2 * p - n for p, n in zip(taste[1], taste[2])]
    _check("lookup_from", res.points, {i: _dot(v, x) for i, (x, _) in QPOINTS.items()}, 8)


def test_search_matrix_pairs_and_offsets(client):
    import numpy as np

    name = "py_matrix"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name, vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
    )
    rng = np.random.default_rng(7)
    vecs = {i: rng.normal(size=4) for i in range(1, 13)}
    client.upsert(
        name,
        points=[
            models.PointStruct(id=i, vector=v.tolist(), payload={"odd": i % 2 == 1})
            for i, v in vecs.items()
        ],
        wait=True,
    )

    def expected(ids, limit):
        """Per sampled id, its `limit` most similar other sampled ids (cosine)."""
        m = np.stack([vecs[i] / np.linalg.norm(vecs[i]) for i in ids])
        sims = m @ m.T
        out = {}
        for r, a in enumerate(ids):
            order = [c for c in np.argsort(-sims[r], kind="stable") if c != r][:limit]
            out[a] = [(ids[c], float(sims[r, c])) for c in order]
        return out

    def check_rows(rows, want):
        assert sorted(rows) == sorted(want)
        for a, row in want.items():
            assert [b for b, _ in rows[a]] == [b for b, _ in row], (a, rows[a], row)
            for (_, got), (_, w) in zip(rows[a], row):
                assert abs(got - w) < 1e-4

    odd = models.Filter(must=[models.FieldCondition(key="odd", match=models.MatchValue(value=True))])
    odd_ids = [i for i in vecs if i % 2 == 1]

    # a sample larger than the matches takes them all
    res = client.search_matrix_pairs(name, query_filter=odd, sample=50, limit=2)
    rows = {}
    for p in res.pairs:
        rows.setdefault(p.a, []).append((p.b, p.score))
    assert [p.a for p in res.pairs] == sorted(p.a for p in res.pairs)
    check_rows(rows, expected(odd_ids, 2))

    res = client.search_matrix_offsets(name, query_filter=odd, sample=50, limit=2)
    assert res.ids == odd_ids
    rows = {}
    for r, c, s in zip(res.offsets_row, res.offsets_col, res.scores):
        rows.setdefault(res.ids[r], []).append((res.ids[c], s))
    check_rows(rows, expected(odd_ids, 2))

    # a real sample (default limit 3): neighbours only among the sampled
    res = client.search_matrix_offsets(name, sample=5)
    assert len(res.ids) == 5 and res.ids == sorted(res.ids)
    rows = {}
    for r, c, s in zip(res.offsets_row, res.offsets_col, res.scores):
        rows.setdefault(res.ids[r], []).append((res.ids[c], s))
    check_rows(rows, expected(res.ids, 3))

    # defaults: 10 samples of 3 neighbours
    assert len(client.search_matrix_pairs(name).pairs) == 30

    code, msg = _refused(client, lambda: client.search_matrix_pairs(name, sample=1))
    # Qdrant: a validation error, 422 over REST
    assert code in ("INVALID_ARGUMENT", 422), code
    assert "sample" in msg


def _shared_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("VICINITY_SHARED") or os.path.join(here, "..", "..", "..", "shared")


@pytest.mark.parametrize("cases", ["qdrant-local", "qdrant-probes"])
@pytest.mark.parametrize("protocol", ["grpc", "rest"])
def test_conformance_cases(server, protocol, cases):
    # The shared conformance runner, through the official client, as
    # `check.py CASES --port N [--rest]`: every case must agree.
    conformance = os.path.join(_shared_dir(), "conformance")
    assert os.path.isdir(conformance), f"no conformance cases at {conformance}: set VICINITY_SHARED"
    args = [sys.executable, os.path.join(conformance, "check.py"), os.path.join(conformance, cases)]
    if protocol == "rest":
        args += ["--rest", "--port", str(server["http"])]
    else:
        args += ["--port", str(server["grpc"])]
    r = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "(100.0%)" in r.stdout.strip().splitlines()[-1], r.stdout


def test_strict_mode(client):
    """Strict mode set and read back through the official client's models,
    refusals with Qdrant's words over both protocols, update lifts a limit."""
    name = "py_strict"
    client.create_collection(
        name,
        vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT),
        strict_mode_config=models.StrictModeConfig(
            enabled=True, max_query_limit=3, unindexed_filtering_retrieve=False
        ),
    )
    cfg = client.get_collection(name).config.strict_mode_config
    assert cfg.enabled is True and cfg.max_query_limit == 3
    assert cfg.unindexed_filtering_retrieve is False
    client.upsert(
        name,
        points=[models.PointStruct(id=i, vector=[1.0, float(i)], payload={"brand": "b"}) for i in range(5)],
        wait=True,
    )
    code, msg = _refused(client, lambda: client.query_points(name, query=[1.0, 0.0], limit=4))
    assert code in ("INVALID_ARGUMENT", 400), code
    assert 'Limit exceeded 4 > 3 for \\"limit\\"' in msg or 'Limit exceeded 4 > 3 for "limit"' in msg, msg
    brand = models.Filter(must=[models.FieldCondition(key="brand", match=models.MatchValue(value="b"))])
    code, msg = _refused(
        client, lambda: client.query_points(name, query=[1.0, 0.0], limit=3, query_filter=brand)
    )
    assert "Index required but not found for" in msg and "keyword" in msg, msg
    client.update_collection(name, strict_mode_config=models.StrictModeConfig(max_query_limit=10))
    assert len(client.query_points(name, query=[1.0, 0.0], limit=4).points) == 4
    assert client.get_collection(name).config.strict_mode_config.max_query_limit == 10
    client.delete_collection(name)


def test_strict_mode_vector_storage_counts_the_datatype(client):
    """max_collection_vector_size_bytes sizes a uint8 vector at a byte per
    value, as Qdrant sizes its storages: five 1,000-value points fit in
    10,000 bytes (as float32 they would not), and inserts stop once the
    storage reaches the limit, in Qdrant's words."""
    name = "py_strict_bytes"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config=models.VectorParams(size=1000, distance=models.Distance.DOT, datatype=models.Datatype.UINT8),
        strict_mode_config=models.StrictModeConfig(enabled=True, max_collection_vector_size_bytes=10_000),
    )
    for i in range(5):
        client.upsert(name, [models.PointStruct(id=i, vector=[1.0] * 1000)], wait=True)
    refused = None
    for i in range(5, 20):
        try:
            client.upsert(name, [models.PointStruct(id=i, vector=[1.0] * 1000)], wait=True)
        except Exception as e:  # the refusal, over either protocol
            refused = str(e)
            break
    assert refused is not None and "Max vector storage size limit" in refused, refused
    client.delete_collection(name)


def test_strict_mode_sparse_length(client):
    """strict_mode_config.sparse_config.<name>.max_length refuses longer
    sparse vectors on upsert and update_vectors, in Qdrant's words."""
    name = "py_strict_sparse"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config={},
        sparse_vectors_config={"text": models.SparseVectorParams()},
        strict_mode_config=models.StrictModeConfig(
            enabled=True,
            sparse_config={"text": models.StrictModeSparse(max_length=3)},
        ),
    )
    ok = models.SparseVector(indices=[1, 2, 3], values=[1.0, 1.0, 1.0])
    long = models.SparseVector(indices=[1, 2, 3, 4], values=[1.0] * 4)
    client.upsert(name, [models.PointStruct(id=1, vector={"text": ok})], wait=True)
    for call in (
        lambda: client.upsert(name, [models.PointStruct(id=2, vector={"text": long})], wait=True),
        lambda: client.update_vectors(
            name, [models.PointVectors(id=1, vector={"text": long})], wait=True
        ),
    ):
        code, msg = _refused(client, call)
        assert code in ("INVALID_ARGUMENT", 400), code
        assert "Sparse vector 'text' has a limit of 3 indices, but 4 were provided!" in msg, msg
    assert client.count(name).count == 1
    client.delete_collection(name)



def test_strict_mode_multivector_count(client):
    """strict_mode_config.multivector_config.<name>.max_vectors refuses
    larger matrices on upsert and update_vectors, in Qdrant's words."""
    name = "py_strict_multi"
    if client.collection_exists(name):
        client.delete_collection(name)
    multi = models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)
    client.create_collection(
        name,
        vectors_config={"m": models.VectorParams(size=2, distance=models.Distance.DOT, multivector_config=multi)},
        strict_mode_config=models.StrictModeConfig(
            enabled=True,
            multivector_config={"m": models.StrictModeMultivector(max_vectors=2)},
        ),
    )
    client.upsert(name, [models.PointStruct(id=1, vector={"m": [[1.0, 0.0], [0.0, 1.0]]})], wait=True)
    big = [[1.0, 0.0]] * 3
    for call in (
        lambda: client.upsert(name, [models.PointStruct(id=2, vector={"m": big})], wait=True),
        lambda: client.update_vectors(name, [models.PointVectors(id=1, vector={"m": big})], wait=True),
    ):
        code, msg = _refused(client, call)
        assert code in ("INVALID_ARGUMENT", 400), code
        assert "Multivector 'm' has a limit of 2 vectors, but 3 were provided!" in msg, msg
    assert client.count(name).count == 1
    client.delete_collection(name)

_DISTANCES = {
    "cos": models.Distance.COSINE,
    "dot": models.Distance.DOT,
    "euc": models.Distance.EUCLID,
    "man": models.Distance.MANHATTAN,
}


def _recreate(name, clients, **config):
    """The collection `name`, made afresh with `config` on each client (the
    server and local mode), for a differential test."""
    for c in clients:
        if c.collection_exists(name):
            c.delete_collection(name)
        c.create_collection(name, **config)


def _all_points(c, name):
    got, _ = c.scroll(name, limit=1000, with_payload=True, with_vectors=True)
    return {p.id: (p.payload, [round(x, 4) for x in p.vector]) for p in got}


def test_conditional_updates_match_local_mode(client):
    """update_filter and update_mode (upsert and update_vectors), on random
    points and random conditions, against the Python client's local mode:
    the same points end with the same payloads and vectors."""
    import random

    from qdrant_client import QdrantClient

    rng = random.Random(7)
    local = QdrantClient(":memory:")
    name = "py_conditional"
    _recreate(
        name, (client, local), vectors_config=models.VectorParams(size=3, distance=models.Distance.EUCLID)
    )

    def point(i):
        return models.PointStruct(
            id=i,
            vector=[rng.uniform(-1, 1) for _ in range(3)],
            payload={"v": rng.randint(0, 3), "tag": rng.choice(["a", "b"])},
        )

    first = [point(i) for i in range(0, 40, 2)]
    for c in (client, local):
        c.upsert(name, first, wait=True)
    modes = [None, *models.UpdateMode]
    for step in range(30):
        # distinct ids: with an id twice in one batch, local mode judges the
        # second against the first, Qdrant's server both against the
        # collection before the batch (as we do)
        batch = [point(i) for i in rng.sample(range(60), 8)]
        cond = rng.choice(
            [
                None,
                models.Filter(must=[models.FieldCondition(key="v", range=models.Range(gte=2))]),
                models.Filter(
                    must_not=[
                        models.FieldCondition(key="tag", match=models.MatchValue(value="a"))
                    ]
                ),
            ]
        )
        mode = rng.choice(modes)
        if step % 3 == 2 and cond is not None:
            existing = list(_all_points(local, name))
            vecs = [
                models.PointVectors(id=i, vector=[rng.uniform(-1, 1) for _ in range(3)])
                for i in rng.sample(existing, 5)
            ]
            for c in (client, local):
                c.update_vectors(name, vecs, update_filter=cond, wait=True)
        else:
            for c in (client, local):
                c.upsert(name, batch, update_filter=cond, update_mode=mode, wait=True)
        ours, theirs = _all_points(client, name), _all_points(local, name)
        assert ours == theirs, (step, mode, cond)
    local.close()


def test_scalar_quantization(client):
    """A collection with scalar int8 quantization: echoed as given, searched
    over the codes and rescored (exact scores), or with the codes ignored;
    product quantization and two-bit binary codes are refused as not served
    yet."""
    import random

    rng = random.Random(3)
    name = "py_quantized"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config=models.VectorParams(size=16, distance=models.Distance.COSINE),
        quantization_config=models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(
                type=models.ScalarType.INT8, quantile=0.99, always_ram=True
            )
        ),
        hnsw_config=models.HnswConfigDiff(full_scan_threshold=0),
    )
    info = client.get_collection(name)
    q = info.config.quantization_config
    assert q.scalar.type == models.ScalarType.INT8 and abs(q.scalar.quantile - 0.99) < 1e-6
    assert q.scalar.always_ram is True
    vectors = [[rng.gauss(0, 1) for _ in range(16)] for _ in range(2000)]
    client.upsert(
        name,
        [models.PointStruct(id=i, vector=v) for i, v in enumerate(vectors)],
        wait=True,
    )
    query = [rng.gauss(0, 1) for _ in range(16)]
    exact = client.query_points(
        name, query=query, limit=10, search_params=models.SearchParams(exact=True)
    ).points
    rescored = client.query_points(
        name,
        query=query,
        limit=10,
        search_params=models.SearchParams(
            hnsw_ef=128,
            quantization=models.QuantizationSearchParams(rescore=True, oversampling=3.0),
        ),
    ).points
    by_id = {p.id: p.score for p in exact}
    assert len({p.id for p in rescored} & set(by_id)) >= 8
    for p in rescored:
        if p.id in by_id:
            assert abs(p.score - by_id[p.id]) < 1e-5
    ignored = client.query_points(
        name,
        query=query,
        limit=10,
        search_params=models.SearchParams(
            hnsw_ef=128, quantization=models.QuantizationSearchParams(ignore=True)
        ),
    ).points
    assert len({p.id for p in ignored} & set(by_id)) >= 8
    # turbo quantization is not served yet: refused, not ignored
    with pytest.raises(Exception, match="quantization"):
        client.create_collection(
            name + "_refused",
            vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT),
            quantization_config=models.TurboQuantization(turbo=models.TurboQuantQuantizationConfig()),
        )


def test_product_quantization_and_binary_encodings(client):
    """Product quantization and the two-bit and one-and-a-half-bit binary
    encodings with scalar query encodings: echoed as given over both
    protocols; searches over the codes rescored on request (product) or by
    default (binary) return the vectors' exact scores and most of the
    exact neighbours; product codes' own scores (Qdrant's default for
    product) approximate the exact ones."""
    import random

    rng = random.Random(13)
    dim = 64
    basis = [[rng.gauss(0, 1) for _ in range(dim)] for _ in range(8)]

    def embed():
        z = [rng.gauss(0, 1) for _ in basis]
        return [sum(w * b[i] for w, b in zip(z, basis)) + rng.gauss(0, 0.5) for i in range(dim)]

    vectors = [embed() for _ in range(1500)]
    queries = [embed() for _ in range(8)]
    configs = [
        models.ProductQuantization(
            product=models.ProductQuantizationConfig(compression=models.CompressionRatio.X16, always_ram=True)
        ),
        models.BinaryQuantization(
            binary=models.BinaryQuantizationConfig(
                encoding=models.BinaryQuantizationEncoding.TWO_BITS,
                query_encoding=models.BinaryQuantizationQueryEncoding.SCALAR8BITS,
            )
        ),
        models.BinaryQuantization(
            binary=models.BinaryQuantizationConfig(
                encoding=models.BinaryQuantizationEncoding.ONE_AND_HALF_BITS,
                query_encoding=models.BinaryQuantizationQueryEncoding.SCALAR4BITS,
            )
        ),
    ]
    for i, config in enumerate(configs):
        name = f"py_codes_{i}"
        if client.collection_exists(name):
            client.delete_collection(name)
        client.create_collection(
            name,
            vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
            quantization_config=config,
            hnsw_config=models.HnswConfigDiff(full_scan_threshold=0),
        )
        assert client.get_collection(name).config.quantization_config == config
        client.upsert(name, [models.PointStruct(id=j, vector=v) for j, v in enumerate(vectors)], wait=True)
        product = isinstance(config, models.ProductQuantization)
        found = 0
        for query in queries:
            exact = client.query_points(
                name, query=query, limit=10, search_params=models.SearchParams(exact=True)
            ).points
            by_id = {p.id: p.score for p in exact}
            walked = client.query_points(
                name,
                query=query,
                limit=10,
                search_params=models.SearchParams(
                    hnsw_ef=128,
                    quantization=models.QuantizationSearchParams(
                        rescore=True if product else None, oversampling=4.0
                    ),
                ),
            ).points
            found += len({p.id for p in walked} & set(by_id))
            for p in walked:
                if p.id in by_id:
                    assert abs(p.score - by_id[p.id]) < 1e-5, (config, p)
            if product:
                # not rescored by default: the centroids' scores, close to
                # the exact ones
                raw = client.query_points(name, query=query, limit=1).points[0]
                assert abs(raw.score - exact[0].score) < 0.1, (raw, exact[0])
        assert found >= 70, (config, found)
        client.delete_collection(name)


def test_update_collection_changes_quantization(client):
    """update_collection switches quantization on, to another kind, per
    vector, and off, over both protocols: each change is echoed by
    get_collection, and searches keep returning the exact scores."""
    import random

    rng = random.Random(17)
    name = "py_requant"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config={
            "a": models.VectorParams(size=32, distance=models.Distance.COSINE),
            "b": models.VectorParams(size=16, distance=models.Distance.EUCLID),
        },
        hnsw_config=models.HnswConfigDiff(full_scan_threshold=0),
    )
    points = [
        models.PointStruct(
            id=i,
            vector={"a": [rng.gauss(0, 1) for _ in range(32)], "b": [rng.gauss(0, 1) for _ in range(16)]},
        )
        for i in range(600)
    ]
    client.upsert(name, points, wait=True)
    query = [rng.gauss(0, 1) for _ in range(32)]
    exact = client.query_points(
        name, query=query, using="a", limit=5, search_params=models.SearchParams(exact=True)
    ).points
    by_id = {p.id: p.score for p in exact}

    def check():
        got = client.query_points(
            name,
            query=query,
            using="a",
            limit=5,
            search_params=models.SearchParams(
                hnsw_ef=128, quantization=models.QuantizationSearchParams(rescore=True, oversampling=4.0)
            ),
        ).points
        assert len(got) == 5
        for p in got:
            if p.id in by_id:
                assert abs(p.score - by_id[p.id]) < 1e-5
        assert len({p.id for p in got} & set(by_id)) >= 3

    scalar = models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8))
    client.update_collection(name, quantization_config=scalar)
    assert client.get_collection(name).config.quantization_config == scalar
    check()
    product = models.ProductQuantization(
        product=models.ProductQuantizationConfig(compression=models.CompressionRatio.X8)
    )
    client.update_collection(name, quantization_config=product)
    assert client.get_collection(name).config.quantization_config == product
    check()
    binary = models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=True))
    client.update_collection(name, vectors_config={"a": models.VectorParamsDiff(quantization_config=binary)})
    config = client.get_collection(name).config
    assert config.params.vectors["a"].quantization_config == binary
    assert config.params.vectors["b"].quantization_config is None
    check()
    client.update_collection(name, quantization_config=models.Disabled.DISABLED)
    assert client.get_collection(name).config.quantization_config is None
    check()
    # HNSW changes are still refused, not ignored
    with pytest.raises(Exception, match="HNSW"):
        client.update_collection(name, hnsw_config=models.HnswConfigDiff(m=8))
    client.delete_collection(name)


def test_binary_quantization(client):
    """A collection with binary quantization (one bit per value): echoed as
    given; searches walk the codes and rescore with the vectors by default
    (Qdrant's default for binary), so the scores are the exact ones; with
    `rescore: false` the scores are the codes' (`dim - 2 * hamming`)."""
    import random

    rng = random.Random(9)
    name = "py_binary"
    dim = 128
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
        quantization_config=models.BinaryQuantization(
            binary=models.BinaryQuantizationConfig(
                always_ram=True,
                encoding=models.BinaryQuantizationEncoding.ONE_BIT,
                query_encoding=models.BinaryQuantizationQueryEncoding.DEFAULT,
            )
        ),
        hnsw_config=models.HnswConfigDiff(full_scan_threshold=0),
    )
    q = client.get_collection(name).config.quantization_config
    assert q.binary.always_ram is True
    assert q.binary.encoding == models.BinaryQuantizationEncoding.ONE_BIT
    assert q.binary.query_encoding == models.BinaryQuantizationQueryEncoding.DEFAULT
    # vectors with a low-dimensional structure, as embeddings have
    basis = [[rng.gauss(0, 1) for _ in range(dim)] for _ in range(8)]

    def embed():
        z = [rng.gauss(0, 1) for _ in basis]
        return [sum(w * b[i] for w, b in zip(z, basis)) + rng.gauss(0, 0.5) for i in range(dim)]

    client.upsert(
        name, [models.PointStruct(id=i, vector=embed()) for i in range(1500)], wait=True
    )
    found = 0
    for _ in range(10):
        query = embed()
        exact = client.query_points(
            name, query=query, limit=10, search_params=models.SearchParams(exact=True)
        ).points
        by_id = {p.id: p.score for p in exact}
        walked = client.query_points(
            name,
            query=query,
            limit=10,
            search_params=models.SearchParams(
                hnsw_ef=128, quantization=models.QuantizationSearchParams(oversampling=4.0)
            ),
        ).points
        found += len({p.id for p in walked} & set(by_id))
        # rescored by default: the exact scores
        for p in walked:
            if p.id in by_id:
                assert abs(p.score - by_id[p.id]) < 1e-5
        raw = client.query_points(
            name,
            query=query,
            limit=5,
            search_params=models.SearchParams(
                quantization=models.QuantizationSearchParams(rescore=False)
            ),
        ).points
        for p in raw:
            # an integer of the same parity as dim, within [-dim, dim]
            assert p.score == int(p.score) and abs(p.score) <= dim and (dim - p.score) % 2 == 0
    assert found >= 80, found
    client.delete_collection(name)


def _same_hits(ours, theirs, what, skipped=(), tol=1e-4, tie=1e-5):
    """Same scores in order (within `tol`, relative), and the same id
    wherever a score is not tied (within `tie`) with another (in the list,
    with the last one, which may tie with points cut off, or with
    `skipped`: the scores an offset skipped)."""
    a = [(p.id, p.score) for p in ours]
    b = [(p.id, p.score) for p in theirs]
    assert len(a) == len(b), (what, a, b)
    for (ia, sa), (ib, sb) in zip(a, b):
        assert abs(sa - sb) <= tol * max(1.0, abs(sb)), (what, a, b)
        tied = (
            sum(1 for _, s in b if abs(s - sb) <= tie) > 1
            or abs(b[-1][1] - sb) <= tie
            or any(abs(s - sb) <= tie for s in skipped)
        )
        assert tied or ia == ib, (what, a, b)


def test_sparse_vectors_match_local_mode(client):
    """Sparse vectors with and without IDF, after replacements and deletes,
    filtered, by id, and fused with a dense vector (RRF and DBSF), against
    the Python client's local mode: the same hits with the same scores, the
    same stored vectors (indices sorted) and the same sparse config."""
    import random

    from qdrant_client import QdrantClient

    rng = random.Random(11)
    local = QdrantClient(":memory:")
    name = "py_sparse"
    sparse_config = {
        "bm25": models.SparseVectorParams(modifier=models.Modifier.IDF),
        "splade": models.SparseVectorParams(
            index=models.SparseIndexParams(full_scan_threshold=100)
        ),
    }
    _recreate(
        name,
        (client, local),
        vectors_config={"dense": models.VectorParams(size=4, distance=models.Distance.DOT)},
        sparse_vectors_config=sparse_config,
    )

    def sparse():
        n = rng.randint(1, 8)
        indices = rng.sample([int(rng.random() ** 3 * 400) for _ in range(n)], n)
        indices = list(dict.fromkeys(indices))
        return models.SparseVector(
            indices=indices, values=[round(rng.uniform(0.05, 3.0), 3) for _ in indices]
        )

    def point(i):
        vector = {"dense": [rng.uniform(-1, 1) for _ in range(4)]}
        if i % 7:
            vector["bm25"] = sparse()
        if i % 5:
            vector["splade"] = sparse()
        return models.PointStruct(id=i, vector=vector, payload={"g": i % 4})

    points = [point(i) for i in range(400)]
    for c in (client, local):
        for k in range(0, 400, 100):
            c.upsert(name, points[k : k + 100], wait=True)
        c.delete(name, models.PointIdsList(points=list(range(0, 400, 9))), wait=True)
    replaced = [point(i) for i in range(1, 400, 13)]
    for c in (client, local):
        c.upsert(name, replaced, wait=True)

    info = [c.get_collection(name).config.params.sparse_vectors for c in (client, local)]
    assert info[0] == info[1], info

    def rounded(v):
        if isinstance(v, models.SparseVector):
            return (v.indices, [round(x, 4) for x in v.values])
        return [round(x, 4) for x in v]

    got = [
        {
            p.id: {k: rounded(v) for k, v in p.vector.items()}
            for p in c.retrieve(name, [1, 2, 14, 27], with_vectors=True)
        }
        for c in (client, local)
    ]
    assert got[0] == got[1]
    assert got[0][2]["bm25"][0] == sorted(got[0][2]["bm25"][0])

    narrow = models.Filter(must=[models.FieldCondition(key="g", match=models.MatchValue(value=1))])
    for step in range(20):
        q = sparse()
        for using in ("bm25", "splade"):
            for flt in (None, narrow):
                hits = [
                    c.query_points(name, query=q, using=using, query_filter=flt, limit=10).points
                    for c in (client, local)
                ]
                _same_hits(hits[0], hits[1], (step, using, flt is not None))
        by_id = [
            c.query_points(name, query=2, using="bm25", limit=5).points for c in (client, local)
        ]
        _same_hits(by_id[0], by_id[1], "by id")
        # examples: ids and vectors, every strategy, discover and context
        examples = [
            models.RecommendQuery(
                recommend=models.RecommendInput(
                    positive=[3, sparse()], negative=[sparse()], strategy=strategy
                )
            )
            for strategy in models.RecommendStrategy
        ] + [
            models.DiscoverQuery(
                discover=models.DiscoverInput(
                    target=q, context=[models.ContextPair(positive=4, negative=sparse())]
                )
            ),
            models.ContextQuery(
                context=[
                    models.ContextPair(positive=sparse(), negative=sparse()),
                    models.ContextPair(positive=6, negative=8),
                ]
            ),
        ]
        for query in examples:
            for using in ("bm25", "splade"):
                hits = [
                    c.query_points(name, query=query, using=using, limit=10).points
                    for c in (client, local)
                ]
                _same_hits(hits[0], hits[1], (step, using, type(query).__name__))
        for fusion in (models.Fusion.RRF, models.Fusion.DBSF):
            prefetch = [
                models.Prefetch(query=[rng.uniform(-1, 1) for _ in range(4)], using="dense", limit=20),
                models.Prefetch(query=q, using="splade", limit=20),
            ]
            fused = [
                c.query_points(
                    name, prefetch=prefetch, query=models.FusionQuery(fusion=fusion), limit=10
                ).points
                for c in (client, local)
            ]
            for pf in prefetch:
                lists = [
                    c.query_points(name, query=pf.query, using=pf.using, limit=20).points
                    for c in (client, local)
                ]
                _same_hits(lists[0], lists[1], ("prefetch", pf.using))
            _same_hits(fused[0], fused[1], (step, fusion))
    local.close()


def test_mmr_matches_local_mode(client):
    """MMR (`nearest` with `mmr`) on dense vectors of every distance and on
    a sparse vector, with filters, offsets, score thresholds and candidate
    limits, against the Python client's local mode: the same points in the
    same (selection) order with the same nearest-search scores."""
    import random

    from qdrant_client import QdrantClient

    rng = random.Random(5)
    local = QdrantClient(":memory:")
    name = "py_mmr"
    dims = 6
    distances = _DISTANCES
    _recreate(
        name,
        (client, local),
        vectors_config={
            k: models.VectorParams(size=dims, distance=d) for k, d in distances.items()
        },
        sparse_vectors_config={"sp": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    # clusters of near duplicates: what MMR is for
    centres = [[rng.uniform(-1, 1) for _ in range(dims)] for _ in range(12)]

    def near(centre):
        return [x + rng.gauss(0, 0.05) for x in centre]

    def sparse():
        indices = list(dict.fromkeys(rng.randint(0, 40) for _ in range(5)))
        return models.SparseVector(
            indices=indices, values=[round(rng.uniform(0.1, 2.0), 3) for _ in indices]
        )

    points = []
    for i in range(240):
        centre = centres[i % 12]
        vector = {k: near(centre) for k in distances}
        if i % 6:
            vector["sp"] = sparse()
        points.append(models.PointStruct(id=i, vector=vector, payload={"g": i % 3}))
    for c in (client, local):
        c.upsert(name, points, wait=True)

    only = models.Filter(must=[models.FieldCondition(key="g", match=models.MatchValue(value=2))])
    for step in range(6):
        q = near(centres[step])
        for using in (*distances, "sp"):
            query_vector = sparse() if using == "sp" else q
            for diversity in (None, 0.0, 0.3, 1.0):
                for candidates, offset, flt in ((None, 0, None), (40, 2, None), (25, 0, only)):
                    mmr = models.Mmr(diversity=diversity, candidates_limit=candidates)
                    hits = [
                        c.query_points(
                            name,
                            query=models.NearestQuery(nearest=query_vector, mmr=mmr),
                            using=using,
                            query_filter=flt,
                            limit=8,
                            offset=offset,
                        ).points
                        for c in (client, local)
                    ]
                    what = (step, using, diversity, candidates, offset, flt is not None)
                    assert [p.id for p in hits[0]] == [p.id for p in hits[1]], (what, hits)
                    for a, b in zip(*hits):
                        assert abs(a.score - b.score) <= 1e-4 * max(1.0, abs(b.score)), what
        # a threshold cuts the candidates before MMR picks
        hits = [
            c.query_points(
                name,
                query=models.NearestQuery(nearest=q, mmr=models.Mmr(candidates_limit=50)),
                using="cos",
                score_threshold=0.5,
                limit=10,
            ).points
            for c in (client, local)
        ]
        assert [p.id for p in hits[0]] == [p.id for p in hits[1]]
        assert all(p.score > 0.5 for p in hits[0])
    # diversity visibly changes the result
    q = near(centres[0])
    plain = client.query_points(name, query=q, using="cos", limit=5).points
    diverse = client.query_points(
        name,
        query=models.NearestQuery(nearest=q, mmr=models.Mmr(diversity=0.9, candidates_limit=100)),
        using="cos",
        limit=5,
    ).points
    assert {p.id % 12 for p in plain} == {0}
    assert len({p.id % 12 for p in diverse}) > 1
    for bad in (models.Mmr(diversity=1.5), models.Mmr(candidates_limit=20000)):
        with pytest.raises(Exception, match="must be from 0.0 to 1.0|must be 16384 or smaller"):
            client.query_points(name, query=models.NearestQuery(nearest=q, mmr=bad), using="cos")
    local.close()


def test_formula_matches_local_mode(client):
    """Formula rescoring (arithmetic, payload variables with defaults,
    conditions, geo distance, datetimes, the three decays, several
    prefetches' scores, max/min) against the Python client's local mode:
    the same points, order and scores; and the errors Qdrant gives."""
    import random

    from qdrant_client import QdrantClient

    rng = random.Random(9)
    local = QdrantClient(":memory:")
    name = "py_formula"
    _recreate(
        name,
        (client, local),
        vectors_config={
            "a": models.VectorParams(size=4, distance=models.Distance.COSINE),
            "b": models.VectorParams(size=4, distance=models.Distance.EUCLID),
        },
    )
    brands = ["acme", "globex", "initech"]
    points = []
    for i in range(200):
        payload = {
            "brand": brands[i % 3],
            "price": round(rng.uniform(1, 100), 2),
            "at": {"lat": rng.uniform(40, 50), "lon": rng.uniform(0, 10)},
            "created": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
        }
        if i % 4:
            payload["rating"] = rng.randint(1, 5)
        points.append(
            models.PointStruct(
                id=i,
                vector={"a": [rng.uniform(-1, 1) for _ in range(4)], "b": [rng.uniform(-1, 1) for _ in range(4)]},
                payload=payload,
            )
        )
    for c in (client, local):
        c.upsert(name, points, wait=True)

    acme = models.FieldCondition(key="brand", match=models.MatchValue(value="acme"))
    formulas = [
        models.FormulaQuery(
            formula=models.SumExpression(sum=["$score", models.MultExpression(mult=[0.1, "rating"])]),
            defaults={"rating": 3},
        ),
        models.FormulaQuery(
            formula=models.SumExpression(sum=["$score", models.MultExpression(mult=[0.5, acme])])
        ),
        models.FormulaQuery(
            formula=models.SumExpression(
                sum=[
                    "$score[0]",
                    models.NegExpression(neg="$score[1]"),
                    models.DivExpression(
                        div=models.DivParams(left="price", right=models.SumExpression(sum=["rating", -3]), by_zero_default=2.5)
                    ),
                ]
            ),
            defaults={"$score[1]": 4.0, "rating": 0},
        ),
        models.FormulaQuery(
            formula=models.MultExpression(
                mult=[
                    "$score[0]",
                    models.ExpDecayExpression(
                        exp_decay=models.DecayParamsExpression(
                            x=models.GeoDistance(
                                geo_distance=models.GeoDistanceParams(
                                    origin=models.GeoPoint(lat=45.0, lon=5.0), to="at"
                                )
                            ),
                            scale=200_000,
                        )
                    ),
                ]
            )
        ),
        models.FormulaQuery(
            formula=models.SumExpression(
                sum=[
                    models.GaussDecayExpression(
                        gauss_decay=models.DecayParamsExpression(
                            x=models.DatetimeKeyExpression(datetime_key="created"),
                            target=models.DatetimeExpression(datetime="2026-06-15T00:00:00Z"),
                            scale=86400 * 60,
                            midpoint=0.3,
                        )
                    ),
                    models.LinDecayExpression(
                        lin_decay=models.DecayParamsExpression(x="price", target=50, scale=40, midpoint=0.2)
                    ),
                    models.MultExpression(mult=[0.01, models.SqrtExpression(sqrt="price")]),
                    models.LnExpression(ln=models.SumExpression(sum=["price", 1])),
                    models.Log10Expression(log10="price"),
                    models.PowExpression(pow=models.PowParams(base="$score[1]", exponent=2)),
                    models.AbsExpression(abs="$score[1]"),
                ]
            ),
        ),
        models.FormulaQuery(
            formula=models.MaxExpression(
                max=["$score[0]", models.MinExpression(min=["$score[1]", models.ExpExpression(exp=-1)])]
            )
        ),
    ]
    for step in range(4):
        prefetch = [
            models.Prefetch(query=[rng.uniform(-1, 1) for _ in range(4)], using="a", limit=30),
            models.Prefetch(query=[rng.uniform(-1, 1) for _ in range(4)], using="b", limit=30),
        ]
        for i, formula in enumerate(formulas):
            for threshold in (None, 0.4):
                hits = [
                    c.query_points(
                        name, prefetch=prefetch, query=formula, limit=15, score_threshold=threshold
                    ).points
                    for c in (client, local)
                ]
                _same_hits(hits[0], hits[1], (step, i, threshold))
                if threshold is None:
                    assert len(hits[0]) == 15
                    assert len({round(p.score, 6) for p in hits[0]}) > 5, hits[0]
                else:
                    assert all(p.score >= threshold for p in hits[0])
    # a payload variable without value or default, a non-finite result
    prefetch = models.Prefetch(query=[1.0, 0.0, 0.0, 0.0], using="a", limit=50)
    for bad, message in (
        (models.FormulaQuery(formula=models.SumExpression(sum=["$score", "rating"])), "No value found"),
        (models.FormulaQuery(formula=models.LnExpression(ln=models.NegExpression(neg="price"))), "non-finite"),
    ):
        for c in (client, local):
            with pytest.raises(Exception, match=message):
                c.query_points(name, prefetch=prefetch, query=bad)
    with pytest.raises(Exception, match="cannot apply Formula without prefetches"):
        client.query_points(name, query=formulas[0])
    local.close()


def test_relevance_feedback_matches_local_mode(client):
    """Relevance feedback (the naive strategy) on every distance, with the
    target and the examples given as vectors or stored points, filtered,
    against the Python client's local mode: same ids, same scores."""
    import random

    from qdrant_client import QdrantClient

    rng = random.Random(13)
    local = QdrantClient(":memory:")
    name = "py_feedback"
    distances = _DISTANCES
    _recreate(
        name,
        (client, local),
        vectors_config={k: models.VectorParams(size=5, distance=d) for k, d in distances.items()},
    )
    points = [
        models.PointStruct(
            id=i,
            vector={k: [rng.uniform(-1, 1) for _ in range(5)] for k in distances},
            payload={"g": i % 3},
        )
        for i in range(150)
    ]
    for c in (client, local):
        c.upsert(name, points, wait=True)
    flt = models.Filter(must_not=[models.FieldCondition(key="g", match=models.MatchValue(value=0))])
    for step in range(5):
        for using in distances:
            target = 7 if step % 2 else [rng.uniform(-1, 1) for _ in range(5)]
            feedback = [
                models.FeedbackItem(example=10 + step, score=0.9),
                models.FeedbackItem(example=[rng.uniform(-1, 1) for _ in range(5)], score=0.2),
                models.FeedbackItem(example=20 + step, score=0.55),
                models.FeedbackItem(example=30 + step, score=0.55),
            ]
            query = models.RelevanceFeedbackQuery(
                relevance_feedback=models.RelevanceFeedbackInput(
                    target=target,
                    feedback=feedback,
                    strategy=models.NaiveFeedbackStrategy(
                        naive=models.NaiveFeedbackStrategyParams(a=0.8, b=1.5, c=0.6)
                    ),
                )
            )
            for f in (None, flt):
                hits = [
                    c.query_points(name, query=query, using=using, query_filter=f, limit=10).points
                    for c in (client, local)
                ]
                _same_hits(hits[0], hits[1], (step, using, f is not None))
                mentioned = {7, 10 + step, 20 + step, 30 + step} if step % 2 else {10 + step, 20 + step, 30 + step}
                assert not mentioned & {p.id for p in hits[0]}
    bad = models.RelevanceFeedbackQuery(
        relevance_feedback=models.RelevanceFeedbackInput(
            target=3,
            feedback=[],
            strategy=models.NaiveFeedbackStrategy(
                naive=models.NaiveFeedbackStrategyParams(a=1, b=-1, c=1)
            ),
        )
    )
    with pytest.raises(Exception, match="must be 0.0 or larger"):
        client.query_points(name, query=bad, using="cos")
    local.close()


def test_slice_conditions_match_local_mode(client):
    """Slice conditions (deterministic id-space slices) over numeric and
    UUID ids, alone and combined, in scroll, count and search, against
    the Python client's local mode; the slices of one total partition the
    points."""
    import uuid as uuidlib

    from qdrant_client import QdrantClient

    local = QdrantClient(":memory:")
    name = "py_slice"
    _recreate(name, (client, local), vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    ids = list(range(300)) + [str(uuidlib.UUID(int=i * 104729 + 17)) for i in range(100)]
    points = [
        models.PointStruct(id=pid, vector=[1.0, i / 400], payload={"even": i % 2 == 0})
        for i, pid in enumerate(ids)
    ]
    for c in (client, local):
        c.upsert(name, points, wait=True)

    def ids_in(c, flt):
        got, _ = c.scroll(name, scroll_filter=flt, limit=1000)
        return {str(p.id) for p in got}

    for total in (1, 2, 5):
        seen = set()
        for index in range(total):
            flt = models.Filter(must=[models.SliceCondition(slice=models.Slice(total=total, index=index))])
            ours, theirs = ids_in(client, flt), ids_in(local, flt)
            assert ours == theirs, (total, index)
            assert not seen & ours
            seen |= ours
            assert client.count(name, count_filter=flt).count == len(ours)
        assert len(seen) == len(ids)
    both = models.Filter(
        must=[models.SliceCondition(slice=models.Slice(total=3, index=2))],
        must_not=[models.FieldCondition(key="even", match=models.MatchValue(value=True))],
    )
    assert ids_in(client, both) == ids_in(local, both)
    hits = client.query_points(name, query=[0.0, 1.0], query_filter=both, limit=400).points
    assert {str(p.id) for p in hits} == ids_in(local, both)
    bad = models.Filter(must=[models.SliceCondition(slice=models.Slice(total=2, index=2))])
    with pytest.raises(Exception, match=r"Slice index must be in \[0;1\], got 2"):
        client.scroll(name, scroll_filter=bad)
    local.close()


def test_overwrite_payload_ignores_key_as_qdrant(client):
    """Overwrite with a `key` (only reachable through batch updates and raw
    requests) replaces the whole payload: Qdrant's update path ignores the
    key, and so does local mode."""
    from qdrant_client import QdrantClient

    local = QdrantClient(":memory:")
    name = "py_overwrite_key"
    _recreate(name, (client, local), vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    for c in (client, local):
        c.upsert(
            name,
            [models.PointStruct(id=1, vector=[1.0, 0.0], payload={"a": {"b": 1}, "c": 2})],
            wait=True,
        )
        c.batch_update_points(
            name,
            [
                models.OverwritePayloadOperation(
                    overwrite_payload=models.SetPayload(payload={"x": 5}, points=[1], key="a")
                )
            ],
        )
    got = [c.retrieve(name, [1])[0].payload for c in (client, local)]
    assert got[0] == got[1] == {"x": 5}
    local.close()


def test_text_queries_match_local_mode(client):
    """Text queries (BM25 over a text index with `scoring`) against the
    Python client's local mode: plain and with k/b, filtered, with offset
    and threshold, after replacements and deletes, and fused with a dense
    prefetch; and the errors for a field without scoring and bad k/b."""
    import random

    from qdrant_client import QdrantClient

    rng = random.Random(21)
    local = QdrantClient(":memory:")
    name = "py_text"
    words = [f"w{i}" for i in range(60)]

    def title():
        n = rng.randint(1, 12)
        return " ".join(words[min(int(rng.random() ** 2 * 60), 59)] for _ in range(n))

    def point(i):
        payload = {"g": i % 4}
        if i % 9:
            payload["title"] = title() if i % 5 else [title(), title().upper()]
        return models.PointStruct(id=i, vector=[rng.uniform(-1, 1) for _ in range(3)], payload=payload)

    _recreate(name, (client, local), vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE))
    for c in (client, local):
        c.create_payload_index(
            name,
            "title",
            field_schema=models.TextIndexParams(type=models.TextIndexType.TEXT, scoring=True),
            wait=True,
        )
    # a text index without scoring (local mode keeps no such index)
    client.create_payload_index(name, "plain", field_schema=models.PayloadSchemaType.TEXT, wait=True)
    points = [point(i) for i in range(300)]
    for c in (client, local):
        c.upsert(name, points, wait=True)
    replaced = [point(i) for i in range(0, 300, 7)]
    for c in (client, local):
        c.upsert(name, replaced, wait=True)
        c.delete(name, models.PointIdsList(points=list(range(3, 300, 11))), wait=True)

    only = models.Filter(must=[models.FieldCondition(key="g", match=models.MatchValue(value=1))])
    for step in range(10):
        q = " ".join(rng.sample(words[:30], rng.randint(1, 4)))
        queries = [
            models.TextQuery(text=q),
            models.TextQuery(
                text=models.TextQueryInput(
                    query=q.upper(), scoring=models.Bm25Scoring(bm25=models.Bm25Params(k=0.9, b=0.4))
                )
            ),
        ]
        for query in queries:
            for flt, offset, threshold in ((None, 0, None), (only, 0, None), (None, 3, None), (None, 0, 2.0)):
                hits = [
                    c.query_points(
                        name,
                        query=query,
                        using="title",
                        query_filter=flt,
                        limit=10,
                        offset=offset,
                        score_threshold=threshold,
                    ).points
                    for c in (client, local)
                ]
                skipped = [
                    p.score
                    for p in local.query_points(
                        name, query=query, using="title", query_filter=flt, limit=max(offset, 1)
                    ).points[:offset]
                ]
                _same_hits(hits[0], hits[1], (step, q, flt is not None, offset, threshold), skipped)
        # hybrid: BM25 and a dense vector fused
        prefetch = [
            models.Prefetch(query=models.TextQuery(text=q), using="title", limit=20),
            models.Prefetch(query=[rng.uniform(-1, 1) for _ in range(3)], limit=20),
        ]
        fused = [
            c.query_points(name, prefetch=prefetch, query=models.FusionQuery(fusion=models.Fusion.RRF), limit=10).points
            for c in (client, local)
        ]
        _same_hits(fused[0], fused[1], ("fused", step))
    assert client.query_points(name, query=models.TextQuery(text="w0 w1"), using="title", limit=5).points
    for c in (client, local):
        with pytest.raises(Exception, match="needs a text index with `scoring`"):
            c.query_points(name, query=models.TextQuery(text="w1"), using="plain")
        bad = models.TextQuery(
            text=models.TextQueryInput(query="w1", scoring=models.Bm25Scoring(bm25=models.Bm25Params(b=1.5)))
        )
        with pytest.raises(Exception, match="BM25 b value 1.5 is invalid"):
            c.query_points(name, query=bad, using="title")
    local.close()


def test_sparse_idf_corpus_matches_local_mode(client):
    """`params.idf`: IDF statistics over a corpus filter (and `global`)
    for a sparse vector with `modifier: idf`, at the top level and in a
    prefetch, after deletes, against the Python client's local mode."""
    import random

    from qdrant_client import QdrantClient

    rng = random.Random(31)
    local = QdrantClient(":memory:")
    name = "py_idf_corpus"
    _recreate(
        name,
        (client, local),
        vectors_config={},
        sparse_vectors_config={"bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )

    def sparse():
        indices = list(dict.fromkeys(int(rng.random() ** 2 * 50) for _ in range(6)))
        return models.SparseVector(indices=indices, values=[round(rng.uniform(0.2, 2), 3) for _ in indices])

    points = [
        models.PointStruct(id=i, vector={"bm25": sparse()} if i % 6 else {}, payload={"lang": ["en", "de", "fr"][i % 3]})
        for i in range(300)
    ]
    for c in (client, local):
        c.upsert(name, points, wait=True)
        c.delete(name, models.PointIdsList(points=list(range(0, 300, 13))), wait=True)
    german = models.Filter(must=[models.FieldCondition(key="lang", match=models.MatchValue(value="de"))])
    for step in range(8):
        q = sparse()
        for idf in (models.IdfCorpusParams(corpus=german), models.IdfScope.GLOBAL):
            params = models.SearchParams(idf=idf)
            for flt in (None, german):
                hits = [
                    c.query_points(name, query=q, using="bm25", query_filter=flt, search_params=params, limit=10).points
                    for c in (client, local)
                ]
                _same_hits(hits[0], hits[1], (step, idf, flt is not None))
            nested = [
                c.query_points(
                    name,
                    prefetch=models.Prefetch(query=q, using="bm25", params=params, limit=30),
                    query=models.FusionQuery(fusion=models.Fusion.DBSF),
                    limit=10,
                ).points
                for c in (client, local)
            ]
            _same_hits(nested[0], nested[1], (step, idf, "prefetch"))
    # the corpus changes the scores
    q = sparse()
    scoped = client.query_points(
        name, query=q, using="bm25", limit=5, search_params=models.SearchParams(idf=models.IdfCorpusParams(corpus=german))
    ).points
    plain = client.query_points(name, query=q, using="bm25", limit=5).points
    assert [p.score for p in scoped] != [p.score for p in plain]
    local.close()


def test_multivectors_match_local_mode(client):
    """Multivectors (MaxSim) for every distance, against the Python
    client's local mode: the same hits and scores for matrix queries (with
    a filter, an offset, a threshold), single-vector queries (as matrices
    of one), queries by
    id, recommend (every strategy: the average of multivectors is their
    vectors together, the negatives' negated) and discover by ids, the ColBERT rerank
    of a dense prefetch (with `m = 0`), after replacements and deletes; the
    stored matrices and the config come back as Qdrant returns them."""
    import random

    from qdrant_client import QdrantClient

    rng = random.Random(17)
    local = QdrantClient(":memory:")
    name = "py_multi"
    dims = 5
    multi = models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)
    vectors_config = {
        k: models.VectorParams(size=dims, distance=d, multivector_config=multi)
        for k, d in _DISTANCES.items()
    }
    vectors_config["dense"] = models.VectorParams(size=dims, distance=models.Distance.COSINE)
    vectors_config["colbert"] = models.VectorParams(
        size=dims,
        distance=models.Distance.COSINE,
        multivector_config=multi,
        hnsw_config=models.HnswConfigDiff(m=0),
    )
    _recreate(name, (client, local), vectors_config=vectors_config)
    centres = [[rng.uniform(-1, 1) for _ in range(dims)] for _ in range(10)]

    def matrix(centre):
        return [
            [round(x + rng.gauss(0, 0.3), 4) for x in centre] for _ in range(rng.randint(1, 5))
        ]

    def point(i):
        centre = centres[i % 10]
        vector = {k: matrix(centre) for k in (*_DISTANCES, "colbert")}
        vector["dense"] = [round(x + rng.gauss(0, 0.2), 4) for x in centre]
        return models.PointStruct(id=i, vector=vector, payload={"g": i % 3})

    points = [point(i) for i in range(150)]
    for c in (client, local):
        c.upsert(name, points, wait=True)
    # replacements and deletes
    again = [point(i) for i in range(0, 150, 7)]
    for c in (client, local):
        c.upsert(name, again, wait=True)
        c.delete(name, points_selector=models.PointIdsList(points=[3, 4, 5]), wait=True)

    info = client.get_collection(name).config.params.vectors
    assert info["dot"].multivector_config.comparator == models.MultiVectorComparator.MAX_SIM
    assert info["dense"].multivector_config is None
    ours = client.retrieve(name, [10, 11], with_vectors=True)
    theirs = local.retrieve(name, [10, 11], with_vectors=True)
    for a, b in zip(ours, theirs):
        for k in (*_DISTANCES, "colbert"):
            assert len(a.vector[k]) == len(b.vector[k]), k
            for x, y in zip(a.vector[k], b.vector[k]):
                assert max(abs(p - q) for p, q in zip(x, y)) < 1e-5, (k, x, y)

    only = models.Filter(must=[models.FieldCondition(key="g", match=models.MatchValue(value=1))])
    for step in range(5):
        q = matrix(centres[step * 2])
        for using in (*_DISTANCES, "colbert"):
            for flt, offset in ((None, 0), (only, 2)):
                hits = [
                    c.query_points(
                        name, query=q, using=using, query_filter=flt, limit=7, offset=offset
                    ).points
                    for c in (client, local)
                ]
                _same_hits(*hits, (step, using, flt is not None, offset))
            # a single vector is a matrix of one (Qdrant's server reads it
            # so; local mode refuses it)
            hits = client.query_points(name, query=q[0], using=using, limit=5).points
            one = local.query_points(name, query=[q[0]], using=using, limit=5).points
            _same_hits(hits, one, (step, using, "single"))
            # by id: the point's matrix, the point left out
            hits = [c.query_points(name, query=step + 20, using=using, limit=5).points for c in (client, local)]
            _same_hits(*hits, (step, using, "id"))
            for strategy in (
                models.RecommendStrategy.AVERAGE_VECTOR,
                models.RecommendStrategy.BEST_SCORE,
                models.RecommendStrategy.SUM_SCORES,
            ):
                rec = models.RecommendQuery(
                    recommend=models.RecommendInput(
                        positive=[step + 30, step + 41], negative=[step + 52], strategy=strategy
                    )
                )
                hits = [c.query_points(name, query=rec, using=using, limit=6).points for c in (client, local)]
                _same_hits(*hits, (step, using, strategy))
            disc = models.DiscoverQuery(
                discover=models.DiscoverInput(
                    target=step + 60,
                    context=[models.ContextPair(positive=step + 70, negative=step + 81)],
                )
            )
            hits = [c.query_points(name, query=disc, using=using, limit=6).points for c in (client, local)]
            _same_hits(*hits, (step, using, "discover"))
        # the ColBERT recipe: a dense prefetch reranked by the multivector
        hits = [
            c.query_points(
                name,
                prefetch=models.Prefetch(query=q[0], using="dense", limit=30),
                query=q,
                using="colbert",
                limit=8,
            ).points
            for c in (client, local)
        ]
        _same_hits(*hits, (step, "rerank"))
        # a threshold keeps what passes (Euclid: smaller is closer)
        for using, t in (("cos", 1.0), ("euc", 2.5)):
            hits = [
                c.query_points(name, query=q, using=using, score_threshold=t, limit=20).points
                for c in (client, local)
            ]
            _same_hits(*hits, (step, using, "threshold"))
    # Qdrant's refusals
    for bad, message in (
        # an empty list reads as a dense vector of no values
        ([], "expected dim: 5, got 0"),
        ([[1.0] * dims, [1.0] * (dims - 1)], "same dimension|dimension"),
    ):
        with pytest.raises(Exception, match=message):
            client.upsert(name, [models.PointStruct(id=1, vector={"dot": bad})], wait=True)
    with pytest.raises(Exception, match="Wrong usage of multi vectors"):
        client.upsert(name, [models.PointStruct(id=1, vector={"dense": [[1.0] * dims]})], wait=True)
    local.close()


def test_datatypes_match_local_mode(client):
    """float16 and uint8 vectors (and multivectors) for every distance,
    against local mode given the values as Qdrant converts them (local mode
    keeps float32: it does not apply `datatype`): float16 rounds (after
    Cosine normalises), uint8 keeps the integer part within 0..=255 and is
    not normalised (its cosine is computed in full). Nearest with a filter
    and an offset, by id, recommend (best score, sum of scores) and
    discover; the stored values and the config come back as Qdrant returns
    them. Averages are left out: Qdrant converts the mean to the type
    again, local mode does not (the Rust tests check them)."""
    import math
    import random

    import numpy as np
    from qdrant_client import QdrantClient

    rng = random.Random(29)
    local = QdrantClient(":memory:")
    name = "py_datatypes"
    dims = 6
    types = {"f16": models.Datatype.FLOAT16, "u8": models.Datatype.UINT8}
    multi = models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)
    config = {
        f"{t}_{k}": models.VectorParams(size=dims, distance=d, datatype=dt)
        for t, dt in types.items()
        for k, d in _DISTANCES.items()
    }
    config["f16_multi"] = models.VectorParams(
        size=dims, distance=models.Distance.DOT, datatype=types["f16"], multivector_config=multi
    )
    config["u8_multi"] = models.VectorParams(
        size=dims, distance=models.Distance.EUCLID, datatype=types["u8"], multivector_config=multi
    )
    # sparse weights' datatype is echoed; the weights are held as float32,
    # as Qdrant's mutable index holds them (scores are exact)
    sparse_config = {
        "sp16": models.SparseVectorParams(index=models.SparseIndexParams(datatype=models.Datatype.FLOAT16)),
        "sp8": models.SparseVectorParams(index=models.SparseIndexParams(datatype=models.Datatype.UINT8)),
    }
    _recreate(name, (client, local), vectors_config=config, sparse_vectors_config=sparse_config)

    def convert(using, v):
        if using.startswith("u8"):
            return [float(min(255, max(0, math.trunc(x)))) for x in v]
        if using == "f16_cos":
            norm = float(np.linalg.norm(np.array(v, dtype=np.float32)))
            v = [x / norm for x in v]
        return [float(np.float16(x)) for x in v]

    def raw(using, centre):
        if using.startswith("u8"):
            return [round(100 + 60 * (c + rng.gauss(0, 0.3)), 2) for c in centre]
        return [round(c + rng.gauss(0, 0.3), 4) for c in centre]

    centres = [[rng.uniform(-1, 1) for _ in range(dims)] for _ in range(8)]

    def vectors(i):
        ours, theirs = {}, {}
        for using in config:
            if using.endswith("multi"):
                m = [raw(using, centres[i % 8]) for _ in range(rng.randint(1, 3))]
                ours[using], theirs[using] = m, [convert(using, v) for v in m]
            else:
                v = raw(using, centres[i % 8])
                ours[using], theirs[using] = v, convert(using, v)
        return ours, theirs

    def with_sparse(i, v):
        idx = rng.sample(range(30), 4)
        sv = models.SparseVector(indices=idx, values=[round(rng.uniform(0.1, 2.0), 3) for _ in idx])
        return {**v, "sp16": sv, "sp8": sv}

    batch = []
    for i in range(120):
        o, t = vectors(i)
        sv = with_sparse(i, {})
        batch.append((i, {**o, **sv}, {**t, **sv}))
    client.upsert(name, [models.PointStruct(id=i, vector=o, payload={"g": i % 3}) for i, o, _ in batch], wait=True)
    local.upsert(name, [models.PointStruct(id=i, vector=t, payload={"g": i % 3}) for i, _, t in batch], wait=True)

    info = client.get_collection(name).config.params.vectors
    assert info["f16_cos"].datatype == models.Datatype.FLOAT16
    assert info["u8_multi"].datatype == models.Datatype.UINT8
    assert info["u8_multi"].multivector_config is not None
    sparse_info = client.get_collection(name).config.params.sparse_vectors
    assert sparse_info["sp16"].index.datatype == models.Datatype.FLOAT16
    assert sparse_info["sp8"].index.datatype == models.Datatype.UINT8
    for using in ("sp16", "sp8"):
        q = models.SparseVector(indices=[1, 5, 9, 13], values=[0.5, 1.0, 1.5, 2.0])
        hits = [c.query_points(name, query=q, using=using, limit=8).points for c in (client, local)]
        _same_hits(*hits, (using, "sparse"))
    # the stored values, as Qdrant returns them
    (got,) = client.retrieve(name, [7], with_vectors=True)
    _, ours7, theirs7 = batch[7]
    for using in config:
        want = theirs7[using]
        back = got.vector[using]
        if using.endswith("multi"):
            back, want = sum(back, []), sum(want, [])
        tol = 1e-3 if using == "f16_cos" else 0.0
        assert max(abs(a - b) for a, b in zip(back, want)) <= tol, (using, back, want)

    only = models.Filter(must=[models.FieldCondition(key="g", match=models.MatchValue(value=1))])
    for step in range(4):
        for using in config:
            q = raw(using, centres[step * 2])
            q = [q, raw(using, centres[step * 2])] if using.endswith("multi") else q
            theirs_q = [convert(using, v) for v in q] if using.endswith("multi") else convert(using, q)
            # float16 Cosine: Qdrant scores the rounded unit vectors as they
            # are, local mode normalises them again (a drift of ~1e-3)
            tol = dict(tol=3e-3, tie=3e-3) if using == "f16_cos" else {}
            for flt, offset in ((None, 0), (only, 2)):
                hits = [
                    client.query_points(name, query=q, using=using, query_filter=flt, limit=7, offset=offset).points,
                    local.query_points(name, query=theirs_q, using=using, query_filter=flt, limit=7, offset=offset).points,
                ]
                _same_hits(*hits, (step, using, flt is not None, offset), **tol)
            hits = [c.query_points(name, query=step + 20, using=using, limit=5).points for c in (client, local)]
            _same_hits(*hits, (step, using, "id"), **tol)
            for strategy in (models.RecommendStrategy.BEST_SCORE, models.RecommendStrategy.SUM_SCORES):
                rec = models.RecommendQuery(
                    recommend=models.RecommendInput(
                        positive=[step + 30, step + 41], negative=[step + 52], strategy=strategy
                    )
                )
                hits = [c.query_points(name, query=rec, using=using, limit=6).points for c in (client, local)]
                _same_hits(*hits, (step, using, strategy), **tol)
            disc = models.DiscoverQuery(
                discover=models.DiscoverInput(
                    target=step + 60,
                    context=[models.ContextPair(positive=step + 70, negative=step + 81)],
                )
            )
            hits = [c.query_points(name, query=disc, using=using, limit=6).points for c in (client, local)]
            _same_hits(*hits, (step, using, "discover"), **tol)
    local.close()
