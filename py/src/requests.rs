//! The three ECP requests, prepared for any HTTP client, and their response parsers.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use yunxin_ecp::request::DEFAULT_BASE_URL;
use yunxin_ecp::{
    AuthHeaders, BaseUrl, EcpRequest, PreparedRequest, QueryBySession, SessionKind, StartCall,
    StartConf, response,
};

use crate::convert::{body_bytes, max_dur};
use crate::errors::{Words, conference_err, py_err, validation_err_saying};
use crate::records::{PyCallRecord, PyStarted, repr};
use crate::signing::{PyAuthHeaders, PyCredentials};

/// The auth headers for one request: signs now with `Credentials`, or uses given `AuthHeaders`.
fn auth_from(signer: &Bound<'_, PyAny>) -> PyResult<AuthHeaders> {
    if let Ok(creds) = signer.cast::<PyCredentials>() {
        return creds.get().inner.sign_now().map_err(py_err);
    }
    if let Ok(auth) = signer.cast::<PyAuthHeaders>() {
        return Ok(auth.get().inner.clone());
    }
    Err(PyTypeError::new_err(format!(
        "prepare() signs with Credentials (fresh nonce and time) or uses AuthHeaders, not {}",
        signer.get_type().name()?
    )))
}

fn prepare<R: EcpRequest>(
    request: &R,
    signer: &Bound<'_, PyAny>,
    base_url: &str,
) -> PyResult<PyPreparedRequest> {
    let base = BaseUrl::new(base_url).map_err(py_err)?;
    let auth = auth_from(signer)?;
    Ok(PyPreparedRequest {
        inner: request.prepare(&base, &auth),
    })
}

/// Parses a start response; `Started` or the matching exception.
pub fn parse_start(conference: bool, status: u16, body: &Bound<'_, PyAny>) -> PyResult<PyStarted> {
    let body = body_bytes(body, true)?;
    let parsed = if conference {
        StartConf::parse_response(status, &body)
    } else {
        StartCall::parse_response(status, &body)
    };
    Ok(PyStarted {
        inner: parsed.map_err(py_err)?,
    })
}

/// Parses a `queryBySession` response; `CallRecord` or the matching exception.
pub fn parse_query(status: u16, body: &Bound<'_, PyAny>) -> PyResult<PyCallRecord> {
    let body = body_bytes(body, true)?;
    Ok(PyCallRecord {
        inner: response::parse_query(status, &body).map_err(py_err)?,
    })
}

/// Reads a start response (``startcall`` or, with ``conference=True``, ``startconf``): the HTTP
/// status and the body (``bytes`` or ``str``). Returns ``Started``; raises ``ApiError`` when the
/// service said no and ``ProtocolError`` when the answer is unusable.
#[pyfunction]
#[pyo3(signature = (status, body, *, conference = false))]
pub fn parse_start_response(
    status: u16,
    body: &Bound<'_, PyAny>,
    conference: bool,
) -> PyResult<PyStarted> {
    parse_start(conference, status, body)
}

/// Reads a ``queryBySession`` response into a ``CallRecord``; raises ``ApiError`` or
/// ``ProtocolError`` otherwise.
#[pyfunction]
#[pyo3(signature = (status, body))]
pub fn parse_query_response(status: u16, body: &Bound<'_, PyAny>) -> PyResult<PyCallRecord> {
    parse_query(status, body)
}

/// A callback call: the service rings ``caller``, then ``callee``, and bridges them. Every field
/// is validated here; a bad one raises ``ValidationError`` naming it.
#[pyclass(module = "yunxin_ecp", name = "StartCall", frozen)]
pub struct PyStartCall {
    pub inner: StartCall,
}

#[pymethods]
impl PyStartCall {
    #[new]
    #[pyo3(signature = (*, caller_acc, caller, callee, max_dur))]
    fn new(
        caller_acc: String,
        caller: String,
        callee: String,
        max_dur: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let max_dur = self::max_dur(max_dur)?;
        Ok(PyStartCall {
            inner: StartCall::new(caller_acc, caller, callee, max_dur).map_err(py_err)?,
        })
    }

