//! Task keys: a blake3 hash over named, length-prefixed parts, so that no two different lists
//! of parts hash alike (`["ab", "c"]` and `["a", "bc"]` differ).
//!
//! Small parts are gathered in a buffer and hashed together (up to [`BATCH`] bytes at a
//! time): blake3 hashes a long input on every SIMD lane at once, while each small `update`
//! costs a call and a single-lane block. A task with 100 dependencies adds 100 parts of ~40
//! bytes; fed one by one they were 400 updates per key. The bytes hashed, and so every key,
//! are the same as fed one by one.

/// Builds a key from named parts.
///
/// ```
/// use parade::store::KeyHasher;
/// let a = KeyHasher::new().part("command", b"make").part("shell", b"sh").finish();
/// let b = KeyHasher::new().part("command", b"mak").part("shell", b"esh").finish();
/// assert_ne!(a, b);
/// assert_eq!(a.len(), 64); // hex
/// ```
#[derive(Clone, Debug, Default)]
pub struct KeyHasher {
    hasher: blake3::Hasher,
    /// Bytes of parts not yet given to `hasher`, in order.
    pending: Vec<u8>,
    /// Whether `hasher` was given anything (else the key is the hash of `pending` alone).
    fed: bool,
}

/// The most bytes [`KeyHasher`] gathers before hashing them; a larger part's value goes to
/// the hasher as it is, not copied.
const BATCH: usize = 16 * 1024;

#[cfg(test)]
thread_local! {
    /// How many times a [`KeyHasher`] on this thread handed bytes to blake3.
    static UPDATES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts one hand-off of bytes to blake3 (tests only).
fn counted() {
    #[cfg(test)]
    UPDATES.with(|n| n.set(n.get() + 1));
}

impl KeyHasher {
    /// An empty key.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the part `name` with value `bytes`.
    pub fn part(mut self, name: &str, bytes: &[u8]) -> Self {
        self.add(name, bytes);
        self
    }

    /// Adds the part `name` with value `bytes`, in place.
    pub fn add(&mut self, name: &str, bytes: &[u8]) {
        let large = bytes.len() > BATCH / 2;
        let gathered = 16 + name.len() + if large { 0 } else { bytes.len() };
        if self.pending.len() + gathered > BATCH {
            self.flush();
        }
        self.pending
            .extend_from_slice(&(name.len() as u64).to_le_bytes());
        self.pending.extend_from_slice(name.as_bytes());
        self.pending
            .extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        if large {
            self.flush();
            counted();
            self.hasher.update(bytes);
        } else {
            self.pending.extend_from_slice(bytes);
        }
    }

    /// Hands the gathered bytes to the hasher.
    fn flush(&mut self) {
        if !self.pending.is_empty() {
            counted();
            self.hasher.update(&self.pending);
            self.pending.clear();
            self.fed = true;
        }
    }

    /// The hash of every part added.
    fn hash(&self) -> blake3::Hash {
        counted();
        if self.fed {
            let mut hasher = self.hasher.clone();
            hasher.update(&self.pending);
            hasher.finalize()
        } else {
            blake3::hash(&self.pending)
        }
    }

    /// The key, as 64 hex digits.
    pub fn finish(&self) -> String {
        self.hash().to_hex().to_string()
    }

    /// The key, as its 32 bytes (what [`KeyHasher::finish`] spells in hex).
    ///
    /// ```
    /// use parade::store::KeyHasher;
    /// let k = KeyHasher::new().part("command", b"make");
    /// let hex: String = k.finish_bytes().iter().map(|b| format!("{b:02x}")).collect();
    /// assert_eq!(hex, k.finish());
    /// ```
    pub fn finish_bytes(&self) -> [u8; 32] {
        *self.hash().as_bytes()
    }
}

/// A key's 32 bytes as the 64 hex digits the store keeps.
///
/// ```
/// use parade::store::{KeyHasher, key_hex};
/// let k = KeyHasher::new().part("command", b"make");
/// assert_eq!(key_hex(&k.finish_bytes()), k.finish());
/// ```
pub fn key_hex(key: &[u8; 32]) -> String {
    blake3::Hash::from_bytes(*key).to_hex().to_string()
}

/// The blake3 hash of `bytes`, as 64 hex digits.
///
/// ```
/// assert_eq!(parade::store::hash_bytes(b"").len(), 64);
/// ```
pub fn hash_bytes(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The key of `parts` fed to blake3 piece by piece, as keys were made before parts were
    /// gathered.
    fn one_by_one(parts: &[(String, Vec<u8>)]) -> String {
        let mut hasher = blake3::Hasher::new();
        for (name, bytes) in parts {
            for piece in [name.as_bytes(), bytes] {
                hasher.update(&(piece.len() as u64).to_le_bytes());
                hasher.update(piece);
            }
        }
        hasher.finalize().to_hex().to_string()
    }

    #[test]
    fn small_parts_are_hashed_together() {
        let before = UPDATES.with(std::cell::Cell::get);
        let mut k = KeyHasher::new();
        for i in 0..1_000 {
            k.add(&format!("l8_{i}"), &[7; 32]);
        }
        let key = k.finish();
        let updates = UPDATES.with(std::cell::Cell::get) - before;
        // 1,000 parts of ~50 bytes: a few batches of 16 KiB, not 4,000 updates.
        assert!(
            updates <= 5,
            "{updates} hand-offs to blake3 for 1,000 parts"
        );
        let parts: Vec<(String, Vec<u8>)> = (0..1_000)
            .map(|i| (format!("l8_{i}"), vec![7; 32]))
            .collect();
        assert_eq!(key, one_by_one(&parts));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn a_key_is_that_of_its_parts_fed_one_by_one(
            parts in proptest::collection::vec(
                ("[a-z]{0,12}", prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..64),
                    proptest::collection::vec(any::<u8>(), BATCH / 2 - 8..BATCH / 2 + 8),
                    proptest::collection::vec(any::<u8>(), BATCH..BATCH + 40),
                ]),
                0..12,
            )
        ) {
            let mut k = KeyHasher::new();
            for (name, bytes) in &parts {
                k.add(name, bytes);
            }
            let expected = one_by_one(&parts);
            prop_assert_eq!(k.finish(), expected.clone());
            prop_assert_eq!(key_hex(&k.finish_bytes()), expected);
        }
    }
}
