//! Call-end callbacks: verification on the raw bytes, parsing, and signing (for tests).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use yunxin_ecp::callback::{self, DEFAULT_TOLERANCE_MS};
use yunxin_ecp::refusal::{self, Refusal};
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::{CallbackEvent, CallbackVerifier, Credentials, TimeCheck};

use crate::convert::{HeaderPair, HeaderText, body_bytes, header_pairs_named};
use crate::deliveries::PyDelivery;
use crate::errors::{py_err, validation_err};
use crate::records::{PyCallRecord, opt_repr, repr};
use crate::signing::PyCredentials;

/// A call or conference ended (``eventType`` 10): its record.
#[pyclass(module = "yunxin_ecp", name = "CallEndEvent", frozen)]
pub struct PyCallEndEvent {
    record: Py<PyCallRecord>,
}

#[pymethods]
impl PyCallEndEvent {
    /// Always ``"10"``.
    #[getter]
    fn event_type(&self) -> &'static str {
        callback::CALL_END_EVENT
    }

    /// The call-end record.
    #[getter]
    fn record(&self, py: Python<'_>) -> Py<PyCallRecord> {
        self.record.clone_ref(py)
    }

    /// The record's session id, the key to deduplicate repeated deliveries on.
    #[getter]
    fn session(&self) -> Option<String> {
        self.record.get().inner.session.clone()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "CallEndEvent(session={})",
            opt_repr(py, self.record.get().inner.session.as_deref())?
        ))
    }
}

/// Any other event (IM events can reach the same URL), passed through untouched.
#[pyclass(module = "yunxin_ecp", name = "OtherEvent", frozen)]
pub struct PyOtherEvent {
    event_type: Option<String>,
    raw: String,
}

#[pymethods]
impl PyOtherEvent {
    /// The ``eventType``, as text, when there is one.
    #[getter]
    fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The body exactly as received (invalid UTF-8 replaced).
    #[getter]
    fn raw(&self) -> &str {
        &self.raw
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "OtherEvent(event_type={})",
            opt_repr(py, self.event_type.as_deref())?
        ))
    }
}

fn event_to_py(py: Python<'_>, event: CallbackEvent) -> PyResult<Py<PyAny>> {
    Ok(match event {
        CallbackEvent::CallEnd(record) => {
            let record = Py::new(py, PyCallRecord { inner: *record })?;
            Py::new(py, PyCallEndEvent { record })?.into_any()
        }
        CallbackEvent::Other { event_type, raw } => {
            Py::new(py, PyOtherEvent { event_type, raw })?.into_any()
        }
    })
}

/// Parses a callback body without verifying it (for bodies verified earlier and stored).
/// Returns ``CallEndEvent`` or ``OtherEvent``; raises ``CallbackVerificationError`` with reason
/// ``"malformed"`` when the body is not a callback.
#[pyfunction]
#[pyo3(signature = (body))]
pub fn parse_callback(py: Python<'_>, body: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let body = body_bytes(body, false)?;
    let event = callback::parse_callback(&body).map_err(py_err)?;
    event_to_py(py, event)
}

/// Signs a callback body the way the service does and returns its headers (``Content-Type``,
/// ``AppKey``, ``CurTime`` in milliseconds, ``MD5``, ``CheckSum``): for testing receivers.
#[pyfunction]
#[pyo3(signature = (credentials, body, *, cur_time_ms = None))]
pub fn sign_callback<'py>(
    py: Python<'py>,
    credentials: &PyCredentials,
    body: &Bound<'py, PyAny>,
    cur_time_ms: Option<u64>,
) -> PyResult<Bound<'py, PyDict>> {
    let body = body_bytes(body, false)?;
    let cur_time_ms = match cur_time_ms {
        Some(ms) => milliseconds("cur_time_ms", ms)?,
        None => unix_millis_now(),
    };
    let signed = callback::sign_callback(&credentials.inner, &body, cur_time_ms);
    let dict = PyDict::new(py);
    for (name, value) in signed.pairs() {
        dict.set_item(name, value)?;
    }
    Ok(dict)
}

/// The core's answer to a refused callback known by its reason: ``(status, body)``, the body a
/// dict of the JSON object to send. The integrations answer with it so that every language
/// answers alike.
#[pyfunction]
pub fn callback_refusal<'py>(py: Python<'py>, reason: &str) -> PyResult<(u16, Bound<'py, PyDict>)> {
    let refusal = Refusal::for_reason(reason);
    let body: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&refusal.body()).expect("a refusal's body is an object of strings");
    let dict = PyDict::new(py);
    for (name, value) in body {
        dict.set_item(name, value)?;
    }
    Ok((refusal.status(), dict))
}

/// The answer to a repeated delivery handled before: ``(200, body)``, the body a dict.
#[pyfunction]
pub fn callback_duplicate_answer<'py>(py: Python<'py>) -> PyResult<(u16, Bound<'py, PyDict>)> {
    let (status, text) = refusal::DUPLICATE_ANSWER;
    let body: std::collections::BTreeMap<String, String> =
        serde_json::from_str(text).expect("the duplicate answer is an object of strings");
    let dict = PyDict::new(py);
    for (name, value) in body {
        dict.set_item(name, value)?;
    }
    Ok((status, dict))
}

