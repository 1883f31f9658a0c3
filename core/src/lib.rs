//! One correct implementation of NetEase YunXin's server-API signing (the `CheckSum`) and of its
//! 专线电话 (ECP) API: callback calls, phone conferences, call details and the signed call-end
//! callback.
//!
//! The crate is *sans-IO*: no function here opens a socket, reads the clock or draws randomness
//! unless its name says so (`*_now`, [`signing::generate_nonce`]). Time and nonce are arguments, so
//! every behaviour is a pure function that the Rust, C, Python, PHP and C# test suites check against
//! the same golden vectors. Bring any HTTP client, or enable the `blocking` feature for one.
//!
//! ```
//! use yunxin_ecp::{Credentials, StartCall, BaseUrl, EcpRequest};
//!
//! let creds = Credentials::new("fd460d34e786e7754e505bc4fab0f027", "xxxxxxxx")?;
//! let call = StartCall::new("liuxuanlin", "13888888888", "13777777777", 100)?;
//! let auth = creds.sign("123456", 1440570500)?;
//! let prepared = call.prepare(&BaseUrl::default(), &auth);
//! assert_eq!(prepared.url, "https://api.netease.im/call/ecp/startcall.action");
//! assert_eq!(prepared.body, "callerAcc=liuxuanlin&caller=13888888888&callee=13777777777&maxDur=100");
//! assert!(prepared.headers.contains(&("CheckSum", "90d19362ba1584524bbd9b375b006837a4f676db".into())));
//! # Ok::<(), yunxin_ecp::Error>(())
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod billing;
#[cfg(feature = "blocking")]
pub mod blocking;
pub mod callback;
pub mod codes;
pub mod deliveries;
pub mod endpoint;
mod error;
pub mod exchange;
pub mod headers;
pub mod mask;
pub mod policy;
pub mod printable;
pub mod proxy;
pub mod record;
pub mod redact;
pub mod refusal;
pub mod request;
pub mod response;
pub mod server;
pub mod settings;
pub mod signing;
pub mod transport;
pub mod validate;
pub mod views;

pub use api::ApiRequest;
pub use billing::{Cost, Rate};
pub use callback::{CallbackError, CallbackEvent, CallbackVerifier, TimeCheck, Verified};
pub use codes::RetryAdvice;
pub use error::Error;
pub use headers::HeaderPair;
pub use record::{CallRecord, Leg};
pub use request::{
    BaseUrl, EcpRequest, Endpoint, PreparedRequest, QueryBySession, SessionKind, StartCall,
    StartConf,
};
pub use response::{ApiError, ProtocolError, ProtocolErrorKind, ResponseError, Started};
pub use signing::{AuthHeaders, Checksum, Credentials, checksum};
pub use transport::{TransportError, TransportErrorKind};
pub use validate::{Rule, ValidationError};
