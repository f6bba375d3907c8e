//! Who is asking, and through what (pure, no IO): the CloudFront origin-secret check and the
//! client's view of the request (public host, scheme, port, address) derived from it.
//!
//! Trust rules:
//! - With `LAMBDA_FPM_ORIGIN_SECRET` set, a request must carry the secret header (compared in
//!   constant time) or it is refused with 403. With it, `X-Forwarded-Host`,
//!   `X-Forwarded-Proto` (or `CloudFront-Forwarded-Proto`) and `CloudFront-Viewer-Address`
//!   are CloudFront's and are believed.
//! - ALB overwrites `X-Forwarded-Proto`/`X-Forwarded-Port` itself, so for ALB events those
//!   give the scheme and port; its appended `X-Forwarded-For` entry is the source address.
//! - Otherwise (direct Function URL / API Gateway, or no secret configured) no forwarding
//!   header is believed: the address is the event's `sourceIp`, the host is `Host`, and the
//!   scheme is the configured direct scheme (`https` on AWS).

use subtle::ConstantTimeEq;

use crate::config::Scheme;
use crate::event::{EventKind, HttpRequest};

/// Result of the origin-secret check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginCheck {
    /// No secret configured: nothing to check, nothing forwarded is trusted.
    NotConfigured,
    /// The secret matched: CloudFront's forwarding headers are trusted.
    Verified,
    /// A secret is configured and the request did not carry it.
    Rejected,
}

/// Compares the configured secret with the request's header in constant time.
pub fn check_origin(secret: Option<&str>, header_name: &str, request: &HttpRequest) -> OriginCheck {
    let Some(secret) = secret else {
        return OriginCheck::NotConfigured;
    };
    let mut presented = request.header_values(header_name);
    match (presented.next(), presented.next()) {
        (Some(value), None) if bool::from(value.as_bytes().ct_eq(secret.as_bytes())) => {
            OriginCheck::Verified
        }
        _ => OriginCheck::Rejected,
    }
}

/// The request as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientView {
    /// Value for `HTTP_HOST` (host, with port when one was given).
    pub host: String,
    /// `SERVER_NAME`: host without port.
    pub server_name: String,
    pub server_port: u16,
    pub scheme: Scheme,
    pub remote_addr: String,
    pub remote_port: Option<u16>,
}

/// A Host value that cannot be used to build URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadHost(pub String);

/// Whether a Host header value is a plausible `host[:port]` (names, IPv4, `[IPv6]`).
pub fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_')
        })
        && !host.starts_with(['.', '-', ':'])
}

/// A valid Host value split into name and optional port.
fn parse_host(host: &str) -> Result<(&str, Option<u16>), BadHost> {
    if !valid_host(host) {
        return Err(BadHost(host.to_string()));
    }
    split_host_port(host)
}

/// Splits `host[:port]` (IPv6 in brackets) into name and optional port.
fn split_host_port(host: &str) -> Result<(&str, Option<u16>), BadHost> {
    let bad = || BadHost(host.to_string());
    if let Some(rest) = host.strip_prefix('[') {
        let (addr, after) = rest.split_once(']').ok_or_else(bad)?;
        let name = &host[..addr.len() + 2];
        return match after {
            "" => Ok((name, None)),
            p => Ok((
                name,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(bad)?
                        .parse()
                        .map_err(|_| bad())?,
                ),
            )),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => {
            Ok((name, Some(port.parse().map_err(|_| bad())?)))
        }
        Some(_) => Err(bad()),
        None => Ok((host, None)),
    }
}

fn first_item(value: &str) -> &str {
    value.split(',').next().unwrap_or("").trim()
}

fn parse_scheme(value: Option<&str>) -> Option<Scheme> {
    match first_item(value?).to_ascii_lowercase().as_str() {
        "https" => Some(Scheme::Https),
        "http" => Some(Scheme::Http),
        _ => None,
    }
}

/// Splits CloudFront-Viewer-Address (`ip:port`, IPv6 unbracketed: the last colon separates
/// the port).
pub fn split_viewer_address(value: &str) -> Option<(String, u16)> {
    let (ip, port) = value.trim().rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    ip.parse::<std::net::IpAddr>().ok()?;
    Some((ip.to_string(), port))
}