/// Whether a ``Content-Length`` value already says more than ``limit`` bytes (absent or not a
/// plain number: it says nothing, and the body is bounded while it is read).
#[pyfunction]
#[pyo3(signature = (content_length, limit))]
pub fn callback_declared_too_large(content_length: Option<&str>, limit: u64) -> bool {
    refusal::declared_too_large(content_length, limit)
}

/// Refuses an epoch time in seconds where milliseconds belong (`time.time()` where
/// `time.time() * 1000` was meant): compared with a callback's `CurTime` it would read as 50
/// years in the future, and a signature made with it would be refused as stale.
fn milliseconds(argument: &str, value: u64) -> PyResult<u64> {
    // The core's rule; the words name Python's way to the right value.
    if yunxin_ecp::validate::epoch_millis("now_ms", value).is_err() {
        return Err(validation_err(
            argument,
            "seconds",
            format!(
                "invalid {argument}: {value} looks like seconds; callbacks are timed in Unix \
                 milliseconds (int(time.time() * 1000))"
            ),
        ));
    }
    Ok(value)
}

/// The headers `CallbackVerifier::verify` reads (the core's list; the only ones read here).
const SIGNATURE_HEADERS: [&str; 4] = ["MD5", "CheckSum", "CurTime", "AppKey"];

/// The signature headers of a callback, each as often as it was sent, with a value that holds a
/// comma split into one pair per part: a WSGI server (Flask, Django) joins a header sent twice
/// into one comma-separated value, and none of these values has a comma of its own. The
/// verifier then refuses it as sent twice (`duplicate_header`), as it does when an ASGI server
/// hands over both copies.
fn signed_pairs<'py>(headers: &Bound<'py, PyAny>) -> PyResult<Vec<HeaderPair<'py>>> {
    let pairs = header_pairs_named(headers, &SIGNATURE_HEADERS)?;
    if !pairs.iter().any(|(_, value)| value.bytes().contains(&b',')) {
        return Ok(pairs);
    }
    let mut split = Vec::with_capacity(pairs.len() + 1);
    for (name, value) in pairs {
        if value.bytes().contains(&b',') {
            for part in value.as_ref().split(',') {
                split.push((name.clone(), HeaderText::Owned(part.to_owned())));
            }
        } else {
            split.push((name, value));
        }
    }
    Ok(split)
}

/// `now_ms`, or the clock.
fn now(now_ms: Option<u64>) -> PyResult<u64> {
    match now_ms {
        Some(ms) => milliseconds("now_ms", ms),
        None => Ok(unix_millis_now()),
    }
}

/// Verifies call-end callbacks: the ``MD5`` of the raw body, the ``CheckSum`` (constant time),
/// the ``AppKey`` when sent, and ``CurTime`` within ``tolerance_ms`` of the clock.
/// ``tolerance_ms=0`` accepts only the same millisecond; it never disables the check.
/// ``skip_time_check=True`` disables it (replays are then accepted): only for re-verifying
/// stored callbacks.
///
/// ``credentials`` is one ``Credentials``, or a list of 1 to 8: during an AppSecret rotation
/// the old and the new (a callback signed with either is accepted), or several apps served by
/// one endpoint (each matched by its AppKey). Every one is tried whatever the outcome;
/// ``verify`` returns a ``Delivery`` that says which matched.
#[pyclass(module = "yunxin_ecp", name = "CallbackVerifier", frozen)]
pub struct PyCallbackVerifier {
    inner: CallbackVerifier,
}

/// One ``Credentials`` or a sequence of them (a str is neither).
fn credentials_list(credentials: &Bound<'_, PyAny>) -> PyResult<Vec<Credentials>> {
    if let Ok(one) = credentials.cast::<PyCredentials>() {
        return Ok(vec![one.get().inner.clone()]);
    }
    let not = || {
        PyTypeError::new_err(format!(
            "credentials must be a Credentials or a list of them, not {}",
            credentials
                .get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |n| n.to_string())
        ))
    };
    if credentials.is_instance_of::<PyString>() || credentials.is_instance_of::<PyBytes>() {
        return Err(not());
    }
    let items = credentials.try_iter().map_err(|_| not())?;
    let mut list = Vec::new();
    for (index, item) in items.enumerate() {
        let item = item?;
        let one = item.cast::<PyCredentials>().map_err(|_| {
            PyTypeError::new_err(format!(
                "credentials[{index}] must be a Credentials, not {}",
                item.get_type()
                    .name()
                    .map_or_else(|_| "?".to_owned(), |n| n.to_string())
            ))
        })?;
        list.push(one.get().inner.clone());
        if list.len() > yunxin_ecp::callback::MAX_CREDENTIALS {
            // An endless iterator is not read to its end; a sized one is counted.
            let max = yunxin_ecp::callback::MAX_CREDENTIALS;
            let got = credentials
                .len()
                .map_or_else(|_| format!("more than {max}"), |n| n.to_string());
            return Err(crate::errors::validation_err(
                "credentials",
                "count",
                format!("invalid credentials: must hold 1 to {max} entries, got {got}"),
            ));
        }
    }
    Ok(list)
}

