//! Cache-Control for static files, as a small table (pure, no IO).
//!
//! | rule | matches | default |
//! |---|---|---|
//! | versioned | the query carries `ver=` or `v=` (WordPress's `wp_enqueue_*` assets) | `public, max-age=31536000, immutable` |
//! | media | fonts, images, audio, video by extension | `public, max-age=604800` |
//! | other | everything else served as a file (css/js without a version, txt, xml, pdf, zip …) | `public, max-age=3600` |
//!
//! A changed asset gets a new `ver`, so the versioned rule can be immutable for a year; an
//! uploaded image keeps its URL but is rarely replaced, so a week; anything else an hour, so
//! an edited unversioned file shows up soon. No static file ever gets `no-store`/`private`:
//! they are public files, and CloudFront should cache them.

/// Default Cache-Control for versioned assets.
pub const DEFAULT_VERSIONED: &str = "public, max-age=31536000, immutable";
/// Default Cache-Control for fonts, images and media.
pub const DEFAULT_MEDIA: &str = "public, max-age=604800";
/// Default Cache-Control for any other static file.
pub const DEFAULT_OTHER: &str = "public, max-age=3600";

/// The configured values of the three rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachePolicy {
    pub versioned: String,
    pub media: String,
    pub other: String,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            versioned: DEFAULT_VERSIONED.to_string(),
            media: DEFAULT_MEDIA.to_string(),
            other: DEFAULT_OTHER.to_string(),
        }
    }
}

/// Extensions (lower case) that the media rule covers.
const MEDIA_EXTENSIONS: &[&str] = &[
    // fonts
    "woff", "woff2", "ttf", "otf", "eot", // images
    "png", "jpg", "jpeg", "gif", "webp", "avif", "svg", "ico", "bmp", "tif", "tiff", "heic",
    // audio / video
    "mp3", "m4a", "ogg", "oga", "wav", "flac", "mp4", "m4v", "webm", "ogv", "mov",
];

impl CachePolicy {
    /// The Cache-Control value for a static file at `path` requested with `query` (raw).
    pub fn for_static(&self, path: &str, query: &str) -> &str {
        if is_versioned(query) {
            return &self.versioned;
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        match ext {
            Some(e) if MEDIA_EXTENSIONS.contains(&e.as_str()) => &self.media,
            _ => &self.other,
        }
    }
}

/// Whether the raw query string carries a non-empty `ver` or `v` parameter.
pub fn is_versioned(query: &str) -> bool {
    query.split('&').any(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == "ver" || key == "v") && !value.is_empty()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> CachePolicy {
        CachePolicy::default()
    }

    #[test]
    fn versioned_assets_are_immutable() {
        for (path, query) in [
            (
                "/wp-includes/css/dist/block-library/style.min.css",
                "ver=6.1.9",
            ),
            ("/wp-includes/js/jquery/jquery.min.js", "ver=3.6.1"),
            ("/wp-content/themes/x/style.css", "a=1&ver=2"),
            ("/wp-content/plugins/p/app.js", "v=abc"),
            ("/logo.png", "ver=1"),
        ] {
            assert_eq!(
                p().for_static(path, query),
                DEFAULT_VERSIONED,
                "{path}?{query}"
            );
        }
    }

    #[test]
    fn empty_or_lookalike_version_params_do_not_count() {
        for query in ["ver=", "v=", "version=1", "xver=1", "vv=2", "", "ver"] {
            assert!(!is_versioned(query), "{query}");
            assert_eq!(p().for_static("/a.css", query), DEFAULT_OTHER, "{query}");
        }
    }

    #[test]
    fn media_by_extension_case_insensitive() {
        for path in [
            "/wp-content/uploads/2024/01/photo.JPG",
            "/a.jpeg",
            "/f.woff2",
            "/f.ttf",
            "/i.svg",
            "/favicon.ico",
            "/v.mp4",
            "/x.webp",
        ] {
            assert_eq!(p().for_static(path, ""), DEFAULT_MEDIA, "{path}");
        }
    }

    #[test]
    fn everything_else_is_short() {
        for path in [
            "/style.css",
            "/a.js",
            "/robots.txt",
            "/readme.html",
            "/f.pdf",
            "/noext",
            "/dir.png/file",
        ] {
            assert_eq!(p().for_static(path, ""), DEFAULT_OTHER, "{path}");
        }
    }

    #[test]
    fn configured_values_are_used() {
        let policy = CachePolicy {
            versioned: "V".into(),
            media: "M".into(),
            other: "O".into(),
        };
        assert_eq!(policy.for_static("/a.css", "ver=1"), "V");
        assert_eq!(policy.for_static("/a.png", ""), "M");
        assert_eq!(policy.for_static("/a.css", ""), "O");
    }

    #[test]
    fn defaults_are_public_and_never_no_store() {
        for v in [DEFAULT_VERSIONED, DEFAULT_MEDIA, DEFAULT_OTHER] {
            assert!(v.starts_with("public"));
            assert!(!v.contains("no-store") && !v.contains("private"));
        }
    }
}
