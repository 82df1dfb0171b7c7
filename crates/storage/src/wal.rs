//! The write-ahead log: every update is appended here, framed and
//! checksummed, before it is acknowledged.
//!
//! A log is a folder of files named by the sequence number of their first
//! record (`00000000000000000042.wal`). Each file starts with a 16-byte
//! header (magic `VCN-WAL\0`, format version, reserved), then records:
//!
//! ```text
//! u32 length of body | u32 crc32c(seq ‖ body) | u64 seq | body
//! ```
//!
//! All integers little-endian. On open, the last file's tail is checked
//! record by record; a torn or corrupt tail (a power loss mid-write) is cut
//! off, never applied. A bad record in an earlier file is corruption.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::StorageError;
use crate::io::{AppendFile, Io};

const MAGIC: &[u8; 8] = b"VCN-WAL\0";
/// The WAL format version this build writes and reads.
pub const WAL_VERSION: u32 = 1;
const HEADER: usize = 16;
const FRAME: usize = 16;
/// The largest record body accepted (a batch of upserts).
pub const MAX_RECORD: usize = 1 << 30;
/// A new file is started once the current one passes this size.
const ROTATE_BYTES: u64 = 64 << 20;

fn io_err(path: &Path, source: std::io::Error) -> StorageError {
    StorageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> StorageError {
    StorageError::Corrupted {
        path: path.to_path_buf(),
        offset,
        reason: reason.into(),
    }
}

fn file_name(first_seq: u64) -> String {
    format!("{first_seq:020}.wal")
}

fn header() -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&WAL_VERSION.to_le_bytes());
    h
}

/// A record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalRecord {
    /// Its sequence number.
    pub seq: u64,
    /// Its body.
    pub body: Vec<u8>,
}

/// An open write-ahead log.
pub struct Wal {
    io: Arc<dyn Io>,
    dir: PathBuf,
    file: Box<dyn AppendFile>,
    path: PathBuf,
    bytes: u64,
    /// Whether records were appended since the last sync.
    dirty: bool,
    /// Whether a failed append may have left part of a record after
    /// `bytes` (a full disk writes what fits, then fails): it must be cut
    /// off before the next record, or replay would stop at it and drop
    /// every record after.
    torn: bool,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .field("file", &self.path)
            .finish()
    }
}

/// Parses one file; returns its records and, for a torn tail, where the
/// valid part ends.
fn parse(path: &Path, data: &[u8]) -> Result<(Vec<WalRecord>, Option<u64>), StorageError> {
    if data.len() < HEADER {
        // a file cut inside its header was never written to: empty
        return Ok((Vec::new(), Some(0)));
    }
    if &data[..8] != MAGIC {
        return Err(corrupt(path, 0, "not a WAL file (bad magic)"));
    }
    let version = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes"));
    if version != WAL_VERSION {
        return Err(StorageError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
            supported: WAL_VERSION,
        });
    }
    let mut records = Vec::new();
    let mut at = HEADER;
    while at < data.len() {
        if data.len() - at < FRAME {
            return Ok((records, Some(at as u64)));
        }
        let len = u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(data[at + 4..at + 8].try_into().expect("4 bytes"));
        if len > MAX_RECORD || data.len() - at - FRAME < len {
            return Ok((records, Some(at as u64)));
        }
        let seq_and_body = &data[at + 8..at + FRAME + len];
        if crc32c::crc32c(seq_and_body) != crc {
            return Ok((records, Some(at as u64)));
        }
        let seq = u64::from_le_bytes(seq_and_body[..8].try_into().expect("8 bytes"));
        records.push(WalRecord {
            seq,
            body: seq_and_body[8..].to_vec(),
        });
        at += FRAME + len;
    }
    Ok((records, None))
}

