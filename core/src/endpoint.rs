//! Which request an answer or an error belongs to. A leaf module: the request builders, the
//! response parsers, the transport errors and the code table all name endpoints, so the type
//! lives apart from each of them.

use std::fmt;

use serde::Serialize;

use crate::codes::RequestKind;

/// One of the three ECP endpoints, or any other YunXin server API (an [`ApiRequest`](crate::ApiRequest)).
///
/// Errors and prepared requests name their endpoint with this type; its [`kind`](Self::kind)
/// decides which failures may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/call/ecp/startcall.action`: a callback call (rings the caller, then the callee).
    StartCall,
    /// `/call/ecp/startconf.action`: a phone conference.
    StartConf,
    /// `/call/ecp/queryBySession.action`: the record of one call or conference.
    QueryBySession,
    /// Any other path, sent with an [`ApiRequest`](crate::ApiRequest). The path itself lives in the request and in
    /// the errors (`path`), so that this type stays `Copy` and every ECP table stays three rows;
    /// `idempotent` is the caller's word that sending the request twice does no harm.
    Api {
        /// Whether the request may be sent again after it may have arrived.
        idempotent: bool,
    },
}

impl Endpoint {
    /// The three ECP endpoints, for tables and servers ([`Endpoint::Api`] is not among them).
    pub const ALL: [Endpoint; 3] = [
        Endpoint::StartCall,
        Endpoint::StartConf,
        Endpoint::QueryBySession,
    ];

    /// The path below the base URL; empty for [`Endpoint::Api`], whose path is its request's.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::StartCall => "/call/ecp/startcall.action",
            Endpoint::StartConf => "/call/ecp/startconf.action",
            Endpoint::QueryBySession => "/call/ecp/queryBySession.action",
            Endpoint::Api { .. } => "",
        }
    }

    /// The ECP endpoint served at `path`, if any (never [`Endpoint::Api`]).
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.path() == path)
    }

    /// Whether the endpoint places a billable call, only reads, or is another API's request
    /// (and so must not be retried blindly).
    pub fn kind(self) -> RequestKind {
        match self {
            Endpoint::StartCall | Endpoint::StartConf => RequestKind::Start,
            Endpoint::QueryBySession | Endpoint::Api { idempotent: true } => RequestKind::Query,
            Endpoint::Api { idempotent: false } => RequestKind::NotIdempotent,
        }
    }

    /// A stable identifier shared by the bindings.
    pub fn code(self) -> &'static str {
        match self {
            Endpoint::StartCall => "start_call",
            Endpoint::StartConf => "start_conf",
            Endpoint::QueryBySession => "query_by_session",
            Endpoint::Api { .. } => "api",
        }
    }
}

/// Serialized as its [`code`](Endpoint::code), a plain string for every variant.
impl Serialize for Endpoint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Api { .. } => f.write_str("the API request"),
            ecp => f.write_str(ecp.path()),
        }
    }
}
