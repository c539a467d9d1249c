//! Atomic file writes: a reader sees the old file or the whole new one, never a half.
//!
//! The new content goes to a temporary file beside the target, created exclusively
//! (`O_EXCL`: never an existing file, never through a planted link) under a name with 64
//! unpredictable bits, `.<name>.<random>.aecodec-tmp`. It is fsynced and renamed over the
//! target when complete, and removed on any error or when dropped unfinished (a
//! panic, an early return). Only a process killed outright leaves it behind: the name says
//! which file it was for.

use std::collections::hash_map::RandomState;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::Error;

/// Suffix of every temporary file this module creates.
pub const TEMP_SUFFIX: &str = ".aecodec-tmp";

/// A file being written, which replaces `path` only when [`AtomicFile::commit`] succeeds.
pub struct AtomicFile {
    path: PathBuf,
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
        let dir = parent_dir(path);
        let name = path
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
                    return Ok(AtomicFile {
                        path: path.to_path_buf(),
                        tmp,
                        file: Some(BufWriter::new(f)),
                    })
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
                .and_then(|()| std::fs::rename(&self.tmp, &self.path)),
            None => Err(std::io::Error::other("file already finished")),
        };
        result.map_err(|source| Error::Io {
            path: self.path.clone(),
            error: source,
        })?;
        // Persist the rename itself (best effort: not every filesystem syncs a directory).
        if let Ok(d) = File::open(parent_dir(&self.path)) {
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
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
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

/// Where output goes: a file that replaces its target when complete, a file written as
/// it comes, or stdout.
pub enum Sink {
    /// A temporary file renamed over the target by [`Sink::finish`].
    File(AtomicFile),
    /// The target itself, unbuffered: each [`Sink::write`] reaches the file whole.
    Stream(PathBuf, File),
    /// Standard output.
    Stdout(std::io::Stdout),
}

impl Sink {
    /// `-` or no path is stdout; a file is written atomically.
    pub fn new(path: Option<&Path>) -> Result<Sink, Error> {
        match path {
            Some(p) if p != Path::new("-") => Ok(Sink::File(AtomicFile::create(p)?)),
            _ => Ok(Sink::Stdout(std::io::stdout())),
        }
    }

    /// `-` or no path is stdout; a file is created (or truncated) and written as output
    /// comes, one [`Sink::write`] at a time, so that a killed process leaves every
    /// write but the one in progress.
    pub fn stream(path: Option<&Path>) -> Result<Sink, Error> {
        match path {
            Some(p) if p != Path::new("-") => {
                let f = File::create(p).map_err(|source| Error::Io {
                    path: p.to_path_buf(),
                    error: source,
                })?;
                Ok(Sink::Stream(p.to_path_buf(), f))
            }
            _ => Ok(Sink::Stdout(std::io::stdout())),
        }
    }

    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        match self {
            Sink::File(f) => f.write_all(bytes)?,
            Sink::Stream(p, w) => w.write_all(bytes).map_err(|source| Error::Io {
                path: p.clone(),
                error: source,
            })?,
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

    /// Finishes: renames the atomic file over its target, or flushes.
    pub fn finish(self) -> Result<(), Error> {
        match self {
            Sink::File(f) => f.commit(),
            Sink::Stream(p, f) => f.sync_all().map_err(|source| Error::Io {
                path: p,
                error: source,
            }),
            Sink::Stdout(mut out) => out.flush().map_err(stdout_error),
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
