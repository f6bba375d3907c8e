//! The CGI environment php-fpm receives, built in one function with the reason for every
//! variable (pure, no IO).

use bytes::Bytes;

use crate::config::Scheme;
use crate::event::{EventKind, HttpRequest};
use crate::origin::{BadHost, ClientView, internal_view};
use crate::routing::PhpTarget;

/// Server software string PHP sees.
pub const SERVER_SOFTWARE: &str = concat!("lambda-fpm/", env!("CARGO_PKG_VERSION"));

/// Everything [`build_env`] needs besides the request.
pub struct EnvInput<'a> {
    pub request: &'a HttpRequest,
    pub target: &'a PhpTarget,
    pub view: &'a ClientView,
    /// Absolute document root, without trailing slash.
    pub document_root: &'a str,
    /// Lower-case name of the origin-secret header: never shown to PHP.
    pub secret_header: &'a str,
}

/// Builds the CGI/1.1 + php-fpm environment for one request.
pub fn build_env(input: &EnvInput<'_>) -> Vec<(String, String)> {
    let EnvInput {
        request,
        target,
        view,
        document_root,
        secret_header,
    } = input;
    let mut env: Vec<(String, String)> = Vec::with_capacity(32 + request.headers.len());
    let mut set = |k: &str, v: String| env.push((k.to_string(), v));

    // The script php-fpm runs: absolute path on disk.
    set(
        "SCRIPT_FILENAME",
        format!("{document_root}/{}", target.relative),
    );
    // URL path of the script; WordPress uses it (via PHP_SELF) to find wp-admin pages.
    set("SCRIPT_NAME", target.script_name.clone());
    // Extra path after the script (`/index.php/2024/post`). PATH_TRANSLATED maps it to disk.
    set("PATH_INFO", target.path_info.clone());
    if !target.path_info.is_empty() {
        set(
            "PATH_TRANSLATED",
            format!("{document_root}{}", target.path_info),
        );
    }
    // PHP_SELF is derived by PHP from SCRIPT_NAME + PATH_INFO; nginx sends this too.
    set(
        "DOCUMENT_URI",
        format!("{}{}", target.script_name, target.path_info),
    );
    set("DOCUMENT_ROOT", document_root.to_string());
    // The URL as requested (raw path + raw query): WordPress's router parses it for pretty
    // permalinks, so it is the original even when the front controller runs.
    let mut request_uri = request.path.clone();
    if !request.query.is_empty() {
        request_uri.push('?');
        request_uri.push_str(&request.query);
    }
    set("REQUEST_URI", request_uri);
    // Verbatim from the event: PHP decodes it into $_GET itself.
    set("QUERY_STRING", request.query.clone());
    set("REQUEST_METHOD", request.method.clone());
    // Body metadata: PHP reads CONTENT_LENGTH bytes from stdin to fill $_POST/$_FILES.
    if let Some(ct) = request.header("content-type") {
        set("CONTENT_TYPE", ct.to_string());
    }
    set("CONTENT_LENGTH", request.body.len().to_string());

    // Where the client thinks it is: WordPress builds absolute URLs and decides on HTTPS
    // from these (is_ssl() reads HTTPS and SERVER_PORT).
    set("SERVER_NAME", view.server_name.clone());
    set("SERVER_PORT", view.server_port.to_string());
    set("SERVER_PROTOCOL", request.protocol.clone());
    set("REQUEST_SCHEME", view.scheme.as_str().to_string());
    if view.scheme == crate::config::Scheme::Https {
        set("HTTPS", "on".to_string());
    }
    set("SERVER_ADDR", "127.0.0.1".to_string());
    // The real client: event source IP, or CloudFront's viewer address when verified.
    set("REMOTE_ADDR", view.remote_addr.clone());
    if let Some(port) = view.remote_port {
        set("REMOTE_PORT", port.to_string());
    }
    set("GATEWAY_INTERFACE", "CGI/1.1".to_string());
    set("SERVER_SOFTWARE", SERVER_SOFTWARE.to_string());
    // php-cgi's force_redirect check (harmless for php-fpm, needed if someone swaps it in).
    set("REDIRECT_STATUS", "200".to_string());

    // Every request header as HTTP_*, repeated ones joined.
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in &request.headers {
        let skip = name == "proxy" // httpoxy: PHP libraries read HTTP_PROXY as a proxy setting
            || name == *secret_header // the origin secret is the bridge's, not PHP's
            || name == "host" // replaced below by the client's view
            || name == "cookie" // rebuilt below from cookies[] or the cookie headers
            || name == "content-type" // CGI carries these as CONTENT_TYPE / CONTENT_LENGTH
            || name == "content-length"
            // `X_Forwarded_For` would collide with `X-Forwarded-For` once mapped to
            // HTTP_X_FORWARDED_FOR (nginx drops such names too); only [A-Za-z0-9-] pass.
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            || name.is_empty();
        if skip {
            continue;
        }
        let key = format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_"));
        match headers.iter_mut().find(|(k, _)| *k == key) {
            Some((_, existing)) => {
                existing.push_str(", ");
                existing.push_str(value);
            }
            None => headers.push((key, value.clone())),
        }
    }
    headers.push(("HTTP_HOST".to_string(), view.host.clone()));
    if let Some(cookie) = request.cookie_header() {
        headers.push(("HTTP_COOKIE".to_string(), cookie));
    }
    env.extend(headers);
    env
}

