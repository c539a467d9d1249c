//! Atomic file writes: a reader sees the old file or the whole new one, never a half.
//!
//! The new content goes to a temporary file beside the target, created exclusively
//! (`O_EXCL`: never an existing file, never through a planted link) under a name with 64
//! unpredictable bits, `.<name>.<random>.aecodec-tmp`. It is fsynced and renamed over the
//! target when complete, and removed on any error or when dropped unfinished (a
//! panic, an early return). Only a process killed outright leaves it behind: the name says
//! which file it was for.
//!
//! Outputs respect what they are given: a symlink is followed (the file it ends at is
//! replaced, the link stays), a replaced file keeps its permissions, and a FIFO, a device
//! or another special file is written in place, as it comes, never replaced by a regular
//! file ([`write_atomic`], [`Sink`]).

use std::collections::hash_map::RandomState;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use crate::Error;

/// Suffix of every temporary file this module creates.
pub const TEMP_SUFFIX: &str = ".aecodec-tmp";

/// A file being written, which replaces `path` only when [`AtomicFile::commit`] succeeds.
pub struct AtomicFile {
    path: PathBuf,
    /// The file the rename replaces: `path`, or the file its symlinks end at.
    target: PathBuf,
    tmp: PathBuf,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates the temporary file for `path` (which need not exist yet).
    pub fn create(path: &Path) -> Result<AtomicFile, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            error: source,
        };
        let target = follow_links(path);
        let dir = parent_dir(&target);
        let name = target
            .file_name()
            .ok_or_else(|| io(std::io::Error::other("not a file path")))?;
        let mut last = None;
        for attempt in 0u32..16 {
            let tmp = dir.join(format!(
                ".{}.{:016x}{TEMP_SUFFIX}",
                name.to_string_lossy(),
                random_u64(attempt)
            ));
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(f) => {
                    // A file replaced keeps its permissions (a 0600 file stays 0600).
                    if let Some(old) = std::fs::metadata(&target).ok().filter(|m| m.is_file()) {
                        let _ = f.set_permissions(old.permissions());
                    }
                    return Ok(AtomicFile {
                        path: path.to_path_buf(),
                        target,
                        tmp,
                        file: Some(BufWriter::new(f)),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(io(e)),
            }
        }
        Err(io(last.unwrap_or_else(|| {
            std::io::Error::other("no free temporary name")
        })))
    }

    /// The file this one will replace.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends bytes (buffered).
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let r = match self.file.as_mut() {
            Some(f) => f.write_all(bytes),
            None => Err(std::io::Error::other("file already finished")),
        };
        r.map_err(|source| Error::Io {
            path: self.path.clone(),
            error: source,
        })
    }

    /// Flushes, fsyncs and renames the temporary file over the target.
    pub fn commit(mut self) -> Result<(), Error> {
        let result = match self.file.take() {
            Some(w) => w
                .into_inner()
                .map_err(|e| e.into_error())
                .and_then(|f| f.sync_all())
                .and_then(|()| std::fs::rename(&self.tmp, &self.target)),
            None => Err(std::io::Error::other("file already finished")),
        };
        result.map_err(|source| Error::Io {
            path: self.path.clone(),
            error: source,
        })?;
        // Persist the rename itself (best effort: not every filesystem syncs a directory).
        if let Ok(d) = File::open(parent_dir(&self.target)) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for AtomicFile {
    /// An unfinished or failed write leaves the target as it was and no temporary file.
    fn drop(&mut self) {
        // After a successful rename the temporary name no longer exists: nothing removed.
        drop(self.file.take());
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Writes `bytes` to `path` atomically (see the module docs). On error `path` is
/// untouched and no temporary file is left.
/// A FIFO, a device or another special file is written in place instead.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if is_special(path) {
        let mut s = Sink::stream(Some(path));
        s.write(bytes)?;
        return s.finish();
    }
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Most bytes a model file (a blob or a trained model) is read to: more than the
/// largest model the core accepts (16 layers of 4,096 × 4,096 f32 weights, 1 GiB) with
/// the windows a trained model keeps.
pub const MAX_MODEL_FILE_BYTES: u64 = 2 << 30;

/// Reads the file at `path` (a blob or a trained model, whose first bytes are `magic`):
/// a file that starts otherwise is read no further than that (its parser then says what
/// it is not, and a device that never ends, such as `/dev/zero`, costs a few bytes);
/// one that goes on past [`MAX_MODEL_FILE_BYTES`] is refused.
pub fn read_model_file(path: &Path, magic: &[u8]) -> Result<Vec<u8>, Error> {
    use std::io::Read as _;
    let io = |error| Error::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut f = File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    (&mut f)
        .take(magic.len() as u64)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes != magic {
        return Ok(bytes);
    }
    f.take(MAX_MODEL_FILE_BYTES + 1 - magic.len() as u64)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_MODEL_FILE_BYTES {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line: 0,
            column: None,
            message: format!(
                "longer than {MAX_MODEL_FILE_BYTES} bytes, more than any model file can be"
            ),
        });
    }
    Ok(bytes)
}