    /// The accid the call is placed for (``callerAcc``).
    #[getter]
    fn caller_acc(&self) -> &str {
        self.inner.caller_acc()
    }

    /// The number rung first.
    #[getter]
    fn caller(&self) -> &str {
        self.inner.caller()
    }

    /// The number rung second.
    #[getter]
    fn callee(&self) -> &str {
        self.inner.callee()
    }

    /// The longest the call may last, in seconds (``maxDur``).
    #[getter]
    fn max_dur(&self) -> u32 {
        self.inner.max_dur()
    }

    /// The form body, UTF-8 percent-encoded.
    fn form_body(&self) -> String {
        self.inner.form_body()
    }

    /// The request ready to send. ``signer`` is ``Credentials`` (signs now, with a fresh nonce)
    /// or ``AuthHeaders`` from ``Credentials.sign``. Prepare again for every attempt.
    #[pyo3(signature = (signer, *, base_url = DEFAULT_BASE_URL))]
    fn prepare(&self, signer: &Bound<'_, PyAny>, base_url: &str) -> PyResult<PyPreparedRequest> {
        prepare(&self.inner, signer, base_url)
    }

    /// Reads the answer to this request: ``Started``, or ``ApiError``/``ProtocolError``.
    #[staticmethod]
    #[pyo3(signature = (status, body))]
    fn parse_response(status: u16, body: &Bound<'_, PyAny>) -> PyResult<PyStarted> {
        parse_start(false, status, body)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let r = &self.inner;
        Ok(format!(
            "StartCall(caller_acc={}, caller={}, callee={}, max_dur={})",
            repr(py, r.caller_acc())?,
            repr(py, r.caller())?,
            repr(py, r.callee())?,
            r.max_dur()
        ))
    }
}

/// A phone conference: the caller and 2 to 7 callees, all distinct. The callee list is sent as
/// a real JSON array. Every field is validated here.
#[pyclass(module = "yunxin_ecp", name = "StartConference", frozen)]
pub struct PyStartConference {
    pub inner: StartConf,
}

impl PyStartConference {
    /// Validates the arguments into a conference request.
    pub fn build(
        caller_acc: String,
        caller: String,
        callees: &Bound<'_, PyAny>,
        max_dur: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        if callees.is_instance_of::<pyo3::types::PyString>() {
            return Err(PyTypeError::new_err(
                "callees must be a list of numbers, not one str: the JSON encoding is done for you",
            ));
        }
        let callees: Vec<String> = callees
            .try_iter()
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "callees must be a list of numbers (str), not {}",
                    type_name(callees)
                ))
            })?
            .enumerate()
            .map(|(i, c)| {
                let c = c?;
                c.extract().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "callees[{i}] must be a str (a phone number), not {}",
                        type_name(&c)
                    ))
                })
            })
            .collect::<PyResult<_>>()?;
        let max_dur = self::max_dur(max_dur)?;
        Ok(PyStartConference {
            inner: StartConf::new(caller_acc, caller, callees, max_dur).map_err(conference_err)?,
        })
    }
}

#[pymethods]
impl PyStartConference {
    #[new]
    #[pyo3(signature = (*, caller_acc, caller, callees, max_dur))]
    fn new(
        caller_acc: String,
        caller: String,
        callees: &Bound<'_, PyAny>,
        max_dur: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        Self::build(caller_acc, caller, callees, max_dur)
    }

    /// The accid the conference is placed for (``callerAcc``).
    #[getter]
    fn caller_acc(&self) -> &str {
        self.inner.caller_acc()
    }

    /// The caller's number.
    #[getter]
    fn caller(&self) -> &str {
        self.inner.caller()
    }

    /// The other participants' numbers.
    #[getter]
    fn callees(&self) -> Vec<String> {
        self.inner.callees().to_vec()
    }

    /// The longest the conference may last, in seconds (``maxDur``).
    #[getter]
    fn max_dur(&self) -> u32 {
        self.inner.max_dur()
    }

    /// The form body, UTF-8 percent-encoded.
    fn form_body(&self) -> String {
        self.inner.form_body()
    }

