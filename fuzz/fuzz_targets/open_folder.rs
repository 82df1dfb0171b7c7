//! A database folder built from arbitrary bytes (config, manifest,
//! checkpoint and log files on a simulated disk) is opened: it loads or it
//! is a typed error, never a panic or a hang.

#![no_main]

use std::path::Path;
use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vicinity::Database;
use vicinity_storage::{Io, SimIo};

#[derive(Arbitrary, Debug)]
struct Folder {
    /// 0: a valid config; 1: arbitrary bytes.
    config: Option<Vec<u8>>,
    manifest: Option<Vec<u8>>,
    state: Option<Vec<u8>>,
    wal: Vec<Vec<u8>>,
    /// Prefix the log files with a valid header.
    wal_header: bool,
    /// A format-2 checkpoint (vector, graph and state files) instead.
    v2: Option<Checkpoint2>,
}

/// The files of a manifest-2 checkpoint of one vector column.
#[derive(Arbitrary, Debug)]
struct Checkpoint2 {
    rows: u8,
    vectors: Vec<u8>,
    /// Write the vector file's real header, and its rows' real checksum
    /// into the manifest, so that the fuzzer gets past both.
    valid_vectors: bool,
    graph: Vec<u8>,
    state: Vec<u8>,
    /// Append the right CRC-32C to the graph and state bytes.
    seal: bool,
}

fn sealed(bytes: &[u8], seal: bool) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if seal {
        out.extend_from_slice(&crc32c::crc32c(bytes).to_le_bytes());
    }
    out
}

fn manifest2(state: &str, rows: u8, crc: u32) -> Vec<u8> {
    let column = format!(
        r#"{{"name":"","vectors":"vectors-0-0.vec","rows":{rows},"crc":{crc},"graph":"graph-0-0.hnsw"}}"#
    );
    let bare = format!(r#"{{"format":2,"state":"{state}","columns":[{column}]}}"#);
    let sum = crc32c::crc32c(bare.as_bytes());
    format!(r#"{{"format":2,"state":"{state}","columns":[{column}],"crc32c":{sum}}}"#).into_bytes()
}

const CONFIG: &[u8] = br#"{"vectors": {"": {"size": 3, "distance": "Cosine"}}, "hnsw_config": {"m": 4, "ef_construct": 8}}"#;

fuzz_target!(|f: Folder| {
    let io = SimIo::new();
    let dir = Path::new("/db/collections/c");
    let put = |name: &str, bytes: &[u8]| io.write_atomic(&dir.join(name), bytes).unwrap();
    put("config.json", f.config.as_deref().unwrap_or(CONFIG));
    let manifest = match (&f.manifest, &f.state) {
        (Some(m), _) => m.clone(),
        (None, Some(_)) => br#"{"format": 1, "state": "state-00000000000000000000.vcn"}"#.to_vec(),
        (None, None) => br#"{"format": 1, "state": null}"#.to_vec(),
    };
    put("MANIFEST", &manifest);
    if let Some(v2) = &f.v2 {
        let mut vectors = Vec::new();
        if v2.valid_vectors {
            let mut h = Vec::new();
            h.extend_from_slice(b"VCN-VECT");
            h.extend_from_slice(&1u32.to_le_bytes());
            h.extend_from_slice(&3u32.to_le_bytes());
            h.extend_from_slice(&4u32.to_le_bytes());
            h.resize(4096, 0);
            let crc = crc32c::crc32c_append(crc32c::crc32c(&h[..20]), &h[24..]);
            h[20..24].copy_from_slice(&crc.to_le_bytes());
            vectors.extend_from_slice(&h);
        }
        vectors.extend_from_slice(&v2.vectors);
        let data = vectors.get(4096..).unwrap_or_default();
        let crc = if v2.valid_vectors {
            crc32c::crc32c(&data[..data.len().min(usize::from(v2.rows) * 12)])
        } else {
            0
        };
        put("vectors-0-0.vec", &vectors);
        put("graph-0-0.hnsw", &sealed(&v2.graph, v2.seal));
        put("state-0-0.vcn", &sealed(&v2.state, v2.seal));
        put("MANIFEST", &manifest2("state-0-0.vcn", v2.rows, crc));
    }
    if let Some(state) = &f.state {
        put("state-00000000000000000000.vcn", state);
    }
    for (i, bytes) in f.wal.iter().take(4).enumerate() {
        let mut file = Vec::new();
        if f.wal_header {
            file.extend_from_slice(b"VCN-WAL\0");
            file.extend_from_slice(&1u32.to_le_bytes());
            file.extend_from_slice(&0u32.to_le_bytes());
        }
        file.extend_from_slice(bytes);
        put(&format!("wal/{:020}.wal", i * 1000), &file);
    }
    if let Ok(db) = Database::open_with("/db", Arc::new(io), None) {
        for name in db.list_collections() {
            let c = db.collection(&name).unwrap();
            let _ = c.count();
            let _ = c.scroll(&Default::default());
        }
    }
});
