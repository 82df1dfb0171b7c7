// The official JS/TS client (@qdrant/js-client-rest, REST only) against
// `vicinity serve --memory` on free ports: create, upsert, query with a
// filter, scroll, payload updates, count, delete, errors. Run by run.sh.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import assert from "node:assert/strict";
import test from "node:test";
import { QdrantClient } from "@qdrant/js-client-rest";

async function startServer() {
  const bin = process.env.VICINITY_BIN;
  const proc = spawn(bin, ["serve", "--memory", "--grpc-port", "0", "--http-port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: proc.stdout });
  for await (const line of lines) {
    const m = line.match(/HTTP on http:\/\/[^:]+:(\d+)/);
    if (m) return { proc, port: Number(m[1]) };
  }
  throw new Error("the server exited before listening");
}

const { proc, port } = await startServer();
const client = new QdrantClient({ url: `http://127.0.0.1:${port}` });

test.after(async () => {
  proc.kill("SIGTERM");
  const [code] = await once(proc, "exit");
  assert.equal(code, 0);
});

const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

test("the version check passes", async () => {
  const v = await client.versionInfo();
  assert.equal(v.title, "qdrant - vector search engine");
  assert.match(v.version, /^1\.\d+\.\d+$/);
});

test("create, upsert, query with a filter, scroll, payloads, count, delete", async () => {
  const name = "js_products";
  assert.equal((await client.collectionExists(name)).exists, false);
  assert.equal(
    await client.createCollection(name, { vectors: { size: 3, distance: "Dot" } }),
    true,
  );
  const brands = ["acme", "globex", "initech"];
  const points = [];
  for (let i = 0; i < 60; i++) {
    points.push({
      id: i + 1,
      vector: [Math.sin(i), Math.cos(i), (i % 7) / 7],
      payload: { brand: brands[i % 3], price: i * 1.5, tags: i % 2 ? ["odd"] : ["even"] },
    });
  }
  const up = await client.upsert(name, { wait: true, points });
  assert.equal(up.status, "completed");
  const info = await client.getCollection(name);
  assert.equal(info.points_count, 60);
  assert.equal(info.config.params.vectors.size, 3);

  // query with a filter, scores checked against a scan computed here
  const q = [0.3, 0.9, 0.1];
  const filter = { must: [{ key: "brand", match: { value: "globex" } }] };
  const res = await client.query(name, {
    query: q,
    filter,
    limit: 5,
    with_payload: true,
    params: { exact: true },
  });
  const want = points
    .filter((p) => p.payload.brand === "globex")
    .map((p) => ({ id: p.id, score: dot(p.vector, q) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, 5);
  assert.deepEqual(
    res.points.map((p) => p.id),
    want.map((w) => w.id),
  );
  for (const [i, p] of res.points.entries()) {
    assert.ok(Math.abs(p.score - want[i].score) < 1e-5);
    assert.equal(p.payload.brand, "globex");
  }

  // scroll in pages
  const seen = [];
  let offset = undefined;
  do {
    const page = await client.scroll(name, { limit: 25, offset, with_payload: false });
    seen.push(...page.points.map((p) => p.id));
    offset = page.next_page_offset ?? undefined;
  } while (offset !== undefined);
  assert.deepEqual(seen, points.map((p) => p.id));

  // payload updates
  await client.setPayload(name, { wait: true, payload: { sale: true }, points: [1, 2] });
  await client.deletePayload(name, { wait: true, keys: ["tags"], points: [1] });
  await client.overwritePayload(name, { wait: true, payload: { only: 1 }, points: [3] });
  const [p1, p2, p3] = await client.retrieve(name, { ids: [1, 2, 3] });
  assert.deepEqual(p1.payload, { brand: "acme", price: 0, sale: true });
  assert.equal(p2.payload.sale, true);
  assert.deepEqual(p3.payload, { only: 1 });

  // count, with and without a filter and a payload index
  assert.equal((await client.count(name, { exact: true })).count, 60);
  const before = (await client.count(name, { filter, exact: true })).count;
  assert.equal(before, 20);
  await client.createPayloadIndex(name, { wait: true, field_name: "brand", field_schema: "keyword" });
  assert.equal((await client.count(name, { filter, exact: true })).count, before);
  assert.equal((await client.getCollection(name)).payload_schema.brand.data_type, "keyword");

  // delete by id and by filter
  await client.delete(name, { wait: true, points: [1, 2] });
  await client.delete(name, { wait: true, filter });
  // ids 1 and 2 (acme, globex), then the other 19 globex points
  assert.equal((await client.count(name, { exact: true })).count, 39);

  assert.equal(await client.deleteCollection(name), true);
  assert.equal((await client.collectionExists(name)).exists, false);
});

test("errors carry Qdrant's status and message", async () => {
  await assert.rejects(client.getCollection("js_missing"), (e) => {
    assert.equal(e.status, 404);
    assert.match(JSON.stringify(e.data), /doesn't exist/);
    return true;
  });
  await client.createCollection("js_err", { vectors: { size: 2, distance: "Cosine" } });
  await assert.rejects(
    client.upsert("js_err", { wait: true, points: [{ id: 1, vector: [1, 2, 3] }] }),
    (e) => {
      assert.equal(e.status, 400);
      assert.match(JSON.stringify(e.data), /dimension/);
      return true;
    },
  );
  await client.deleteCollection("js_err");
});

test("sparse vectors: hybrid collection, BM25-style query with IDF, fusion", async () => {
  const name = "js_sparse";
  await client.createCollection(name, {
    vectors: { dense: { size: 2, distance: "Dot" } },
    sparse_vectors: { text: { modifier: "idf" } },
  });
  const docs = [
    [1, "red lipstick"],
    [2, "matte lipstick"],
    [3, "running shoes"],
    [4, "red shoes"],
  ];
  const vocab = new Map();
  const sparse = (text) => {
    const ids = [...new Set(text.split(" ").map((w) => {
      if (!vocab.has(w)) vocab.set(w, vocab.size);
      return vocab.get(w);
    }))];
    return { indices: ids.reverse(), values: ids.map(() => 1.0) };
  };
  await client.upsert(name, {
    wait: true,
    points: docs.map(([id, t]) => ({ id, vector: { dense: [id, 1], text: sparse(t) }, payload: { t } })),
  });
  // IDF over the 4 documents: "red" is in 2, "lipstick" in 2
  const idf = (df) => Math.log((4 - df + 0.5) / (df + 0.5) + 1);
  const res = await client.query(name, { query: sparse("red lipstick"), using: "text", limit: 10 });
  const got = Object.fromEntries(res.points.map((p) => [p.id, p.score]));
  assert.deepEqual(Object.keys(got).map(Number).sort(), [1, 2, 4]);
  assert.ok(Math.abs(got[1] - 2 * idf(2)) < 1e-5);
  assert.ok(Math.abs(got[2] - idf(2)) < 1e-5);
  // stored sorted by index
  const [p] = await client.retrieve(name, { ids: [1], with_vector: true });
  assert.deepEqual(p.vector.text.indices, [0, 1]);
  // a dense and a sparse prefetch fused with RRF
  const fused = await client.query(name, {
    prefetch: [
      { query: [1, 0], using: "dense", limit: 4 },
      { query: sparse("shoes"), using: "text", limit: 4 },
    ],
    query: { fusion: "rrf" },
    limit: 2,
  });
  assert.deepEqual(fused.points.map((p) => p.id).sort(), [3, 4]);
  // a repeated index is refused as Qdrant refuses it
  await assert.rejects(
    client.upsert(name, { wait: true, points: [{ id: 9, vector: { text: { indices: [1, 1], values: [1, 2] } } }] }),
    (e) => {
      assert.equal(e.status, 422);
      assert.match(JSON.stringify(e.data), /indices: must be unique/);
      return true;
    },
  );
});
