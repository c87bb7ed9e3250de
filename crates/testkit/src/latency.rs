//! A latency proxy: forwards every request unchanged to one local server after a fixed delay, so
//! that the sandbox can stand in for a peer across a network. moto answers in a few milliseconds
//! but serves one request at a time (one Python process); real AWS answers IAM calls in tens of
//! milliseconds and serves many at once. Benchmarks of how well irsa overlaps independent calls
//! (`irsa-sandbox --latency MS`, `scripts/bench-apply`) need the latter shape: with the delay
//! outside moto, concurrent requests wait in parallel, as they do on a real network.

use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::forward::Forwarder;
use crate::server::BackgroundServer;

/// The running proxy, on its own thread and runtime; stopped on drop.
pub struct LatencyProxy {
    server: BackgroundServer,
}

#[derive(Clone)]
struct Route {
    target: Forwarder,
    delay: Duration,
}

impl LatencyProxy {
    /// Starts on 127.0.0.1 with a free port, forwarding to `target` (`http://127.0.0.1:PORT`)
    /// after `delay`.
    pub fn start(target: &str, delay: Duration) -> std::io::Result<LatencyProxy> {
        let app = Router::new().fallback(delayed).with_state(Route {
            target: Forwarder::new(target),
            delay,
        });
        let server = BackgroundServer::start("latency-proxy", app, 2)?;
        Ok(LatencyProxy { server })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }
}

async fn delayed(State(route): State<Route>, request: Request) -> Response {
    tokio::time::sleep(route.delay).await;
    match route.target.forward(request).await {
        Ok(response) => response,
        Err(e) => (StatusCode::BAD_GATEWAY, format!("latency proxy: {e}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    use super::*;

    /// A target that echoes the path and query it was asked for.
    fn echo_server() -> (u16, tokio::task::JoinHandle<()>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = Router::new().fallback(|request: Request| async move {
            request
                .uri()
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default()
        });
        let handle = tokio::spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
        (port, handle)
    }

    #[tokio::test]
    async fn concurrent_requests_wait_the_delay_in_parallel_and_arrive_unchanged() {
        let (port, server) = echo_server();
        let delay = Duration::from_millis(200);
        let proxy = LatencyProxy::start(&format!("http://127.0.0.1:{port}"), delay).unwrap();
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let started = Instant::now();
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let client = client.clone();
                let uri = format!("{}/path/{i}?q={i}", proxy.endpoint());
                tokio::spawn(async move {
                    let request = hyper::Request::get(uri)
                        .body(Full::new(Bytes::new()))
                        .unwrap();
                    let response = client.request(request).await.unwrap();
                    let body = response.into_body().collect().await.unwrap().to_bytes();
                    String::from_utf8(body.to_vec()).unwrap()
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        let elapsed = started.elapsed();
        for (i, answer) in answers.iter().enumerate() {
            assert_eq!(answer, &format!("/path/{i}?q={i}"));
        }
        assert!(elapsed >= delay, "{elapsed:?}");
        // Ten requests one after the other would take 2 s.
        assert!(elapsed < delay * 4, "{elapsed:?}");
        server.abort();
    }
}
