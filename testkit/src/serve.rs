//! The loopback HTTP/1 server loop: accept, one task per connection, a service per request.
//! [`Server::stop`] takes it all away (the port stops accepting, open connections close),
//! which is how tests make a server vanish under a client.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

/// A running server.
#[derive(Clone)]
pub struct Server {
    pub addr: SocketAddr,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Server {
    /// Binds 127.0.0.1 on an ephemeral port and serves `handler`.
    pub async fn loopback<H, F, E>(handler: H) -> std::io::Result<Server>
    where
        H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Result<Response<Full<Bytes>>, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        Ok(Server::on(listener, handler))
    }

    /// Serves `handler` on an already bound listener.
    pub fn on<H, F, E>(listener: TcpListener, handler: H) -> Server
    where
        H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Result<Response<Full<Bytes>>, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let server = Server {
            addr: listener
                .local_addr()
                .expect("a bound listener has an address"),
            tasks: Arc::default(),
        };
        let tasks = server.tasks.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let handler = handler.clone();
                let connection = tokio::spawn(async move {
                    let service = service_fn(handler);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                let mut tasks = tasks.lock().unwrap();
                tasks.retain(|t| !t.is_finished());
                tasks.push(connection.abort_handle());
            }
        });
        server.tasks.lock().unwrap().push(accept.abort_handle());
        server
    }

    /// Takes the server away: the port stops accepting and open connections are closed.
    pub fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: SocketAddr) -> std::io::Result<String> {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(b"GET /x HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
            .await?;
        let mut out = String::new();
        s.read_to_string(&mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn serves_until_stopped() {
        let server = Server::loopback(|req: Request<Incoming>| async move {
            let path = req.uri().path().to_string();
            Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(path))))
        })
        .await
        .unwrap();
        let answer = get(server.addr).await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("/x"),
            "{answer}"
        );
        server.stop();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let after = get(server.addr).await;
        assert!(
            after.is_err() || after.unwrap().is_empty(),
            "still answering"
        );
    }
}
