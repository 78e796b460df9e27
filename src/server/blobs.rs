//! Package blobs (archives and manifests) as content-addressed files:
//! `<dir>/sha256/<first two hex digits>/<hex>`. A blob is written to a
//! temporary file in the same directory tree, synced, then renamed into
//! place, so a reader never sees half a blob and two writers of the same
//! content agree. Blobs never go into the store (etcd's values are small).

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The blob directory.
#[derive(Debug, Clone)]
pub struct Blobs {
    dir: PathBuf,
}

impl Blobs {
    /// Uses (creating) `dir`.
    pub fn open(dir: &Path) -> std::io::Result<Blobs> {
        std::fs::create_dir_all(dir.join("sha256"))?;
        std::fs::create_dir_all(dir.join("tmp"))?;
        Ok(Blobs {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A temporary directory for uploads, on the blobs' file system.
    pub fn temp_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Where the blob with `digest` (`sha256:HEX`) lives; `None` for a
    /// digest that is not 64 lowercase hex digits.
    pub fn path(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        let ok = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| self.dir.join("sha256").join(&hex[..2]).join(hex))
    }

    /// Stores `bytes`, returning their digest.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let digest = format!("sha256:{:x}", Sha256::digest(bytes));
        let Some(path) = self.path(&digest) else {
            return Err(std::io::Error::other("a digest out of shape"));
        };
        if path.is_file() {
            return Ok(digest);
        }
        let mut temp = tempfile::NamedTempFile::new_in(self.temp_dir())?;
        temp.write_all(bytes)?;
        temp.as_file().sync_all()?;
        self.place(temp, &path)?;
        Ok(digest)
    }

    /// Moves the finished temporary file `temp` to `path`.
    pub fn place(&self, temp: tempfile::NamedTempFile, path: &Path) -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        temp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Removes the blob with `digest` (nothing when absent).
    pub fn remove(&self, digest: &str) {
        if let Some(path) = self.path(digest) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Reads the blob with `digest`, if present.
    pub fn read(&self, digest: &str) -> std::io::Result<Option<Vec<u8>>> {
        let Some(path) = self.path(digest) else {
            return Ok(None);
        };
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}