impl Wal {
    /// Opens (or creates) the log in `dir` and returns it with every record
    /// it holds, in order. A torn tail of the last file is cut off.
    pub fn open(io: Arc<dyn Io>, dir: &Path) -> Result<(Wal, Vec<WalRecord>), StorageError> {
        io.create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let files: Vec<PathBuf> = io
            .list(dir)
            .map_err(|e| io_err(dir, e))?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "wal"))
            .collect();
        let mut records = Vec::new();
        let mut last_len = 0;
        for (i, path) in files.iter().enumerate() {
            let data = io.read(path).map_err(|e| io_err(path, e))?;
            let (mut recs, torn) = parse(path, &data)?;
            let is_last = i + 1 == files.len();
            match torn {
                Some(end) if is_last => {
                    if end < HEADER as u64 {
                        io.write_atomic(path, &header())
                            .map_err(|e| io_err(path, e))?;
                        last_len = HEADER as u64;
                    } else {
                        io.truncate(path, end).map_err(|e| io_err(path, e))?;
                        last_len = end;
                    }
                }
                Some(end) => {
                    return Err(corrupt(
                        path,
                        end,
                        "a damaged record before the last WAL file",
                    ));
                }
                None => last_len = data.len() as u64,
            }
            if let (Some(prev), Some(first)) = (records.last(), recs.first())
                && first_seq_le(prev, first)
            {
                return Err(corrupt(
                    path,
                    HEADER as u64,
                    "WAL sequence numbers go backwards",
                ));
            }
            records.append(&mut recs);
        }
        let (path, bytes) = match files.last() {
            Some(p) => (p.clone(), last_len),
            None => {
                let p = dir.join(file_name(0));
                io.write_atomic(&p, &header()).map_err(|e| io_err(&p, e))?;
                (p, HEADER as u64)
            }
        };
        let file = io.open_append(&path).map_err(|e| io_err(&path, e))?;
        Ok((
            Wal {
                io,
                dir: dir.to_path_buf(),
                file,
                path,
                bytes,
                dirty: false,
                torn: false,
            },
            records,
        ))
    }

    /// Appends a record (written, not yet synced: it survives the process
    /// being killed, not a power loss).
    pub fn append(&mut self, seq: u64, body: &[u8]) -> Result<(), StorageError> {
        if body.len() > MAX_RECORD {
            return Err(StorageError::RecordTooLarge {
                len: body.len(),
                max: MAX_RECORD,
            });
        }
        if self.torn {
            self.cut_torn_tail()?;
        }
        if self.bytes >= ROTATE_BYTES {
            self.rotate(seq)?;
        }
        let mut frame = Vec::with_capacity(FRAME + body.len());
        frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
        frame.extend_from_slice(&[0; 4]);
        frame.extend_from_slice(&seq.to_le_bytes());
        frame.extend_from_slice(body);
        let crc = crc32c::crc32c(&frame[8..]);
        frame[4..8].copy_from_slice(&crc.to_le_bytes());
        if let Err(e) = self.file.append(&frame) {
            self.torn = true;
            // cut now if the disk lets us; else before the next append
            let _ = self.cut_torn_tail();
            return Err(io_err(&self.path, e));
        }
        self.bytes += frame.len() as u64;
        self.dirty = true;
        Ok(())
    }

    /// Makes every appended record durable.
    pub fn sync(&mut self) -> Result<(), StorageError> {
        if self.dirty {
            self.file.sync().map_err(|e| io_err(&self.path, e))?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Whether records were appended since the last sync.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Cuts the file back to its last whole record and reopens it, after
    /// a failed append.
    fn cut_torn_tail(&mut self) -> Result<(), StorageError> {
        self.io
            .truncate(&self.path, self.bytes)
            .map_err(|e| io_err(&self.path, e))?;
        self.file = self
            .io
            .open_append(&self.path)
            .map_err(|e| io_err(&self.path, e))?;
        self.torn = false;
        Ok(())
    }

    fn rotate(&mut self, next_seq: u64) -> Result<(), StorageError> {
        self.sync()?;
        let path = self.dir.join(file_name(next_seq));
        self.io
            .write_atomic(&path, &header())
            .map_err(|e| io_err(&path, e))?;
        self.file = self.io.open_append(&path).map_err(|e| io_err(&path, e))?;
        self.path = path;
        self.bytes = HEADER as u64;
        Ok(())
    }

    /// Drops the records before `seq` (they are in a checkpoint): starts a
    /// new file at `seq`, then removes the older files.
    pub fn truncate_before(&mut self, seq: u64) -> Result<(), StorageError> {
        self.rotate(seq)?;
        for p in self.io.list(&self.dir).map_err(|e| io_err(&self.dir, e))? {
            if p != self.path && p.extension().is_some_and(|e| e == "wal") {
                self.io.remove(&p).map_err(|e| io_err(&p, e))?;
            }
        }
        Ok(())
    }
}

fn first_seq_le(prev: &WalRecord, first: &WalRecord) -> bool {
    first.seq <= prev.seq
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::SimIo;

    fn open(io: &SimIo) -> (Wal, Vec<WalRecord>) {
        Wal::open(Arc::new(io.clone()), Path::new("/db/wal")).unwrap()
    }

    #[test]
    fn records_round_trip_and_survive_reopen() {
        let io = SimIo::new();
        let (mut w, recs) = open(&io);
        assert!(recs.is_empty());
        for seq in 0..100u64 {
            w.append(seq, format!("op {seq}").as_bytes()).unwrap();
        }
        w.sync().unwrap();
        drop(w);
        let (_, recs) = open(&io);
        assert_eq!(recs.len(), 100);
        assert_eq!(
            recs[42],
            WalRecord {
                seq: 42,
                body: b"op 42".to_vec()
            }
        );
    }

    #[test]
    fn power_loss_keeps_synced_records_and_cuts_torn_tails() {
        for seed in 0..200u64 {
            let io = SimIo::new();
            let (mut w, _) = open(&io);
            for seq in 0..10u64 {
                w.append(seq, &vec![seq as u8; 100 + seq as usize]).unwrap();
            }
            w.sync().unwrap();
            for seq in 10..20u64 {
                w.append(seq, &[seq as u8; 50]).unwrap();
            }
            drop(w);
            io.power_loss(seed);
            let (mut w, recs) = open(&io);
            assert!(recs.len() >= 10, "seed {seed}: synced records lost");
            for (i, r) in recs.iter().enumerate() {
                assert_eq!(r.seq, i as u64);
                assert!(
                    r.body.iter().all(|&b| b == i as u8),
                    "seed {seed}: record {i} damaged"
                );
            }
            // the log goes on after the cut
            let next = recs.len() as u64;
            w.append(next, b"after").unwrap();
            w.sync().unwrap();
            drop(w);
            let (_, again) = open(&io);
            assert_eq!(again.last().unwrap().body, b"after");
        }
    }

    #[test]
    fn a_bit_flip_in_an_old_file_is_corruption() {
        let io = SimIo::new();
        let (mut w, _) = open(&io);
        w.append(0, b"one").unwrap();
        w.truncate_before(1).unwrap();
        w.append(1, b"two").unwrap();
        w.rotate(2).unwrap();
        w.append(2, b"three").unwrap();
        w.sync().unwrap();
        drop(w);
        let (_, recs) = open(&io);
        assert_eq!(recs.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2]);
        let p = Path::new("/db/wal").join(file_name(1));
        let mut data = io.read(&p).unwrap();
        let n = data.len();
        data[n - 1] ^= 0x40;
        io.write_atomic(&p, &data).unwrap();
        let err = Wal::open(Arc::new(io.clone()), Path::new("/db/wal")).unwrap_err();
        assert!(matches!(err, StorageError::Corrupted { .. }), "{err}");
        assert!(
            err.to_string().contains("00000000000000000001.wal"),
            "{err}"
        );
    }

    #[test]
    fn failed_writes_are_errors_and_reopen_sees_the_synced_state() {
        let io = SimIo::new();
        let (mut w, _) = open(&io);
        w.append(0, b"kept").unwrap();
        w.sync().unwrap();
        io.fail_after(0);
        assert!(w.append(1, b"lost").is_err());
        io.heal();
        drop(w);
        let (_, recs) = open(&io);
        assert_eq!(recs.len(), 1);
    }

    /// A full disk writes part of a record before failing: the part is cut
    /// off, so records appended once there is space again follow the last
    /// whole one and replay sees them all.
    #[test]
    fn a_record_torn_by_a_full_disk_does_not_hide_later_ones() {
        let io = SimIo::new();
        let (mut w, _) = open(&io);
        w.append(0, b"before").unwrap();
        io.fail_after(0);
        assert!(w.append(1, b"torn by the full disk").is_err());
        // still full: refused again, nothing half-written stays
        assert!(w.append(1, b"torn again").is_err());
        io.heal();
        w.append(1, b"after").unwrap();
        w.append(2, b"and more").unwrap();
        w.sync().unwrap();
        drop(w);
        let (_, recs) = open(&io);
        let bodies: Vec<&[u8]> = recs.iter().map(|r| &r.body[..]).collect();
        assert_eq!(bodies, [&b"before"[..], b"after", b"and more"]);
        assert_eq!(recs.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1, 2]);
    }

    #[test]
    fn newer_formats_are_refused() {
        let io = SimIo::new();
        let p = Path::new("/db/wal").join(file_name(0));
        let mut h = header();
        h[8..12].copy_from_slice(&9u32.to_le_bytes());
        io.write_atomic(&p, &h).unwrap();
        let err = Wal::open(Arc::new(io), Path::new("/db/wal")).unwrap_err();
        assert!(
            matches!(err, StorageError::UnsupportedVersion { found: 9, .. }),
            "{err}"
        );
    }
}