/// The file `path` names once its symlinks are followed (`path` itself if it is none,
/// or does not exist yet); a dangling link gives the path it points at.
fn follow_links(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    // As many links as the kernel follows (Linux's MAXSYMLINKS); a loop ends there.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(&p) {
                Ok(next) => p = parent_dir(&p).join(next),
                Err(_) => break,
            },
            _ => break,
        }
    }
    p
}

/// Whether `path` (its links followed) exists and is neither a regular file nor a
/// directory: a FIFO, a character or block device, a socket.
pub fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Whether `a` and `b` are the same existing file (by device and inode where the OS has
/// them, else by canonical path).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
        false
    }
    #[cfg(not(unix))]
    {
        matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// 64 bits an attacker cannot predict: std's `RandomState` keys come from the OS's
/// random source (once per process, then stepped per instance).
fn random_u64(attempt: u32) -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u32(attempt);
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.finish()
}

/// Where output goes: a file that replaces its target when complete, a file or special
/// file written as output comes, or stdout.
pub enum Sink {
    /// A temporary file renamed over the target by [`Sink::finish`].
    File(AtomicFile),
    /// The target itself, unbuffered: each [`Sink::write`] reaches it whole or, in a
    /// regular file, not at all. Opened at the first write, so that a run with nothing
    /// to write leaves it as it was.
    Stream(PathBuf, Option<Streamed>),
    /// Standard output.
    Stdout(std::io::Stdout),
}

impl Sink {
    /// `-` or no path is stdout; a regular file (or a new one) is written atomically, a
    /// FIFO or a device as output comes.
    pub fn new(path: Option<&Path>) -> Result<Sink, Error> {
        match path {
            Some(p) if p != Path::new("-") && is_special(p) => Ok(Sink::stream(Some(p))),
            Some(p) if p != Path::new("-") => Ok(Sink::File(AtomicFile::create(p)?)),
            _ => Ok(Sink::Stdout(std::io::stdout())),
        }
    }

    /// `-` or no path is stdout; a file is written as output comes, one [`Sink::write`]
    /// at a time, so that a killed process leaves every write but the one in progress.
    /// The file is created (or truncated) at the first write.
    pub fn stream(path: Option<&Path>) -> Sink {
        match path {
            Some(p) if p != Path::new("-") => Sink::Stream(p.to_path_buf(), None),
            _ => Sink::Stdout(std::io::stdout()),
        }
    }