/// The script of a GET the bridge sends itself.
pub enum Script<'a> {
    /// A script of the site, as routing found it.
    Site(&'a PhpTarget),
    /// A script of the bridge's own, outside the document root (opcache priming), so no
    /// visitor's path can reach it. Its URL path is the request's path.
    Outside { file: &'a str },
}

/// A GET the bridge sends itself (cron, warm, opcache priming): what it asks for and as whom.
pub struct InternalGet<'a> {
    pub script: Script<'a>,
    /// URL path and raw query PHP sees.
    pub path: &'a str,
    pub query: &'a str,
    /// The Host PHP sees (`name[:port]`), with `scheme` its URLs.
    pub host: &'a str,
    pub scheme: Scheme,
    pub user_agent: &'a str,
    /// Absolute document root PHP runs against (EFS or the code mirror).
    pub document_root: &'a str,
    /// Variables for the bridge's own scripts (`LAMBDA_FPM_*`), added last.
    pub extra: Vec<(String, String)>,
}

/// Builds the CGI environment of an internal GET: the same [`build_env`] a visitor's request
/// gets, for a request from 127.0.0.1 with only `Host` and `User-Agent`. A host that cannot
/// build URLs is refused.
pub fn internal_get(get: InternalGet<'_>) -> Result<Vec<(String, String)>, BadHost> {
    let view = internal_view(get.host, get.scheme)?;
    let request = HttpRequest {
        kind: EventKind::ApiGatewayV2,
        method: "GET".into(),
        path: get.path.to_string(),
        query: get.query.to_string(),
        headers: vec![
            ("host".into(), get.host.to_string()),
            ("user-agent".into(), get.user_agent.to_string()),
        ],
        cookies: vec![],
        body: Bytes::new(),
        source_ip: Some("127.0.0.1".into()),
        protocol: "HTTP/1.1".into(),
    };
    let outside;
    let target = match get.script {
        Script::Site(target) => target,
        Script::Outside { .. } => {
            outside = PhpTarget {
                relative: String::new(),
                script_name: get.path.to_string(),
                path_info: String::new(),
                front_controller: false,
            };
            &outside
        }
    };
    let mut env = build_env(&EnvInput {
        request: &request,
        target,
        view: &view,
        document_root: get.document_root.trim_end_matches('/'),
        secret_header: "",
    });
    if let Script::Outside { file } = get.script
        && let Some(slot) = env.iter_mut().find(|(k, _)| k == "SCRIPT_FILENAME")
    {
        slot.1 = file.to_string();
    }
    env.extend(get.extra);
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Scheme;
    use crate::event::EventKind;
    use bytes::Bytes;
    use std::collections::HashMap;

    fn request() -> HttpRequest {
        HttpRequest {
            kind: EventKind::ApiGatewayV2,
            method: "POST".into(),
            path: "/2024/hello%20world/".into(),
            query: "a=1&b=%2F&c".into(),
            headers: vec![
                ("host".into(), "fn.lambda-url.on.aws".into()),
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("content-length".into(), "999".into()),
                ("accept".into(), "text/html".into()),
                ("x-multi".into(), "one".into()),
                ("x-multi".into(), "two".into()),
                ("proxy".into(), "http://evil:8080".into()),
                ("x_forwarded_for".into(), "6.6.6.6".into()),
                ("x-origin-secret".into(), "topsecret".into()),
                ("cookie".into(), "ignored=1".into()),
                ("user-agent".into(), "UA/1".into()),
            ],
            cookies: vec!["a=1".into(), "b=2".into()],
            body: Bytes::from_static(b"x=1&y=2"),
            source_ip: Some("203.0.113.9".into()),
            protocol: "HTTP/2.0".into(),
        }
    }

    fn view(scheme: Scheme) -> ClientView {
        ClientView {
            host: "www.example.org".into(),
            server_name: "www.example.org".into(),
            server_port: scheme.default_port(),
            scheme,
            remote_addr: "192.0.2.44".into(),
            remote_port: Some(51234),
        }
    }

    fn target(script: &str, path_info: &str, front: bool) -> PhpTarget {
        PhpTarget {
            relative: script.trim_start_matches('/').into(),
            script_name: script.into(),
            path_info: path_info.into(),
            front_controller: front,
        }
    }

    fn env_map(req: &HttpRequest, t: &PhpTarget, v: &ClientView) -> HashMap<String, String> {
        let env = build_env(&EnvInput {
            request: req,
            target: t,
            view: v,
            document_root: "/mnt/wordpress",
            secret_header: "x-origin-secret",
        });
        let mut map = HashMap::new();
        for (k, val) in env {
            assert!(map.insert(k.clone(), val).is_none(), "duplicate {k}");
        }
        map
    }

    #[test]
    fn front_controller_keeps_original_uri() {
        let e = env_map(
            &request(),
            &target("/index.php", "", true),
            &view(Scheme::Https),
        );
        assert_eq!(e["SCRIPT_FILENAME"], "/mnt/wordpress/index.php");
        assert_eq!(e["SCRIPT_NAME"], "/index.php");
        assert_eq!(e["PATH_INFO"], "");
        assert!(!e.contains_key("PATH_TRANSLATED"));
        assert_eq!(e["DOCUMENT_URI"], "/index.php");
        assert_eq!(e["DOCUMENT_ROOT"], "/mnt/wordpress");
        assert_eq!(e["REQUEST_URI"], "/2024/hello%20world/?a=1&b=%2F&c");
        assert_eq!(e["QUERY_STRING"], "a=1&b=%2F&c");
        assert_eq!(e["REQUEST_METHOD"], "POST");
    }

    #[test]
    fn path_info_and_translated() {
        let e = env_map(
            &request(),
            &target("/index.php", "/a/b", false),
            &view(Scheme::Https),
        );
        assert_eq!(e["PATH_INFO"], "/a/b");
        assert_eq!(e["PATH_TRANSLATED"], "/mnt/wordpress/a/b");
        assert_eq!(e["DOCUMENT_URI"], "/index.php/a/b");
    }

    #[test]
    fn request_uri_without_query_has_no_question_mark() {
        let mut r = request();
        r.query.clear();
        let e = env_map(&r, &target("/index.php", "", true), &view(Scheme::Https));
        assert_eq!(e["REQUEST_URI"], "/2024/hello%20world/");
        assert_eq!(e["QUERY_STRING"], "");
    }

    #[test]
    fn body_metadata() {
        let e = env_map(
            &request(),
            &target("/wp-login.php", "", false),
            &view(Scheme::Https),
        );
        assert_eq!(e["CONTENT_TYPE"], "application/x-www-form-urlencoded");
        // the real body length, not the client's claim
        assert_eq!(e["CONTENT_LENGTH"], "7");
        assert!(!e.contains_key("HTTP_CONTENT_TYPE"));
        assert!(!e.contains_key("HTTP_CONTENT_LENGTH"));
    }

    #[test]
    fn https_view() {
        let e = env_map(
            &request(),
            &target("/index.php", "", true),
            &view(Scheme::Https),
        );
        assert_eq!(e["HTTPS"], "on");
        assert_eq!(e["REQUEST_SCHEME"], "https");
        assert_eq!(e["SERVER_PORT"], "443");
        assert_eq!(e["SERVER_NAME"], "www.example.org");
        assert_eq!(e["HTTP_HOST"], "www.example.org");
        assert_eq!(e["SERVER_PROTOCOL"], "HTTP/2.0");
    }

    #[test]
    fn http_view_has_no_https_variable() {
        let e = env_map(
            &request(),
            &target("/index.php", "", true),
            &view(Scheme::Http),
        );
        assert!(!e.contains_key("HTTPS"));
        assert_eq!(e["REQUEST_SCHEME"], "http");
        assert_eq!(e["SERVER_PORT"], "80");
    }

    #[test]
    fn client_address() {
        let e = env_map(
            &request(),
            &target("/index.php", "", true),
            &view(Scheme::Https),
        );
        assert_eq!(e["REMOTE_ADDR"], "192.0.2.44");
        assert_eq!(e["REMOTE_PORT"], "51234");
        let mut v = view(Scheme::Https);
        v.remote_port = None;
        let e = env_map(&request(), &target("/index.php", "", true), &v);
        assert!(!e.contains_key("REMOTE_PORT"));
    }

    #[test]
    fn fixed_variables() {
        let e = env_map(
            &request(),
            &target("/index.php", "", true),
            &view(Scheme::Https),
        );
        assert_eq!(e["GATEWAY_INTERFACE"], "CGI/1.1");
        assert!(e["SERVER_SOFTWARE"].starts_with("lambda-fpm/"));
        assert_eq!(e["REDIRECT_STATUS"], "200");
    }

    #[test]
    fn headers_become_http_variables() {
        let e = env_map(
            &request(),
            &target("/index.php", "", true),
            &view(Scheme::Https),
        );
        assert_eq!(e["HTTP_ACCEPT"], "text/html");
        assert_eq!(e["HTTP_USER_AGENT"], "UA/1");
        assert_eq!(e["HTTP_X_MULTI"], "one, two");
    }

    #[test]
    fn dangerous_headers_are_dropped() {
        let e = env_map(
            &request(),
            &target("/index.php", "", true),
            &view(Scheme::Https),
        );
        assert!(!e.contains_key("HTTP_PROXY"), "httpoxy");
        assert!(
            !e.contains_key("HTTP_X_FORWARDED_FOR"),
            "underscore header smuggling"
        );
        assert!(
            !e.contains_key("HTTP_X_ORIGIN_SECRET"),
            "secret leaked to PHP"
        );
        assert!(!e.values().any(|v| v == "topsecret"));
    }

    #[test]
    fn cookies_from_v2_array_win_over_header() {
        let e = env_map(
            &request(),
            &target("/index.php", "", true),
            &view(Scheme::Https),
        );
        assert_eq!(e["HTTP_COOKIE"], "a=1; b=2");
        let mut r = request();
        r.cookies.clear();
        r.headers.push(("cookie".into(), "c=3".into()));
        let e = env_map(&r, &target("/index.php", "", true), &view(Scheme::Https));
        assert_eq!(e["HTTP_COOKIE"], "ignored=1; c=3");
        r.headers.retain(|(n, _)| n != "cookie");
        let e = env_map(&r, &target("/index.php", "", true), &view(Scheme::Https));
        assert!(!e.contains_key("HTTP_COOKIE"));
    }

    #[test]
    fn no_body_has_zero_length_and_no_type() {
        let mut r = request();
        r.method = "GET".into();
        r.body = Bytes::new();
        r.headers.retain(|(n, _)| n != "content-type");
        let e = env_map(&r, &target("/index.php", "", true), &view(Scheme::Https));
        assert_eq!(e["CONTENT_LENGTH"], "0");
        assert!(!e.contains_key("CONTENT_TYPE"));
    }

    #[test]
    fn proxy_header_in_any_case_is_dropped() {
        // event headers are lower-cased by the event parser; the builder sees "proxy"
        let mut r = request();
        r.headers = vec![("proxy".into(), "x".into())];
        let e = env_map(&r, &target("/index.php", "", true), &view(Scheme::Https));
        assert!(!e.keys().any(|k| k.contains("PROXY")));
    }

    fn internal(script: Script<'_>, host: &str) -> Result<HashMap<String, String>, BadHost> {
        internal_get(InternalGet {
            script,
            path: "/wp-cron.php",
            query: "doing_wp_cron",
            host,
            scheme: Scheme::Https,
            user_agent: "lambda-fpm (cron)",
            document_root: "/mnt/wordpress/",
            extra: vec![("LAMBDA_FPM_X".into(), "1".into())],
        })
        .map(|env| env.into_iter().collect())
    }

    #[test]
    fn internal_get_is_a_local_get_with_host_and_agent_only() {
        let t = target("/wp-cron.php", "", false);
        let e = internal(Script::Site(&t), "example.com").unwrap();
        assert_eq!(e["SCRIPT_FILENAME"], "/mnt/wordpress/wp-cron.php");
        assert_eq!(e["DOCUMENT_ROOT"], "/mnt/wordpress");
        assert_eq!(e["REQUEST_METHOD"], "GET");
        assert_eq!(e["REQUEST_URI"], "/wp-cron.php?doing_wp_cron");
        assert_eq!(e["QUERY_STRING"], "doing_wp_cron");
        assert_eq!(e["HTTP_HOST"], "example.com");
        assert_eq!(e["SERVER_NAME"], "example.com");
        assert_eq!(e["SERVER_PORT"], "443");
        assert_eq!(e["HTTPS"], "on");
        assert_eq!(e["REMOTE_ADDR"], "127.0.0.1");
        assert_eq!(e["HTTP_USER_AGENT"], "lambda-fpm (cron)");
        assert_eq!(e["CONTENT_LENGTH"], "0");
        assert_eq!(e["LAMBDA_FPM_X"], "1");
        assert!(!e.contains_key("HTTP_COOKIE") && !e.contains_key("CONTENT_TYPE"));
    }

    #[test]
    fn internal_get_of_an_outside_script_keeps_the_site_root() {
        let e = internal(
            Script::Outside {
                file: "/tmp/lambda-fpm/prime.php",
            },
            "localhost:8080",
        )
        .unwrap();
        assert_eq!(e["SCRIPT_FILENAME"], "/tmp/lambda-fpm/prime.php");
        assert_eq!(e["SCRIPT_NAME"], "/wp-cron.php");
        assert_eq!(e["DOCUMENT_ROOT"], "/mnt/wordpress");
        assert_eq!(e["SERVER_PORT"], "8080");
    }

    #[test]
    fn internal_get_refuses_a_host_that_cannot_build_urls() {
        let t = target("/wp-cron.php", "", false);
        for bad in ["a:b", "", "x y", "[::1"] {
            assert!(internal(Script::Site(&t), bad).is_err(), "{bad:?}");
        }
    }
}
