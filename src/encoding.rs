//! Content-coding negotiation for static files (pure, no IO): which precompressed sibling
//! (`style.css.br`, `style.css.gz`) to send for an `Accept-Encoding` header.

/// A content coding the bridge can serve from a precompressed sibling file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    /// The `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        }
    }

    /// The sibling file's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gz",
        }
    }
}

/// The quality the client gives a coding token (RFC 9110 §12.5.3): explicit entry, else `*`,
/// else 0 (not acceptable). `x-gzip` counts as gzip.
fn quality(header: &str, token: &str) -> f32 {
    let mut star = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
            .unwrap_or(1.0)
            .clamp(0.0, 1.0);
        if name == token || (token == "gzip" && name == "x-gzip") {
            return q;
        }
        if name == "*" {
            star = Some(q);
        }
    }
    star.unwrap_or(0.0)
}

/// Picks the best coding among `available` (siblings that exist) for the client's
/// `Accept-Encoding`. Ties prefer brotli (smaller). `None`: send the file as is.
pub fn choose(accept_encoding: Option<&str>, available: &[Coding]) -> Option<Coding> {
    let header = accept_encoding?;
    let mut best: Option<(Coding, f32)> = None;
    for &coding in [Coding::Brotli, Coding::Gzip]
        .iter()
        .filter(|c| available.contains(c))
    {
        let q = quality(header, coding.token());
        if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
            best = Some((coding, q));
        }
    }
    best.map(|(c, _)| c)
}

/// The media type without parameters, lower case (`text/html; charset=UTF-8` → `text/html`).
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether a content type is text (sent as text in Lambda responses, and compressible).
pub fn is_textual(content_type: &str) -> bool {
    let essence = essence(content_type);
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/javascript"
                | "application/x-javascript"
                | "application/ecmascript"
                | "application/xml"
                | "application/x-www-form-urlencoded"
        )
}

/// Whether a content type is worth compressing: text, plus a few binary formats that are not
/// compressed already (images, woff2, archives and media are).
pub fn compressible(content_type: &str) -> bool {
    is_textual(content_type)
        || matches!(
            essence(content_type).as_str(),
            "application/wasm" | "font/ttf" | "font/otf" | "application/vnd.ms-fontobject"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use Coding::*;

    #[test]
    fn prefers_brotli_when_both_accepted() {
        assert_eq!(
            choose(Some("gzip, deflate, br"), &[Brotli, Gzip]),
            Some(Brotli)
        );
        assert_eq!(
            choose(Some("br;q=1.0, gzip;q=0.8"), &[Brotli, Gzip]),
            Some(Brotli)
        );
    }

    #[test]
    fn respects_q_values() {
        assert_eq!(
            choose(Some("br;q=0.5, gzip;q=0.9"), &[Brotli, Gzip]),
            Some(Gzip)
        );
        assert_eq!(choose(Some("br;q=0, gzip"), &[Brotli, Gzip]), Some(Gzip));
        assert_eq!(choose(Some("gzip;q=0"), &[Gzip]), None);
    }

    #[test]
    fn only_available_siblings() {
        assert_eq!(choose(Some("br, gzip"), &[Gzip]), Some(Gzip));
        assert_eq!(choose(Some("br"), &[Gzip]), None);
        assert_eq!(choose(Some("br, gzip"), &[]), None);
    }

    #[test]
    fn absent_identity_or_garbage_header() {
        assert_eq!(choose(None, &[Brotli, Gzip]), None);
        assert_eq!(choose(Some(""), &[Brotli, Gzip]), None);
        assert_eq!(choose(Some("identity"), &[Brotli, Gzip]), None);
        assert_eq!(choose(Some("deflate"), &[Brotli, Gzip]), None);
        assert_eq!(choose(Some(";;;,,"), &[Brotli, Gzip]), None);
    }

    #[test]
    fn star_and_aliases() {
        assert_eq!(choose(Some("*"), &[Gzip]), Some(Gzip));
        assert_eq!(choose(Some("*;q=0"), &[Gzip]), None);
        assert_eq!(choose(Some("x-gzip"), &[Gzip]), Some(Gzip));
        assert_eq!(choose(Some("GZIP"), &[Gzip]), Some(Gzip));
        assert_eq!(choose(Some("br;q=0, *"), &[Brotli, Gzip]), Some(Gzip));
    }

    #[test]
    fn compressible_types() {
        for t in [
            "text/css",
            "text/html; charset=UTF-8",
            "application/javascript",
            "image/svg+xml",
            "application/json",
            "application/rss+xml",
        ] {
            assert!(compressible(t), "{t}");
        }
        for t in [
            "image/png",
            "image/jpeg",
            "font/woff2",
            "application/zip",
            "video/mp4",
            "application/octet-stream",
        ] {
            assert!(!compressible(t), "{t}");
        }
    }
}
