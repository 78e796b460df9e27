//! A gzip writer that compresses on every core, as pigz does: the input is
//! cut into blocks, each block is deflated on its own thread (ending with a
//! sync flush, so that the blocks join into one deflate stream), and the
//! blocks are written in order with one CRC over all of them. The output is
//! one ordinary gzip member that any gzip reader accepts; it is slightly
//! larger than a single-threaded stream (no block sees the previous one's
//! window) and not byte-identical to it, so it is for transfer archives,
//! never for the published, reproducible ones.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Bytes of input per block.
const BLOCK: usize = 1 << 20;

/// A deflated block and the CRC of its input.
type Block = io::Result<(Vec<u8>, Crc)>;

/// Gzip-compresses what is written to it into `out`, a block per thread.
pub struct ParallelGzWriter<W: Write> {
    out: W,
    level: Compression,
    /// Input not yet handed to a thread.
    block: Vec<u8>,
    /// Blocks being compressed, oldest first.
    pending: VecDeque<JoinHandle<Block>>,
    /// How many blocks may be compressed at once.
    threads: usize,
    crc: Crc,
    header_written: bool,
}

impl<W: Write> ParallelGzWriter<W> {
    /// A writer at compression `level` (0-9) into `out`.
    pub fn new(out: W, level: u32) -> ParallelGzWriter<W> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        ParallelGzWriter {
            out,
            level: Compression::new(level.min(9)),
            block: Vec::with_capacity(BLOCK),
            pending: VecDeque::new(),
            threads,
            crc: Crc::new(),
            header_written: false,
        }
    }

    /// Writes the gzip header: no name, no time, unknown OS.
    fn header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.out
                .write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])?;
            self.header_written = true;
        }
        Ok(())
    }

    /// Hands the current block to a thread, first writing out the oldest
    /// block when every thread is busy.
    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        while self.pending.len() >= self.threads {
            self.write_oldest()?;
        }
        let input = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK));
        let level = self.level;
        let flush = if last {
            FlushCompress::Finish
        } else {
            FlushCompress::Sync
        };
        let handle = std::thread::Builder::new()
            .name("pkg-gzip".into())
            .spawn(move || deflate_block(&input, level, flush))?;
        self.pending.push_back(handle);
        Ok(())
    }

    /// Waits for the oldest block and writes it.
    fn write_oldest(&mut self) -> io::Result<()> {
        let Some(handle) = self.pending.pop_front() else {
            return Ok(());
        };
        let (bytes, crc) = handle
            .join()
            .map_err(|_| io::Error::other("a compression thread failed"))??;
        self.header()?;
        self.out.write_all(&bytes)?;
        self.crc.combine(&crc);
        Ok(())
    }

    /// Compresses what is left, writes the trailer and returns `out`.
    pub fn finish(mut self) -> io::Result<W> {
        self.dispatch(true)?;
        while !self.pending.is_empty() {
            self.write_oldest()?;
        }
        self.header()?;
        let sum = self.crc.sum();
        let amount = self.crc.amount();
        self.out.write_all(&sum.to_le_bytes())?;
        self.out.write_all(&amount.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for ParallelGzWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = BLOCK - self.block.len();
        let n = buf.len().min(room);
        self.block.extend_from_slice(&buf[..n]);
        if self.block.len() == BLOCK {
            self.dispatch(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Deflates `input` as a piece of one raw deflate stream: ending with a
/// sync flush (byte-aligned, stream open) or, for the last block, with the
/// final block.
fn deflate_block(input: &[u8], level: Compression, flush: FlushCompress) -> Block {
    let mut crc = Crc::new();
    crc.update(input);
    let mut deflate = Compress::new(level, false);
    let mut out = Vec::with_capacity(input.len() / 2 + 1024);
    loop {
        let consumed = usize::try_from(deflate.total_in()).unwrap_or(input.len());
        let status = deflate
            .compress_vec(&input[consumed.min(input.len())..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = usize::try_from(deflate.total_in()).is_ok_and(|n| n >= input.len());
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            // A sync flush is complete once all input is in and the
            // output did not fill the space it was given.
            _ => all_in && out.len() < out.capacity(),
        };
        if done {
            return Ok((out, crc));
        }
        out.reserve(out.capacity().max(4096));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn round_trips_through_any_gzip_reader() {
        for len in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 12_345] {
            let input: Vec<u8> = (0..len).map(|i| ((i * 7919) % 251) as u8).collect();
            let mut writer = ParallelGzWriter::new(Vec::new(), 1);
            for chunk in input.chunks(70_000) {
                writer.write_all(chunk).unwrap();
            }
            let gz = writer.finish().unwrap();
            assert_eq!(gunzip(&gz), input, "length {len}");
            // One member: a multi-member reader finds nothing after it.
            let mut decoder = flate2::bufread::GzDecoder::new(&gz[..]);
            std::io::copy(&mut decoder, &mut std::io::sink()).unwrap();
            assert!(decoder.into_inner().is_empty(), "length {len}");
        }
    }

    #[test]
    fn compresses() {
        let input = b"apiVersion: v1\nkind: ConfigMap\n".repeat(100_000);
        let mut writer = ParallelGzWriter::new(Vec::new(), 1);
        writer.write_all(&input).unwrap();
        let gz = writer.finish().unwrap();
        assert!(gz.len() < input.len() / 20, "{} bytes", gz.len());
        assert_eq!(gunzip(&gz), input);
    }
}
