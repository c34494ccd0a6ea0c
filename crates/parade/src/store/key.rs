//! Task keys: a blake3 hash over named, length-prefixed parts, so that no two different lists
//! of parts hash alike (`["ab", "c"]` and `["a", "bc"]` differ).

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
        for piece in [name.as_bytes(), bytes] {
            self.hasher.update(&(piece.len() as u64).to_le_bytes());
            self.hasher.update(piece);
        }
    }

    /// The key, as 64 hex digits.
    pub fn finish(&self) -> String {
        self.hasher.finalize().to_hex().to_string()
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
        *self.hasher.finalize().as_bytes()
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
