//! The digest algorithms cubie_hash offers, and hex rendering of their output.
//!
//! Pure Rust, no Python: this is what `cargo test` exercises directly.  Every algorithm comes
//! from a well-kept crate (RustCrypto `md-5`, `sha2`, `blake2`; the reference `blake3`), so the
//! outputs are those of `hashlib` and the `blake3` Python package byte for byte.

use std::fmt;
use std::str::FromStr;

use blake2::{Blake2b512, Blake2s256};
use md5::Md5;
use sha2::{Digest, Sha256};

/// Largest digest size in bytes (BLAKE2b's 64).
pub const MAX_DIGEST: usize = 64;

/// A supported digest algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
    Sha256,
    Blake2b,
    Blake2s,
    Blake3,
}

/// Every algorithm, in the order error messages list them.
pub const ALL: [Algorithm; 5] = [
    Algorithm::Md5,
    Algorithm::Sha256,
    Algorithm::Blake2b,
    Algorithm::Blake2s,
    Algorithm::Blake3,
];

/// Raised for an algorithm name that is not one of [`ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAlgorithm(pub String);

impl fmt::Display for UnknownAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown algorithm {:?}; allowed: {}",
            self.0,
            allowed_names()
        )
    }
}

/// The allowed names, comma separated, for error messages.
pub fn allowed_names() -> String {
    ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        // Names are matched exactly (lower case, as hashlib spells them): a cache key must never
        // depend on how loosely a name was typed.
        ALL.iter()
            .copied()
            .find(|a| a.name() == name)
            .ok_or_else(|| UnknownAlgorithm(name.to_owned()))
    }
}

impl Algorithm {
    /// The name as `hashlib` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5",
            Algorithm::Sha256 => "sha256",
            Algorithm::Blake2b => "blake2b",
            Algorithm::Blake2s => "blake2s",
            Algorithm::Blake3 => "blake3",
        }
    }

    /// Size of the full digest in bytes.
    pub fn digest_size(self) -> usize {
        match self {
            Algorithm::Md5 => 16,
            Algorithm::Sha256 | Algorithm::Blake2s | Algorithm::Blake3 => 32,
            Algorithm::Blake2b => 64,
        }
    }

    /// Number of hex characters of the full digest: the largest `length` allowed.
    pub fn hex_len(self) -> usize {
        2 * self.digest_size()
    }

    /// The raw digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut out = [0u8; MAX_DIGEST];
        let n = self.digest_into(data, &mut out);
        out[..n].to_vec()
    }

    /// Write the raw digest of `data` into `out`, returning its size; no heap allocation, which
    /// matters when a batch hashes a million short strings.
    pub fn digest_into(self, data: &[u8], out: &mut [u8; MAX_DIGEST]) -> usize {
        fn put(out: &mut [u8; MAX_DIGEST], bytes: &[u8]) -> usize {
            out[..bytes.len()].copy_from_slice(bytes);
            bytes.len()
        }
        match self {
            Algorithm::Md5 => put(out, &Md5::digest(data)),
            Algorithm::Sha256 => put(out, &Sha256::digest(data)),
            Algorithm::Blake2b => put(out, &Blake2b512::digest(data)),
            Algorithm::Blake2s => put(out, &Blake2s256::digest(data)),
            Algorithm::Blake3 => put(out, blake3::hash(data).as_bytes()),
        }
    }

    /// Write the first `dst.len()` hex characters of the digest of `data` into `dst`.
    pub fn hexdigest_into(self, data: &[u8], dst: &mut [u8]) {
        let mut raw = [0u8; MAX_DIGEST];
        let n = self.digest_into(data, &mut raw);
        hex_into(&raw[..n], dst);
    }

    /// The digest of several parts fed in one after another, as if concatenated, without
    /// building the concatenation.
    pub fn digest_parts<'a, I>(self, parts: I) -> Vec<u8>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        self.digest_fed(
            |update| {
                for part in parts {
                    update(part);
                }
            },
            <[u8]>::to_vec,
        )
    }

    /// Digest the pieces that `feed` passes to its argument, one after another, and hand the
    /// raw digest to `finish`.
    ///
    /// Monomorphised per algorithm, so each piece goes straight into that algorithm's state
    /// and the digest is read where it was computed: a million short inputs that come in
    /// five pieces each pay no dispatch per piece and no copy of the digest.
    pub fn digest_fed<R>(
        self,
        feed: impl FnOnce(&mut dyn FnMut(&[u8])),
        finish: impl FnOnce(&[u8]) -> R,
    ) -> R {
        fn run<D: Digest, R>(
            feed: impl FnOnce(&mut dyn FnMut(&[u8])),
            finish: impl FnOnce(&[u8]) -> R,
        ) -> R {
            let mut hasher = D::new();
            feed(&mut |piece| hasher.update(piece));
            finish(&hasher.finalize())
        }
        match self {
            Algorithm::Md5 => run::<Md5, R>(feed, finish),
            Algorithm::Sha256 => run::<Sha256, R>(feed, finish),
            Algorithm::Blake2b => run::<Blake2b512, R>(feed, finish),
            Algorithm::Blake2s => run::<Blake2s256, R>(feed, finish),
            Algorithm::Blake3 => {
                let mut hasher = blake3::Hasher::new();
                feed(&mut |piece| {
                    hasher.update(piece);
                });
                finish(hasher.finalize().as_bytes())
            }
        }
    }

    /// Write the first `dst.len()` hex characters of the digest of the pieces that `feed`
    /// passes to its argument into `dst`; see [`Algorithm::digest_fed`].
    pub fn hexdigest_fed_into(self, feed: impl FnOnce(&mut dyn FnMut(&[u8])), dst: &mut [u8]) {
        self.digest_fed(feed, |raw| hex_into(raw, dst));
    }

    /// Check a requested hex length: `None` means the full digest.
    pub fn check_length(self, length: Option<i64>) -> Result<usize, BadLength> {
        match length {
            None => Ok(self.hex_len()),
            Some(n) if n >= 1 && (n as u64) <= self.hex_len() as u64 => Ok(n as usize),
            Some(n) => Err(BadLength {
                algorithm: self,
                requested: n,
            }),
        }
    }

    /// Hex digest of `data`, cut to `hex_len` characters (already checked).
    pub fn hexdigest(self, data: &[u8], hex_len: usize) -> String {
        to_hex(&self.digest(data), hex_len)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A hex length outside `1..=hex_len()` for the algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLength {
    pub algorithm: Algorithm,
    pub requested: i64,
}

impl fmt::Display for BadLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "length must be an integer from 1 to {} (hex characters of a full {} digest), got {}",
            self.algorithm.hex_len(),
            self.algorithm,
            self.requested
        )
    }
}

