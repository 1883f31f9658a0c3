//! Not processing one callback twice.
//!
//! A sender that gets no 200 in time delivers the same callback again, and a billing system that
//! books a call-end record twice charges twice. A delivery is identified by what a repeat of it
//! carries again: the AppKey, `CheckSum`, `CurTime` and the body's MD5 (a repeat that the sender
//! signs afresh, with a new `CurTime`, is a new delivery to this guard: deduplicate those by the
//! record's `session` in the handler's own store). A delivery needs remembering only while a
//! repeat of it would pass the time check: after that the verifier refuses it as stale.
//!
//! The flow is claim, handle, then complete or release: a delivery that is being handled is
//! "in progress" to a concurrent repeat (which is answered so that the sender tries again
//! later), and one whose handler failed is released, so that the sender's next attempt is
//! handled rather than acknowledged unprocessed.
//!
//! [`MemoryStore`] keeps deliveries in this process, bounded; [`DeliveryStore`] is the interface
//! to back them by Redis (`SET key pending NX PXAT expiry`, then `SET key done`, or `DEL`) or a
//! database table with a unique key, so that several processes share one memory.

use std::collections::{BTreeMap, HashMap, VecDeque, hash_map};
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Mutex;

use sha1::{Digest, Sha1};

use crate::callback::Verified;
use crate::validate::{Rule, ValidationError};

/// What identifies one delivery: a digest of its AppKey, `CheckSum`, `CurTime` and body MD5, so
/// that each entry costs the same small size whatever the headers held.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeliveryKey([u8; 20]);

impl Hash for DeliveryKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(prefix));
    }
}

/// The memory store's hasher: a key is already a SHA-1 digest of a signed delivery, uniform and
/// out of a sender's control, so its first eight bytes are the hash (hashing it again with
/// SipHash would only cost time on every delivery).
#[derive(Default)]
struct DigestPrefix(u64);

impl Hasher for DigestPrefix {
    fn write(&mut self, bytes: &[u8]) {
        // Only reached through write_u64 from DeliveryKey; any other input still gets a value.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl DeliveryKey {
    /// The key of a delivery signed with these header values.
    pub fn new(app_key: &str, checksum: &str, cur_time: &str, md5: &str) -> DeliveryKey {
        let mut hasher = Sha1::new();
        for part in [app_key, checksum, cur_time, md5] {
            // Each part's length first, so no two different tuples hash the same text.
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        DeliveryKey(hasher.finalize().into())
    }

    /// The key as 40 lowercase hex characters: a name for a Redis key or a table's column.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The key [`hex`](Self::hex) wrote, read back: how a binding that hands the key out as text
    /// (the C ABI) claims it in a [`MemoryStore`]. `None` unless 40 hex characters.
    pub fn from_hex(text: &str) -> Option<DeliveryKey> {
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(DeliveryKey(bytes))
    }
}

impl fmt::Debug for DeliveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeliveryKey({})", self.hex())
    }
}

/// What a store says of a delivery it is asked to claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Not seen before (or released): it is now in progress, and the handler runs.
    First,
    /// Handled before: answer 200 and do not handle it again.
    Duplicate,
    /// Being handled right now by another request: answer so that the sender tries again later.
    InProgress,
}

impl Claim {
    /// A stable identifier shared by the bindings.
    pub fn code(self) -> &'static str {
        match self {
            Claim::First => "first",
            Claim::Duplicate => "duplicate",
            Claim::InProgress => "in_progress",
        }
    }
}

/// A store that failed (a lost connection to Redis, say), in its own words. The callback is then
/// answered so that the sender tries again: neither dropped nor handled twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "delivery store failed: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// Where accepted deliveries are remembered. Each method is one atomic step of the store, so
/// that two requests carrying the same delivery at once get one [`Claim::First`] between them.
pub trait DeliveryStore: Send + Sync {
    /// Marks `key` in progress unless the store holds it; says what it held. `expires_at_ms`:
    /// when the entry may be forgotten (a repeat would be refused as stale by then).
    fn claim(
        &self,
        key: &DeliveryKey,
        expires_at_ms: u64,
        now_ms: u64,
    ) -> Result<Claim, StoreError>;

    /// Marks a claimed `key` handled: every later claim is a [`Claim::Duplicate`].
    fn complete(&self, key: &DeliveryKey, expires_at_ms: u64) -> Result<(), StoreError>;

    /// Forgets a claimed `key` whose handler failed, so that the next delivery is handled.
    fn release(&self, key: &DeliveryKey) -> Result<(), StoreError>;
}

/// A shared store is a store: a program can keep a handle on the store it gave a guard (to read
/// a [`MemoryStore`]'s figures, or to share one store between guards).
impl<S: DeliveryStore + ?Sized> DeliveryStore for std::sync::Arc<S> {
    fn claim(
        &self,
        key: &DeliveryKey,
        expires_at_ms: u64,
        now_ms: u64,
    ) -> Result<Claim, StoreError> {
        (**self).claim(key, expires_at_ms, now_ms)
    }

