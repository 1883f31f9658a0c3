//! Repeated deliveries of one callback: the core's bounded in-memory store, for `index.js`'s
//! `DeliveryGuard`. A store written in JavaScript (Redis, a table) is called by `index.js`
//! itself, never from here: its steps are async, and calling back into JavaScript from Rust
//! would only add a crossing each way.

use napi_derive::napi;
use yunxin_ecp::deliveries::{Claim, DeliveryKey, DeliveryStore, MemoryStore, StoreError};
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::views::ErrorView;

use crate::convert::{JsError, core_error, u64_arg};

/// Deliveries remembered in this process (the core's `MemoryStore`): each until a repeat of it
/// would be stale, at most `capacity` of them.
#[napi]
pub struct MemoryDeliveries {
    store: MemoryStore,
}

/// A key as `verify` handed it out (40 hex characters), refused naming `delivery.key`.
fn key_arg(key: &str) -> napi::Result<DeliveryKey> {
    DeliveryKey::from_hex(key).ok_or_else(|| {
        JsError::type_error(
            "delivery.key",
            "the 40 hex characters of a verified delivery",
        )
    })
}

/// An expiry as `verify` handed it out: `Infinity` (no time check) is never.
fn expiry_arg(expires_at_ms: f64) -> napi::Result<u64> {
    if expires_at_ms == f64::INFINITY {
        Ok(u64::MAX)
    } else {
        u64_arg(expires_at_ms, "delivery.expiresAtMs")
    }
}

/// The memory store never fails today; the trait says it may, and then `index.js` throws its
/// words as a `DeliveryStoreError`, as for a store of one's own.
fn store_failed(error: StoreError) -> napi::Error {
    JsError::from_view(&ErrorView::other("delivery_store", error.to_string(), None))
}

#[napi]
impl MemoryDeliveries {
    /// A store of at most `capacity` deliveries (default the core's, 100,000; 1 or more).
    #[napi(constructor)]
    pub fn new(capacity: Option<f64>) -> napi::Result<Self> {
        let capacity = match capacity {
            None => yunxin_ecp::deliveries::DEFAULT_CAPACITY,
            Some(n) => usize::try_from(u64_arg(n, "capacity")?)
                .map_err(|_| JsError::type_error("capacity", "a number of deliveries"))?,
        };
        Ok(MemoryDeliveries {
            store: MemoryStore::new(capacity).map_err(core_error)?,
        })
    }

    /// Claims a delivery at `nowMs` (default: the clock): `first`, `duplicate` or `in_progress`.
    #[napi]
    pub fn claim(
        &self,
        key: String,
        expires_at_ms: f64,
        now_ms: Option<f64>,
    ) -> napi::Result<&'static str> {
        let key = key_arg(&key)?;
        let expires = expiry_arg(expires_at_ms)?;
        let now = now_ms.map_or_else(|| Ok(unix_millis_now()), |n| u64_arg(n, "nowMs"))?;
        let claim = self.store.claim(&key, expires, now).map_err(store_failed)?;
        Ok(claim.code())
    }

    /// The handler of a claimed delivery succeeded: repeats are duplicates from now on.
    #[napi]
    pub fn complete(&self, key: String, expires_at_ms: f64) -> napi::Result<()> {
        let key = key_arg(&key)?;
        self.store
            .complete(&key, expiry_arg(expires_at_ms)?)
            .map_err(store_failed)
    }

    /// The handler of a claimed delivery failed: the sender's next attempt is handled.
    #[napi]
    pub fn release(&self, key: String) -> napi::Result<()> {
        self.store.release(&key_arg(&key)?).map_err(store_failed)
    }

    /// Deliveries held now.
    #[napi(getter)]
    pub fn held(&self) -> u32 {
        u32::try_from(self.store.len()).unwrap_or(u32::MAX)
    }

    /// Deliveries dropped to stay within the capacity before they expired.
    #[napi(getter)]
    pub fn evicted(&self) -> f64 {
        self.store.evicted() as f64
    }
}

/// What a store's `claim` may answer, the core's codes: `first`, `duplicate`, `in_progress`.
#[napi]
pub fn claim_codes() -> Vec<&'static str> {
    [Claim::First, Claim::Duplicate, Claim::InProgress]
        .into_iter()
        .map(Claim::code)
        .collect()
}

/// The message of a failed store, in the core's words (`delivery store failed: ...`): `detail`
/// is made by `index.js` of the error's type and the step only.
#[napi]
pub fn store_error_message(detail: String) -> String {
    StoreError(detail).to_string()
}
