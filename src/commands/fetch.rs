//! Downloads the install archive: HTTPS (or http to loopback, for tests) with reqwest/rustls,
//! or an `s3://bucket/key` object with a SigV4-signed GET (aws-sigv4), credentials from the
//! standard Lambda environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION`). `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` override the
//! endpoint (path-style), as in the AWS SDKs.
//!
//! The body is streamed to a file while its SHA-256 is computed.

use std::path::Path;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::envelope::{Source, shown_url};

/// Why a download failed (the message ends up in the command's JSON result).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not set (Lambda sets it from the function's role)")]
    MissingCredential(&'static str),
    #[error("AWS_REGION is not set")]
    MissingRegion,
    #[error("cannot read s3://{bucket}/{key}: {error}")]
    S3Env {
        bucket: String,
        key: String,
        error: Box<FetchError>,
    },
    #[error("{0}")]
    Sign(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("GET {url} failed: {chain}")]
    Get { url: String, chain: String },
    #[error("GET {url} answered {status}: {snippet}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
        snippet: String,
    },
    #[error("{url} is {size} the {max_bytes} byte limit")]
    TooLarge {
        url: String,
        size: String,
        max_bytes: u64,
    },
    #[error("download of {url} broke off after {total} bytes: {chain}")]
    BrokeOff {
        url: String,
        total: u64,
        chain: String,
    },
    #[error("cannot {1} {0}: {2}")]
    File(String, &'static str, std::io::Error),
    #[error(
        "ran out of time downloading {0}; invoke install again to retry (or raise the function timeout)"
    )]
    OutOfTime(String),
}

/// Result of a download.
#[derive(Debug, Clone)]
pub struct Downloaded {
    pub bytes: u64,
    pub sha256: [u8; 32],
}

/// Hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// AWS credentials as Lambda provides them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsEnv {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub region: String,
    pub endpoint: Option<String>,
}

impl AwsEnv {
    /// Reads the standard variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<AwsEnv, FetchError> {
        let get = |k: &str| lookup(k).filter(|v| !v.is_empty());
        let need = |k: &'static str| get(k).ok_or(FetchError::MissingCredential(k));
        Ok(AwsEnv {
            access_key_id: need("AWS_ACCESS_KEY_ID")?,
            secret_access_key: need("AWS_SECRET_ACCESS_KEY")?,
            session_token: get("AWS_SESSION_TOKEN"),
            region: get("AWS_REGION")
                .or_else(|| get("AWS_DEFAULT_REGION"))
                .ok_or(FetchError::MissingRegion)?,
            endpoint: get("AWS_ENDPOINT_URL_S3").or_else(|| get("AWS_ENDPOINT_URL")),
        })
    }
}

/// Percent-encodes an S3 key for the URL path: RFC 3986 unreserved characters and `/` stay.
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The HTTPS URL of an S3 object: virtual-hosted style, path style when the bucket name has
/// dots (TLS wildcard certificates do not cover them) or a custom endpoint is configured.
pub fn s3_url(bucket: &str, key: &str, env: &AwsEnv) -> String {
    let key = encode_key(key);
    match &env.endpoint {
        Some(endpoint) => format!("{}/{bucket}/{key}", endpoint.trim_end_matches('/')),
        None if bucket.contains('.') => {
            format!("https://s3.{}.amazonaws.com/{bucket}/{key}", env.region)
        }
        None => format!("https://{bucket}.s3.{}.amazonaws.com/{key}", env.region),
    }
}

/// Signs a GET of `url` for S3 (SigV4, unsigned-payload style with the empty body hash,
/// single percent-encoding, no path normalization: S3's rules). Returns the headers to add.
pub fn sign_s3_get(
    url: &str,
    extra_headers: &[(&str, &str)],
    env: &AwsEnv,
    time: SystemTime,
) -> Result<Vec<(String, String)>, FetchError> {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode, sign,
    };
    let credentials = aws_credential_types::Credentials::new(
        env.access_key_id.clone(),
        env.secret_access_key.clone(),
        env.session_token.clone(),
        None,
        "lambda-environment",
    );
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&env.region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| FetchError::Sign(format!("cannot build SigV4 parameters: {e}")))?
        .into();
    let request = SignableRequest::new(
        "GET",
        url,
        extra_headers.iter().copied(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| FetchError::Sign(format!("cannot sign {}: {e}", shown_url(url))))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| FetchError::Sign(format!("SigV4 signing failed: {e}")))?
        .into_parts();
    let mut headers: Vec<(String, String)> = extra_headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    headers.extend(
        instructions
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    Ok(headers)
}

/// Downloads `source` into `dest` (created or truncated), refusing more than `max_bytes`.
pub async fn download(
    source: &Source,
    dest: &Path,
    deadline: tokio::time::Instant,
    max_bytes: u64,
) -> Result<Downloaded, FetchError> {
    let (url, headers) = match source {
        Source::Http(url) => (url.clone(), Vec::new()),
        Source::S3 { bucket, key } => {
            let env =
                AwsEnv::from_lookup(|k| std::env::var(k).ok()).map_err(|e| FetchError::S3Env {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    error: Box::new(e),
                })?;
            let url = s3_url(bucket, key, &env);
            let headers = sign_s3_get(&url, &[], &env, SystemTime::now())?;
            (url, headers)
        }
    };
    let work = fetch_to_file(&url, &headers, dest, max_bytes);
    match tokio::time::timeout_at(deadline, work).await {
        Ok(r) => r.map(|(bytes, sha256)| Downloaded { bytes, sha256 }),
        Err(_) => Err(FetchError::OutOfTime(shown_url(&url))),
    }
}

