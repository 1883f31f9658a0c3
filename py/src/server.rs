//! The service's side of a request, for proxies and test servers: signature verification,
//! parameter reading (accepting what the official samples send) and the service's reply bodies.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use yunxin_ecp::Endpoint;
use yunxin_ecp::server::{self, Params, reply};
use yunxin_ecp::signing::unix_seconds_now;

use crate::convert::{body_bytes, header_pairs};
use crate::errors::{auth_err, wire_err};
use crate::requests::{PyQueryBySession, PyStartCall, PyStartConference};
use crate::signing::PyCredentials;

/// Checks the four auth headers of an incoming request (names matched case-insensitively) at
/// ``now_secs`` (default: the clock), against one ``Credentials`` or several. Returns the
/// ``Credentials`` whose app key signed it; raises ``AuthRefusedError`` with ``.reason``
/// otherwise (the service answers every refusal with ``bad_http_header()``).
#[pyfunction]
#[pyo3(signature = (headers, apps, *, now_secs = None, window_secs = 300))]
pub fn verify_request(
    py: Python<'_>,
    headers: &Bound<'_, PyAny>,
    apps: &Bound<'_, PyAny>,
    now_secs: Option<u64>,
    window_secs: u64,
) -> PyResult<Py<PyCredentials>> {
    // The default above is spelled out so that it shows in the signature Python sees.
    const _: () = assert!(server::REQUEST_WINDOW_SECS == 300);
    let apps: Vec<Py<PyCredentials>> = match apps.cast::<PyCredentials>() {
        Ok(one) => vec![one.clone().unbind()],
        Err(_) => apps
            .try_iter()?
            .map(|a| a?.extract::<Py<PyCredentials>>().map_err(PyErr::from))
            .collect::<PyResult<_>>()?,
    };
    let headers = header_pairs(headers)?;
    let now = now_secs.unwrap_or_else(unix_seconds_now);
    let lookup = |key: &str| {
        apps.iter()
            .map(|a| &a.get().inner)
            .find(|c| c.app_key() == key)
    };
    let found = server::verify_request(headers, lookup, now, window_secs)
        .map_err(|refusal| auth_err(&refusal))?;
    let app = apps
        .iter()
        .find(|a| a.get().inner.app_key() == found.app_key())
        .map(|a| a.clone_ref(py));
    app.ok_or_else(|| PyValueError::new_err("no app matched"))
}

/// Reads the parameters of an incoming request to an ECP path (``/call/ecp/...``) from the
/// query string and the form body together, as the service does. Returns ``StartCall``,
/// ``StartConference`` or ``QueryBySession``; raises ``ValidationError`` naming the bad
/// parameter (the service answers ``bad_param(field)``).
#[pyfunction]
#[pyo3(signature = (path, *, query = "", body = None))]
pub fn parse_request(
    py: Python<'_>,
    path: &str,
    query: &str,
    body: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let body = body.map(|b| body_bytes(b, true)).transpose()?;
    let params = Params::parse(query, body.as_deref().unwrap_or_default());
    let endpoint = Endpoint::from_path(path)
        .ok_or_else(|| PyValueError::new_err(format!("no ECP endpoint at path {path:?}")))?;
    Ok(match endpoint {
        Endpoint::StartCall => {
            let inner = params.start_call().map_err(wire_err)?;
            Py::new(py, PyStartCall { inner })?.into_any()
        }
        Endpoint::StartConf => {
            let inner = params.start_conf().map_err(wire_err)?;
            Py::new(py, PyStartConference { inner })?.into_any()
        }
        Endpoint::QueryBySession => {
            let inner = params.query().map_err(wire_err)?;
            Py::new(py, PyQueryBySession { inner })?.into_any()
        }
        Endpoint::Api { .. } => {
            return Err(PyValueError::new_err(format!(
                "no ECP endpoint at path {path:?}"
            )));
        }
    })
}

/// ``{"desc":"bad http header","code":414}``: the service's answer to any signature problem.
#[pyfunction]
pub fn reply_bad_http_header() -> String {
    reply::bad_http_header()
}

/// ``{"code":414,"msg":"bad param '<field>'"}``.
#[pyfunction]
#[pyo3(signature = (field))]
pub fn reply_bad_param(field: &str) -> String {
    reply::bad_param(field)
}

/// ``{"code":<code>,"msg":<msg>}``.
#[pyfunction]
#[pyo3(signature = (code, msg))]
pub fn reply_error(code: i64, msg: &str) -> String {
    reply::error(code, msg)
}

/// ``{"code":200,"obj":{"session":<session>}}``.
#[pyfunction]
#[pyo3(signature = (session))]
pub fn reply_started(session: &str) -> String {
    reply::started(session)
}
