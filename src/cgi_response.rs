//! Parsing of the CGI response header block php-fpm writes before the body (pure, no IO).
//!
//! Rules:
//! - `Status: 404 Not Found` sets the status; without it the status is 200, or 302 when a
//!   `Location` is present (what PHP's `header("Location: …")` expects and nginx does).
//! - Header lines whose name is not a valid token, or whose value holds CR, LF or other
//!   control characters, are dropped and reported (they would split or corrupt the response).
//! - Hop-by-hop headers and `Content-Length` are dropped: the bridge (or Lambda) frames the body.
//! - A header block larger than [`MAX_HEAD_BYTES`] is refused.

/// The largest header block accepted from PHP (Set-Cookie-heavy plugins stay far below).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The parsed header block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgiHead {
    pub status: u16,
    /// Lower-case names, repeated headers kept as separate entries in order.
    pub headers: Vec<(String, String)>,
    /// Header lines that were dropped as invalid (for the log).
    pub dropped: Vec<String>,
}

/// Why a CGI response could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// No blank line ended the header block within [`MAX_HEAD_BYTES`].
    #[error("CGI header block larger than {MAX_HEAD_BYTES} bytes")]
    TooLarge,
    /// The output ended before the header block did.
    #[error("CGI output ended inside the header block")]
    Incomplete,
    /// A `Status:` header that is not a 3-digit status code.
    #[error("invalid CGI Status header {0:?}")]
    BadStatus(String),
}

/// Finds the blank line ending the header block. Returns `(head_end, body_start)`.
pub fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(pos) = buf[i..].iter().position(|&b| b == b'\n') {
        let nl = i + pos;
        // "\n\n" or "\n\r\n"
        if buf.get(nl + 1) == Some(&b'\n') {
            return Some((nl, nl + 2));
        }
        if buf.get(nl + 1) == Some(&b'\r') && buf.get(nl + 2) == Some(&b'\n') {
            return Some((nl, nl + 3));
        }
        i = nl + 1;
    }
    None
}

/// Headers the bridge never forwards from PHP.
const DROPPED: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "upgrade",
    "proxy-connection",
    "te",
    "trailer",
];

/// Parses a header block (without the blank line).
pub fn parse_head(head: &[u8]) -> Result<CgiHead, HeadError> {
    let mut status: Option<u16> = None;
    let mut headers = Vec::new();
    let mut dropped = Vec::new();
    for raw_line in head.split(|&b| b == b'\n') {
        let line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        if line.is_empty() {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            dropped.push(String::from_utf8_lossy(line).into_owned());
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let value = trim_ascii(value);
        let Ok(name) = http::HeaderName::from_bytes(name) else {
            dropped.push(String::from_utf8_lossy(line).into_owned());
            continue;
        };
        if http::HeaderValue::from_bytes(value).is_err() {
            dropped.push(String::from_utf8_lossy(line).into_owned());
            continue;
        }
        let name = name.as_str();
        if name == "status" {
            status = Some(parse_status(value)?);
            continue;
        }
        if DROPPED.contains(&name) {
            continue;
        }
        headers.push((
            name.to_string(),
            String::from_utf8_lossy(value).into_owned(),
        ));
    }
    let status = status.unwrap_or_else(|| {
        if headers.iter().any(|(n, _)| n == "location") {
            302
        } else {
            200
        }
    });
    Ok(CgiHead {
        status,
        headers,
        dropped,
    })
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |e| e + 1);
    &bytes[start..end.max(start)]
}

fn parse_status(value: &[u8]) -> Result<u16, HeadError> {
    let text = String::from_utf8_lossy(value);
    let code = text.split_whitespace().next().unwrap_or("");
    match code.parse::<u16>() {
        Ok(n) if (100..=999).contains(&n) && code.len() == 3 => Ok(n),
        _ => Err(HeadError::BadStatus(text.into_owned())),
    }
}

