//! Results: `Started`, `CallRecord` with its `Leg`s, and `Cost`.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};
use yunxin_ecp::{CallRecord, Cost, Leg, Rate, Started};

use crate::convert::json_to_py;

/// What a start request (call or conference) returned.
#[pyclass(module = "yunxin_ecp", name = "Started", frozen)]
pub struct PyStarted {
    pub inner: Started,
}

#[pymethods]
impl PyStarted {
    /// The session id: query the call with it and match its call-end callback on it.
    #[getter]
    fn session(&self) -> &str {
        &self.inner.session
    }

    /// The response's ``obj``, as sent (usually ``{"session": ...}``).
    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.raw)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Started(session={})",
            repr(py, &self.inner.session)?
        ))
    }
}

/// One participant's leg of a two-party call.
#[pyclass(module = "yunxin_ecp", name = "Leg", frozen, eq)]
#[derive(PartialEq)]
pub struct PyLeg {
    inner: Leg,
}

#[pymethods]
impl PyLeg {
    /// The number of this leg.
    #[getter]
    fn endpoint(&self) -> Option<&str> {
        self.inner.endpoint.as_deref()
    }

    /// When this leg ended, ``yyyy-MM-dd HH:mm:ss`` Beijing time.
    #[getter]
    fn end_time(&self) -> Option<&str> {
        self.inner.end_time.as_deref()
    }

    /// Why it ended, e.g. ``NORMAL_CLEARING`` or ``NO_USER_RESPONSE``.
    #[getter]
    fn hang_cause(&self) -> Option<&str> {
        self.inner.hang_cause.as_deref()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Leg(endpoint={}, end_time={}, hang_cause={})",
            opt_repr(py, self.inner.endpoint.as_deref())?,
            opt_repr(py, self.inner.end_time.as_deref())?,
            opt_repr(py, self.inner.hang_cause.as_deref())?,
        ))
    }
}

/// An amount of money: ``fen`` (0.01 yuan) as an exact ``int``, ``yuan`` as a ``Decimal``.
/// ``str()`` gives yuan with two decimals (``"0.24"``). No float is involved anywhere.
#[pyclass(module = "yunxin_ecp", name = "Cost", frozen, eq, ord, hash)]
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PyCost {
    inner: Cost,
}

#[pymethods]
impl PyCost {
    #[new]
    #[pyo3(signature = (fen))]
    fn new(fen: u64) -> Self {
        PyCost {
            inner: Cost { fen },
        }
    }

    /// The amount in fen.
    #[getter]
    fn fen(&self) -> u64 {
        self.inner.fen
    }

    /// The amount in yuan, exact.
    #[getter]
    fn yuan<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        DECIMAL
            .import(py, "decimal", "Decimal")?
            .call1((self.inner.to_string(),))
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self) -> String {
        format!("Cost(fen={})", self.inner.fen)
    }
}

impl From<Cost> for PyCost {
    fn from(inner: Cost) -> Self {
        PyCost { inner }
    }
}

/// The record of one call or conference, from ``queryBySession`` or a call-end callback.
///
/// Every field may be ``None``: the service documents them loosely. Use ``answered``, not
/// ``status``: the service reports ``SUCCESS`` even when nobody picked up.
#[pyclass(module = "yunxin_ecp", name = "CallRecord", frozen)]
pub struct PyCallRecord {
    pub inner: CallRecord,
}

#[pymethods]
impl PyCallRecord {
    /// The session id the start request returned.
    #[getter]
    fn session(&self) -> Option<&str> {
        self.inner.session.as_deref()
    }

    /// The ``callerAcc`` the call was placed for (``initAccount``).
    #[getter]
    fn init_account(&self) -> Option<&str> {
        self.inner.init_account.as_deref()
    }

    /// The caller's number (two-party calls).
    #[getter]
    fn caller(&self) -> Option<&str> {
        self.inner.caller.as_deref()
    }

    /// The callee's number (two-party calls).
    #[getter]
    fn callee(&self) -> Option<&str> {
        self.inner.callee.as_deref()
    }

    /// Every participant's number (conferences).
    #[getter]
    fn members(&self) -> Option<Vec<String>> {
        self.inner.members.clone()
    }

    /// When the session was created, Unix epoch milliseconds (``createtime``).
    #[getter]
    fn create_time_ms(&self) -> Option<u64> {
        self.inner.create_time_ms
    }

    /// When the call started, ``yyyy-MM-dd HH:mm:ss`` Beijing time (``starttime``).
    #[getter]
    fn start_time(&self) -> Option<&str> {
        self.inner.start_time.as_deref()
    }

    /// Seconds of conversation (``durationSec``).
    #[getter]
    fn duration_sec(&self) -> Option<u64> {
        self.inner.duration_sec
    }

    /// The service's status word, e.g. ``SUCCESS`` (even for unanswered calls).
    #[getter]
    fn status(&self) -> Option<&str> {
        self.inner.status.as_deref()
    }

    /// The legs of a two-party call; empty for conferences.
    #[getter]
    fn legs(&self) -> Vec<PyLeg> {
        self.inner
            .legs
            .iter()
            .map(|leg| PyLeg { inner: leg.clone() })
            .collect()
    }

    /// True when someone talked (``durationSec > 0``).
    #[getter]
    fn answered(&self) -> bool {
        self.inner.answered()
    }

    /// Minutes billed: every started minute counts (61 s is 2 minutes).
    #[getter]
    fn billed_minutes(&self) -> u64 {
        self.inner.billed_minutes()
    }

    /// What the call cost at the published rate (0.12 yuan per started minute).
    #[getter]
    fn cost(&self) -> PyCost {
        self.inner.cost(Rate::default()).into()
    }

    /// What the call cost at another per-minute rate, in fen.
    #[pyo3(signature = (*, fen_per_minute))]
    fn cost_at(&self, fen_per_minute: u64) -> PyCost {
        self.inner.cost(Rate::fen_per_minute(fen_per_minute)).into()
    }

    /// True for a conference record (it lists ``members``).
    #[getter]
    fn is_conference(&self) -> bool {
        self.inner.is_conference()
    }

    /// The record exactly as decoded, including fields this type does not model.
    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.raw)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let r = &self.inner;
        Ok(format!(
            "CallRecord(session={}, duration_sec={}, answered={}, status={})",
            opt_repr(py, r.session.as_deref())?,
            r.duration_sec
                .map_or_else(|| "None".to_owned(), |d| d.to_string()),
            if r.answered() { "True" } else { "False" },
            opt_repr(py, r.status.as_deref())?,
        ))
    }
}

/// Python's `repr()` of a string.
pub fn repr(py: Python<'_>, s: &str) -> PyResult<String> {
    PyString::new(py, s).repr()?.extract()
}

/// Python's `repr()` of an optional string.
pub fn opt_repr(py: Python<'_>, s: Option<&str>) -> PyResult<String> {
    s.map_or_else(|| Ok("None".to_owned()), |s| repr(py, s))
}
