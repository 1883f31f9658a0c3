//! The guard every entry point runs in: a panic must never unwind into C (that is undefined
//! behaviour), so each body runs under `catch_unwind` and a panic becomes `YX_PANIC`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{Fallible, yx_error, yx_result};

/// The `err_out` argument of an entry point, checked once for validity by its caller.
pub(crate) struct ErrOut(*mut *mut yx_error);

impl ErrOut {
    /// Wraps `err_out`.
    ///
    /// # Safety
    /// `err_out` must be NULL or valid for a write of one pointer.
    pub(crate) unsafe fn new(err_out: *mut *mut yx_error) -> Self {
        ErrOut(err_out)
    }

    fn write(self, error: Box<yx_error>) {
        if !self.0.is_null() {
            // SAFETY: `ErrOut::new`'s contract; not NULL.
            unsafe { self.0.write(Box::into_raw(error)) };
        }
    }
}

/// Runs a fallible entry point. On failure, and if `err_out` is not NULL, `*err_out` receives
/// the error object; on success nothing is written to it.
///
/// The closures only read their arguments and write out-parameters at their very end, so
/// a panic leaves no handle half-updated: asserting unwind safety is sound.
pub(crate) fn guard(err_out: ErrOut, body: impl FnOnce() -> Fallible<()>) -> yx_result {
    let error = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return yx_result::YX_OK,
        Ok(Err(error)) => error,
        Err(payload) => yx_error::panic(payload.as_ref()),
    };
    let kind = error.kind;
    // Dropping the payload or writing cannot panic; a panic here would abort, not unwind.
    err_out.write(error);
    kind
}

/// The opening every fallible entry point shares: `err_out` wrapped once, and the body run
/// under [`guard`]. The body reads its arguments first and writes its out-parameters last, and
/// ends in `Ok(())`.
macro_rules! fallible {
    ($err_out:ident, $body:block) => {{
        // SAFETY: every fallible entry point documents `err_out` as NULL or valid for a write
        // of one pointer.
        let err_out = unsafe { $crate::panic::ErrOut::new($err_out) };
        $crate::panic::guard(err_out, || $body)
    }};
}
pub(crate) use fallible;

/// Runs an infallible entry point (an accessor), answering `fallback` if it panics.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    #[test]
    fn a_panic_becomes_yx_panic_with_an_error_object() {
        let mut err: *mut yx_error = ptr::null_mut();
        // SAFETY: `err` is a valid out-parameter.
        let r = guard(unsafe { ErrOut::new(&mut err) }, || panic!("boom"));
        assert_eq!(r, yx_result::YX_PANIC);
        assert!(!err.is_null());
        // SAFETY: the error object just returned.
        unsafe {
            assert_eq!((*err).kind, yx_result::YX_PANIC);
            assert!((*err).message.to_str().unwrap().contains("boom"));
            crate::report::yx_error_free(err);
        }
        assert_eq!(guard_value(7, || panic!("again")), 7);
        // Without an error object the code alone comes back.
        // SAFETY: NULL is allowed.
        let none = unsafe { ErrOut::new(ptr::null_mut()) };
        assert_eq!(guard(none, || panic!("x")), yx_result::YX_PANIC);
    }

    #[test]
    fn success_leaves_err_out_alone() {
        let sentinel = 0x10 as *mut yx_error;
        let mut err = sentinel;
        // SAFETY: `err` is a valid out-parameter.
        let out = unsafe { ErrOut::new(&mut err) };
        assert_eq!(guard(out, || Ok(())), yx_result::YX_OK);
        assert_eq!(err, sentinel);
    }
}
