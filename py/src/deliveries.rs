//! Repeated deliveries of one callback: `Delivery` (what verification says of one) and
//! `DeliveryGuard` over the core's in-memory store or a store written in Python (Redis, a table).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use yunxin_ecp::Verified;
use yunxin_ecp::deliveries::{
    Claim, DeliveryGuard, DeliveryKey, DeliveryStore, MemoryStore, StoreError,
};
use yunxin_ecp::signing::unix_millis_now;

use crate::errors::py_err;
use crate::records::repr;

/// A callback that passed verification: which of the verifier's credentials signed it
/// (``credential``, an index, and ``app_key``), its ``CurTime``, and what identifies this
/// delivery (``key``, 40 hex characters) until ``expires_at_ms``, after which a repeat of it is
/// refused as stale anyway.
#[pyclass(module = "yunxin_ecp", name = "Delivery", frozen)]
pub struct PyDelivery {
    pub inner: Verified,
}

#[pymethods]
impl PyDelivery {
    /// The index, in the verifier's credentials, of those that matched.
    #[getter]
    fn credential(&self) -> usize {
        self.inner.credential
    }

    /// The AppKey of the credentials that matched.
    #[getter]
    fn app_key(&self) -> &str {
        &self.inner.app_key
    }

    /// The delivery's ``CurTime``, Unix milliseconds.
    #[getter]
    fn cur_time_ms(&self) -> u64 {
        self.inner.cur_time_ms
    }

    /// What a repeat of this delivery carries again, as 40 hex characters: a Redis key or a
    /// table's unique column.
    #[getter]
    fn key(&self) -> String {
        self.inner.key.hex()
    }

    /// When a repeat would be refused as stale anyway, so the key may be forgotten.
    #[getter]
    fn expires_at_ms(&self) -> u64 {
        self.inner.expires_at_ms
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Delivery(credential={}, app_key={}, key={})",
            self.inner.credential,
            repr(py, &self.inner.app_key)?,
            repr(py, &self.inner.key.hex())?
        ))
    }
}

/// A store written in Python: any object with ``claim(key, expires_at_ms, now_ms)`` returning
/// ``"first"``, ``"duplicate"`` or ``"in_progress"``, ``complete(key, expires_at_ms)`` and
/// ``release(key)``. Whatever it raises or returns otherwise is a store failure.
struct PythonStore {
    store: Py<PyAny>,
}

/// A store's exception as a failure named by its type and the step: its message stays out, as
/// it may hold what the store connects with (a Redis URL with its password).
fn store_error(py: Python<'_>, error: PyErr, step: &str) -> StoreError {
    let kind = error
        .get_type(py)
        .name()
        .map_or_else(|_| "an exception".to_owned(), |n| n.to_string());
    StoreError(format!("{kind} raised by the store's {step}()"))
}

impl DeliveryStore for PythonStore {
    fn claim(
        &self,
        key: &DeliveryKey,
        expires_at_ms: u64,
        now_ms: u64,
    ) -> Result<Claim, StoreError> {
        Python::attach(|py| {
            let answer = self
                .store
                .call_method1(py, "claim", (key.hex(), expires_at_ms, now_ms))
                .map_err(|e| store_error(py, e, "claim"))?;
            let answer: String = answer
                .extract(py)
                .map_err(|_| StoreError("the store's claim() must return a str".to_owned()))?;
            [Claim::First, Claim::Duplicate, Claim::InProgress]
                .into_iter()
                .find(|c| c.code() == answer)
                .ok_or_else(|| {
                    StoreError(format!(
                        "the store's claim() must return 'first', 'duplicate' or 'in_progress', not {:?}",
                        answer.chars().take(32).collect::<String>()
                    ))
                })
        })
    }

    fn complete(&self, key: &DeliveryKey, expires_at_ms: u64) -> Result<(), StoreError> {
        Python::attach(|py| {
            self.store
                .call_method1(py, "complete", (key.hex(), expires_at_ms))
                .map(drop)
                .map_err(|e| store_error(py, e, "complete"))
        })
    }

    fn release(&self, key: &DeliveryKey) -> Result<(), StoreError> {
        Python::attach(|py| {
            self.store
                .call_method1(py, "release", (key.hex(),))
                .map(drop)
                .map_err(|e| store_error(py, e, "release"))
        })
    }
}

