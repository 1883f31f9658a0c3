//! Which proxy from the environment a client uses, as one rule for every client (the blocking
//! client, hence C, PHP, C# and the command; the Python `AsyncClient` on httpx).
//!
//! The HTTP stacks underneath disagree (ureq takes `HTTP_PROXY` for every scheme; httpx and
//! curl differ on case and on CGI), and a signed request sent through a proxy nobody meant is a
//! five-minute key handed to it. So the choice is made here, from the environment passed in:
//!
//! - a base URL on this machine (`localhost`, a loopback address) is reached direct;
//! - `NO_PROXY` / `no_proxy` (comma-separated host names, `.suffix` or `*`) reaches its hosts
//!   direct; a name also covers its subdomains, as curl reads it;
//! - an `https://` base URL uses `HTTPS_PROXY`, else `https_proxy`, else `ALL_PROXY` /
//!   `all_proxy`;
//! - an `http://` base URL uses `http_proxy`, else `HTTP_PROXY` unless `REQUEST_METHOD` is set,
//!   else `ALL_PROXY` / `all_proxy`. Under CGI a request's `Proxy:` header arrives as the
//!   variable `HTTP_PROXY` ("httpoxy"), so there it is never read; the lower-case name cannot
//!   come from a request header.
//!
//! An empty variable counts as unset.

use http::Uri;

/// A proxy chosen from the environment: its URL, and the variable it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvProxy {
    /// The proxy's URL, as the variable gave it.
    pub url: String,
    /// The environment variable it was read from, for errors and log events.
    pub variable: &'static str,
}

/// The proxy a client whose base URL is `base_url` uses, reading variables through `env`
/// (`|name| std::env::var(name).ok()` in a real client; a table in tests).
///
/// ```
/// use yunxin_ecp::proxy::proxy_for;
/// let env = |name: &str| match name {
///     "HTTP_PROXY" => Some("http://proxy.example:3128".to_owned()),
///     "REQUEST_METHOD" => Some("POST".to_owned()),
///     _ => None,
/// };
/// // Under CGI, HTTP_PROXY may be a request's Proxy: header: never used.
/// assert_eq!(proxy_for("http://api.example", env), None);
/// ```
pub fn proxy_for(base_url: &str, env: impl Fn(&str) -> Option<String>) -> Option<EnvProxy> {
    let read = |name: &'static str| {
        env(name)
            .filter(|v| !v.trim().is_empty())
            .map(|url| EnvProxy {
                url,
                variable: name,
            })
    };
    let uri: Uri = base_url.parse().ok()?;
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    if is_loopback_host(host) {
        return None;
    }
    let no_proxy = read("NO_PROXY").or_else(|| read("no_proxy"));
    if no_proxy.is_some_and(|list| excluded(host, &list.url)) {
        return None;
    }
    let https = uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("https"));
    let specific = if https {
        read("HTTPS_PROXY").or_else(|| read("https_proxy"))
    } else {
        let cgi = env("REQUEST_METHOD").is_some();
        read("http_proxy").or_else(|| if cgi { None } else { read("HTTP_PROXY") })
    };
    specific
        .or_else(|| read("ALL_PROXY"))
        .or_else(|| read("all_proxy"))
}

/// Whether `host` (brackets removed) is this machine: `localhost` or a loopback address.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `host` is on a `NO_PROXY` list.
fn excluded(host: &str, list: &str) -> bool {
    list.split(',').map(str::trim).any(|entry| {
        // An entry may carry a port (`example.com:8080`); the host is what decides here.
        let entry = match entry.rsplit_once(':') {
            Some((name, port))
                if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                name
            }
            _ => entry,
        };
        let entry = entry.trim_start_matches("*.").trim_start_matches('.');
        let entry = entry.trim_start_matches('[').trim_end_matches(']');
        if entry == "*" {
            return true;
        }
        !entry.is_empty()
            && (host.eq_ignore_ascii_case(entry)
                || host.len() > entry.len()
                    && host[host.len() - entry.len()..].eq_ignore_ascii_case(entry)
                    && host.as_bytes()[host.len() - entry.len() - 1] == b'.')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn chosen(base: &str, vars: &[(&str, &str)]) -> Option<&'static str> {
        proxy_for(base, with(vars)).map(|p| p.variable)
    }

    const HTTPS: &str = "https://api.netease.im";
    const HTTP: &str = "http://api.example.com:8080";

    #[test]
    fn each_scheme_reads_its_own_variables_in_order() {
        let all = [
            ("HTTPS_PROXY", "http://a:1"),
            ("https_proxy", "http://b:1"),
            ("http_proxy", "http://c:1"),
            ("HTTP_PROXY", "http://d:1"),
            ("ALL_PROXY", "http://e:1"),
            ("all_proxy", "http://f:1"),
        ];
        assert_eq!(chosen(HTTPS, &all), Some("HTTPS_PROXY"));
        assert_eq!(chosen(HTTPS, &all[1..]), Some("https_proxy"));
        // HTTP_PROXY is never used for an https URL (ureq's default did).
        assert_eq!(chosen(HTTPS, &all[2..4]), None);
        assert_eq!(chosen(HTTPS, &all[2..]), Some("ALL_PROXY"));
        assert_eq!(chosen(HTTPS, &all[5..]), Some("all_proxy"));
        assert_eq!(chosen(HTTP, &all), Some("http_proxy"));
        assert_eq!(chosen(HTTP, &all[3..]), Some("HTTP_PROXY"));
        assert_eq!(chosen(HTTP, &all[4..]), Some("ALL_PROXY"));
        assert_eq!(chosen(HTTP, &[]), None);
        assert_eq!(chosen(HTTPS, &[("HTTPS_PROXY", " ")]), None);
        let p = proxy_for(HTTPS, with(&all)).unwrap();
        assert_eq!(p.url, "http://a:1");
    }

    #[test]
    fn under_cgi_http_proxy_is_never_read() {
        let cgi = [
            ("REQUEST_METHOD", "POST"),
            ("HTTP_PROXY", "http://attacker:1"),
        ];
        assert_eq!(chosen(HTTP, &cgi), None);
        let mut lower = cgi.to_vec();
        lower.push(("http_proxy", "http://ops:1"));
        assert_eq!(chosen(HTTP, &lower), Some("http_proxy"));
        lower.push(("ALL_PROXY", "http://all:1"));
        assert_eq!(chosen(HTTP, &cgi[..]), None);
    }

    #[test]
    fn loopback_and_no_proxy_hosts_are_reached_direct() {
        let proxy = ("ALL_PROXY", "http://p:1");
        for local in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:80",
        ] {
            assert_eq!(chosen(local, &[proxy]), None, "{local}");
        }
        for (list, direct) in [
            ("api.netease.im", true),
            ("netease.im", true),
            (".netease.im", true),
            ("*.netease.im", true),
            ("*", true),
            ("other.com, netease.im:443", true),
            ("API.NETEASE.IM", true),
            ("ease.im", false),
            ("im", true),
            ("other.com", false),
            ("", false),
        ] {
            let got = chosen(HTTPS, &[proxy, ("NO_PROXY", list)]);
            assert_eq!(got.is_none(), direct, "{list:?}");
            let got = chosen(HTTPS, &[proxy, ("no_proxy", list)]);
            assert_eq!(got.is_none(), direct, "{list:?}");
        }
    }
}
