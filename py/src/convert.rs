//! Conversions between Python values and the core's types: JSON values, raw bodies, header
//! mappings as web frameworks hand them over, and integer parameters.

use std::borrow::Cow;

use pyo3::IntoPyObjectExt;
use pyo3::exceptions::{PyAttributeError, PyTypeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};
use serde_json::Value;
use yunxin_ecp::validate;

use crate::errors::py_err;

/// A JSON value as plain Python objects (`dict`, `list`, `str`, `int`, `float`, `bool`, `None`).
pub fn json_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    match value {
        Value::Null => Ok(py.None().into_bound(py)),
        Value::Bool(b) => b.into_bound_py_any(py),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_bound_py_any(py)
            } else if let Some(u) = n.as_u64() {
                u.into_bound_py_any(py)
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py)
            }
        }
        Value::String(s) => s.into_bound_py_any(py),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            Ok(list.into_any())
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, json_to_py(py, item)?)?;
            }
            Ok(dict.into_any())
        }
    }
}

/// The bytes of a body: `bytes` (borrowed, not copied), `bytearray` or `memoryview`, and `str`
/// only when `allow_str` (response parsing; a callback must be verified on the bytes received,
/// never on decoded text).
pub fn body_bytes<'a>(body: &'a Bound<'_, PyAny>, allow_str: bool) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = body.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(b) = body.cast::<PyByteArray>() {
        return Ok(Cow::Owned(b.to_vec()));
    }
    if let Ok(s) = body.cast::<PyString>() {
        if allow_str {
            return Ok(Cow::Owned(s.extract::<String>()?.into_bytes()));
        }
        return Err(PyTypeError::new_err(
            "the body must be the raw bytes received (Django request.body, Flask \
             request.get_data(), Starlette await request.body()), not str: the MD5 covers the \
             exact bytes",
        ));
    }
    if let Ok(bytes) = body.call_method0(intern!(body.py(), "tobytes")) {
        if let Ok(b) = bytes.cast::<PyBytes>() {
            return Ok(Cow::Owned(b.as_bytes().to_vec()));
        }
    }
    Err(PyTypeError::new_err(format!(
        "the body must be bytes, bytearray or memoryview, not {}",
        body.get_type().name()?
    )))
}

/// A header's name or value as text, borrowed from Python where it can be: a `str`'s own UTF-8
/// buffer (CPython caches it in the object), or `bytes` that are ASCII, held without a copy;
/// other bytes decoded as Latin-1.
#[derive(Clone)]
pub enum HeaderText<'py> {
    /// A `str` whose UTF-8 form was read once (so reading it again cannot fail).
    Str(Bound<'py, PyString>),
    /// Bytes known to be ASCII.
    Ascii(Bound<'py, PyBytes>),
    /// Text decoded here.
    Owned(String),
}

impl HeaderText<'_> {
    /// The text's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.as_ref().as_bytes()
    }
}

impl AsRef<str> for HeaderText<'_> {
    fn as_ref(&self) -> &str {
        match self {
            // Both were checked when built: the `str` has a UTF-8 form, the bytes are ASCII.
            HeaderText::Str(s) => s.to_str().unwrap_or_default(),
            HeaderText::Ascii(b) => std::str::from_utf8(b.as_bytes()).unwrap_or_default(),
            HeaderText::Owned(s) => s,
        }
    }
}

/// One header as read from Python.
pub type HeaderPair<'py> = (HeaderText<'py>, HeaderText<'py>);

/// Header (name, value) pairs from a mapping (anything with `.items()`: `dict`, Django's
/// `request.headers`, Flask's `EnvironHeaders`, Starlette's `Headers`) or an iterable of pairs
/// (ASGI's raw `[(b"name", b"value")]`). Bytes are decoded as Latin-1, as HTTP headers are.
/// A `dict` is read directly and a mapping through one call of `items()`.
pub fn header_pairs<'py>(headers: &Bound<'py, PyAny>) -> PyResult<Vec<HeaderPair<'py>>> {
    read_headers(headers, None)
}