#[pymethods]
impl PyCallbackVerifier {
    #[new]
    #[pyo3(signature = (credentials, *, tolerance_ms = 300_000, skip_time_check = false))]
    fn new(
        credentials: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = crate::convert::tolerance_ms)] tolerance_ms: u64,
        skip_time_check: bool,
    ) -> PyResult<Self> {
        // The default above is spelled out so that it shows in the signature Python sees.
        const _: () = assert!(DEFAULT_TOLERANCE_MS == 300_000);
        let check = if skip_time_check {
            TimeCheck::SkipInsecure
        } else {
            TimeCheck::tolerance(tolerance_ms).map_err(crate::errors::py_err)?
        };
        let verifier = CallbackVerifier::with_credentials(credentials_list(credentials)?)
            .map_err(crate::errors::py_err)?;
        Ok(PyCallbackVerifier {
            inner: verifier.with_time_check(check),
        })
    }

    /// The clock tolerance in milliseconds, or ``None`` when the time check is skipped.
    #[getter]
    fn tolerance_ms(&self) -> Option<u64> {
        match self.inner.time_check() {
            TimeCheck::ToleranceMs(ms) => Some(ms),
            TimeCheck::SkipInsecure => None,
        }
    }

    /// The app key callbacks must come from (the first credentials' when there are several).
    #[getter]
    fn app_key(&self) -> &str {
        self.inner.credentials()[0].app_key()
    }

    /// The app key of each credentials, in the order given.
    #[getter]
    fn app_keys(&self) -> Vec<String> {
        self.inner
            .credentials()
            .iter()
            .map(|c| c.app_key().to_owned())
            .collect()
    }

    /// Whether ``CurTime`` is not compared with the clock.
    #[getter]
    fn skip_time_check(&self) -> bool {
        self.inner.time_check() == TimeCheck::SkipInsecure
    }

    /// Verifies ``body`` (the raw bytes received) against ``headers`` (any mapping or iterable
    /// of pairs; names matched case-insensitively) at ``now_ms`` (Unix milliseconds; default:
    /// the clock). Returns the ``Delivery`` (which credentials matched, the key that identifies
    /// it for a ``DeliveryGuard``). Raises ``CallbackVerificationError`` with ``.reason`` when
    /// refused, and ``ValidationError`` for a ``now_ms`` that looks like seconds.
    #[pyo3(signature = (body, headers, *, now_ms = None))]
    fn verify(
        &self,
        body: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        now_ms: Option<u64>,
    ) -> PyResult<PyDelivery> {
        let now_ms = now(now_ms)?;
        let body = body_bytes(body, false)?;
        let headers = signed_pairs(headers)?;
        let inner = self
            .inner
            .verify_delivery(&body, headers, now_ms)
            .map_err(py_err)?;
        Ok(PyDelivery { inner })
    }

    /// Verifies, then parses: ``(Delivery, CallEndEvent | OtherEvent)``, for a handler that
    /// guards against repeated deliveries with a ``DeliveryGuard``.
    #[pyo3(signature = (body, headers, *, now_ms = None))]
    fn verify_delivery(
        &self,
        py: Python<'_>,
        body: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        now_ms: Option<u64>,
    ) -> PyResult<(PyDelivery, Py<PyAny>)> {
        let now_ms = now(now_ms)?;
        let body = body_bytes(body, false)?;
        let headers = signed_pairs(headers)?;
        let (inner, event) = self
            .inner
            .verify_and_parse_delivery(&body, headers, now_ms)
            .map_err(py_err)?;
        Ok((PyDelivery { inner }, event_to_py(py, event)?))
    }

    /// Verifies, then parses: the usual entry point of a web handler. Returns ``CallEndEvent``
    /// or ``OtherEvent``.
    #[pyo3(signature = (body, headers, *, now_ms = None))]
    fn verify_and_parse(
        &self,
        py: Python<'_>,
        body: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        now_ms: Option<u64>,
    ) -> PyResult<Py<PyAny>> {
        let now_ms = now(now_ms)?;
        let body = body_bytes(body, false)?;
        let headers = signed_pairs(headers)?;
        let event = self
            .inner
            .verify_and_parse(&body, headers, now_ms)
            .map_err(py_err)?;
        event_to_py(py, event)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let keys = self.app_keys();
        let key = if keys.len() == 1 {
            format!("app_key={}", repr(py, &keys[0])?)
        } else {
            let quoted: PyResult<Vec<String>> = keys.iter().map(|k| repr(py, k)).collect();
            format!("app_keys=[{}]", quoted?.join(", "))
        };
        Ok(match self.tolerance_ms() {
            Some(ms) => format!("CallbackVerifier({key}, tolerance_ms={ms})"),
            None => format!("CallbackVerifier({key}, skip_time_check=True)"),
        })
    }
}
