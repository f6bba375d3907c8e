//! Whether a response fits Lambda's buffered payload (pure, no IO).
//!
//! A buffered response is one JSON document, its body base64-encoded (4/3 of the bytes) when
//! binary, and Lambda refuses documents over 6 MB with an opaque error. The bridge decides with
//! these rules, once, before it hands a response over: a file on disk is read only if it may fit
//! (as it is, or gzipped when the client takes gzip, text rarely compressing below a quarter);
//! a response in memory is measured exactly only when the cheap estimate says it is near the
//! limit.

/// Bytes of JSON around the body (status, headers, cookies) assumed by the cheap estimate.
pub const ENVELOPE_ALLOWANCE: usize = 4096;

/// A file of `len` bytes on disk may fit a `limit` byte payload: base64 of it fits, or it is at
/// most 4× the limit and may be gzipped on the fly (`can_gzip`: the client accepts gzip and the
/// file is not already encoded).
pub fn file_may_fit(len: u64, limit: u64, can_gzip: bool) -> bool {
    (len / 3).saturating_mul(4) <= limit || (can_gzip && len <= limit.saturating_mul(4))
}

/// The most of PHP's output worth reading for a buffered reply to a `limit` byte payload: the
/// limit itself (text travels as it is), or 4× it when the client takes gzip (text rarely
/// compresses below a quarter). Past it the answer cannot fit, so reading stops there instead
/// of holding all of it in memory first.
pub fn output_limit(limit: usize, can_gzip: bool) -> usize {
    if can_gzip {
        limit.saturating_mul(4)
    } else {
        limit
    }
}

/// A response with a body of `body_len` bytes is too large for a `limit` byte payload.
/// `encoded_len` measures the exact JSON document; it is called only when the estimate puts the
/// body near the limit (more than half of it), so small responses are never serialized twice.
pub fn too_large(body_len: usize, limit: usize, encoded_len: impl FnOnce() -> usize) -> bool {
    (body_len / 3)
        .saturating_mul(4)
        .saturating_add(ENVELOPE_ALLOWANCE)
        > limit / 2
        && encoded_len() > limit
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 6 * 1024 * 1024;

    #[test]
    fn small_responses_are_never_measured() {
        let measured = std::cell::Cell::new(false);
        assert!(!too_large(100_000, LIMIT, || {
            measured.set(true);
            usize::MAX
        }));
        assert!(!measured.get());
    }

    #[test]
    fn near_the_limit_the_exact_size_decides() {
        assert!(too_large(4_000_000, LIMIT, || LIMIT + 1));
        assert!(!too_large(4_000_000, LIMIT, || LIMIT));
        // half the limit is where measuring starts
        let measured = std::cell::Cell::new(0);
        let _ = too_large(LIMIT / 2, LIMIT, || {
            measured.set(measured.get() + 1);
            0
        });
        assert_eq!(measured.get(), 1);
    }

    #[test]
    fn an_unmeasurable_response_is_too_large() {
        assert!(too_large(5_000_000, LIMIT, || usize::MAX));
    }

    #[test]
    fn files_whose_base64_fits_may_fit() {
        let limit = LIMIT as u64;
        assert!(file_may_fit(0, limit, false));
        assert!(file_may_fit(limit / 4 * 3, limit, false));
        assert!(!file_may_fit(limit, limit, false));
    }

    #[test]
    fn larger_files_may_fit_only_gzipped() {
        let limit = LIMIT as u64;
        assert!(file_may_fit(limit, limit, true));
        assert!(file_may_fit(limit * 4, limit, true));
        assert!(!file_may_fit(limit * 4 + 1, limit, true));
        // no overflow at the extremes
        assert!(!file_may_fit(u64::MAX, 1, true));
        assert!(file_may_fit(u64::MAX, u64::MAX, false));
    }

    #[test]
    fn php_output_is_read_only_as_far_as_it_can_fit() {
        assert_eq!(output_limit(LIMIT, false), LIMIT);
        assert_eq!(output_limit(LIMIT, true), 4 * LIMIT);
        assert_eq!(output_limit(usize::MAX, true), usize::MAX);
        // whatever output_limit lets through may still fit; one byte more never does as text
        assert!(!too_large(
            LIMIT - ENVELOPE_ALLOWANCE * 2,
            LIMIT * 2,
            || LIMIT
        ));
    }
}
