"""LangChain's Qdrant integration (`langchain-qdrant`'s QdrantVectorStore)
against the session's server, over REST (its default) and gRPC, with a
deterministic embedding computed here so that scores can be checked."""

import math
import uuid

import langchain_qdrant
import pytest
from langchain_core.embeddings import Embeddings
from qdrant_client import QdrantClient, models




class LetterEmbeddings(Embeddings):
    """Letter counts in 26 dimensions, normalised: texts with the same
    letters embed alike, so a search for a word finds it first."""

    def _one(self, text):
        v = [0.0] * 26
        for ch in text.lower():
            if "a" <= ch <= "z":
                v[ord(ch) - 97] += 1.0
        n = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / n for x in v]

    def embed_documents(self, texts):
        return [self._one(t) for t in texts]

    def embed_query(self, text):
        return self._one(text)


TEXTS = [
    ("red lipstick", {"brand": "rouge", "kind": "lipstick"}),
    ("matte lipstick", {"brand": "belle", "kind": "lipstick"}),
    ("glossy lipstick", {"brand": "rouge", "kind": "lipstick"}),
    ("running shoes", {"brand": "stride", "kind": "shoes"}),
    ("garden hose", {"brand": "verde", "kind": "garden"}),
]


@pytest.mark.parametrize("prefer_grpc", [False, True], ids=["rest", "grpc"])
def test_vector_store_add_search_filter_delete(server, prefer_grpc):
    name = f"lc_{uuid.uuid4().hex[:8]}"
    emb = LetterEmbeddings()
    ids = [str(uuid.uuid4()) for _ in TEXTS]
    store = langchain_qdrant.QdrantVectorStore.from_texts(
        [t for t, _ in TEXTS],
        emb,
        metadatas=[m for _, m in TEXTS],
        ids=ids,
        url=f"http://127.0.0.1:{server['http']}",
        grpc_port=server["grpc"],
        prefer_grpc=prefer_grpc,
        collection_name=name,
    )
    # the text itself comes back first, with score 1 (cosine)
    hits = store.similarity_search_with_score("matte lipstick", k=3)
    assert hits[0][0].page_content == "matte lipstick"
    meta = hits[0][0].metadata
    assert {k: meta[k] for k in ("brand", "kind")} == {"brand": "belle", "kind": "lipstick"}
    assert meta["_id"] == ids[1] and meta["_collection_name"] == name
    assert abs(hits[0][1] - 1.0) < 1e-5
    q = emb.embed_query("matte lipstick")
    want = sorted(
        (sum(a * b for a, b in zip(q, v)) for v in emb.embed_documents([t for t, _ in TEXTS])),
        reverse=True,
    )[:3]
    assert [round(s, 4) for _, s in hits] == [round(s, 4) for s in want]

    # a metadata filter: only that brand's lipsticks
    only_rouge = models.Filter(
        must=[models.FieldCondition(key="metadata.brand", match=models.MatchValue(value="rouge"))]
    )
    hits = store.similarity_search("lipstick", k=5, filter=only_rouge)
    assert sorted(d.page_content for d in hits) == ["glossy lipstick", "red lipstick"]

    # delete by id
    assert store.delete(ids=[ids[0], ids[3]])
    client = QdrantClient(url=f"http://127.0.0.1:{server['http']}")
    assert client.count(name, exact=True).count == 3
    left = {d.page_content for d in store.similarity_search("lipstick shoes hose", k=10)}
    assert left == {"matte lipstick", "glossy lipstick", "garden hose"}
    client.delete_collection(name)
    client.close()


class WordSparseEmbeddings(langchain_qdrant.SparseEmbeddings):
    """Word counts as a sparse vector (one dimension per word, ids from a
    shared vocabulary); a query word weighs 1, as in Qdrant's BM25 recipe."""

    def __init__(self):
        self.vocab = {}

    def _ids(self, text):
        return [self.vocab.setdefault(w, len(self.vocab)) for w in text.lower().split()]

    def embed_documents(self, texts):
        out = []
        for t in texts:
            counts = {}
            for i in self._ids(t):
                counts[i] = counts.get(i, 0) + 1
            out.append(
                langchain_qdrant.SparseVector(
                    indices=list(counts), values=[float(c) for c in counts.values()]
                )
            )
        return out

    def embed_query(self, text):
        ids = sorted(set(self._ids(text)))
        return langchain_qdrant.SparseVector(indices=ids, values=[1.0] * len(ids))


@pytest.mark.parametrize("prefer_grpc", [False, True], ids=["rest", "grpc"])
def test_sparse_and_hybrid_retrieval(server, prefer_grpc):
    """RetrievalMode.SPARSE and HYBRID (a dense and a sparse prefetch fused
    with RRF, LangChain's recipe): a word search finds the documents with
    that word, and only those, in sparse mode; hybrid mode ranks them first."""
    name = f"lc_{uuid.uuid4().hex[:8]}"
    sparse = WordSparseEmbeddings()
    common = dict(
        url=f"http://127.0.0.1:{server['http']}",
        grpc_port=server["grpc"],
        prefer_grpc=prefer_grpc,
        collection_name=name,
        sparse_embedding=sparse,
    )
    store = langchain_qdrant.QdrantVectorStore.from_texts(
        [t for t, _ in TEXTS],
        LetterEmbeddings(),
        metadatas=[m for _, m in TEXTS],
        retrieval_mode=langchain_qdrant.RetrievalMode.HYBRID,
        **common,
    )
    hits = store.similarity_search_with_score("lipstick", k=5)
    assert {d.page_content for d, _ in hits[:3]} == {
        "red lipstick",
        "matte lipstick",
        "glossy lipstick",
    }
    # RRF (k = 2) over two lists: a point first in both scores 1/2 + 1/2
    assert all(0 < s <= 1.0 for _, s in hits)
    sparse_only = langchain_qdrant.QdrantVectorStore.from_existing_collection(
        retrieval_mode=langchain_qdrant.RetrievalMode.SPARSE, **common
    )
    hits = sparse_only.similarity_search_with_score("garden", k=5)
    assert [(d.page_content, s) for d, s in hits] == [("garden hose", 1.0)]
    hits = sparse_only.similarity_search("matte lipstick", k=5)
    assert hits[0].page_content == "matte lipstick" and len(hits) == 3
    client = QdrantClient(url=f"http://127.0.0.1:{server['http']}")
    client.delete_collection(name)
    client.close()