    fn complete(&self, key: &DeliveryKey, expires_at_ms: u64) -> Result<(), StoreError> {
        (**self).complete(key, expires_at_ms)
    }

    fn release(&self, key: &DeliveryKey) -> Result<(), StoreError> {
        (**self).release(key)
    }
}

/// The default bound of a [`MemoryStore`]: a hundred thousand deliveries (about 330 a second
/// for five minutes), some 20 MiB of memory at most.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// Deliveries remembered in this process: forgotten once a repeat would be stale, and bounded;
/// when full, the entry closest to forgetting makes room (counted in [`evicted`]).
///
/// [`evicted`]: MemoryStore::evicted
#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    inner: Mutex<Entries>,
}

/// The entries, and their keys by the second they expire in: a few hundred buckets for a
/// five-minute window, so that keeping the order costs little per delivery.
#[derive(Debug, Default)]
struct Entries {
    by_key: HashMap<DeliveryKey, Entry, BuildHasherDefault<DigestPrefix>>,
    by_second: BTreeMap<u64, VecDeque<DeliveryKey>>,
    evicted: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    expires_at_ms: u64,
    done: bool,
}

fn second(ms: u64) -> u64 {
    ms / 1000
}

impl MemoryStore {
    /// A store of at most `capacity` deliveries (1 or more).
    pub fn new(capacity: usize) -> Result<MemoryStore, ValidationError> {
        if capacity == 0 {
            return Err(ValidationError::new("capacity", Rule::NotPositive));
        }
        Ok(MemoryStore {
            capacity,
            inner: Mutex::new(Entries::default()),
        })
    }

    /// Deliveries held now.
    pub fn len(&self) -> usize {
        self.entries().by_key.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Deliveries dropped to make room before they expired: a repeat of one of them would be
    /// handled again. Non-zero means the capacity is too small for the traffic.
    pub fn evicted(&self) -> u64 {
        self.entries().evicted
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // Each step below leaves both maps consistent before anything can panic, so the data
        // behind a poisoned lock is still sound.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new(DEFAULT_CAPACITY).expect("the default capacity is positive")
    }
}

impl Entries {
    /// Drops every bucket whose whole second is past: an entry outlives its expiry by under a
    /// second, when a repeat of it is refused as stale by the verifier anyway.
    fn forget_expired(&mut self, now_ms: u64) {
        while let Some(entry) = self.by_second.first_entry() {
            if entry.key().saturating_add(1).saturating_mul(1000) > now_ms {
                break;
            }
            for key in entry.remove() {
                self.by_key.remove(&key);
            }
        }
    }

    fn insert(&mut self, key: DeliveryKey, entry: Entry) {
        self.by_key.insert(key, entry);
        self.file(key, entry.expires_at_ms);
    }

    /// Files `key` under the second it expires in.
    fn file(&mut self, key: DeliveryKey, expires_at_ms: u64) {
        self.by_second
            .entry(second(expires_at_ms))
            .or_default()
            .push_back(key);
    }

    fn remove(&mut self, key: &DeliveryKey) {
        let Some(entry) = self.by_key.remove(key) else {
            return;
        };
        let bucket = second(entry.expires_at_ms);
        if let Some(keys) = self.by_second.get_mut(&bucket) {
            if let Some(at) = keys.iter().position(|k| k == key) {
                keys.remove(at);
            }
            if keys.is_empty() {
                self.by_second.remove(&bucket);
            }
        }
    }

    /// Makes room by dropping the first entry of the earliest second.
    fn evict_one(&mut self) {
        if let Some(mut bucket) = self.by_second.first_entry() {
            if let Some(key) = bucket.get_mut().pop_front() {
                self.by_key.remove(&key);
                self.evicted += 1;
            }
            if bucket.get().is_empty() {
                bucket.remove();
            }
        }
    }
}

impl DeliveryStore for MemoryStore {
    fn claim(
        &self,
        key: &DeliveryKey,
        expires_at_ms: u64,
        now_ms: u64,
    ) -> Result<Claim, StoreError> {
        let mut entries = self.entries();
        entries.forget_expired(now_ms);
        let entry = Entry {
            expires_at_ms,
            done: false,
        };
        match entries.by_key.entry(*key) {
            hash_map::Entry::Occupied(held) => {
                return Ok(if held.get().done {
                    Claim::Duplicate
                } else {
                    Claim::InProgress
                });
            }
            hash_map::Entry::Vacant(vacant) => {
                vacant.insert(entry);
            }
        }
        entries.file(*key, expires_at_ms);
        if entries.by_key.len() > self.capacity {
            entries.evict_one();
        }
        Ok(Claim::First)
    }

