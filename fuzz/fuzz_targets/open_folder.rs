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
