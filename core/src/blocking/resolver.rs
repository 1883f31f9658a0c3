//! Host resolution for the client's agent: IP-literal hosts (a local mock, a pinned gateway
//! address) are used as they are; names go to ureq's resolver. Also which hosts are this very
//! machine, so that no proxy stands between the client and a local mock.
//!
//! ureq's default resolver runs every lookup on a new thread when a timeout is set, even for
//! `127.0.0.1` and even when a pooled connection is reused, which costs more than the whole
//! exchange with a local server.

use std::net::{IpAddr, SocketAddr};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// [`DefaultResolver`], short-circuited for IP literals.
#[derive(Debug, Default)]
pub(super) struct LiteralFirst(DefaultResolver);

impl Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        match literal_addr(uri) {
            Some(addr) => {
                let mut addrs = self.empty();
                addrs.push(addr);
                Ok(addrs)
            }
            None => self.0.resolve(uri, config, timeout),
        }
    }
}

/// The socket address of a URI whose host is an IP literal, with the scheme's default port.
fn literal_addr(uri: &Uri) -> Option<SocketAddr> {
    let host = uri.host()?;
    let ip: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let port = uri.port_u16().or(match uri.scheme_str()? {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some(SocketAddr::new(ip, port))
}

/// Whether `url`'s host is this machine (`localhost` or a loopback address). A proxy from the
/// environment cannot reach such a host on the caller's behalf: requests to it go direct.
pub(super) fn is_loopback(url: &str) -> bool {
    let Ok(uri) = url.parse::<Uri>() else {
        return false;
    };
    match literal_addr(&uri) {
        Some(addr) => addr.ip().is_loopback(),
        None => uri
            .host()
            .is_some_and(|h| h.eq_ignore_ascii_case("localhost")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_only() {
        let addr = |s: &str| literal_addr(&s.parse::<Uri>().unwrap());
        assert_eq!(
            addr("http://127.0.0.1:8080/x"),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(addr("https://[::1]/x"), Some("[::1]:443".parse().unwrap()));
        assert_eq!(
            addr("http://10.1.2.3/"),
            Some("10.1.2.3:80".parse().unwrap())
        );
        assert_eq!(addr("https://api.netease.im/call"), None);
        assert_eq!(addr("http://localhost:80/"), None);
    }

    #[test]
    fn loopback_hosts() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:1/p",
            "http://localhost:9",
            "https://LOCALHOST",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "https://api.netease.im",
            "http://10.0.0.1",
            "http://localhost.example.com",
            "http://[::2]",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }
}
