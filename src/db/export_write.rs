//! Writing an export's data files: each table's rows streamed as JSON
//! lines into `/tables/<table>.jsonl`, hashed on a second thread as they
//! are written.

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::schema::Table;
use super::source::{DbError, ExportSource, Row};

/// Writes an empty data file for a table that took no rows.
pub(super) fn empty_digest(out: &Path, name: &str) -> Result<[u8; 32], DbError> {
    let path = out.join("tables").join(format!("{name}.jsonl"));
    std::fs::write(&path, b"")
        .map_err(|e| DbError::Io(format!("cannot write {}: {e}", path.display())))?;
    Ok(Sha256::digest(b"").into())
}

/// How many bytes of JSON lines are gathered before they are hashed and
/// written.
const CHUNK: usize = 1 << 20;

/// Streams `table`'s rows (those `keep` accepts) into its data file,
/// hashing as it writes: the row count and the file's digest. The JSON
/// lines are made on this thread, in chunks of [`CHUNK`] bytes; a second
/// thread hashes and writes them, so that both overlap.
pub(super) fn write_table(
    source: &mut dyn ExportSource,
    table: &Table,
    predicate: Option<&str>,
    out: &Path,
    keep: &mut dyn FnMut(&Row) -> bool,
) -> Result<(u64, [u8; 32]), DbError> {
    let path = out.join("tables").join(format!("{}.jsonl", table.name));
    let io = |e: std::io::Error| DbError::Io(format!("cannot write {}: {e}", path.display()));
    let file = std::fs::File::create(&path).map_err(io)?;
    // Before each value: `"name":`, after a comma but for the first.
    let prefixes: Vec<Vec<u8>> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut p = if i > 0 { b",".to_vec() } else { Vec::new() };
            p.extend_from_slice(
                serde_json::to_string(&c.name)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            p.push(b':');
            p
        })
        .collect();
    let columns = table.columns.clone();
    // Full chunks to the writer; emptied ones back, to be filled again.
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> std::io::Result<[u8; 32]> {
            let mut file = file;
            let mut hash = Sha256::new();
            for mut chunk in full_rx {
                hash.update(&chunk);
                file.write_all(&chunk)?;
                chunk.clear();
                // The reader may be gone already; the chunk is dropped then.
                let _ = empty_tx.send(chunk);
            }
            file.flush()?;
            Ok(hash.finalize().into())
        });
        let mut rows = 0u64;
        let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + (1 << 16));
        let stopped = || DbError::Io(format!("cannot write {}", path.display()));
        let scanned = source.scan(table, &columns, predicate, &mut |row| {
            if row.len() != prefixes.len() {
                return Err(DbError::Database(format!(
                    "reading `{}` gave {} values for {} columns",
                    table.name,
                    row.len(),
                    prefixes.len()
                )));
            }
            if !keep(row) {
                return Ok(());
            }
            buf.push(b'{');
            for (i, prefix) in prefixes.iter().enumerate() {
                buf.extend_from_slice(prefix);
                buf.extend_from_slice(row.get(i).unwrap_or(b"null"));
            }
            buf.extend_from_slice(b"}\n");
            rows += 1;
            if buf.len() >= CHUNK {
                let next = empty_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(CHUNK + (1 << 16)));
                full_tx
                    .send(std::mem::replace(&mut buf, next))
                    .map_err(|_| stopped())?;
            }
            Ok(())
        });
        let sent = match scanned {
            Ok(()) => full_tx.send(buf).map_err(|_| stopped()),
            Err(e) => Err(e),
        };
        // The writer ends when the chunks do.
        drop(full_tx);
        let written = writer
            .join()
            .map_err(|_| DbError::Io(format!("writing {} failed", path.display())))?;
        // A write error explains a stopped writer best; then the scan's.
        let digest = written.map_err(io)?;
        sent?;
        Ok((rows, digest))
    })
}
