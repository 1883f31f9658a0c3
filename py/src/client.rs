//! `Client`: the core's blocking client, with the GIL released during every network call.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use yunxin_ecp::blocking::{self, Client};

use yunxin_ecp::settings::ClientSettings;
use yunxin_ecp::{BaseUrl, Credentials, QueryBySession, StartCall, StartConf};

use crate::convert::seconds;
use crate::errors::py_err;
use crate::records::{PyCallRecord, PyStarted, repr};
use crate::requests::{PyStartConference, session_kind};
use crate::signing::PyCredentials;

/// Credentials from `credentials`, else from `app_key`/`app_secret`, else from the environment.
pub fn resolve_credentials(
    app_key: Option<String>,
    app_secret: Option<String>,
    credentials: Option<&PyCredentials>,
) -> PyResult<Credentials> {
    match (credentials, app_key, app_secret) {
        (Some(c), None, None) => Ok(c.inner.clone()),
        (Some(_), _, _) => Err(PyTypeError::new_err(
            "give either credentials or app_key/app_secret, not both",
        )),
        (None, None, None) => crate::signing::credentials_from_env(),
        (None, key, secret) => {
            Credentials::new(key.unwrap_or_default(), secret.unwrap_or_default()).map_err(py_err)
        }
    }
}

/// A blocking ECP client with a pooled connection, TLS verified and timeouts on every wait.
///
/// Credentials come from ``credentials``, or ``app_key``/``app_secret``, or else the
/// ``YUNXIN_APP_KEY``/``YUNXIN_APP_SECRET`` environment variables. Timeouts are in seconds:
/// ``connect_timeout`` to open a connection, ``timeout`` for one whole attempt. Requests are
/// retried (at most ``max_retries`` times, waiting ``backoff`` seconds before the first retry,
/// doubling, with jitter) only where a retry cannot place a second billable call. An answer
/// longer than ``max_response_bytes`` is a ``ProtocolError`` (kind ``"too_large"``). The GIL is
/// released while waiting on the network, so threads overlap. One client can be shared by any
/// number of threads.
#[pyclass(module = "yunxin_ecp", name = "Client", frozen)]
pub struct PyClient {
    inner: Client,
    app_key: String,
}

/// The core's client settings from the keyword arguments `Client(...)`, `AsyncClient(...)` and
/// `MockServer.client(...)` share (seconds as Python numbers), checked by the core's rules.
pub fn client_settings(
    base_url: Option<&str>,
    connect_timeout: f64,
    timeout: f64,
    max_retries: u32,
    backoff: f64,
    max_response_bytes: u64,
) -> PyResult<(ClientSettings, BaseUrl)> {
    // None is the core's rule for every client: YUNXIN_BASE_URL when set, else the service.
    let base_url = match base_url {
        Some(url) => url.to_owned(),
        None => yunxin_ecp::settings::default_base_url().map_err(py_err)?,
    };
    // The base URL is the core's first check; the others follow in the order of the signature.
    BaseUrl::new(&base_url).map_err(py_err)?;
    let settings = ClientSettings {
        base_url,
        connect_timeout: seconds("connect_timeout", connect_timeout, false)?,
        timeout: seconds("timeout", timeout, false)?,
        max_retries,
        backoff: seconds("backoff", backoff, true)?,
        max_response_bytes,
    };
    let base_url = settings.check().map_err(py_err)?;
    Ok((settings, base_url))
}

impl PyClient {
    pub fn build(credentials: Credentials, settings: ClientSettings) -> PyResult<Self> {
        let app_key = credentials.app_key().to_owned();
        let inner = Client::builder(credentials)
            .settings(settings)
            .build()
            .map_err(py_err)?;
        Ok(PyClient { inner, app_key })
    }
}

// The keyword defaults of `Client(...)` and `MockServer.client(...)` are spelled out in their
// `#[pyo3(signature)]`s so that Python's `inspect.signature` shows them; this fails the build
// when the core's defaults change.
const _: () = assert!(
    blocking::DEFAULT_CONNECT_TIMEOUT.as_millis() == 5_000
        && blocking::DEFAULT_TIMEOUT.as_millis() == 15_000
        && blocking::DEFAULT_MAX_RETRIES == 2
        && blocking::DEFAULT_BACKOFF.as_millis() == 200
        && blocking::DEFAULT_MAX_RESPONSE_BYTES == 1_048_576
);

