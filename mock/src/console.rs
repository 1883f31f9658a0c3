//! Text for a terminal from what clients sent. A request's path and parameters are chosen by
//! anyone who can reach the port: printed raw, a line feed in a parameter starts a line of the
//! sender's choosing (`#1 FAKE -> accepted`), an escape sequence rewrites the screen, and a bidi
//! override shows the line's characters in another order than they are.

//!
//! The rule itself is the core's ([`yunxin_ecp::printable`]), shared with the command.

use serde::Serialize;

pub use yunxin_ecp::printable::printable;

/// `value` as one line of JSON safe for a terminal (see [`yunxin_ecp::printable::json`]).
pub fn json_line(value: &impl Serialize) -> String {
    // A value built from strings, numbers and JSON values serializes.
    yunxin_ecp::printable::json(value, false).unwrap_or_default()
}