    /// The request ready to send; see ``StartCall.prepare``.
    #[pyo3(signature = (signer, *, base_url = DEFAULT_BASE_URL))]
    fn prepare(&self, signer: &Bound<'_, PyAny>, base_url: &str) -> PyResult<PyPreparedRequest> {
        prepare(&self.inner, signer, base_url)
    }

    /// Reads the answer to this request: ``Started``, or ``ApiError``/``ProtocolError``.
    #[staticmethod]
    #[pyo3(signature = (status, body))]
    fn parse_response(status: u16, body: &Bound<'_, PyAny>) -> PyResult<PyStarted> {
        parse_start(true, status, body)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let r = &self.inner;
        let callees = r
            .callees()
            .iter()
            .map(|c| repr(py, c))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(format!(
            "StartConference(caller_acc={}, caller={}, callees=[{}], max_dur={})",
            repr(py, r.caller_acc())?,
            repr(py, r.caller())?,
            callees.join(", "),
            r.max_dur()
        ))
    }
}

/// Parses the Python spelling of a session kind (the wire's `1` and `2` are accepted too).
pub fn session_kind(kind: &str) -> PyResult<SessionKind> {
    match kind {
        "call" => Ok(SessionKind::Call),
        "conference" => Ok(SessionKind::Conference),
        // The wire values, checked (and refused) by the core's own rule, in the caller's words.
        other => SessionKind::from_wire(other).map_err(|e| {
            validation_err_saying(
                &e,
                Words::Python,
                "invalid kind (type): must be \"call\" or \"conference\"".to_owned(),
            )
        }),
    }
}

/// The name of a value's type, for a `TypeError`'s message.
fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "an unknown type".to_owned(), |n| n.to_string())
}

/// The Python spelling of a session kind.
pub fn kind_name(kind: SessionKind) -> &'static str {
    match kind {
        SessionKind::Call => "call",
        SessionKind::Conference => "conference",
    }
}

/// The record of one call (``kind="call"``) or conference (``kind="conference"``), by the
/// session id its start request returned.
#[pyclass(module = "yunxin_ecp", name = "QueryBySession", frozen)]
pub struct PyQueryBySession {
    pub inner: QueryBySession,
}

#[pymethods]
impl PyQueryBySession {
    #[new]
    #[pyo3(signature = (session, *, kind = "call"))]
    fn new(session: String, kind: &str) -> PyResult<Self> {
        let kind = session_kind(kind)?;
        Ok(PyQueryBySession {
            inner: QueryBySession::new(session, kind).map_err(py_err)?,
        })
    }

    /// The session id.
    #[getter]
    fn session(&self) -> &str {
        self.inner.session()
    }

    /// ``"call"`` or ``"conference"``.
    #[getter]
    fn kind(&self) -> &'static str {
        kind_name(self.inner.kind())
    }

    /// The form body, UTF-8 percent-encoded.
    fn form_body(&self) -> String {
        self.inner.form_body()
    }

    /// The request ready to send; see ``StartCall.prepare``.
    #[pyo3(signature = (signer, *, base_url = DEFAULT_BASE_URL))]
    fn prepare(&self, signer: &Bound<'_, PyAny>, base_url: &str) -> PyResult<PyPreparedRequest> {
        prepare(&self.inner, signer, base_url)
    }

    /// Reads the answer to this request: ``CallRecord``, or ``ApiError``/``ProtocolError``.
    #[staticmethod]
    #[pyo3(signature = (status, body))]
    fn parse_response(status: u16, body: &Bound<'_, PyAny>) -> PyResult<PyCallRecord> {
        parse_query(status, body)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "QueryBySession({}, kind='{}')",
            repr(py, self.inner.session())?,
            kind_name(self.inner.kind())
        ))
    }
}

/// A request to any YunXin server API (users, messages, SMS...): a form-encoded POST to
/// ``base_url + path``, signed like every request. ``path`` must be absolute, without scheme,
/// host, ``..``, ``?`` or ``#``; ``params`` is a mapping or (name, value) pairs of ``str``.
/// Unless ``idempotent=True``, a client sends it again only when it provably never left.
#[pyclass(module = "yunxin_ecp", name = "ApiRequest", frozen)]
pub struct PyApiRequest {
    pub inner: yunxin_ecp::ApiRequest,
}

