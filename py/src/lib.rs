//! The native module of the Python package `yunxin_ecp` (imported as `yunxin_ecp._native`).
//!
//! Every rule lives in the `yunxin-ecp` core crate; this crate only converts between Python and
//! Rust values and releases the GIL around network I/O. The public Python API, its stubs and its
//! exception classes are in `python/yunxin_ecp/`.

mod callbacks;
mod cli;
mod client;
mod convert;
mod deliveries;
mod errors;
mod exchange;
mod mock;
mod policy;
mod records;
mod requests;
mod server;
mod signing;

use pyo3::prelude::*;

/// Native core of yunxin_ecp; import the public API from ``yunxin_ecp``.
#[pymodule(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_BASE_URL", yunxin_ecp::request::DEFAULT_BASE_URL)?;
    m.add(
        "DEFAULT_TOLERANCE_MS",
        yunxin_ecp::callback::DEFAULT_TOLERANCE_MS,
    )?;
    m.add(
        "REQUEST_WINDOW_SECS",
        yunxin_ecp::server::REQUEST_WINDOW_SECS,
    )?;

    m.add_function(wrap_pyfunction!(signing::checksum, m)?)?;
    m.add_function(wrap_pyfunction!(signing::generate_nonce, m)?)?;
    m.add_class::<signing::PyCredentials>()?;
    m.add_class::<signing::PyAuthHeaders>()?;

    m.add_class::<requests::PyStartCall>()?;
    m.add_class::<requests::PyStartConference>()?;
    m.add_class::<requests::PyQueryBySession>()?;
    m.add_class::<requests::PyPreparedRequest>()?;
    m.add_class::<requests::PyApiRequest>()?;
    m.add_function(wrap_pyfunction!(requests::parse_start_response, m)?)?;
    m.add_function(wrap_pyfunction!(requests::parse_query_response, m)?)?;

    m.add_class::<records::PyStarted>()?;
    m.add_class::<records::PyCallRecord>()?;
    m.add_class::<records::PyLeg>()?;
    m.add_class::<records::PyCost>()?;

    m.add_class::<callbacks::PyCallbackVerifier>()?;
    m.add_class::<callbacks::PyCallEndEvent>()?;
    m.add_class::<callbacks::PyOtherEvent>()?;
    m.add_class::<deliveries::PyDelivery>()?;
    m.add_class::<deliveries::PyDeliveryGuard>()?;
    m.add_function(wrap_pyfunction!(callbacks::parse_callback, m)?)?;
    m.add_function(wrap_pyfunction!(callbacks::sign_callback, m)?)?;
    m.add_function(wrap_pyfunction!(callbacks::callback_refusal, m)?)?;
    m.add_function(wrap_pyfunction!(callbacks::callback_duplicate_answer, m)?)?;
    m.add_function(wrap_pyfunction!(callbacks::callback_declared_too_large, m)?)?;
    m.add(
        "DEFAULT_MAX_BODY_BYTES",
        yunxin_ecp::refusal::DEFAULT_MAX_BODY_BYTES,
    )?;

    m.add_function(wrap_pyfunction!(server::verify_request, m)?)?;
    m.add_function(wrap_pyfunction!(server::parse_request, m)?)?;
    m.add_function(wrap_pyfunction!(server::reply_bad_http_header, m)?)?;
    m.add_function(wrap_pyfunction!(server::reply_bad_param, m)?)?;
    m.add_function(wrap_pyfunction!(server::reply_error, m)?)?;
    m.add_function(wrap_pyfunction!(server::reply_started, m)?)?;

    m.add_function(wrap_pyfunction!(cli::run_cli, m)?)?;
    m.add_function(wrap_pyfunction!(cli::refresh_logging, m)?)?;
    cli::install_logging(m.py());

    m.add_class::<client::PyClient>()?;
    m.add_class::<policy::PyClientConfig>()?;
    m.add_class::<exchange::PyExchange>()?;
    m.add_class::<exchange::PyAttempt>()?;
    m.add_class::<exchange::PyNext>()?;

    m.add_class::<mock::PyMockServer>()?;
    m.add_class::<mock::PyOutcome>()?;
    m.add_class::<mock::PyRecordedRequest>()?;
    m.add_class::<mock::PyCallbackDelivery>()?;
    m.add_class::<mock::PyMockStats>()?;
    mock::add_constants(m)?;
    Ok(())
}
