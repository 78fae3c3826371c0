//! Session keys: generation and validation.
//!
//! A key is 32 characters of `[a-z0-9]` (about 165 bits of entropy), the
//! same alphabet and length as Django's. Keys come from a ChaCha20 stream
//! seeded from the operating system; the stream is reseeded whenever the
//! process id changes, so workers forked from one parent never share it.

use std::fmt;

use parking_lot::Mutex;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::sys::fork::ForkLocal;

/// The length of every session key.
pub const KEY_LEN: usize = 32;
const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A validated session key.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey([u8; KEY_LEN]);

/// Why a string is not a session key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidKey {
    /// Not exactly 32 bytes long.
    #[error("a session key is 32 characters, got {0}")]
    Length(usize),
    /// A byte outside `[a-z0-9]` at this position.
    #[error("a session key is [a-z0-9] only; byte {0} is not")]
    Charset(usize),
}

impl SessionKey {
    /// Validates `s` as a session key. Nothing else is checked: whether a
    /// session exists under it is the store's business.
    pub fn parse(s: &str) -> Result<SessionKey, InvalidKey> {
        SessionKey::from_bytes(s.as_bytes())
    }

    /// Validates raw bytes (for callers holding bytes that may not be UTF-8).
    pub fn from_bytes(b: &[u8]) -> Result<SessionKey, InvalidKey> {
        let arr: [u8; KEY_LEN] = b.try_into().map_err(|_| InvalidKey::Length(b.len()))?;
        // Eight bytes at a time, then the position on failure.
        let (words, _) = arr.as_chunks::<8>();
        let (any_high, in_charset) = words.iter().fold((0, HIGH), |(high, ok), w| {
            let w = u64::from_le_bytes(*w);
            (high | w, ok & charset_bits(w))
        });
        if any_high & HIGH != 0 || in_charset != HIGH {
            let allowed = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            let pos = arr.iter().position(|c| !allowed(c)).unwrap_or(0);
            return Err(InvalidKey::Charset(pos));
        }
        Ok(SessionKey(arr))
    }

    /// The number `n` written in base 36 (`[0-9a-z]`), zero-padded to a
    /// key: a one-to-one map from 128-bit numbers onto keys (36^25 > 2^128,
    /// so the first seven characters are always `0`). The tower-sessions
    /// store names its records this way after tower-sessions' 128-bit ids.
    #[cfg(feature = "tower-sessions")]
    pub(crate) fn from_u128(mut n: u128) -> SessionKey {
        const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut out = [b'0'; KEY_LEN];
        for slot in out.iter_mut().rev() {
            *slot = DIGITS[(n % 36) as usize];
            n /= 36;
        }
        SessionKey(out)
    }

    /// A fresh random key.
    pub fn generate() -> SessionKey {
        GENERATOR.get().lock().key()
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        // The constructor admits only ASCII, so this never fails.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The key as bytes (what the store indexes by).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A session key is a bearer credential: keep it out of logs.
        write!(f, "SessionKey({}…)", &self.as_str()[..4])
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SessionKey {
    type Err = InvalidKey;
    fn from_str(s: &str) -> Result<Self, InvalidKey> {
        SessionKey::parse(s)
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that is in `[a-z0-9]`, for words whose
/// bytes are all below 0x80 (the caller checks that), without a branch per
/// byte: validation runs on every request (`benches/hot_path.rs`, get),
/// and a byte-wise loop took between two and three times as long.
fn charset_bits(w: u64) -> u64 {
    // For bytes below 0x80 the per-byte sums below cannot carry into the
    // next byte: the high bit of each byte of `w + (0x80 - lo) * ONES` is
    // set exactly when that byte is >= lo.
    let at_least = |lo: u8| w.wrapping_add((0x80 - lo as u64) * ONES);
    let in_range = |lo: u8, hi: u8| at_least(lo) & !at_least(hi + 1);
    (in_range(b'a', b'z') | in_range(b'0', b'9')) & HIGH
}

/// The key generator: one per process (a forked child gets its own, see
/// `ForkLocal`).
static GENERATOR: ForkLocal<Mutex<Generator>> =
    ForkLocal::new(|| Mutex::new(Generator { pid: 0, rng: None }));

struct Generator {
    pid: u32,
    rng: Option<ChaCha20Rng>,
}

impl Generator {
    fn key(&mut self) -> SessionKey {
        let pid = std::process::id();
        let rng = match &mut self.rng {
            Some(rng) if self.pid == pid => rng,
            slot => {
                // First use, or we are a forked child: the parent's stream
                // state was copied into us, so never continue it.
                self.pid = pid;
                slot.insert(ChaCha20Rng::from_entropy())
            }
        };
        let mut out = [0u8; KEY_LEN];
        let mut filled = 0;
        let mut buf = [0u8; 64];
        while filled < KEY_LEN {
            rng.fill_bytes(&mut buf);
            for &b in &buf {
                // 252 = 7 * 36: rejecting the top 4 byte values keeps every
                // character equally likely.
                if b < 252 && filled < KEY_LEN {
                    out[filled] = ALPHABET[(b % 36) as usize];
                    filled += 1;
                }
            }
        }
        SessionKey(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_value_is_judged_as_the_charset_says() {
        let good = *b"abcdefghijklmnopqrstuvwxyz012345";
        assert!(SessionKey::from_bytes(&good).is_ok());
        for pos in [0, 7, 8, 31] {
            for b in 0..=255u8 {
                let mut k = good;
                k[pos] = b;
                let allowed = b.is_ascii_lowercase() || b.is_ascii_digit();
                let got = SessionKey::from_bytes(&k);
                if allowed {
                    assert!(got.is_ok(), "byte {b:#x} at {pos}");
                } else {
                    assert_eq!(got, Err(InvalidKey::Charset(pos)), "byte {b:#x} at {pos}");
                }
            }
        }
    }

    #[test]
    fn generated_keys_validate_and_differ() {
        let a = SessionKey::generate();
        let b = SessionKey::generate();
        assert_ne!(a, b);
        assert_eq!(SessionKey::parse(a.as_str()), Ok(a));
    }
}