/// Splits complete CGI output into its head and body.
pub fn split_output(output: &[u8]) -> Result<(CgiHead, &[u8]), HeadError> {
    match find_head_end(output) {
        Some((head_end, body_start)) if head_end <= MAX_HEAD_BYTES => {
            Ok((parse_head(&output[..head_end])?, &output[body_start..]))
        }
        Some(_) => Err(HeadError::TooLarge),
        None if output.len() > MAX_HEAD_BYTES => Err(HeadError::TooLarge),
        None => Err(HeadError::Incomplete),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &[u8]) -> (CgiHead, Vec<u8>) {
        let (h, b) = split_output(s).unwrap();
        (h, b.to_vec())
    }

    #[test]
    fn wordpress_page_without_status_is_200() {
        let (h, b) =
            split(b"X-Powered-By: PHP/8.2\r\nContent-type: text/html; charset=UTF-8\r\n\r\n<html>");
        assert_eq!(h.status, 200);
        assert_eq!(
            h.headers,
            vec![
                ("x-powered-by".into(), "PHP/8.2".into()),
                ("content-type".into(), "text/html; charset=UTF-8".into())
            ]
        );
        assert_eq!(b, b"<html>");
    }

    #[test]
    fn status_header() {
        let (h, _) = split(b"Status: 404 Not Found\r\nContent-type: text/html\r\n\r\n");
        assert_eq!(h.status, 404);
        assert!(h.headers.iter().all(|(n, _)| n != "status"));
        let (h, _) = split(b"status:201\n\n");
        assert_eq!(h.status, 201);
        let (h, _) = split(b"Status: 418\r\n\r\n");
        assert_eq!(h.status, 418);
    }

    #[test]
    fn location_without_status_is_302() {
        let (h, _) = split(b"Location: https://example.org/wp-admin/\r\n\r\n");
        assert_eq!(h.status, 302);
        let (h, _) = split(b"Status: 301 Moved Permanently\r\nLocation: /x\r\n\r\n");
        assert_eq!(h.status, 301);
        let (h, _) = split(b"Location: /x\r\nStatus: 307\r\n\r\n");
        assert_eq!(h.status, 307);
    }

    #[test]
    fn repeated_headers_are_kept_in_order() {
        let (h, _) = split(b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-A: 1\r\nX-A: 2\r\n\r\n");
        assert_eq!(
            h.headers,
            vec![
                ("set-cookie".into(), "a=1".into()),
                ("set-cookie".into(), "b=2".into()),
                ("x-a".into(), "1".into()),
                ("x-a".into(), "2".into())
            ]
        );
    }

    #[test]
    fn invalid_lines_are_dropped_and_reported() {
        let (h, b) = split(b"X-Ok: 1\r\nBad Name: x\r\nX-Cr: a\rb\r\nno colon\r\nX-Nul: a\x00b\r\n: empty\r\n\r\nbody");
        assert_eq!(h.headers, vec![("x-ok".into(), "1".into())]);
        assert_eq!(h.dropped.len(), 5, "{:?}", h.dropped);
        assert_eq!(b, b"body");
    }

    #[test]
    fn hop_by_hop_and_length_are_dropped() {
        let (h, _) = split(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nX-A: 1\r\n\r\n");
        assert_eq!(h.headers, vec![("x-a".into(), "1".into())]);
        assert!(h.dropped.is_empty());
    }

    #[test]
    fn bad_status_is_an_error() {
        for s in [
            &b"Status: abc\r\n\r\n"[..],
            b"Status: 99\r\n\r\n",
            b"Status: 1000\r\n\r\n",
            b"Status:\r\n\r\n",
            b"Status: 2000 x\r\n\r\n",
        ] {
            assert!(
                matches!(split_output(s), Err(HeadError::BadStatus(_))),
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn incomplete_and_too_large() {
        assert_eq!(
            split_output(b"Content-type: text/html\r\n").unwrap_err(),
            HeadError::Incomplete
        );
        assert_eq!(split_output(b"").unwrap_err(), HeadError::Incomplete);
        let mut big = b"X-A: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HEAD_BYTES + 10));
        assert_eq!(split_output(&big).unwrap_err(), HeadError::TooLarge);
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(split_output(&big).unwrap_err(), HeadError::TooLarge);
    }

    #[test]
    fn bare_lf_and_mixed_separators() {
        let (h, b) = split(b"A: 1\nB: 2\n\nrest\r\n\r\nmore");
        assert_eq!(h.headers.len(), 2);
        assert_eq!(b, b"rest\r\n\r\nmore");
        let (h, b) = split(b"A: 1\n\r\nbody");
        assert_eq!(h.headers.len(), 1);
        assert_eq!(b, b"body");
    }

    #[test]
    fn empty_head_is_200() {
        let (h, b) = split(b"\r\n\r\nbody");
        assert_eq!(h.status, 200);
        assert!(h.headers.is_empty());
        assert_eq!(b, b"body");
    }

    #[test]
    fn values_are_trimmed() {
        let (h, _) = split(b"X-A:   spaced value \t\r\n\r\n");
        assert_eq!(h.headers, vec![("x-a".into(), "spaced value".into())]);
    }

    #[test]
    fn find_head_end_positions() {
        assert_eq!(find_head_end(b"A: 1\r\n\r\nx"), Some((5, 8)));
        assert_eq!(find_head_end(b"A: 1\n\nx"), Some((4, 6)));
        assert_eq!(find_head_end(b"A: 1\r\n"), None);
    }
}