/// Where the guard keeps what it remembers: the core's bounded memory store, whose figures
/// can be read, or a Python object.
enum Backing {
    Memory(std::sync::Arc<MemoryStore>),
    Python,
}

/// Guards a handler against processing one callback twice: ``claim(delivery)`` before handling
/// it says ``"first"`` (handle it, then ``complete`` it, or ``release`` it when handling failed so
/// that the sender's next attempt is handled), ``"duplicate"`` (handled before: answer 200) or
/// ``"in_progress"`` (another request is handling it: answer 409 so the sender tries later).
///
/// By default deliveries are kept in this process, at most ``capacity`` of them, each until a
/// repeat would be stale. ``store=`` takes an object with ``claim(key, expires_at_ms, now_ms)``,
/// ``complete(key, expires_at_ms)`` and ``release(key)`` instead (several processes sharing
/// Redis or a table); each of its steps must be atomic. A failing store raises
/// ``DeliveryStoreError``.
#[pyclass(module = "yunxin_ecp", name = "DeliveryGuard", frozen)]
pub struct PyDeliveryGuard {
    guard: DeliveryGuard,
    backing: Backing,
}

#[pymethods]
impl PyDeliveryGuard {
    #[new]
    #[pyo3(signature = (store = None, *, capacity = 100_000))]
    fn new(store: Option<Py<PyAny>>, capacity: usize) -> PyResult<Self> {
        // The default above is spelled out so that it shows in the signature Python sees.
        const _: () = assert!(yunxin_ecp::deliveries::DEFAULT_CAPACITY == 100_000);
        match store {
            Some(store) => {
                Python::attach(|py| {
                    for method in ["claim", "complete", "release"] {
                        if !store.bind(py).hasattr(method)? {
                            return Err(PyTypeError::new_err(format!(
                                "store must have claim(), complete() and release() methods; it has no {method}()"
                            )));
                        }
                    }
                    Ok(())
                })?;
                Ok(PyDeliveryGuard {
                    guard: DeliveryGuard::new(PythonStore { store }),
                    backing: Backing::Python,
                })
            }
            None => {
                let memory = std::sync::Arc::new(MemoryStore::new(capacity).map_err(py_err)?);
                Ok(PyDeliveryGuard {
                    guard: DeliveryGuard::new(memory.clone()),
                    backing: Backing::Memory(memory),
                })
            }
        }
    }

    /// Claims a verified delivery: ``"first"``, ``"duplicate"`` or ``"in_progress"``.
    #[pyo3(signature = (delivery, *, now_ms = None))]
    fn claim(
        &self,
        py: Python<'_>,
        delivery: &PyDelivery,
        now_ms: Option<u64>,
    ) -> PyResult<&'static str> {
        let now_ms = now_ms.unwrap_or_else(unix_millis_now);
        let claim = py.detach(|| self.guard.claim(&delivery.inner, now_ms));
        claim.map(Claim::code).map_err(store_err)
    }

    /// The handler of a claimed delivery succeeded: repeats are duplicates from now on.
    fn complete(&self, py: Python<'_>, delivery: &PyDelivery) -> PyResult<()> {
        py.detach(|| self.guard.complete(&delivery.inner))
            .map_err(store_err)
    }

    /// The handler of a claimed delivery failed: the sender's next attempt is handled.
    fn release(&self, py: Python<'_>, delivery: &PyDelivery) -> PyResult<()> {
        py.detach(|| self.guard.release(&delivery.inner))
            .map_err(store_err)
    }

    /// Deliveries held in memory (``None`` with a store of one's own).
    #[getter]
    fn held(&self) -> Option<usize> {
        match &self.backing {
            Backing::Memory(m) => Some(m.len()),
            Backing::Python => None,
        }
    }

    /// Deliveries dropped from memory before they expired to stay within ``capacity`` (``None``
    /// with a store of one's own): above zero, a repeat could be handled again.
    #[getter]
    fn evicted(&self) -> Option<u64> {
        match &self.backing {
            Backing::Memory(m) => Some(m.evicted()),
            Backing::Python => None,
        }
    }

    fn __repr__(&self) -> String {
        match &self.backing {
            Backing::Memory(m) => format!("DeliveryGuard(held={})", m.len()),
            Backing::Python => "DeliveryGuard(store=...)".to_owned(),
        }
    }
}

fn store_err(error: StoreError) -> PyErr {
    crate::errors::delivery_store_err(&error.to_string())
}
