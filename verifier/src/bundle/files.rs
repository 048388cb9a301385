//! Reading a bundle's files from a directory or a single tar file.
//!
//! Both forms hold the same relative paths. Only regular files and directories are
//! accepted: a symbolic link, device or hard link in a bundle is refused, as is any
//! path that is absolute, contains `..`, or is not valid UTF-8.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Component, Path};

use super::BundleError;

/// The largest single file a bundle may hold (16 GiB).
pub const MAX_FILE_BYTES: u64 = 16 << 30;

/// The most files a bundle may hold.
pub const MAX_FILES: usize = 20_000_000;

/// A bundle's files by relative path (`/`-separated), as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BundleFiles {
    files: BTreeMap<String, Vec<u8>>,
}

impl BundleFiles {
    /// An empty set of files.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `path`: a directory, or a tar file holding the same layout.
    pub fn open(path: &Path) -> Result<Self, BundleError> {
        let meta = fs::metadata(path).map_err(|e| io_error(path, &e))?;
        if meta.is_dir() {
            Self::read_dir(path)
        } else {
            Self::read_tar(path)
        }
    }

    /// Reads a bundle directory.
    pub fn read_dir(root: &Path) -> Result<Self, BundleError> {
        let mut files = Self::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(dir) = pending.pop() {
            let entries = fs::read_dir(&dir).map_err(|e| io_error(&dir, &e))?;
            for entry in entries {
                let entry = entry.map_err(|e| io_error(&dir, &e))?;
                let path = entry.path();
                let kind = entry.file_type().map_err(|e| io_error(&path, &e))?;
                let relative = relative_name(root, &path)?;
                if kind.is_dir() {
                    pending.push(path);
                } else if kind.is_file() {
                    let bytes = fs::read(&path).map_err(|e| io_error(&path, &e))?;
                    files.insert(relative, bytes)?;
                } else {
                    return Err(BundleError::UnsupportedEntry { path: relative });
                }
            }
        }
        Ok(files)
    }

    /// Reads a bundle tar file (ustar, pax or GNU headers).
    pub fn read_tar(path: &Path) -> Result<Self, BundleError> {
        let file = fs::File::open(path).map_err(|e| io_error(path, &e))?;
        Self::from_tar(file)
    }

    /// Reads a bundle from tar bytes.
    pub fn from_tar(reader: impl Read) -> Result<Self, BundleError> {
        let tar_error = |e: std::io::Error| BundleError::Container {
            reason: e.to_string(),
        };
        let mut archive = tar::Archive::new(reader);
        let mut files = Self::new();
        for entry in archive.entries().map_err(tar_error)? {
            let mut entry = entry.map_err(tar_error)?;
            let raw = entry.path_bytes().into_owned();
            let name = String::from_utf8(raw).map_err(|_| BundleError::InvalidPath {
                path: "<non-UTF-8>".into(),
            })?;
            let name = name
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_owned();
            match entry.header().entry_type() {
                tar::EntryType::Directory => continue,
                tar::EntryType::Regular | tar::EntryType::Continuous => {}
                _ => return Err(BundleError::UnsupportedEntry { path: name }),
            }
            check_path(&name)?;
            let size = entry.size();
            if size > MAX_FILE_BYTES {
                return Err(BundleError::FileTooLarge { path: name, size });
            }
            let mut bytes = Vec::with_capacity(usize::try_from(size.min(1 << 26)).unwrap_or(0));
            entry.read_to_end(&mut bytes).map_err(tar_error)?;
            files.insert(name, bytes)?;
        }
        Ok(files)
    }

    /// Adds a file; a path may appear only once.
    pub fn insert(&mut self, path: String, bytes: Vec<u8>) -> Result<(), BundleError> {
        check_path(&path)?;
        if self.files.len() >= MAX_FILES {
            return Err(BundleError::TooManyFiles { limit: MAX_FILES });
        }
        if self.files.contains_key(&path) {
            return Err(BundleError::DuplicatePath { path });
        }
        self.files.insert(path, bytes);
        Ok(())
    }

    /// The bytes of `path`, if present.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// Every file, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Paths under `prefix` (e.g. `checkpoints/`), in path order.
    pub fn paths_under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.files
            .range(prefix.to_owned()..)
            .map(|(k, _)| k.as_str())
            .take_while(move |k| k.starts_with(prefix))
    }

    /// The number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are no files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Replaces the bytes of an existing file (used by tests that tamper with bundles).
    pub fn get_mut(&mut self, path: &str) -> Option<&mut Vec<u8>> {
        self.files.get_mut(path)
    }

    /// Removes a file, returning its bytes.
    pub fn remove(&mut self, path: &str) -> Option<Vec<u8>> {
        self.files.remove(path)
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> BundleError {
    BundleError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn relative_name(root: &Path, path: &Path) -> Result<String, BundleError> {
    let relative = path
        .strip_prefix(root)
        .map_err(|_| BundleError::InvalidPath {
            path: path.display().to_string(),
        })?;
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => {
                parts.push(part.to_str().ok_or_else(|| BundleError::InvalidPath {
                    path: relative.display().to_string(),
                })?)
            }
            _ => {
                return Err(BundleError::InvalidPath {
                    path: relative.display().to_string(),
                });
            }
        }
    }
    Ok(parts.join("/"))
}

/// A bundle path: `/`-separated, relative, no empty, `.` or `..` segments, printable ASCII.
fn check_path(path: &str) -> Result<(), BundleError> {
    let ok = !path.is_empty()
        && path.len() <= 255
        && path.bytes().all(|b| b.is_ascii_graphic())
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    if ok {
        Ok(())
    } else {
        Err(BundleError::InvalidPath {
            path: path.chars().take(300).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        let mut files = BundleFiles::new();
        for bad in ["", "/abs", "a/../b", "a//b", "./a", "a b", "é"] {
            assert!(
                matches!(
                    files.insert(bad.into(), vec![]),
                    Err(BundleError::InvalidPath { .. })
                ),
                "{bad:?}"
            );
        }
        files.insert("nodes.log".into(), vec![1]).expect("first");
        assert!(matches!(
            files.insert("nodes.log".into(), vec![2]),
            Err(BundleError::DuplicatePath { .. })
        ));
    }

    #[test]
    fn tar_and_directory_read_the_same_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("b/checkpoints")).expect("mkdir");
        fs::write(dir.path().join("b/manifest.json"), b"{}").expect("write");
        fs::write(dir.path().join("b/checkpoints/3.note"), b"note").expect("write");
        let from_dir = BundleFiles::open(&dir.path().join("b")).expect("dir");

        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append_dir_all(".", dir.path().join("b"))
            .expect("tar");
        let tar_bytes = builder.into_inner().expect("tar");
        let from_tar = BundleFiles::from_tar(tar_bytes.as_slice()).expect("tar");
        assert_eq!(from_dir, from_tar);
        assert_eq!(
            from_dir.paths_under("checkpoints/").collect::<Vec<_>>(),
            vec!["checkpoints/3.note"]
        );
    }

    #[test]
    fn garbage_tar_is_a_clear_error() {
        let err =
            BundleFiles::from_tar(&b"definitely not a tar file, but long enough to look at"[..]);
        assert!(err.is_err());
    }
}