async fn fetch_to_file(
    url: &str,
    headers: &[(String, String)],
    dest: &Path,
    max_bytes: u64,
) -> Result<(u64, [u8; 32]), FetchError> {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("lambda-fpm/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::custom(redirect_policy))
        .build()
        .map_err(|e| FetchError::Client(e.to_string()))?;
    let mut request = client.get(url);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let mut response = request.send().await.map_err(|e| FetchError::Get {
        url: shown_url(url),
        chain: error_chain(&e.without_url()),
    })?;
    let status = response.status();
    if !status.is_success() {
        let body = response.bytes().await.unwrap_or_default();
        let snippet = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(FetchError::Status {
            url: shown_url(url),
            status,
            snippet: snippet.split_whitespace().collect::<Vec<_>>().join(" "),
        });
    }
    if let Some(len) = response.content_length()
        && len > max_bytes
    {
        return Err(FetchError::TooLarge {
            url: shown_url(url),
            size: format!("{len} bytes, more than"),
            max_bytes,
        });
    }
    let mut file = tokio::fs::File::create(dest)
        .await
        .map_err(|e| FetchError::File(dest.display().to_string(), "create", e))?;
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    while let Some(chunk) = response.chunk().await.map_err(|e| FetchError::BrokeOff {
        url: shown_url(url),
        total,
        chain: error_chain(&e.without_url()),
    })? {
        total += chunk.len() as u64;
        if total > max_bytes {
            return Err(FetchError::TooLarge {
                url: shown_url(url),
                size: "larger than".into(),
                max_bytes,
            });
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| FetchError::File(dest.display().to_string(), "write", e))?;
    }
    file.flush()
        .await
        .map_err(|e| FetchError::File(dest.display().to_string(), "write", e))?;
    file.sync_all().await.ok();
    let digest: [u8; 32] = hasher.finalize().into();
    Ok((total, digest))
}

/// Redirects are held to the rule the install URL itself is (`envelope::parse_source`): https,
/// or plain http to a loopback address; at most 10 hops.
fn redirect_policy(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let url = attempt.url();
    let allowed =
        url.scheme() == "https" || (url.scheme() == "http" && super::envelope::is_loopback(url));
    if !allowed {
        let to = shown_url(url.as_str());
        attempt.error(format!(
            "redirected to {to}: only https (or http to a loopback address) is followed"
        ))
    } else if attempt.previous().len() >= 10 {
        attempt.error("more than 10 redirects")
    } else {
        attempt.follow()
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<AwsEnv, FetchError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AwsEnv::from_lookup(|k| map.get(k).cloned())
    }

    /// AWS's published example ("Signature Calculations for the Authorization Header:
    /// Transferring Payload in a Single Chunk", Example: GET Object). Signing cannot be tested
    /// against AWS here, so the documented vector is the check.
    #[test]
    fn matches_aws_documented_get_object_example() {
        let e = AwsEnv {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
            region: "us-east-1".into(),
            endpoint: None,
        };
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600); // 2013-05-24T00:00:00Z
        let headers = sign_s3_get(
            "https://examplebucket.s3.amazonaws.com/test.txt",
            &[("range", "bytes=0-9")],
            &e,
            time,
        )
        .unwrap();
        let h: HashMap<String, String> = headers.into_iter().collect();
        assert_eq!(h["x-amz-date"], "20130524T000000Z");
        assert_eq!(
            h["x-amz-content-sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            h["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn session_token_is_sent_and_signed() {
        let e = env(&[
            ("AWS_ACCESS_KEY_ID", "ASIATEST"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token123"),
            ("AWS_REGION", "eu-west-1"),
        ])
        .unwrap();
        let url = s3_url("my-bucket", "releases/wordpress 6.5.zip", &e);
        assert_eq!(
            url,
            "https://my-bucket.s3.eu-west-1.amazonaws.com/releases/wordpress%206.5.zip"
        );
        let h: HashMap<String, String> = sign_s3_get(&url, &[], &e, SystemTime::now())
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(h["x-amz-security-token"], "token123");
        let auth = &h["authorization"];
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=ASIATEST/"),
            "{auth}"
        );
        assert!(auth.contains("/eu-west-1/s3/aws4_request"), "{auth}");
        assert!(
            auth.contains(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
            ),
            "{auth}"
        );
        let sig = auth.rsplit("Signature=").next().unwrap();
        assert_eq!(sig.len(), 64);
        assert!(sig.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn urls_and_env() {
        let mut e = env(&[
            ("AWS_ACCESS_KEY_ID", "A"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_DEFAULT_REGION", "us-west-2"),
        ])
        .unwrap();
        assert_eq!(e.region, "us-west-2");
        assert_eq!(e.session_token, None);
        assert_eq!(
            s3_url("my.dotted.bucket", "a/b.tgz", &e),
            "https://s3.us-west-2.amazonaws.com/my.dotted.bucket/a/b.tgz"
        );
        e.endpoint = Some("http://127.0.0.1:9999/".into());
        assert_eq!(
            s3_url("b", "k+1/ü.zip", &e),
            "http://127.0.0.1:9999/b/k%2B1/%C3%BC.zip"
        );
        let missing = env(&[("AWS_ACCESS_KEY_ID", "A"), ("AWS_REGION", "x")])
            .unwrap_err()
            .to_string();
        assert!(missing.contains("AWS_SECRET_ACCESS_KEY"), "{missing}");
        let no_region = env(&[("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "S")])
            .unwrap_err()
            .to_string();
        assert!(no_region.contains("AWS_REGION"), "{no_region}");
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    }
}
