//! Snapshot files from outside (an upload, a URL, `--storage-snapshot`)
//! are restored: a collection snapshot whose framing and checksum the
//! target makes right when asked (so that the fuzzer reaches the config
//! and state decoders), and a full snapshot (a tar archive) with a
//! `config.json` and entries of its choosing, some of them real collection
//! snapshots. Each restores or is a typed error: never a panic or a hang,
//! and a refused restore leaves the database as it was.

#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vicinity::{CollectionConfig, Database, Distance, PointStruct};
use vicinity_storage::{Io, SimIo};

#[derive(Arbitrary, Debug)]
enum Input {
    /// A collection snapshot.
    Collection {
        /// The config JSON (a valid one when `None`).
        config: Option<Vec<u8>>,
        state: Vec<u8>,
        /// Write the magic, version, lengths and CRC-32C right.
        seal: bool,
    },
    /// A full snapshot.
    Full {
        /// Entries: a name and either arbitrary bytes or the real
        /// snapshot of a small collection with some bytes flipped.
        entries: Vec<(String, Entry)>,
        /// `config.json`: arbitrary bytes, or a manifest naming
        /// `(collection, entry)` pairs and `(alias, collection)` pairs.
        config: Config,
    },
    /// Any bytes at all.
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Entry {
    Bytes(Vec<u8>),
    Real { flips: Vec<(u16, u8)> },
}

#[derive(Arbitrary, Debug)]
enum Config {
    Bytes(Vec<u8>),
    Manifest {
        version: u8,
        collections: Vec<(String, String)>,
        aliases: Vec<(String, String)>,
    },
}

const CONFIG: &[u8] =
    br#"{"vectors": {"": {"size": 3, "distance": "Dot"}}, "hnsw_config": {"m": 4, "ef_construct": 8}}"#;

/// The snapshot of a three-point collection, made once.
fn real() -> &'static [u8] {
    static REAL: OnceLock<Vec<u8>> = OnceLock::new();
    REAL.get_or_init(|| {
        let db = Database::new();
        let c = db
            .create_collection("r", CollectionConfig::single(3, Distance::Dot))
            .unwrap();
        c.upsert(
            (0..3u64)
                .map(|i| PointStruct::new(i, vec![i as f32, 1.0, 0.5], Default::default()))
                .collect(),
        )
        .unwrap();
        c.snapshot_bytes().unwrap().0
    })
}

fn collection_file(config: &[u8], state: &[u8], seal: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if seal {
        out.extend_from_slice(b"VCN-SNAP");
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&(config.len() as u32).to_le_bytes());
        out.extend_from_slice(config);
    }
    out.extend_from_slice(state);
    if seal {
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out
}

fn tar(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // names the tar format cannot hold are left out
        let _ = b.append_data(&mut h, name, bytes.as_slice());
    }
    b.into_inner().unwrap_or_default()
}

fuzz_target!(|input: Input| {
    let io = SimIo::new();
    let file = Path::new("/in/upload.snapshot");
    let bytes = match &input {
        Input::Collection { config, state, seal } => {
            collection_file(config.as_deref().unwrap_or(CONFIG), state, *seal)
        }
        Input::Raw(b) => b.clone(),
        Input::Full { entries, config } => {
            let mut files: Vec<(String, Vec<u8>)> = entries
                .iter()
                .take(4)
                .map(|(name, e)| {
                    let bytes = match e {
                        Entry::Bytes(b) => b.clone(),
                        Entry::Real { flips } => {
                            let mut r = real().to_vec();
                            for (at, x) in flips.iter().take(4) {
                                let i = usize::from(*at) % r.len();
                                r[i] ^= x;
                            }
                            r
                        }
                    };
                    (name.clone(), bytes)
                })
                .collect();
            let config = match config {
                Config::Bytes(b) => b.clone(),
                Config::Manifest {
                    version,
                    collections,
                    aliases,
                } => serde_json::to_vec(&serde_json::json!({
                    "format": "vicinity-full-snapshot",
                    "version": version % 3,
                    "collections": collections.iter().take(4).cloned().collect::<std::collections::BTreeMap<_, _>>(),
                    "aliases": aliases.iter().take(4).cloned().collect::<std::collections::BTreeMap<_, _>>(),
                }))
                .unwrap(),
            };
            files.push(("config.json".into(), config));
            tar(&files)
        }
    };
    io.write_atomic(file, &bytes).unwrap();
    let db = Database::open_with("/db", Arc::new(io), None).unwrap();
    db.create_collection("keep", CollectionConfig::single(3, Distance::Dot))
        .unwrap();
    let restored = match input {
        Input::Collection { .. } => db.restore_snapshot("c", file).map(|_| ()),
        Input::Full { .. } | Input::Raw(_) => db.restore_full_snapshot(file, false).map(|_| ()),
    };
    match restored {
        Ok(()) => {
            for name in db.list_collections() {
                let c = db.collection(&name).unwrap();
                let _ = c.count();
                let _ = c.scroll(&Default::default());
            }
        }
        // a refused restore changes nothing
        Err(_) => assert_eq!(db.list_collections(), vec!["keep"]),
    }
});