#[pymethods]
impl PyClient {
    #[new]
    #[pyo3(signature = (
        app_key = None,
        app_secret = None,
        *,
        credentials = None,
        base_url = None,
        connect_timeout = 5.0,
        timeout = 15.0,
        max_retries = 2,
        backoff = 0.2,
        max_response_bytes = 1_048_576,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        app_key: Option<String>,
        app_secret: Option<String>,
        credentials: Option<PyRef<'_, PyCredentials>>,
        base_url: Option<&str>,
        connect_timeout: f64,
        timeout: f64,
        #[pyo3(from_py_with = crate::convert::max_retries)] max_retries: u32,
        backoff: f64,
        #[pyo3(from_py_with = crate::convert::max_response_bytes)] max_response_bytes: u64,
    ) -> PyResult<Self> {
        let credentials = resolve_credentials(app_key, app_secret, credentials.as_deref())?;
        let (settings, _) = client_settings(
            base_url,
            connect_timeout,
            timeout,
            max_retries,
            backoff,
            max_response_bytes,
        )?;
        PyClient::build(credentials, settings)
    }

    /// The base URL requests go to.
    #[getter]
    fn base_url(&self) -> &str {
        self.inner.base_url().as_str()
    }

    /// The app key requests are signed for.
    #[getter]
    fn app_key(&self) -> &str {
        &self.app_key
    }

    /// Places a callback call. Raises ``ValidationError`` before sending anything when an
    /// argument is wrong. When an error's ``retry_advice`` is ``"outcome_unknown"`` the call may
    /// exist: query before placing it again.
    #[pyo3(signature = (*, caller_acc, caller, callee, max_dur))]
    fn start_call(
        &self,
        py: Python<'_>,
        caller_acc: String,
        caller: String,
        callee: String,
        max_dur: &Bound<'_, PyAny>,
    ) -> PyResult<PyStarted> {
        let max_dur = crate::convert::max_dur(max_dur)?;
        let request = StartCall::new(caller_acc, caller, callee, max_dur).map_err(py_err)?;
        let started = py.detach(|| self.inner.start_call(&request));
        Ok(PyStarted {
            inner: started.map_err(py_err)?,
        })
    }

    /// Places a phone conference with 2 to 7 ``callees``. Same error rules as ``start_call``.
    #[pyo3(signature = (*, caller_acc, caller, callees, max_dur))]
    fn start_conference(
        &self,
        py: Python<'_>,
        caller_acc: String,
        caller: String,
        callees: &Bound<'_, PyAny>,
        max_dur: &Bound<'_, PyAny>,
    ) -> PyResult<PyStarted> {
        let conference = PyStartConference::build(caller_acc, caller, callees, max_dur)?;
        let request: StartConf = conference.inner;
        let started = py.detach(|| self.inner.start_conf(&request));
        Ok(PyStarted {
            inner: started.map_err(py_err)?,
        })
    }

    /// Fetches the record of a call (``kind="call"``) or conference (``kind="conference"``);
    /// retried on transient failures.
    #[pyo3(signature = (session, *, kind = "call"))]
    fn query_session(&self, py: Python<'_>, session: String, kind: &str) -> PyResult<PyCallRecord> {
        let request = QueryBySession::new(session, session_kind(kind)?).map_err(py_err)?;
        let record = py.detach(|| self.inner.query(&request));
        Ok(PyCallRecord {
            inner: record.map_err(py_err)?,
        })
    }

    /// Sends a request to any YunXin server API (an ``ApiRequest``) with the same signing,
    /// timeouts, size limit, redirect refusal and exceptions as the ECP calls, and returns the
    /// whole JSON answer (a ``dict``) on code 200.
    #[pyo3(signature = (request))]
    fn request<'py>(
        &self,
        py: Python<'py>,
        request: &crate::requests::PyApiRequest,
    ) -> PyResult<Bound<'py, PyAny>> {
        let answer = py.detach(|| self.inner.request(&request.inner));
        crate::convert::json_to_py(py, &answer.map_err(py_err)?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Client(app_key={}, base_url={})",
            repr(py, &self.app_key)?,
            repr(py, self.inner.base_url().as_str())?
        ))
    }
}
