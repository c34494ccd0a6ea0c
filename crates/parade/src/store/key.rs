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
        if large {
            encode_head(&mut self.pending, name, bytes.len());
            self.flush();
            self.feed(bytes);
        } else {
            encode(&mut self.pending, name, bytes);
        }
    }

    /// Adds every part of `parts`, in their order: the key is the one [`KeyHasher::add`] of
    /// each would make, and parts added to several keys are encoded once.
    ///
    /// ```
    /// use parade::store::{KeyHasher, Parts};
    /// let mut parts = Parts::default();
    /// parts.add("a", b"1");
    /// parts.add("b", b"2");
    /// let mut k = KeyHasher::new().part("command", b"make");
    /// k.add_parts(&parts);
    /// assert_eq!(k.finish(), KeyHasher::new().part("command", b"make").part("a", b"1").part("b", b"2").finish());
    /// ```
    pub fn add_parts(&mut self, parts: &Parts) {
        let bytes = &parts.bytes;
        let large = bytes.len() > BATCH / 2;
        if large || self.pending.len() + bytes.len() > BATCH {
            self.flush();
        }
        if large {
            self.feed(bytes);
        } else {
            self.pending.extend_from_slice(bytes);
        }
    }

    /// Hands `bytes` to the hasher as they are (after what is gathered: flushed first).
    fn feed(&mut self, bytes: &[u8]) {
        counted();
        self.hasher.update(bytes);
        self.fed = true;
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

/// Parts encoded as [`KeyHasher`] hashes them, kept to be added to keys
/// ([`KeyHasher::add_parts`]) or hashed alone ([`Parts::finish`]): a task's dependencies go
/// into its key and into their own digest, encoded once for both.
#[derive(Clone, Debug, Default)]
pub struct Parts {
    /// Each part's name and value, each after its length.
    bytes: Vec<u8>,
}

impl Parts {
    /// No parts, with room for `bytes` bytes of them.
    pub fn with_capacity(bytes: usize) -> Self {
        Parts {
            bytes: Vec::with_capacity(bytes),
        }
    }

    /// Adds the part `name` with value `bytes`.
    pub fn add(&mut self, name: &str, bytes: &[u8]) {
        encode(&mut self.bytes, name, bytes);
    }

    /// The key of these parts alone: that of a [`KeyHasher`] given the same parts.
    ///
    /// ```
    /// use parade::store::{KeyHasher, Parts};
    /// let mut parts = Parts::default();
    /// parts.add("deps", b"2");
    /// assert_eq!(parts.finish(), KeyHasher::new().part("deps", b"2").finish());
    /// ```
    pub fn finish(&self) -> String {
        counted();
        blake3::hash(&self.bytes).to_hex().to_string()
    }
}

/// The bytes a part's name and its value's length are hashed as.
fn encode_head(out: &mut Vec<u8>, name: &str, len: usize) {
    out.extend_from_slice(&(name.len() as u64).to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&(len as u64).to_le_bytes());
}

/// The bytes a part is hashed as: its name and its value, each after its length.
fn encode(out: &mut Vec<u8>, name: &str, bytes: &[u8]) {
    out.reserve(16 + name.len() + bytes.len());
    encode_head(out, name, bytes.len());
    out.extend_from_slice(bytes);
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
            // The same parts added as encoded Parts, split anywhere: the same key.
            let split = parts.len() / 2;
            let mut encoded = Parts::default();
            let mut via_parts = KeyHasher::new();
            for (name, bytes) in &parts[..split] {
                via_parts.add(name, bytes);
            }
            for (name, bytes) in &parts[split..] {
                encoded.add(name, bytes);
            }
            via_parts.add_parts(&encoded);
            prop_assert_eq!(via_parts.finish(), expected.clone());
            if split == 0 {
                prop_assert_eq!(encoded.finish(), expected.clone());
            }
            prop_assert_eq!(k.finish(), expected.clone());
            prop_assert_eq!(key_hex(&k.finish_bytes()), expected);
        }
    }
}