    fn complete(&self, key: &DeliveryKey, expires_at_ms: u64) -> Result<(), StoreError> {
        let mut entries = self.entries();
        if let Some(entry) = entries.by_key.get_mut(key)
            && second(entry.expires_at_ms) == second(expires_at_ms)
        {
            entry.done = true;
            entry.expires_at_ms = expires_at_ms;
            return Ok(());
        }
        entries.remove(key);
        entries.insert(
            *key,
            Entry {
                expires_at_ms,
                done: true,
            },
        );
        Ok(())
    }

    fn release(&self, key: &DeliveryKey) -> Result<(), StoreError> {
        self.entries().remove(key);
        Ok(())
    }
}

/// Claims verified deliveries in a store: the step between verifying a callback and handling
/// it, used by every framework integration.
pub struct DeliveryGuard {
    store: Box<dyn DeliveryStore>,
}

impl fmt::Debug for DeliveryGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryGuard").finish_non_exhaustive()
    }
}

impl Default for DeliveryGuard {
    /// A guard over a [`MemoryStore`] of [`DEFAULT_CAPACITY`].
    fn default() -> Self {
        DeliveryGuard::new(MemoryStore::default())
    }
}

impl DeliveryGuard {
    /// A guard over `store`.
    pub fn new(store: impl DeliveryStore + 'static) -> DeliveryGuard {
        DeliveryGuard {
            store: Box::new(store),
        }
    }

    /// Claims a verified delivery at `now_ms`.
    pub fn claim(&self, verified: &Verified, now_ms: u64) -> Result<Claim, StoreError> {
        self.store
            .claim(&verified.key, verified.expires_at_ms, now_ms)
    }

    /// The handler of a claimed delivery succeeded: repeats are duplicates from now on.
    pub fn complete(&self, verified: &Verified) -> Result<(), StoreError> {
        self.store.complete(&verified.key, verified.expires_at_ms)
    }

    /// The handler of a claimed delivery failed: the next delivery of it is handled.
    pub fn release(&self, verified: &Verified) -> Result<(), StoreError> {
        self.store.release(&verified.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> DeliveryKey {
        DeliveryKey::new("app", &n.to_string(), "1", "m")
    }

    #[test]
    fn a_delivery_is_first_then_in_progress_then_duplicate() {
        let store = MemoryStore::default();
        assert_eq!(store.claim(&key(1), 100, 0), Ok(Claim::First));
        assert_eq!(store.claim(&key(1), 100, 0), Ok(Claim::InProgress));
        store.complete(&key(1), 100).unwrap();
        assert_eq!(store.claim(&key(1), 100, 50), Ok(Claim::Duplicate));
        assert_eq!(store.claim(&key(2), 100, 50), Ok(Claim::First));
    }

    #[test]
    fn a_released_delivery_is_handled_again() {
        let store = MemoryStore::default();
        assert_eq!(store.claim(&key(1), 100, 0), Ok(Claim::First));
        store.release(&key(1)).unwrap();
        assert!(store.is_empty());
        assert_eq!(store.claim(&key(1), 100, 0), Ok(Claim::First));
    }

    #[test]
    fn entries_are_forgotten_after_they_expire() {
        let store = MemoryStore::default();
        store.claim(&key(1), 100, 0).unwrap();
        store.complete(&key(1), 100).unwrap();
        assert_eq!(store.claim(&key(1), 100, 100), Ok(Claim::Duplicate));
        assert_eq!(store.claim(&key(2), 3000, 999), Ok(Claim::First));
        assert_eq!(store.len(), 2, "key 1 is kept to the end of its second");
        assert_eq!(store.claim(&key(3), 3000, 1000), Ok(Claim::First));
        assert_eq!(store.len(), 2, "key 1 expired at 100, forgotten at 1000");
        assert_eq!(store.evicted(), 0);
    }

    #[test]
    fn the_capacity_holds_and_evictions_are_counted() {
        let store = MemoryStore::new(3).unwrap();
        for n in 0..10 {
            assert_eq!(
                store.claim(&key(n), 1000 + u64::from(n), 0),
                Ok(Claim::First)
            );
            assert!(store.len() <= 3);
        }
        assert_eq!((store.len(), store.evicted()), (3, 7));
        // The three kept are those furthest from expiring.
        for n in 7..10 {
            assert_eq!(store.claim(&key(n), 2000, 0), Ok(Claim::InProgress), "{n}");
        }
        assert_eq!(
            MemoryStore::new(0).unwrap_err().to_string(),
            "invalid capacity: must be a positive integer"
        );
    }

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(
            DeliveryKey::new("ab", "c", "1", "m"),
            DeliveryKey::new("a", "bc", "1", "m")
        );
        assert_eq!(DeliveryKey::new("a", "b", "c", "d").hex().len(), 40);
        let key = DeliveryKey::new("a", "b", "c", "d");
        assert_eq!(DeliveryKey::from_hex(&key.hex()), Some(key));
        for bad in ["", "00", &"g".repeat(40), &"0".repeat(42)] {
            assert_eq!(DeliveryKey::from_hex(bad), None, "{bad}");
        }
    }
}
