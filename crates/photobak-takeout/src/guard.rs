//! Readers that enforce the limits: size caps and the decompression-ratio cap.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};
use std::rc::Rc;

/// The error a guard raises; recognisable with [`is_bomb`].
#[derive(Debug)]
pub struct LimitExceeded(pub String);

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitExceeded {}

/// Whether an I/O error came from a limit guard.
pub fn is_bomb(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(|x| x.downcast_ref::<LimitExceeded>().is_some())
}

fn limit_error(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, LimitExceeded(msg))
}

/// Fails once more than `limit` bytes come out of `inner`.
pub struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R> Capped<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Capped {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let max = usize::try_from(self.left.saturating_add(1))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..max])?;
        if n as u64 > self.left {
            return Err(limit_error(format!(
                "entry yields more than {} bytes (its declared size or the size limit)",
                self.limit
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Counts the bytes read from the compressed file.
pub struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R> Counting<R> {
    pub fn new(inner: R, count: Rc<Cell<u64>>) -> Self {
        Counting { inner, count }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Fails when the decompressed output exceeds `ratio` × the compressed input (+ `slack`).
pub struct RatioGuard<R> {
    inner: R,
    compressed: Rc<Cell<u64>>,
    out: u64,
    ratio: u64,
    slack: u64,
}

impl<R> RatioGuard<R> {
    pub fn new(inner: R, compressed: Rc<Cell<u64>>, ratio: u64, slack: u64) -> Self {
        RatioGuard {
            inner,
            compressed,
            out: 0,
            ratio,
            slack,
        }
    }
}

impl<R: Read> Read for RatioGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        let allowed = self
            .compressed
            .get()
            .saturating_mul(self.ratio)
            .saturating_add(self.slack);
        if self.out > allowed {
            return Err(limit_error(format!(
                "decompressed data exceeds {}:1 of the compressed data (compression bomb?)",
                self.ratio
            )));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_allows_exact_and_fails_beyond() {
        let mut ok = Capped::new(&b"abcd"[..], 4);
        let mut v = Vec::new();
        ok.read_to_end(&mut v).unwrap();
        assert_eq!(v, b"abcd");
        let mut bad = Capped::new(&b"abcde"[..], 4);
        let e = bad.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(is_bomb(&e));
    }

    #[test]
    fn ratio_guard() {
        let count = Rc::new(Cell::new(0));
        let data = vec![0u8; 10_000];
        let src = Counting::new(&data[..10], count.clone());
        // 10 compressed bytes may give at most 10*10+50 bytes.
        let mut g = RatioGuard::new(src.chain(&data[10..]), count, 10, 50);
        let e = g.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(is_bomb(&e));
        assert!(!is_bomb(&io::Error::other("x")));
    }
}
