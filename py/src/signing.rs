//! `checksum`, `generate_nonce`, `Credentials` and `AuthHeaders`.

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyString};
use yunxin_ecp::signing::{ENV_APP_KEY, ENV_APP_SECRET};
use yunxin_ecp::{AuthHeaders, Credentials, signing};

use crate::errors::{Words, py_err, validation_err_saying};

/// Lowercase hex SHA1 of ``secret + nonce + cur_time``, hashed as UTF-8 bytes.
///
/// ``cur_time`` may be given as ``int`` or ``str``. The same function signs call-end callbacks,
/// with the body's MD5 in place of the nonce and ``CurTime`` in milliseconds.
#[pyfunction]
#[pyo3(signature = (secret, nonce, cur_time))]
pub fn checksum(secret: &str, nonce: &str, cur_time: &Bound<'_, PyAny>) -> PyResult<String> {
    let is_int = cur_time.is_instance_of::<PyInt>() && !cur_time.is_instance_of::<PyBool>();
    if !is_int && !cur_time.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "cur_time must be an int or a str, not {}",
            cur_time.get_type().name()?
        )));
    }
    let cur_time: String = cur_time.str()?.extract()?;
    Ok(yunxin_ecp::checksum(secret, nonce, &cur_time).into())
}

/// A nonce of ``length`` lowercase hex characters (1 to 128) from the OS CSPRNG.
#[pyfunction]
#[pyo3(signature = (length = 32))]
pub fn generate_nonce(length: usize) -> PyResult<String> {
    // The default above is spelled out so that it shows in the signature Python sees.
    const _: () = assert!(signing::DEFAULT_NONCE_LEN == 32);
    signing::generate_nonce(length).map_err(py_err)
}

/// `YUNXIN_APP_KEY` and `YUNXIN_APP_SECRET`, refused in words that name the variable and say
/// what is wrong with it (the core reports an unset variable as an empty one).
pub fn credentials_from_env() -> PyResult<Credentials> {
    Credentials::from_env().map_err(|e| {
        let variable = match e.field {
            ENV_APP_KEY | "appKey" => ENV_APP_KEY,
            ENV_APP_SECRET | "appSecret" => ENV_APP_SECRET,
            _ => return py_err(e),
        };
        let problem = match std::env::var_os(variable) {
            None => "is not set".to_owned(),
            Some(v) if v.is_empty() => "is set but empty".to_owned(),
            Some(_) if e.field == variable => "is not valid Unicode".to_owned(),
            Some(_) => format!("is set to a value that {}", e.rule),
        };
        let message = format!(
            "the environment variable {variable} {problem}: set {ENV_APP_KEY} and \
             {ENV_APP_SECRET}, or give app_key and app_secret (or credentials=Credentials(...))"
        );
        validation_err_saying(&e, Words::Python, message)
    })
}

/// An app key and its secret. ``repr()`` and ``str()`` never show the secret.
#[pyclass(module = "yunxin_ecp", name = "Credentials", frozen)]
pub struct PyCredentials {
    pub inner: Credentials,
}

#[pymethods]
impl PyCredentials {
    #[new]
    #[pyo3(signature = (app_key, app_secret))]
    fn new(app_key: String, app_secret: String) -> PyResult<Self> {
        Ok(PyCredentials {
            inner: Credentials::new(app_key, app_secret).map_err(py_err)?,
        })
    }

    /// Reads ``YUNXIN_APP_KEY`` and ``YUNXIN_APP_SECRET``; a missing one raises
    /// ``ValidationError`` naming the variable.
    #[staticmethod]
    fn from_env() -> PyResult<Self> {
        Ok(PyCredentials {
            inner: credentials_from_env()?,
        })
    }

    /// The public app key.
    #[getter]
    fn app_key(&self) -> &str {
        self.inner.app_key()
    }

    /// Signs with the given nonce and ``CurTime`` (UTC Unix seconds). Pure: use it in tests.
    #[pyo3(signature = (*, nonce, cur_time))]
    fn sign(&self, nonce: &str, cur_time: u64) -> PyResult<PyAuthHeaders> {
        let inner = self.inner.sign(nonce, cur_time).map_err(py_err)?;
        Ok(PyAuthHeaders { inner })
    }

    /// Signs with a fresh 32-character nonce and one reading of the clock. Call it once per
    /// request, including once per retry.
    fn sign_now(&self) -> PyResult<PyAuthHeaders> {
        let inner = self.inner.sign_now().map_err(py_err)?;
        Ok(PyAuthHeaders { inner })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let key = PyString::new(py, self.inner.app_key()).repr()?;
        Ok(format!(
            "Credentials(app_key={key}, app_secret='<redacted>')"
        ))
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }
}

/// The four authentication headers of one request: ``AppKey``, ``Nonce``, ``CurTime``
/// (seconds) and ``CheckSum``. Nothing here is secret.
#[pyclass(module = "yunxin_ecp", name = "AuthHeaders", frozen, eq)]
#[derive(PartialEq)]
pub struct PyAuthHeaders {
    pub inner: AuthHeaders,
}

#[pymethods]
impl PyAuthHeaders {
    /// ``AppKey``.
    #[getter]
    fn app_key(&self) -> &str {
        &self.inner.app_key
    }

    /// ``Nonce``.
    #[getter]
    fn nonce(&self) -> &str {
        &self.inner.nonce
    }

    /// ``CurTime``: UTC Unix seconds as a decimal string.
    #[getter]
    fn cur_time(&self) -> &str {
        &self.inner.cur_time
    }

    /// ``CheckSum``: 40 lowercase hex characters.
    #[getter]
    fn checksum(&self) -> &str {
        &self.inner.checksum
    }

    /// The four headers as a new ``dict``, in the documented order, ready for any HTTP client.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in self.inner.pairs() {
            // The names are interned once: a key string (and its hash) per call would cost more
            // than the signature itself.
            let name = match name {
                "AppKey" => intern!(py, "AppKey"),
                "Nonce" => intern!(py, "Nonce"),
                "CurTime" => intern!(py, "CurTime"),
                "CheckSum" => intern!(py, "CheckSum"),
                other => &PyString::new(py, other),
            };
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }

    /// The four headers as ``(name, value)`` pairs, in the documented order.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        self.inner
            .pairs()
            .into_iter()
            .map(|(name, value)| (name, value.to_owned()))
            .collect()
    }

    fn __repr__(&self) -> String {
        let h = &self.inner;
        format!(
            "AuthHeaders(app_key='{}', nonce='{}', cur_time='{}', checksum='{}')",
            h.app_key, h.nonce, h.cur_time, h.checksum
        )
    }
}
