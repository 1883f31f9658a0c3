//! Host resolution for the client's agent: IP-literal hosts (a local mock, a pinned gateway
//! address) are used as they are; names go to ureq's resolver, and their addresses are reused
//! for a minute. Also which hosts are this very machine, so that no proxy stands between the
//! client and a local mock.
//!
//! ureq's default resolver runs every lookup on a new thread when a timeout is set, even for
//! `127.0.0.1` and even when a pooled connection is reused: for a local server that costs more
//! than the whole exchange, and for `api.netease.im` it is a thread and a DNS query per request
//! wherever the system does not cache lookups.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long a name's addresses are reused: long enough that a busy client resolves once a
/// minute, short enough to follow a DNS change soon.
const NAME_TTL: Duration = Duration::from_secs(60);
/// Names remembered at most; a client talks to one host, so this is only a bound.
const MAX_NAMES: usize = 16;

/// IP literals as they are; names through `R` (ureq's [`DefaultResolver`]), cached for
/// [`NAME_TTL`]. Failed lookups are not cached.
#[derive(Debug)]
pub(super) struct HostResolver<R = DefaultResolver> {
    names: R,
    ttl: Duration,
    /// A few names at most: a linear scan finds one without building a key per request.
    cache: Mutex<Vec<Resolved>>,
}

/// A name's addresses, and when they were looked up.
#[derive(Debug)]
struct Resolved {
    host: String,
    port: u16,
    at: Instant,
    addrs: ResolvedSocketAddrs,
}

impl Default for HostResolver {
    fn default() -> Self {
        HostResolver::new(DefaultResolver::default(), NAME_TTL)
    }
}

impl<R: Resolver> HostResolver<R> {
    fn new(names: R, ttl: Duration) -> Self {
        HostResolver {
            names,
            ttl,
            cache: Mutex::new(Vec::new()),
        }
    }

    /// Looks a name up. The system resolver reports a name that does not resolve as a plain I/O
    /// error, which the client would read as "may have been sent"; nothing was, so it is
    /// reported as the host not found.
    fn lookup(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        self.names
            .resolve(uri, config, timeout)
            .map_err(|e| match e {
                ureq::Error::Io(_) => ureq::Error::HostNotFound,
                other => other,
            })
    }
}

impl<R: Resolver> Resolver for HostResolver<R> {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        if let Some(addr) = literal_addr(uri) {
            let mut addrs = self.empty();
            addrs.push(addr);
            return Ok(addrs);
        }
        let (Some(host), Some(port)) = (uri.host(), port_of(uri)) else {
            return self.lookup(uri, config, timeout);
        };
        let cache = || self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let same = |r: &Resolved| r.port == port && r.host == host;
        if let Some(hit) = cache()
            .iter()
            .find(|r| same(r) && r.at.elapsed() < self.ttl)
        {
            return Ok(hit.addrs.clone());
        }
        // The lock is not held during the lookup: other threads keep going meanwhile.
        let addrs = self.lookup(uri, config, timeout)?;
        let mut cache = cache();
        cache.retain(|r| !same(r));
        if cache.len() >= MAX_NAMES {
            cache.clear();
        }
        cache.push(Resolved {
            host: host.to_owned(),
            port,
            at: Instant::now(),
            addrs: addrs.clone(),
        });
        Ok(addrs)
    }
}

/// The URI's port, else its scheme's default.
fn port_of(uri: &Uri) -> Option<u16> {
    uri.port_u16().or(match uri.scheme_str()? {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })
}

/// The socket address of a URI whose host is an IP literal, with the scheme's default port.
fn literal_addr(uri: &Uri) -> Option<SocketAddr> {
    let host = uri.host()?;
    let ip: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    Some(SocketAddr::new(ip, port_of(uri)?))
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
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Answers every name with 127.0.0.1 (or fails for `fail.test`), counting the lookups.
    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    impl Resolver for Counting {
        fn resolve(
            &self,
            uri: &Uri,
            _: &Config,
            _: NextTimeout,
        ) -> Result<ResolvedSocketAddrs, ureq::Error> {
            self.0.fetch_add(1, Ordering::SeqCst);
            if uri.host() == Some("fail.test") {
                return Err(ureq::Error::HostNotFound);
            }
            if uri.host() == Some("no-such-name.test") {
                // What the system resolver gives for a name it cannot resolve.
                return Err(ureq::Error::Io(std::io::Error::other(
                    "failed to lookup address information",
                )));
            }
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(
                [127, 0, 0, 1].into(),
                port_of(uri).unwrap(),
            ));
            Ok(addrs)
        }
    }

    fn lookup<R: Resolver>(resolver: &HostResolver<R>, url: &str) -> Option<Vec<SocketAddr>> {
        let uri = url.parse::<Uri>().unwrap();
        let found = resolver.resolve(&uri, &Config::default(), NextTimeout::default());
        found.ok().map(|addrs| addrs.to_vec())
    }

    #[test]
    fn names_are_looked_up_once_per_ttl_literals_never() {
        let resolver = HostResolver::new(Counting::default(), Duration::from_secs(60));
        let count = || resolver.names.0.load(Ordering::SeqCst);
        let local = |port: u16| Some(vec![SocketAddr::new([127, 0, 0, 1].into(), port)]);
        assert_eq!(lookup(&resolver, "https://api.example.test/a"), local(443));
        assert_eq!(
            lookup(&resolver, "https://api.example.test/b?x"),
            local(443)
        );
        assert_eq!(count(), 1);
        // Another port or host is another entry.
        assert_eq!(lookup(&resolver, "http://api.example.test/a"), local(80));
        assert_eq!(lookup(&resolver, "https://other.test:8443/"), local(8443));
        assert_eq!(count(), 3);
        // IP literals never reach the name resolver.
        assert_eq!(lookup(&resolver, "http://127.0.0.1:9/"), local(9));
        assert_eq!(count(), 3);
        // Failures are not remembered.
        assert_eq!(lookup(&resolver, "https://fail.test/"), None);
        assert_eq!(lookup(&resolver, "https://fail.test/"), None);
        assert_eq!(count(), 5);
    }

    #[test]
    fn a_name_that_does_not_resolve_is_host_not_found_never_an_io_error() {
        let resolver = HostResolver::new(Counting::default(), Duration::from_secs(60));
        let uri = "https://no-such-name.test/".parse::<Uri>().unwrap();
        let found = resolver.resolve(&uri, &Config::default(), NextTimeout::default());
        assert!(matches!(found, Err(ureq::Error::HostNotFound)), "{found:?}");
    }

    #[test]
    fn expired_entries_are_looked_up_again() {
        let resolver = HostResolver::new(Counting::default(), Duration::ZERO);
        for _ in 0..3 {
            assert!(lookup(&resolver, "https://api.example.test/").is_some());
        }
        assert_eq!(resolver.names.0.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let resolver = HostResolver::new(Counting::default(), Duration::from_secs(60));
        for i in 0..100 {
            assert!(lookup(&resolver, &format!("https://h{i}.test/")).is_some());
            assert!(resolver.cache.lock().unwrap().len() <= MAX_NAMES);
        }
    }

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