/// [`header_pairs`], keeping only the headers named in `names` (any case, surrounding
/// whitespace ignored: the rule by which the core picks them). The others' values are not
/// read at all.
pub fn header_pairs_named<'py>(
    headers: &Bound<'py, PyAny>,
    names: &[&str],
) -> PyResult<Vec<HeaderPair<'py>>> {
    read_headers(headers, Some(names))
}

fn read_headers<'py>(
    headers: &Bound<'py, PyAny>,
    names: Option<&[&str]>,
) -> PyResult<Vec<HeaderPair<'py>>> {
    let mut pairs = Vec::new();
    if let Ok(dict) = headers.cast::<PyDict>() {
        for (name, value) in dict.iter() {
            push_header(&mut pairs, names, &name, &value)?;
        }
        return Ok(pairs);
    }
    if let Ok(list) = headers.cast::<PyList>() {
        for item in list.iter() {
            push_item(&mut pairs, names, &item)?;
        }
        return Ok(pairs);
    }
    let py = headers.py();
    let items = match headers.getattr(intern!(py, "items")) {
        Ok(items) => Some(items.call0()?),
        Err(e) if e.is_instance_of::<PyAttributeError>(py) => None,
        Err(e) => return Err(e),
    };
    let iter = match &items {
        Some(items) => items.try_iter()?,
        None => headers.try_iter().map_err(|_| {
            PyTypeError::new_err("headers must be a mapping or an iterable of (name, value) pairs")
        })?,
    };
    for item in iter {
        push_item(&mut pairs, names, &item?)?;
    }
    Ok(pairs)
}

/// Adds one `(name, value)` item: a tuple, or any two-item sequence.
fn push_item<'py>(
    pairs: &mut Vec<HeaderPair<'py>>,
    names: Option<&[&str]>,
    item: &Bound<'py, PyAny>,
) -> PyResult<()> {
    match item.cast::<PyTuple>() {
        Ok(t) if t.len() == 2 => push_header(pairs, names, &t.get_item(0)?, &t.get_item(1)?),
        _ => {
            let (name, value) = pair(item)?;
            push_header(pairs, names, &name, &value)
        }
    }
}

/// Adds one header, when `names` is `None` or names it (any case, surrounding whitespace
/// ignored, as the core reads names).
fn push_header<'py>(
    pairs: &mut Vec<HeaderPair<'py>>,
    names: Option<&[&str]>,
    name: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
) -> PyResult<()> {
    let name = header_text(name)?;
    if let Some(names) = names {
        let text = name.as_ref().trim();
        if !names.iter().any(|n| n.eq_ignore_ascii_case(text)) {
            return Ok(());
        }
    }
    pairs.push((name, header_text(value)?));
    Ok(())
}

/// A `(name, value)` tuple, or any other two-item sequence such as a JSON `[name, value]` list.
fn pair<'py>(item: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let bad = || PyTypeError::new_err("each header must be a (name, value) pair of str or bytes");
    if item.is_instance_of::<PyString>() || item.is_instance_of::<PyBytes>() {
        return Err(bad());
    }
    let mut parts = item.try_iter().map_err(|_| bad())?;
    let mut next = || parts.next().transpose();
    match (next()?, next()?, next()?) {
        (Some(name), Some(value), None) => Ok((name, value)),
        _ => Err(bad()),
    }
}

fn header_text<'py>(value: &Bound<'py, PyAny>) -> PyResult<HeaderText<'py>> {
    if let Ok(s) = value.cast::<PyString>() {
        // A lone surrogate has no UTF-8 form: refused here, as encoding it would be.
        s.to_str()?;
        return Ok(HeaderText::Str(s.clone()));
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        if b.as_bytes().is_ascii() {
            return Ok(HeaderText::Ascii(b.clone()));
        }
        return Ok(HeaderText::Owned(
            b.as_bytes().iter().map(|&c| char::from(c)).collect(),
        ));
    }
    Err(PyTypeError::new_err(format!(
        "header names and values must be str or bytes, not {}",
        value.get_type().name()?
    )))
}

/// Python's `operator.index(value)`, looked up once.
fn index<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    static INDEX: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    INDEX
        .import(value.py(), "operator", "index")?
        .call1((value,))
}

