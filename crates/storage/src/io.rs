//! All durability goes through this small file-I/O trait, so that tests can
//! fail writes on purpose and simulate a power loss (what was synced stays,
//! what was not is dropped or torn).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::StorageError;
use crate::mmap::MappedFile;

/// A file opened for appending.
pub trait AppendFile: Send {
    /// Appends bytes (not yet durable).
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes everything appended so far durable.
    fn sync(&mut self) -> io::Result<()>;
}

/// The file operations storage needs.
pub trait Io: Send + Sync + std::fmt::Debug {
    /// Creates a folder and its parents; the new entries are made durable.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Opens (creating if needed) a file for appending.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>>;
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Replaces a file's contents atomically and durably: a temporary file,
    /// synced, renamed over the target, then the folder synced.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Cuts a file to `len` bytes, durably.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Removes a file (missing is fine).
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Removes a folder and everything in it (missing is fine).
    fn remove_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The files directly in a folder, sorted by name.
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// Whether a path exists.
    fn exists(&self, path: &Path) -> bool;
    /// The folders directly in a folder, by name, sorted (none if it does
    /// not exist).
    fn list_dirs(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// The CRC-32C of `len` bytes of a file from `offset`, read in pieces
    /// (not into this process's memory all at once).
    fn checksum(&self, path: &Path, offset: u64, len: u64) -> io::Result<u32>;
    /// `len` bytes of a file from `offset` (a multiple of 4,096), read-only
    /// and page-aligned: a memory mapping on a real disk, read in now with
    /// `populate` or paged in on demand without; a copy on a simulated one.
    /// A file shorter than `offset + len` is an error, never a mapping.
    fn map_file(
        &self,
        path: &Path,
        offset: u64,
        len: usize,
        populate: bool,
    ) -> Result<MappedFile, StorageError>;
    /// Takes the folder's lock for this process, where the file system has
    /// one (`None` on a simulated disk).
    fn lock_folder(&self, _dir: &Path) -> Result<Option<crate::FolderLock>, crate::StorageError> {
        Ok(None)
    }
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdIo;

struct StdFile(fs::File);

impl AppendFile for StdFile {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

impl Io for StdIo {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        fs::create_dir_all(dir)?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        let existed = path.exists();
        let f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        if !existed && let Some(parent) = path.parent() {
            // a new file's name is durable only once its folder is synced
            sync_dir(parent)?;
        }
        Ok(Box::new(StdFile(f)))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let tmp = path.with_extension("tmp");
        {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        if let Some(parent) = path.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = fs::OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        match fs::remove_file(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        match fs::remove_dir_all(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut out: Vec<PathBuf> = fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        out.sort();
        Ok(out)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn list_dirs(&self, dir: &Path) -> io::Result<Vec<String>> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        out.sort();
        Ok(out)
    }

    fn lock_folder(&self, dir: &Path) -> Result<Option<crate::FolderLock>, crate::StorageError> {
        crate::FolderLock::acquire(dir).map(Some)
    }

    fn checksum(&self, path: &Path, offset: u64, len: u64) -> io::Result<u32> {
        use std::os::unix::fs::FileExt;
        let f = fs::File::open(path)?;
        let mut buf = vec![0u8; 1 << 20];
        let (mut at, end, mut crc) = (offset, offset + len, 0u32);
        while at < end {
            let n = ((end - at) as usize).min(buf.len());
            f.read_exact_at(&mut buf[..n], at)?;
            crc = crc32c::crc32c_append(crc, &buf[..n]);
            at += n as u64;
        }
        Ok(crc)
    }

    fn map_file(
        &self,
        path: &Path,
        offset: u64,
        len: usize,
        populate: bool,
    ) -> Result<MappedFile, StorageError> {
        let f = fs::File::open(path).map_err(|source| StorageError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        MappedFile::map(&f, path, offset, len, populate)
    }
}

/// One simulated file: what the OS holds (`live`) and how much of it is
/// on the platter (`durable` prefix length).
#[derive(Clone, Debug, Default)]
struct SimFile {
    live: Vec<u8>,
    durable: usize,
}

#[derive(Debug, Default)]
struct SimState {
    files: BTreeMap<PathBuf, SimFile>,
    /// Writes left before every write fails (`None`: never).
    writes_left: Option<u64>,
    /// Syncs of appended files so far.
    syncs: u64,
    /// How long each sync of an appended file takes.
    sync_delay: std::time::Duration,
}

/// An in-memory file system for tests: it can fail writes after a budget
/// (a full disk) and simulate a power loss.
#[derive(Debug, Default, Clone)]
pub struct SimIo {
    state: Arc<Mutex<SimState>>,
}

struct SimAppend {
    state: Arc<Mutex<SimState>>,
    path: PathBuf,
}

fn full_disk() -> io::Error {
    io::Error::new(
        io::ErrorKind::StorageFull,
        "simulated: no space left on device",
    )
}

impl SimState {
    fn spend(&mut self) -> io::Result<()> {
        match &mut self.writes_left {
            Some(0) => Err(full_disk()),
            Some(n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl AppendFile for SimAppend {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.state.lock();
        if let Err(e) = s.spend() {
            // a full disk takes what fits, then fails: half the bytes
            s.files
                .entry(self.path.clone())
                .or_default()
                .live
                .extend_from_slice(&bytes[..bytes.len() / 2]);
            return Err(e);
        }
        s.files
            .entry(self.path.clone())
            .or_default()
            .live
            .extend_from_slice(bytes);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        let delay = self.state.lock().sync_delay;
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let mut s = self.state.lock();
        s.syncs += 1;
        let f = s.files.entry(self.path.clone()).or_default();
        f.durable = f.live.len();
        Ok(())
    }
}

impl SimIo {
    /// An empty simulated disk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every write after the next `n` fails, as on a full disk.
    pub fn fail_after(&self, n: u64) {
        self.state.lock().writes_left = Some(n);
    }

    /// Syncs of appended files (log files) so far.
    pub fn syncs(&self) -> u64 {
        self.state.lock().syncs
    }

    /// Bytes written but not synced yet, over all files.
    pub fn unsynced_bytes(&self) -> u64 {
        self.state
            .lock()
            .files
            .values()
            .map(|f| (f.live.len() - f.durable) as u64)
            .sum()
    }

    /// Makes every sync of an appended file take `delay`, as a disk's
    /// flush does.
    pub fn set_sync_delay(&self, delay: std::time::Duration) {
        self.state.lock().sync_delay = delay;
    }

    /// Writes succeed again.
    pub fn heal(&self) {
        self.state.lock().writes_left = None;
    }

    /// A power loss: each file keeps its synced bytes plus, if `seed` says
    /// so, a torn prefix of the unsynced ones. Files never synced may
    /// vanish.
    pub fn power_loss(&self, seed: u64) {
        let mut s = self.state.lock();
        let mut x = seed;
        s.files.retain(|_, f| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let unsynced = f.live.len() - f.durable;
            let keep = if unsynced == 0 {
                0
            } else {
                (x >> 33) as usize % (unsynced + 1)
            };
            f.live.truncate(f.durable + keep);
            f.durable = f.live.len();
            !(f.live.is_empty() && f.durable == 0 && (x >> 20) & 1 == 1)
        });
    }
}

impl Io for SimIo {
    fn create_dir_all(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        self.state
            .lock()
            .files
            .entry(path.to_path_buf())
            .or_default();
        Ok(Box::new(SimAppend {
            state: Arc::clone(&self.state),
            path: path.to_path_buf(),
        }))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.state
            .lock()
            .files
            .get(path)
            .map(|f| f.live.clone())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{} not found", path.display()),
                )
            })
    }

    fn checksum(&self, path: &Path, offset: u64, len: u64) -> io::Result<u32> {
        let s = self.state.lock();
        let data = s
            .files
            .get(path)
            .map(|f| &f.live[..])
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not found"))?;
        let (a, b) = (offset as usize, (offset + len) as usize);
        if b > data.len() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short file"));
        }
        Ok(crc32c::crc32c(&data[a..b]))
    }

    fn map_file(
        &self,
        path: &Path,
        offset: u64,
        len: usize,
        _populate: bool,
    ) -> Result<MappedFile, StorageError> {
        let s = self.state.lock();
        let data = s
            .files
            .get(path)
            .map(|f| &f.live[..])
            .ok_or_else(|| StorageError::Io {
                path: path.to_path_buf(),
                source: io::Error::new(io::ErrorKind::NotFound, "not found"),
            })?;
        let end = offset as usize + len;
        if end > data.len() {
            return Err(StorageError::Corrupted {
                path: path.to_path_buf(),
                offset: data.len() as u64,
                reason: format!("the file ends before byte {end}"),
            });
        }
        MappedFile::copy_of(&data[offset as usize..end])
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.state.lock();
        s.spend()?;
        s.files.insert(
            path.to_path_buf(),
            SimFile {
                live: bytes.to_vec(),
                durable: bytes.len(),
            },
        );
        Ok(())
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut s = self.state.lock();
        if let Some(f) = s.files.get_mut(path) {
            f.live.truncate(len as usize);
            f.durable = f.durable.min(f.live.len());
            f.durable = f.live.len();
        }
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.state.lock().files.remove(path);
        Ok(())
    }

    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.state.lock().files.retain(|p, _| !p.starts_with(dir));
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        Ok(self
            .state
            .lock()
            .files
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .cloned()
            .collect())
    }

    fn exists(&self, path: &Path) -> bool {
        let s = self.state.lock();
        s.files.contains_key(path) || s.files.keys().any(|p| p.starts_with(path))
    }

    fn list_dirs(&self, dir: &Path) -> io::Result<Vec<String>> {
        let s = self.state.lock();
        let mut out: Vec<String> = s
            .files
            .keys()
            .filter_map(|p| p.strip_prefix(dir).ok())
            .filter(|rest| rest.components().count() > 1)
            .filter_map(|rest| rest.components().next())
            .filter_map(|c| c.as_os_str().to_str().map(str::to_string))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }
}