/// Write the first `dst.len()` lower-case hex characters of `raw` into `dst` (at most
/// `2 * raw.len()`), digit by digit: an odd length needs no scratch buffer, and a million
/// 8-digit keys no zeroed 128-byte one each.
fn hex_into(raw: &[u8], dst: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, digit) in dst.iter_mut().enumerate() {
        let byte = raw[i / 2];
        let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
        *digit = DIGITS[usize::from(nibble)];
    }
}

/// Lower-case hex of `bytes`, cut to `hex_len` characters.
pub fn to_hex(bytes: &[u8], hex_len: usize) -> String {
    // Encode only the bytes that are shown: a 8-character key needs 4 bytes, not 16.
    let needed = hex_len.div_ceil(2).min(bytes.len());
    let mut out = hex::encode(&bytes[..needed]);
    out.truncate(hex_len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from Python's hashlib / the blake3 package.
    #[test]
    fn empty_input_matches_reference() {
        let cases = [
            (Algorithm::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            (
                Algorithm::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                Algorithm::Blake2s,
                "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9",
            ),
            (
                Algorithm::Blake3,
                "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
            ),
        ];
        for (alg, expected) in cases {
            assert_eq!(alg.hexdigest(b"", alg.hex_len()), expected, "{alg}");
        }
    }

    #[test]
    fn md5_of_text() {
        assert_eq!(
            Algorithm::Md5.hexdigest(b"The quick brown fox jumps over the lazy dog", 32),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
    }

    #[test]
    fn parts_equal_concatenation() {
        for alg in ALL {
            let whole = alg.digest(b"tsteps=20_42_imagenette");
            let parts = alg.digest_parts([&b"tsteps=20"[..], b"_42", b"_", b"imagenette"]);
            assert_eq!(whole, parts, "{alg}");
        }
    }

    #[test]
    fn truncation_keeps_prefix() {
        let full = Algorithm::Md5.hexdigest(b"abc", 32);
        for n in 1..=32 {
            assert_eq!(Algorithm::Md5.hexdigest(b"abc", n), full[..n]);
        }
    }

    #[test]
    fn lengths_are_checked() {
        assert_eq!(Algorithm::Md5.check_length(None), Ok(32));
        assert_eq!(Algorithm::Blake2b.check_length(Some(128)), Ok(128));
        assert!(Algorithm::Md5.check_length(Some(0)).is_err());
        assert!(Algorithm::Md5.check_length(Some(-3)).is_err());
        assert!(Algorithm::Md5.check_length(Some(33)).is_err());
        let msg = Algorithm::Md5
            .check_length(Some(33))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("1 to 32") && msg.contains("md5") && msg.contains("33"),
            "{msg}"
        );
    }

    #[test]
    fn names_round_trip_and_unknown_lists_allowed() {
        for alg in ALL {
            assert_eq!(alg.name().parse::<Algorithm>(), Ok(alg));
        }
        let err = "MD5".parse::<Algorithm>().unwrap_err().to_string();
        assert!(err.contains("\"MD5\"") && err.contains("md5, sha256, blake2b, blake2s, blake3"));
    }
}
