//! FastCGI transport: one request to php-fpm over its unix socket, using the fastcgi-client
//! crate for the protocol, with one addition it lacks.
//!
//! fastcgi-client 0.12's `ResponseStream` ends without error when php-fpm closes the socket
//! before `FCGI_END_REQUEST` (a killed or crashed worker), so a truncated body looks
//! complete. [`EndWatch`] wraps the socket and follows the record framing of the bytes the
//! client reads (8-byte header: type at byte 1, content length at bytes 4–5, padding at byte
//! 6) just far enough to notice an `FCGI_END_REQUEST` record. When the stream ends without
//! one, [`PhpOutput::next`] reports [`TransportError::Truncated`] instead of a clean end.

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use fastcgi_client::io::{AsyncRead, AsyncWrite, TokioAsyncReadCompatExt, TokioCompat};
use fastcgi_client::response::{Content, ResponseStream};
use fastcgi_client::{Client, Params, Request};
use futures_util::StreamExt;
use tokio::net::UnixStream;

/// FastCGI record type of END_REQUEST.
const FCGI_END_REQUEST: u8 = 3;

/// What went wrong talking to php-fpm.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Could not connect to the socket (php-fpm not running).
    #[error("cannot connect to php-fpm: {0}")]
    Connect(std::io::Error),
    /// The protocol library reported an error.
    #[error("FastCGI error: {0}")]
    Protocol(String),
    /// The connection closed before FCGI_END_REQUEST: the worker died mid-request.
    #[error("php-fpm closed the connection before FCGI_END_REQUEST (worker died)")]
    Truncated,
}

/// Follows FastCGI record boundaries in a byte stream.
#[derive(Debug, Default)]
struct FrameTracker {
    header: [u8; 8],
    header_len: usize,
    /// Content + padding bytes left in the current record.
    remaining: usize,
}

impl FrameTracker {
    /// Feeds bytes; returns true once an END_REQUEST record header has been seen.
    fn feed(&mut self, mut data: &[u8]) -> bool {
        let mut ended = false;
        while !data.is_empty() {
            if self.remaining > 0 {
                let skip = self.remaining.min(data.len());
                self.remaining -= skip;
                data = &data[skip..];
                continue;
            }
            let take = (8 - self.header_len).min(data.len());
            self.header[self.header_len..self.header_len + take].copy_from_slice(&data[..take]);
            self.header_len += take;
            data = &data[take..];
            if self.header_len == 8 {
                let content = u16::from_be_bytes([self.header[4], self.header[5]]) as usize;
                let padding = self.header[6] as usize;
                if self.header[1] == FCGI_END_REQUEST {
                    ended = true;
                }
                self.remaining = content + padding;
                self.header_len = 0;
            }
        }
        ended
    }
}

/// The socket, watched for END_REQUEST.
pub struct EndWatch<S> {
    inner: S,
    tracker: FrameTracker,
    ended: Arc<AtomicBool>,
}

impl<S: AsyncRead + Unpin> AsyncRead for EndWatch<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = &poll
            && this.tracker.feed(&buf[..*n])
        {
            this.ended.store(true, Ordering::Release);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for EndWatch<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// One piece of PHP output.
#[derive(Debug)]
pub enum Chunk {
    Stdout(Bytes),
    Stderr(Bytes),
}

/// The output of one request, read as it arrives.
pub struct PhpOutput {
    stream: ResponseStream<EndWatch<TokioCompat<UnixStream>>>,
    ended: Arc<AtomicBool>,
    done: bool,
}

impl PhpOutput {
    /// The next piece of output; `Ok(None)` only after a proper FCGI_END_REQUEST.
    pub async fn next(&mut self) -> Result<Option<Chunk>, TransportError> {
        if self.done {
            return Ok(None);
        }
        match self.stream.next().await {
            Some(Ok(Content::Stdout(b))) => Ok(Some(Chunk::Stdout(b))),
            Some(Ok(Content::Stderr(b))) => Ok(Some(Chunk::Stderr(b))),
            Some(Err(e)) => {
                self.done = true;
                Err(TransportError::Protocol(e.to_string()))
            }
            None => {
                self.done = true;
                if self.ended.load(Ordering::Acquire) {
                    Ok(None)
                } else {
                    Err(TransportError::Truncated)
                }
            }
        }
    }
}

/// Sends one request (CGI params + body) to php-fpm at `socket`.
pub async fn execute(
    socket: &Path,
    env: Vec<(String, String)>,
    body: Bytes,
) -> Result<PhpOutput, TransportError> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(TransportError::Connect)?;
    let ended = Arc::new(AtomicBool::new(false));
    let watched = EndWatch {
        inner: stream.compat(),
        tracker: FrameTracker::default(),
        ended: ended.clone(),
    };
    let client = Client::new(watched);
    let mut params = Params::default();
    params.clear(); // drop the crate's own defaults (SERVER_SOFTWARE=fastcgi-client-rs …)
    for (k, v) in env {
        params.insert(k.into(), v.into());
    }
    let request = Request::new(params, futures_util::io::Cursor::new(body));
    let stream = client
        .execute_once_stream(request)
        .await
        .map_err(|e| TransportError::Protocol(e.to_string()))?;
    Ok(PhpOutput {
        stream,
        ended,
        done: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u8, content: &[u8], padding: u8) -> Vec<u8> {
        let len = content.len() as u16;
        let mut r = vec![1, kind, 0, 1, (len >> 8) as u8, len as u8, padding, 0];
        r.extend_from_slice(content);
        r.extend(std::iter::repeat_n(0, padding as usize));
        r
    }

    #[test]
    fn tracker_sees_end_request_after_stdout() {
        let mut bytes = record(6, b"Content-type: text/html\r\n\r\nhello", 3);
        bytes.extend(record(7, b"warning", 1));
        bytes.extend(record(FCGI_END_REQUEST, &[0; 8], 0));
        let mut t = FrameTracker::default();
        assert!(t.feed(&bytes));
    }

    #[test]
    fn tracker_across_arbitrary_splits() {
        let mut bytes = record(6, &[b'x'; 300], 4);
        bytes.extend(record(FCGI_END_REQUEST, &[0; 8], 0));
        for split in 1..bytes.len() {
            let mut t = FrameTracker::default();
            let a = t.feed(&bytes[..split]);
            let b = t.feed(&bytes[split..]);
            assert!(a || b, "split at {split}");
        }
    }

    #[test]
    fn end_request_byte_inside_content_is_not_mistaken() {
        // stdout content full of 0x03 bytes, then the stream stops
        let bytes = record(6, &[FCGI_END_REQUEST; 64], 0);
        let mut t = FrameTracker::default();
        assert!(!t.feed(&bytes));
    }

    #[test]
    fn truncated_stream_has_no_end() {
        let mut bytes = record(6, b"partial", 0);
        bytes.truncate(10);
        let mut t = FrameTracker::default();
        assert!(!t.feed(&bytes));
    }
}