    /// Whether this writes to standard output.
    pub fn is_stdout(&self) -> bool {
        matches!(self, Sink::Stdout(_))
    }

    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        match self {
            Sink::File(f) => f.write_all(bytes)?,
            Sink::Stream(p, w) => {
                let io = |error| Error::Io {
                    path: p.clone(),
                    error,
                };
                let s = match w {
                    Some(s) => s,
                    None => w.insert(Streamed::create(p).map_err(io)?),
                };
                s.write(bytes).map_err(io)?;
            }
            Sink::Stdout(out) => out.write_all(bytes).map_err(stdout_error)?,
        }
        Ok(())
    }

    /// Hands what was written so far to the reader (stdout; files need nothing).
    pub fn flush(&mut self) -> Result<(), Error> {
        if let Sink::Stdout(out) = self {
            out.flush().map_err(stdout_error)?;
        }
        Ok(())
    }

    /// Finishes: renames the atomic file over its target; a streamed regular file is
    /// synced to disk (a FIFO or device has nothing to sync); stdout is flushed.
    pub fn finish(self) -> Result<(), Error> {
        match self {
            Sink::File(f) => f.commit(),
            Sink::Stream(_, None) => Ok(()),
            Sink::Stream(p, Some(s)) if s.regular => s
                .file
                .sync_all()
                .map_err(|error| Error::Io { path: p, error }),
            Sink::Stream(_, Some(_)) => Ok(()),
            Sink::Stdout(mut out) => out.flush().map_err(stdout_error),
        }
    }
}

/// A streamed output file and how much of it is whole.
pub struct Streamed {
    file: File,
    /// A regular file (its end can be cut back); else a FIFO, a device or a socket.
    regular: bool,
    /// Bytes written by whole writes.
    len: u64,
}

impl Streamed {
    /// Opens `path` for writing, creating or truncating it.
    fn create(path: &Path) -> std::io::Result<Streamed> {
        let file = File::create(path)?;
        let regular = file.metadata()?.is_file();
        Ok(Streamed {
            file,
            regular,
            len: 0,
        })
    }

    /// Appends `bytes` whole; if the write fails part way (a full disk, a file size
    /// limit), a regular file is cut back to its length before it, so that it never ends
    /// in a partial record.
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                if self.regular {
                    // The write's error is the one to report; a failed cut leaves the
                    // partial record, which the error message then still explains.
                    let _ = self.file.set_len(self.len);
                    let _ = self.file.seek(std::io::SeekFrom::Start(self.len));
                }
                Err(e)
            }
        }
    }
}

/// A failed write to standard output, named as such.
fn stdout_error(source: std::io::Error) -> Error {
    Error::Io {
        path: PathBuf::from("<stdout>"),
        error: source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_whole_file_and_leaves_nothing_on_failure() {
        let dir = std::env::temp_dir().join(format!("aecodec-fsio-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.bin");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        let bad = dir.join("missing-dir").join("x.bin");
        assert!(write_atomic(&bad, b"x").is_err());
        assert_eq!(entries(&dir), ["m.bin"]);

        // Dropped unfinished: the target keeps its old content, no temporary file stays.
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"half").unwrap();
        assert_eq!(entries(&dir).len(), 2);
        drop(f);
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        assert_eq!(entries(&dir), ["m.bin"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Temporary names are fresh for every write and never reuse an existing file: a
    /// file planted at a name this process could predict is left alone.
    #[test]
    fn temporary_names_are_unpredictable_and_created_exclusively() {
        let dir = std::env::temp_dir().join(format!("aecodec-fsio-x-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("out.csv");
        // the old scheme's name: the file name and the process id
        let planted = dir.join(format!(".out.csv.tmp{}", std::process::id()));
        std::fs::write(&planted, b"planted").unwrap();
        let a = AtomicFile::create(&p).unwrap();
        let b = AtomicFile::create(&p).unwrap();
        assert_ne!(a.tmp, b.tmp);
        for f in [&a, &b] {
            let name = f.tmp.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                name.starts_with(".out.csv.") && name.ends_with(TEMP_SUFFIX),
                "{name}"
            );
        }
        drop((a, b));
        assert_eq!(std::fs::read(&planted).unwrap(), b"planted");
        assert_eq!(entries(&dir).len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
