//! `GET …?watch=true`: the watch stream kubectl's `wait` and `rollout status` read, in the real
//! wire format: a chunked `application/json` body of one event a line,
//! `{"type":"ADDED"|"MODIFIED"|"DELETED","object":{…}}`, the objects with `kind` and
//! `apiVersion`. From `resourceVersion` N, the objects written after N (their
//! `resourceVersion` above N) come first; with none (or `0`), every matching object as ADDED,
//! as the real server synthesises. Then the fake polls its store every 50 ms and sends what
//! changed, until `timeoutSeconds` (default and at most 60) pass and it closes the stream, as a
//! real watch ends and clients start another.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::Shared;
use super::resources::ResourceType;
use super::selector::{FieldSelector, LabelSelector};

const POLL: Duration = Duration::from_millis(50);
const MAX_TIMEOUT_SECONDS: u64 = 60;

/// What one watch looks at.
pub struct WatchRequest {
    pub rt: &'static ResourceType,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// Events after this revision; None or 0: the current objects first, as ADDED.
    pub since: Option<u64>,
    pub timeout: Duration,
}

impl WatchRequest {
    /// The timeout a client asked for (`timeoutSeconds`), capped.
    pub fn timeout_from(seconds: Option<&String>) -> Duration {
        let asked = seconds.and_then(|s| s.parse::<u64>().ok());
        Duration::from_secs(
            asked
                .unwrap_or(MAX_TIMEOUT_SECONDS)
                .min(MAX_TIMEOUT_SECONDS),
        )
    }
}

/// Objects seen so far: `namespace/name` → (resourceVersion, object).
type Seen = BTreeMap<String, (u64, Value)>;

struct Watch {
    shared: Arc<Shared>,
    request: WatchRequest,
    seen: Seen,
    pending: VecDeque<Value>,
    deadline: Instant,
    started: bool,
}

/// The streaming response.
pub fn respond(shared: Arc<Shared>, request: WatchRequest) -> Response {
    let deadline = Instant::now() + request.timeout;
    let watch = Watch {
        shared,
        request,
        seen: BTreeMap::new(),
        pending: VecDeque::new(),
        deadline,
        started: false,
    };
    let stream = futures_util::stream::unfold(watch, |mut watch| async move {
        let line = watch.next_event().await?;
        Some((Ok::<Bytes, std::convert::Infallible>(line), watch))
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}

impl Watch {
    async fn next_event(&mut self) -> Option<Bytes> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                let mut line = event.to_string();
                line.push('\n');
                return Some(Bytes::from(line));
            }
            if self.started {
                if Instant::now() >= self.deadline {
                    return None;
                }
                tokio::time::sleep(POLL).await;
            }
            self.poll();
        }
    }

    /// Compares the store with what was seen and queues the differences.
    fn poll(&mut self) {
        let current = self.current();
        if !self.started {
            self.started = true;
            let since = self.request.since.unwrap_or(0);
            for (revision, object) in current.values() {
                if since == 0 {
                    self.pending.push_back(event("ADDED", object));
                } else if *revision > since {
                    self.pending.push_back(event("MODIFIED", object));
                }
            }
            self.seen = current;
            return;
        }
        for (key, (revision, object)) in &current {
            match self.seen.get(key) {
                None => self.pending.push_back(event("ADDED", object)),
                Some((before, _)) if before != revision => {
                    self.pending.push_back(event("MODIFIED", object))
                }
                Some(_) => {}
            }
        }
        for (key, (_, object)) in &self.seen {
            if !current.contains_key(key) {
                self.pending.push_back(event("DELETED", object));
            }
        }
        self.seen = current;
    }

    fn current(&self) -> Seen {
        let rt = self.request.rt;
        let store = self.shared.store();
        store
            .objects(rt, self.request.namespace.as_deref())
            .filter(|o| self.request.labels.matches(o) && self.request.fields.matches(o))
            .map(|o| {
                let meta = &o["metadata"];
                let key = format!(
                    "{}/{}",
                    meta["namespace"].as_str().unwrap_or_default(),
                    meta["name"].as_str().unwrap_or_default()
                );
                let revision = meta["resourceVersion"]
                    .as_str()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0);
                let mut object = o.clone();
                object["kind"] = json!(rt.kind);
                object["apiVersion"] = json!(rt.api_version());
                (key, (revision, object))
            })
            .collect()
    }
}

fn event(kind: &str, object: &Value) -> Value {
    json!({"type": kind, "object": object})
}