/// The view of a request the bridge makes itself (cron, warm): from `host` (`name[:port]`, the
/// site's public host), over `scheme`, from 127.0.0.1.
pub fn internal_view(host: &str, scheme: Scheme) -> Result<ClientView, BadHost> {
    let (name, port) = parse_host(host)?;
    Ok(ClientView {
        host: host.to_string(),
        server_name: name.to_string(),
        server_port: port.unwrap_or_else(|| scheme.default_port()),
        scheme,
        remote_addr: "127.0.0.1".into(),
        remote_port: None,
    })
}

/// Whether `server_name` (a host without port) is one the site answers to: `allowed` is
/// `Config::allowed_hosts` (lower case; `*.example.com` matches `a.example.com`, not
/// `example.com`); empty allows any.
pub fn host_allowed(allowed: &[String], server_name: &str) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let name = server_name.trim_end_matches('.').to_ascii_lowercase();
    allowed.iter().any(|a| match a.strip_prefix("*.") {
        Some(domain) => name
            .strip_suffix(domain)
            .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        None => *a == name,
    })
}

/// Derives the client's view. `origin` is the result of [`check_origin`].
pub fn client_view(
    request: &HttpRequest,
    origin: OriginCheck,
    direct_scheme: Scheme,
) -> Result<ClientView, BadHost> {
    let trusted = origin == OriginCheck::Verified;
    let forwarded_host = request
        .header("x-forwarded-host")
        .map(first_item)
        .filter(|h| trusted && !h.is_empty());
    let host = forwarded_host
        .or_else(|| request.header("host").map(str::trim))
        .unwrap_or("localhost")
        .to_string();
    let (name, explicit_port) = parse_host(&host)?;

    let is_alb = matches!(request.kind, EventKind::Alb { .. });
    let scheme = if trusted {
        parse_scheme(request.header("x-forwarded-proto"))
            .or_else(|| parse_scheme(request.header("cloudfront-forwarded-proto")))
            .unwrap_or(Scheme::Https)
    } else if is_alb {
        parse_scheme(request.header("x-forwarded-proto")).unwrap_or(Scheme::Http)
    } else {
        direct_scheme
    };
    let forwarded_port = (is_alb && !trusted)
        .then(|| {
            request
                .header("x-forwarded-port")
                .and_then(|p| first_item(p).parse().ok())
        })
        .flatten();
    let server_port = explicit_port
        .or(forwarded_port)
        .unwrap_or_else(|| scheme.default_port());

    // CloudFront-Viewer-Address when the origin request policy forwards it; otherwise the
    // X-Viewer-Address header the module's viewer-request function sets from event.viewer.ip
    // (overwriting any client value).
    let viewer = trusted
        .then(|| {
            request
                .header("cloudfront-viewer-address")
                .and_then(split_viewer_address)
                .map(|(ip, port)| (ip, Some(port)))
                .or_else(|| {
                    request
                        .header("x-viewer-address")
                        .map(str::trim)
                        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
                        .map(|ip| (ip.to_string(), None))
                })
        })
        .flatten();
    let (remote_addr, remote_port) = match viewer {
        Some((ip, port)) => (ip, port),
        None => (
            request
                .source_ip
                .clone()
                .unwrap_or_else(|| "127.0.0.1".to_string()),
            None,
        ),
    };

    Ok(ClientView {
        server_name: name.to_string(),
        host,
        server_port,
        scheme,
        remote_addr,
        remote_port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_views_split_the_host_like_client_views() {
        let v = internal_view("www.example.com:8443", Scheme::Https).unwrap();
        assert_eq!(
            (v.host.as_str(), v.server_name.as_str(), v.server_port),
            ("www.example.com:8443", "www.example.com", 8443)
        );
        assert_eq!(v.remote_addr, "127.0.0.1");
        let v = internal_view("localhost", Scheme::Http).unwrap();
        assert_eq!((v.server_name.as_str(), v.server_port), ("localhost", 80));
        let v = internal_view("[::1]:9000", Scheme::Https).unwrap();
        assert_eq!((v.server_name.as_str(), v.server_port), ("[::1]", 9000));
        let v = internal_view("[::1]", Scheme::Https).unwrap();
        assert_eq!((v.server_name.as_str(), v.server_port), ("[::1]", 443));
    }

    #[test]
    fn internal_views_refuse_hosts_that_cannot_build_urls() {
        for bad in ["", "a b", "host:port", "host:99999", "[::1", "-x.example"] {
            assert!(internal_view(bad, Scheme::Https).is_err(), "{bad:?}");
        }
    }
    use bytes::Bytes;

    fn req(kind: EventKind, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            kind,
            method: "GET".into(),
            path: "/".into(),
            query: String::new(),
            headers: headers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            cookies: vec![],
            body: Bytes::new(),
            source_ip: Some("130.176.1.1".into()),
            protocol: "HTTP/1.1".into(),
        }
    }

    const SECRET: &str = "0123456789abcdef-secret";

    fn cloudfront() -> HttpRequest {
        req(
            EventKind::ApiGatewayV2,
            &[
                ("host", "abc.lambda-url.eu-west-1.on.aws"),
                ("x-forwarded-host", "www.example.org"),
                ("x-forwarded-proto", "https"),
                ("cloudfront-viewer-address", "192.0.2.44:51234"),
                ("x-forwarded-for", "6.6.6.6"),
                ("x-origin-secret", SECRET),
            ],
        )
    }

    #[test]
    fn secret_check() {
        let r = cloudfront();
        assert_eq!(
            check_origin(None, "x-origin-secret", &r),
            OriginCheck::NotConfigured
        );
        assert_eq!(
            check_origin(Some(SECRET), "x-origin-secret", &r),
            OriginCheck::Verified
        );
        assert_eq!(
            check_origin(Some("other-secret-value!"), "x-origin-secret", &r),
            OriginCheck::Rejected
        );
        assert_eq!(
            check_origin(Some(SECRET), "x-other", &r),
            OriginCheck::Rejected
        );
        let prefix = req(
            EventKind::ApiGatewayV2,
            &[("x-origin-secret", &SECRET[..10])],
        );
        assert_eq!(
            check_origin(Some(SECRET), "x-origin-secret", &prefix),
            OriginCheck::Rejected
        );
        let longer = req(
            EventKind::ApiGatewayV2,
            &[("x-origin-secret", &format!("{SECRET}x"))],
        );
        assert_eq!(
            check_origin(Some(SECRET), "x-origin-secret", &longer),
            OriginCheck::Rejected
        );
        // two values (one forged by the client, one by CloudFront) is not a match
        let twice = req(
            EventKind::ApiGatewayV2,
            &[("x-origin-secret", SECRET), ("x-origin-secret", SECRET)],
        );
        assert_eq!(
            check_origin(Some(SECRET), "x-origin-secret", &twice),
            OriginCheck::Rejected
        );
    }

    #[test]
    fn verified_cloudfront_request_uses_public_host_and_viewer() {
        let v = client_view(&cloudfront(), OriginCheck::Verified, Scheme::Https).unwrap();
        assert_eq!(v.host, "www.example.org");
        assert_eq!(v.server_name, "www.example.org");
        assert_eq!(v.scheme, Scheme::Https);
        assert_eq!(v.server_port, 443);
        assert_eq!(v.remote_addr, "192.0.2.44");
        assert_eq!(v.remote_port, Some(51234));
    }

    #[test]
    fn unverified_request_never_trusts_forwarding_headers() {
        let v = client_view(&cloudfront(), OriginCheck::NotConfigured, Scheme::Https).unwrap();
        assert_eq!(v.host, "abc.lambda-url.eu-west-1.on.aws");
        assert_eq!(v.remote_addr, "130.176.1.1");
        assert_eq!(v.remote_port, None);
        let mut r = cloudfront();
        r.headers.push(("x-forwarded-proto".into(), "http".into()));
        let v = client_view(&r, OriginCheck::NotConfigured, Scheme::Https).unwrap();
        assert_eq!(v.scheme, Scheme::Https);
    }

    #[test]
    fn direct_scheme_applies_without_proxy() {
        let r = req(EventKind::ApiGatewayV2, &[("host", "127.0.0.1:9000")]);
        let v = client_view(&r, OriginCheck::NotConfigured, Scheme::Http).unwrap();
        assert_eq!(v.scheme, Scheme::Http);
        assert_eq!(v.host, "127.0.0.1:9000");
        assert_eq!(v.server_name, "127.0.0.1");
        assert_eq!(v.server_port, 9000);
    }

    #[test]
    fn cloudfront_forwarded_proto_fallback() {
        let r = req(
            EventKind::ApiGatewayV2,
            &[("host", "x.on.aws"), ("cloudfront-forwarded-proto", "http")],
        );
        let v = client_view(&r, OriginCheck::Verified, Scheme::Https).unwrap();
        assert_eq!(v.scheme, Scheme::Http);
        assert_eq!(v.server_port, 80);
    }

    #[test]
    fn alb_scheme_and_port_from_alb_headers() {
        let r = req(
            EventKind::Alb { multi_value: false },
            &[
                ("host", "wp.example.net"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-port", "8443"),
            ],
        );
        let v = client_view(&r, OriginCheck::NotConfigured, Scheme::Https).unwrap();
        assert_eq!(v.scheme, Scheme::Https);
        assert_eq!(v.server_port, 8443);
    }

    #[test]
    fn bad_hosts_are_refused() {
        for host in [
            "evil.com/x",
            "a b",
            "x\"y",
            "-x",
            "a:b:c",
            "h:99999",
            "h:",
            "[::1]x",
            "é.com",
        ] {
            let r = req(EventKind::ApiGatewayV2, &[("host", host)]);
            assert!(
                client_view(&r, OriginCheck::NotConfigured, Scheme::Https).is_err(),
                "{host}"
            );
        }
        let mut r = cloudfront();
        r.headers.retain(|(n, _)| n != "x-forwarded-host");
        r.headers
            .push(("x-forwarded-host".into(), "bad/host".into()));
        assert!(client_view(&r, OriginCheck::Verified, Scheme::Https).is_err());
    }

    #[test]
    fn ipv6_hosts() {
        let r = req(EventKind::ApiGatewayV2, &[("host", "[::1]:8080")]);
        let v = client_view(&r, OriginCheck::NotConfigured, Scheme::Http).unwrap();
        assert_eq!(v.server_name, "[::1]");
        assert_eq!(v.server_port, 8080);
    }

    #[test]
    fn missing_host_defaults_to_localhost() {
        let r = req(EventKind::ApiGatewayV1, &[]);
        let v = client_view(&r, OriginCheck::NotConfigured, Scheme::Https).unwrap();
        assert_eq!(v.host, "localhost");
        assert_eq!(v.server_port, 443);
    }

    #[test]
    fn viewer_ip_header_from_the_cloudfront_function() {
        let mut r = cloudfront();
        r.headers.retain(|(n, _)| n != "cloudfront-viewer-address");
        r.headers
            .push(("x-viewer-address".into(), "2001:db8::7".into()));
        let v = client_view(&r, OriginCheck::Verified, Scheme::Https).unwrap();
        assert_eq!(v.remote_addr, "2001:db8::7");
        assert_eq!(v.remote_port, None);
        // not believed without the secret, nor when it is not an IP
        let v = client_view(&r, OriginCheck::NotConfigured, Scheme::Https).unwrap();
        assert_eq!(v.remote_addr, "130.176.1.1");
        r.headers.retain(|(n, _)| n != "x-viewer-address");
        r.headers.push(("x-viewer-address".into(), "evil".into()));
        let v = client_view(&r, OriginCheck::Verified, Scheme::Https).unwrap();
        assert_eq!(v.remote_addr, "130.176.1.1");
    }

    #[test]
    fn viewer_address_parsing() {
        assert_eq!(
            split_viewer_address("192.0.2.1:443"),
            Some(("192.0.2.1".into(), 443))
        );
        assert_eq!(
            split_viewer_address("2001:db8::1:51234"),
            Some(("2001:db8::1".into(), 51234))
        );
        assert_eq!(split_viewer_address("garbage"), None);
        assert_eq!(split_viewer_address("1.2.3.4:x"), None);
        assert_eq!(split_viewer_address("not-an-ip:80"), None);
    }

    #[test]
    fn forwarded_host_first_item() {
        let mut r = cloudfront();
        r.headers.retain(|(n, _)| n != "x-forwarded-host");
        r.headers
            .push(("x-forwarded-host".into(), "a.example, b.example".into()));
        let v = client_view(&r, OriginCheck::Verified, Scheme::Https).unwrap();
        assert_eq!(v.host, "a.example");
    }

    #[test]
    fn only_allowed_hosts_pass() {
        let allowed: Vec<String> = ["example.com", "*.example.org"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for ok in [
            "example.com",
            "EXAMPLE.com",
            "example.com.",
            "www.example.org",
            "a.b.example.org",
        ] {
            assert!(host_allowed(&allowed, ok), "{ok}");
        }
        for bad in [
            "attacker.example",
            "www.example.com",
            "example.org",
            "evilexample.org",
            "example.com.attacker.example",
            "",
        ] {
            assert!(!host_allowed(&allowed, bad), "{bad}");
        }
        assert!(host_allowed(&[], "anything.example"));
    }
}