#[pymethods]
impl PyApiRequest {
    #[new]
    #[pyo3(signature = (path, params = None, *, idempotent = false))]
    fn new(path: String, params: Option<&Bound<'_, PyAny>>, idempotent: bool) -> PyResult<Self> {
        let pairs = match params {
            Some(params) => crate::convert::string_pairs("params", params)?,
            None => Vec::new(),
        };
        let inner = yunxin_ecp::ApiRequest::new(path, pairs)
            .map_err(py_err)?
            .idempotent(idempotent);
        Ok(PyApiRequest { inner })
    }

    /// The path below the base URL.
    #[getter]
    fn path(&self) -> &str {
        self.inner.path()
    }

    /// The parameters, in order.
    #[getter]
    fn params(&self) -> Vec<(String, String)> {
        self.inner.params().to_vec()
    }

    /// Whether sending it twice does no harm (the caller's word).
    #[getter]
    fn idempotent(&self) -> bool {
        self.inner.is_idempotent()
    }

    /// The form body, UTF-8 percent-encoded.
    fn form_body(&self) -> String {
        self.inner.form_body()
    }

    /// The request ready to send; see ``StartCall.prepare``.
    #[pyo3(signature = (signer, *, base_url = DEFAULT_BASE_URL))]
    fn prepare(&self, signer: &Bound<'_, PyAny>, base_url: &str) -> PyResult<PyPreparedRequest> {
        let base = BaseUrl::new(base_url).map_err(py_err)?;
        let auth = auth_from(signer)?;
        Ok(PyPreparedRequest {
            inner: self.inner.prepare(&base, &auth),
        })
    }

    /// Reads the answer: the whole JSON object on code 200, else ``ApiError`` (with the code
    /// table's meaning) or ``ProtocolError``.
    #[pyo3(signature = (status, body))]
    fn parse_response<'py>(
        &self,
        py: Python<'py>,
        status: u16,
        body: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let body = body_bytes(body, true)?;
        let value = self.inner.parse_response(status, &body).map_err(py_err)?;
        crate::convert::json_to_py(py, &value)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "ApiRequest({}, idempotent={})",
            repr(py, self.inner.path())?,
            if self.inner.is_idempotent() {
                "True"
            } else {
                "False"
            }
        ))
    }
}

/// A request ready for any HTTP client (requests, httpx, aiohttp, urllib):
/// ``method``, ``url``, ``headers`` and the form ``body``.
#[pyclass(module = "yunxin_ecp", name = "PreparedRequest", frozen)]
pub struct PyPreparedRequest {
    pub inner: PreparedRequest,
}

#[pymethods]
impl PyPreparedRequest {
    /// Which endpoint this goes to: ``"start_call"``, ``"start_conf"`` or ``"query_by_session"``.
    #[getter]
    fn endpoint(&self) -> &'static str {
        self.inner.endpoint.code()
    }

    /// Always ``"POST"``.
    #[getter]
    fn method(&self) -> &'static str {
        self.inner.method
    }

    /// The full URL.
    #[getter]
    fn url(&self) -> &str {
        &self.inner.url
    }

    /// The four auth headers and the ``Content-Type``, as a new ``dict`` in that order.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in &self.inner.headers {
            dict.set_item(*name, value)?;
        }
        Ok(dict)
    }

    /// The same headers as ``(name, value)`` pairs.
    #[getter]
    fn header_pairs(&self) -> Vec<(&'static str, String)> {
        self.inner.headers.clone()
    }

    /// The form body, UTF-8 percent-encoded (ASCII).
    #[getter]
    fn body(&self) -> &str {
        &self.inner.body
    }

    /// The body as ``bytes``, for clients that want bytes.
    #[getter]
    fn content(&self) -> &[u8] {
        self.inner.body.as_bytes()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "PreparedRequest(method='POST', url={}, body={})",
            repr(py, &self.inner.url)?,
            repr(py, &self.inner.body)?
        ))
    }
}