/// `maxDur` from a Python integer (an `int`, or anything with `__index__` such as NumPy's
/// integers; not `bool`), checked by the core's rule (positive, fits the wire type).
pub fn max_dur(value: &Bound<'_, PyAny>) -> PyResult<u32> {
    let py = value.py();
    let not_int = || -> PyResult<PyErr> {
        Ok(PyTypeError::new_err(format!(
            "max_dur must be an int (seconds), not {}",
            value.get_type().name()?
        )))
    };
    if value.is_instance_of::<PyBool>() {
        return Err(not_int()?);
    }
    let index = match index(value) {
        Ok(index) => index,
        Err(e) if e.is_instance_of::<PyTypeError>(py) => return Err(not_int()?),
        Err(e) => return Err(e),
    };
    let text: String = index.str()?.extract()?;
    validate::parse_max_dur(&text).map_err(py_err)
}

/// A wait in seconds from a Python number, by the core's rule: NaN, negative (and zero unless
/// `zero_ok`) and absurdly long waits are refused naming the argument.
pub fn seconds(field: &'static str, value: f64, zero_ok: bool) -> PyResult<std::time::Duration> {
    validate::wait_secs_f64(field, value, zero_ok).map_err(py_err)
}

/// An unsigned integer argument (an `int`, or anything with `__index__`), refused with a
/// `ValidationError` naming `field` when it is a `bool` (Python's `True` is the integer 1, so
/// `tolerance_ms=True` would otherwise mean one millisecond) or out of `T`'s range (where a raw
/// `OverflowError` would name nothing).
pub fn uint_arg<T: TryFrom<i128>>(field: &'static str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    let refuse = || {
        py_err(validate::ValidationError::new(
            field,
            validate::Rule::NotInteger,
        ))
    };
    if value.is_instance_of::<PyBool>() {
        return Err(refuse());
    }
    let py = value.py();
    let index = match index(value) {
        Ok(index) => index,
        Err(e) if e.is_instance_of::<PyTypeError>(py) => {
            return Err(PyTypeError::new_err(format!(
                "{field} must be an int, not {}",
                value.get_type().name()?
            )));
        }
        Err(e) => return Err(e),
    };
    let wide: i128 = index.extract().map_err(|_| refuse())?;
    T::try_from(wide).map_err(|_| refuse())
}

/// `from_py_with` converters for the integer settings, each naming its argument.
pub fn tolerance_ms(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    uint_arg("tolerance_ms", value)
}

/// See [`tolerance_ms`].
pub fn max_retries(value: &Bound<'_, PyAny>) -> PyResult<u32> {
    uint_arg("max_retries", value)
}

/// See [`tolerance_ms`].
pub fn max_response_bytes(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    uint_arg("max_response_bytes", value)
}

/// Form parameters from a mapping (anything with `.items()`) or an iterable of (name, value)
/// pairs; names are `str`, values `str` or `int` (not `bool`, whose text would be `True`).
pub fn string_pairs(argument: &str, params: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let py = params.py();
    let items = match params.getattr(intern!(py, "items")) {
        Ok(items) => items.call0()?,
        Err(e) if e.is_instance_of::<PyAttributeError>(py) => params.clone(),
        Err(e) => return Err(e),
    };
    let bad = || {
        PyTypeError::new_err(format!(
            "{argument} must be a mapping or (name, value) pairs of str (values may be int)"
        ))
    };
    if items.is_instance_of::<PyString>() || items.is_instance_of::<PyBytes>() {
        return Err(bad());
    }
    let mut pairs = Vec::new();
    for item in items.try_iter().map_err(|_| bad())? {
        let item = item?;
        let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) =
            item.extract().map_err(|_| bad())?;
        let name: String = name.extract().map_err(|_| bad())?;
        let value = if value.is_instance_of::<PyString>() {
            value.extract::<String>()?
        } else if value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>() {
            value.str()?.extract::<String>()?
        } else {
            return Err(bad());
        };
        pairs.push((name, value));
    }
    Ok(pairs)
}
