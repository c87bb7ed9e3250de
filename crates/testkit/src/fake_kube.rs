//! A FAKE Kubernetes API server for tests and the sandbox: plain HTTP on 127.0.0.1, no auth, an
//! in-memory store, and the real API's wire format and semantics for what irsa uses, so that
//! kube-rs clients work against it unchanged.
//!
//! Served (each resource under its real path, see [`resources`]):
//! - namespaces (`/api/v1/namespaces[/{name}]`), service accounts, pods
//!   (`/api/v1/namespaces/{ns}/{plural}[/{name}]` and the all-namespaces `/api/v1/{plural}`),
//!   deployments, replicasets, statefulsets and daemonsets under `/apis/apps/v1/…`;
//! - GET (object or list, with `labelSelector` and `fieldSelector`), POST, PUT (with a
//!   `resourceVersion` precondition), PATCH (`application/merge-patch+json`, and
//!   `application/strategic-merge-patch+json` applied the same way), DELETE;
//! - `GET /version`;
//! - TokenRequest (`POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token`) and the
//!   issuer's discovery (`/.well-known/openid-configuration`, `/openid/v1/jwks`), see [`tokens`];
//! - pod logs (`GET /api/v1/namespaces/{ns}/pods/{name}/log`, `text/plain`) and `kubectl exec`
//!   of `aws sts get-caller-identity` over WebSocket or SPDY/3.1 (see [`exec`]).
//!
//! Semantics: `uid`, `creationTimestamp`, one increasing `resourceVersion` per write (no-op writes
//! keep it), `generation` for the apps group, 409 `AlreadyExists` / `Conflict`, 404 `NotFound`
//! (also for a create in a missing namespace), errors as `Status` objects, garbage collection of
//! owned objects, and a simulated deployment controller (ReplicaSets and pods; see
//! [`controller`]). Namespaces `default`, `kube-system`, `kube-public` and `kube-node-lease`
//! exist at start, each with its `default` service account.
//!
//! Simulated on pod creation (create hooks): the EKS pod-identity webhook (see [`webhook`]; on
//! unless [`FakeKubeOptions::pod_identity_webhook`] is false), EKS Pod Identity's container
//! credentials for service accounts with an association (see [`pod_identity_webhook`]; with
//! [`FakeKubeOptions::pod_identity`]) and the aws CLI's `sts get-caller-identity` test pod,
//! whose job the fake runs against STS, through web identity or the Pod Identity agent (see
//! [`awscli`]).
//!
//! `kubectl get` is answered with server-side `Table`s, the real columns of each type (see
//! [`tables`]). Not served: attach, port-forward, server-side apply.

pub mod awscli;
pub mod controller;
pub mod discovery;
pub mod exec;
pub mod pod_identity_webhook;
pub mod resources;
pub mod selector;
pub mod spdy;
pub mod status;
pub mod store;
pub mod strategic;
pub mod tables;
pub mod tokens;
pub mod watch;
pub mod webhook;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use serde_json::{Value, json};

pub use resources::{
    Capabilities, DAEMON_SETS, DEPLOYMENTS, EVENTS, NAMESPACES, PODS, REPLICA_SETS, RESOURCES,
    ResourceType, SERVICE_ACCOUNTS, STATEFUL_SETS, Subresource,
};
pub use status::ApiError;
pub use store::{CreateHook, PatchType, Store};
pub use tokens::{DEFAULT_ISSUER, ServiceAccountClaims, TokenError, TokenIssuer, TokenVerifier};

use selector::{FieldSelector, LabelSelector};

/// One request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, as sent.
    pub uri: String,
}

impl RecordedRequest {
    /// Whether the request writes (anything but GET, HEAD and OPTIONS).
    pub fn is_mutating(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }
}

/// How to start the fake.
#[derive(Debug, Clone)]
pub struct FakeKubeOptions {
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The service-account token issuer (`iss` of tokens, discovery document).
    pub issuer: String,
    /// The STS endpoint the aws-cli job calls (`http://127.0.0.1:PORT`, e.g. moto's).
    pub sts_endpoint: Option<String>,
    /// Whether the simulated EKS pod-identity webhook mutates pods at creation.
    pub pod_identity_webhook: bool,
    /// Whether aws-cli `sts get-caller-identity` pods are run (see [`awscli`]).
    pub run_aws_cli_jobs: bool,
    /// How long an aws-cli job pod stays Pending, and Running around its STS calls.
    pub job_step: Duration,
    /// EKS Pod Identity for this cluster: which service accounts have an association (the
    /// webhook's injection) and the EKS Auth the simulated agent calls.
    pub pod_identity: Option<PodIdentityOptions>,
}

/// See [`FakeKubeOptions::pod_identity`].
#[derive(Debug, Clone)]
pub struct PodIdentityOptions {
    /// The EKS cluster this API server is.
    pub cluster: String,
    /// The fake EKS's associations.
    pub associations: crate::fake_eks::Associations,
    /// The EKS Auth endpoint (`http://127.0.0.1:PORT`) the simulated agent calls.
    pub eks_auth_endpoint: Option<String>,
}

impl Default for FakeKubeOptions {
    fn default() -> Self {
        FakeKubeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            issuer: DEFAULT_ISSUER.to_string(),
            sts_endpoint: None,
            pod_identity_webhook: true,
            run_aws_cli_jobs: true,
            job_step: Duration::from_millis(100),
            pod_identity: None,
        }
    }
}

/// State shared by the server and the test's handle.
pub struct Shared {
    store: Mutex<Store>,
    requests: Mutex<Vec<RecordedRequest>>,
    issuer: TokenIssuer,
    options: FakeKubeOptions,
    /// Pod uid → container → log text.
    logs: Mutex<HashMap<String, BTreeMap<String, String>>>,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn logs(&self) -> MutexGuard<'_, HashMap<String, BTreeMap<String, String>>> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn append_log(&self, pod_uid: &str, container: &str, text: &str) {
        self.logs()
            .entry(pod_uid.to_string())
            .or_default()
            .entry(container.to_string())
            .or_default()
            .push_str(text);
    }
}

/// See [`FakeKube::handle`].
#[derive(Clone)]
pub struct FakeKubeHandle(Arc<Shared>);

impl FakeKubeHandle {
    pub fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        f(&mut self.0.store())
    }
}

/// A running fake API server; stops when dropped.
pub struct FakeKube {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeKube {
    /// Starts the fake on 127.0.0.1 with a free port and the default options (issuer
    /// [`DEFAULT_ISSUER`], no STS endpoint). Needs a tokio runtime.
    pub async fn start() -> FakeKube {
        Self::start_with(FakeKubeOptions::default()).await
    }

    /// Starts the fake with `options`; panics when it cannot bind. Needs a tokio runtime.
    pub async fn start_with(options: FakeKubeOptions) -> FakeKube {
        let addr = options.addr;
        Self::try_start_with(options)
            .await
            .unwrap_or_else(|e| panic!("binding {addr} for the fake Kubernetes API: {e}"))
    }

    /// Starts the fake on `addr` (the sandbox picks its port) with the default options.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<FakeKube> {
        Self::try_start_with(FakeKubeOptions {
            addr,
            ..FakeKubeOptions::default()
        })
        .await
    }

    /// Starts the fake with `options`. Needs a tokio runtime.
    pub async fn try_start_with(options: FakeKubeOptions) -> std::io::Result<FakeKube> {
        let listener = tokio::net::TcpListener::bind(options.addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new()),
            requests: Mutex::new(Vec::new()),
            issuer: TokenIssuer::new(options.issuer.clone()),
            logs: Mutex::new(HashMap::new()),
            options,
        });
        {
            let mut store = shared.store();
            if shared.options.pod_identity_webhook {
                store.add_create_hook(&PODS, Arc::new(webhook::pod_identity_webhook));
            }
            if let Some(pod_identity) = &shared.options.pod_identity {
                let hook = pod_identity_webhook::hook(
                    pod_identity.cluster.clone(),
                    pod_identity.associations.clone(),
                );
                store.add_create_hook(&PODS, Arc::new(hook));
            }
            if shared.options.run_aws_cli_jobs {
                let hook = awscli::hook(
                    Arc::downgrade(&shared),
                    tokio::runtime::Handle::current(),
                    shared.options.job_step,
                );
                store.add_create_hook(&PODS, Arc::new(hook));
            }
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = router(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(FakeKube {
            addr,
            shared,
            shutdown: Some(tx),
        })
    }

    /// The options the fake was started with.
    pub fn options(&self) -> &FakeKubeOptions {
        &self.shared.options
    }

    /// The service-account token issuer URL.
    pub fn issuer(&self) -> &str {
        self.shared.issuer.issuer()
    }

    /// The issuer's signer (claims, `kid`s, JWKS, discovery document).
    pub fn token_issuer(&self) -> &TokenIssuer {
        &self.shared.issuer
    }

    /// The JWKS the fake serves at `/openid/v1/jwks` (the issuer key only).
    pub fn jwks(&self) -> Value {
        self.shared.issuer.jwks()
    }

    /// A service-account token for `namespace`/`name` as the API server would issue it, with
    /// `exp` = now + `expires_in_seconds` (negative: already expired), signed with the issuer
    /// key or, with `rogue`, with a key the JWKS does not publish. The service account need
    /// not exist (its uid is then a stable stand-in).
    pub fn mint_token(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[&str],
        expires_in_seconds: i64,
        rogue: bool,
    ) -> String {
        let uid = self
            .get(&SERVICE_ACCOUNTS, Some(namespace), name)
            .and_then(|sa| sa["metadata"]["uid"].as_str().map(str::to_string))
            .unwrap_or_else(|| tokens::stand_in_uid(namespace, name));
        self.shared
            .issuer
            .mint(&tokens::TokenSpec {
                namespace,
                service_account: name,
                service_account_uid: &uid,
                audiences: audiences.iter().map(|a| a.to_string()).collect(),
                expires_in_seconds,
                pod: None,
                rogue,
            })
            .0
    }

    /// The pod's log (all containers' logs, in container-name order), if it has any.
    pub fn pod_log(&self, namespace: &str, name: &str) -> Option<String> {
        let uid = self
            .get(&PODS, Some(namespace), name)?
            .get("metadata")?
            .get("uid")?
            .as_str()?
            .to_string();
        let logs = self.shared.logs();
        let containers = logs.get(&uid)?;
        Some(containers.values().cloned().collect())
    }

    /// Appends `text` to the log of a container of an existing pod (as if it printed it).
    pub fn append_pod_log(&self, namespace: &str, name: &str, container: &str, text: &str) {
        let uid = self
            .get(&PODS, Some(namespace), name)
            .and_then(|p| p["metadata"]["uid"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("no pod {namespace}/{name} to write a log for"));
        self.shared.append_log(&uid, container, text);
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A kubeconfig whose current context (`fake-kube`, namespace `default`) points at the
    /// fake over plain HTTP, with no credentials.
    pub fn kubeconfig_yaml(&self) -> String {
        self.kubeconfig_yaml_named("fake-kube")
    }

    /// [`Self::kubeconfig_yaml`] with cluster, user and context all called `name`.
    pub fn kubeconfig_yaml_named(&self, name: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {endpoint}\nusers:\n- name: {name}\n  user: {{}}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n    namespace: default\ncurrent-context: {name}\npreferences: {{}}\n",
            endpoint = self.endpoint()
        )
    }

    /// Writes [`Self::kubeconfig_yaml`] to `path`.
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// Runs `f` on the store (under its lock; do not await inside).
    pub fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        f(&mut self.shared.store())
    }

    /// A cloneable handle on the objects, for other fakes that act on the cluster.
    pub fn handle(&self) -> FakeKubeHandle {
        FakeKubeHandle(self.shared.clone())
    }

    /// Registers a hook run on every create of `rt`, API or seeded (see [`CreateHook`]).
    pub fn on_create(
        &self,
        rt: &'static ResourceType,
        hook: impl Fn(&Store, &mut Value) -> Result<(), ApiError> + Send + Sync + 'static,
    ) {
        self.with_store(|s| s.add_create_hook(rt, Arc::new(hook)));
    }

    /// Creates an object as a POST would (hooks and controllers included).
    pub fn create(
        &self,
        rt: &'static ResourceType,
        namespace: Option<&str>,
        object: Value,
    ) -> Result<Value, ApiError> {
        self.with_store(|s| s.create(rt, namespace, object))
    }

    /// The stored object, if any.
    pub fn get(&self, rt: &ResourceType, namespace: Option<&str>, name: &str) -> Option<Value> {
        self.with_store(|s| s.get(rt, namespace, name).ok())
    }

    /// The stored objects of a type, in one namespace or (None) all.
    pub fn list(&self, rt: &ResourceType, namespace: Option<&str>) -> Vec<Value> {
        self.with_store(|s| s.objects(rt, namespace).cloned().collect())
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.with_store(|s| s.revision())
    }

    /// Seeds a namespace.
    pub fn insert_namespace(&self, name: &str) -> Value {
        self.create(&NAMESPACES, None, json!({"metadata": {"name": name}}))
            .unwrap_or_else(|e| panic!("seeding namespace {name}: {e}"))
    }

    /// Seeds a service account with annotations.
    pub fn insert_service_account(
        &self,
        namespace: &str,
        name: &str,
        annotations: &[(&str, &str)],
    ) -> Value {
        let annotations: serde_json::Map<String, Value> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        self.create(
            &SERVICE_ACCOUNTS,
            Some(namespace),
            json!({"metadata": {"name": name, "annotations": annotations}}),
        )
        .unwrap_or_else(|e| panic!("seeding service account {namespace}/{name}: {e}"))
    }

    /// Seeds a bare pod (no owner) running one container `app` with the service account and
    /// these environment variables.
    pub fn insert_pod(
        &self,
        namespace: &str,
        name: &str,
        service_account: &str,
        env: &[(&str, &str)],
    ) -> Value {
        let env: Vec<Value> = env
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        let pod = json!({
            "metadata": {"name": name},
            "spec": {"serviceAccountName": service_account, "containers": [{"name": "app", "image": "public.ecr.aws/docker/library/busybox:latest", "env": env}]},
        });
        self.create(&PODS, Some(namespace), pod)
            .unwrap_or_else(|e| panic!("seeding pod {namespace}/{name}: {e}"))
    }

    /// Seeds a Deployment (`app: <name>`) of `replicas` pods using the service account; the
    /// simulated controller creates its ReplicaSet and pods.
    pub fn insert_deployment(
        &self,
        namespace: &str,
        name: &str,
        service_account: &str,
        replicas: u32,
    ) -> Value {
        self.create(
            &DEPLOYMENTS,
            Some(namespace),
            deployment_manifest(name, service_account, replicas),
        )
        .unwrap_or_else(|e| panic!("seeding deployment {namespace}/{name}: {e}"))
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many received requests wrote (POST, PUT, PATCH, DELETE).
    pub fn mutating_requests(&self) -> usize {
        self.requests().iter().filter(|r| r.is_mutating()).count()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A Deployment manifest: one container `app`, labels `app: <name>`.
pub fn deployment_manifest(name: &str, service_account: &str, replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"serviceAccountName": service_account, "containers": [{"name": "app", "image": "public.ecr.aws/docker/library/busybox:latest"}]},
            },
        },
    })
}

type Params = Query<HashMap<String, String>>;
type AppState = State<Arc<Shared>>;

/// The fake's routes (a tokio-free `Router`, usable with `tower::ServiceExt::oneshot` too):
/// discovery, then each resource type's paths with the verbs and subresources the resource
/// table gives it.
pub fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new()
        .route("/version", get(version))
        .route("/api", get(api_versions))
        .route(
            "/apis",
            get(|| async { axum::Json(discovery::group_list()) }),
        )
        .route("/openapi/v2", get(openapi_v2))
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/openid/v1/jwks", get(jwks));
    for (group, version) in discovery::group_versions() {
        let list = move || async move { respond_found(discovery::resource_list(group, version)) };
        if group.is_empty() {
            router = router.route(&format!("/api/{version}"), get(list));
        } else {
            router = router
                .route(&format!("/apis/{group}/{version}"), get(list))
                .route(
                    &format!("/apis/{group}"),
                    get(move || async move { respond_found(discovery::group(group)) }),
                );
        }
    }
    for &rt in RESOURCES {
        router = resource_routes(router, rt);
    }
    router
        .fallback(|| async { ApiError::no_route() })
        .layer(middleware::from_fn(json_bodies_only))
        .layer(middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

/// The paths of one resource type: its collection(s), its objects, their subresources.
fn resource_routes(
    mut router: Router<Arc<Shared>>,
    rt: &'static ResourceType,
) -> Router<Arc<Shared>> {
    let prefix = rt.prefix();
    let plural = rt.plural;
    if !rt.namespaced {
        return router
            .route(&format!("{prefix}/{plural}"), cluster_collection(rt))
            .route(&format!("{prefix}/{plural}/{{name}}"), cluster_item(rt));
    }
    let item_path = format!("{prefix}/namespaces/{{ns}}/{plural}/{{name}}");
    for &sub in rt.capabilities.subresources {
        let path = format!("{item_path}/{}", sub.segment());
        router = match sub {
            Subresource::Token => router.route(&path, post(token_request)),
            Subresource::Log => router.route(&path, get(pod_log)),
            Subresource::Exec => router.route(&path, get(exec::exec).post(exec::exec)),
        };
    }
    router
        .route(
            &format!("{prefix}/{plural}"),
            get(
                move |s: AppState, q: Params, h: HeaderMap| async move { list(s, rt, None, q, &h) },
            ),
        )
        .route(
            &format!("{prefix}/namespaces/{{ns}}/{plural}"),
            collection(rt),
        )
        .route(&item_path, item(rt))
}

/// POST and PUT bodies must be JSON (the fake reads no protobuf): anything else is answered
/// 415 with a `Status`, as the API server answers a format it does not read.
async fn json_bodies_only(request: Request, next: Next) -> Response {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let writes_body = matches!(request.method().as_str(), "POST" | "PUT");
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if writes_body && !media.is_empty() && media != "application/json" {
        return ApiError::unsupported_body(&content_type).into_response();
    }
    next.run(request).await
}

async fn record(State(shared): AppState, request: Request, next: Next) -> Response {
    let uri = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    shared
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(RecordedRequest {
            method: request.method().to_string(),
            uri,
        });
    next.run(request).await
}

/// `GET /api`, naming the address the client reached.
async fn api_versions(headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    axum::Json(discovery::core_versions(host)).into_response()
}

/// `GET /openapi/v2`, in protobuf when the client asks for it (kubectl does), else JSON.
async fn openapi_v2(headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if accept.contains(discovery::OPENAPI_PROTOBUF) {
        let media = discovery::OPENAPI_PROTOBUF_CONTENT_TYPE;
        return (
            [(header::CONTENT_TYPE, media)],
            discovery::openapi_protobuf(),
        )
            .into_response();
    }
    axum::Json(discovery::openapi_json()).into_response()
}

/// A discovery document, or the API's 404 for a group or version not served.
fn respond_found(document: Option<Value>) -> Response {
    match document {
        Some(document) => axum::Json(document).into_response(),
        None => ApiError::no_route().into_response(),
    }
}

async fn version() -> Response {
    axum::Json(json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-fake", "platform": "linux/amd64"})).into_response()
}

async fn openid_configuration(State(shared): AppState) -> Response {
    axum::Json(shared.issuer.openid_configuration()).into_response()
}

async fn jwks(State(shared): AppState) -> Response {
    (
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        shared.issuer.jwks().to_string(),
    )
        .into_response()
}

async fn token_request(
    State(shared): AppState,
    UrlPath((ns, name)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    let result = parse_body(&body).and_then(|request| {
        tokens::token_request(&shared.store(), &shared.issuer, &ns, &name, &request)
    });
    respond(StatusCode::CREATED, result)
}

/// `GET …/pods/{name}/log[?container=…]`: the container's output as `text/plain`; 404 for a
/// missing pod; 400 (the real messages) when the container must be named, is not in the pod,
/// or is still waiting to start (a Pending pod).
async fn pod_log(
    State(shared): AppState,
    UrlPath((ns, name)): UrlPath<(String, String)>,
    Query(q): Params,
) -> Response {
    let pod = match shared.store().get(&PODS, Some(&ns), &name) {
        Ok(pod) => pod,
        Err(e) => return e.into_response(),
    };
    let names = |list: &str| -> Vec<String> {
        pod["spec"][list]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let containers = names("containers");
    let container = match q.get("container").filter(|c| !c.is_empty()) {
        Some(c) => {
            if !containers.contains(c) && !names("initContainers").contains(c) {
                return ApiError::bad_request(format!("container {c} is not valid for pod {name}"))
                    .into_response();
            }
            c.clone()
        }
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            ))
            .into_response();
        }
    };
    let waiting = pod["status"]["containerStatuses"]
        .as_array()
        .and_then(|ss| ss.iter().find(|s| s["name"] == container.as_str()))
        .and_then(|s| s["state"]["waiting"]["reason"].as_str())
        .map(str::to_string);
    if waiting.is_some() || pod["status"]["phase"] == "Pending" {
        let reason = waiting.unwrap_or_else(|| "ContainerCreating".to_string());
        return ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
        ))
        .into_response();
    }
    let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
    let text = shared
        .logs()
        .get(uid)
        .and_then(|l| l.get(&container))
        .cloned()
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain")], text).into_response()
}

fn respond(code: StatusCode, result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(v) => (code, axum::Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

fn list(
    State(shared): AppState,
    rt: &'static ResourceType,
    ns: Option<&str>,
    Query(q): Params,
    headers: &HeaderMap,
) -> Response {
    let param = |name: &str| q.get(name).map(String::as_str).unwrap_or_default();
    let selectors = LabelSelector::parse(param("labelSelector"))
        .and_then(|labels| Ok((labels, FieldSelector::parse(param("fieldSelector"))?)));
    let (labels, fields) = match selectors {
        Ok(selectors) => selectors,
        Err(e) => return e.into_response(),
    };
    if matches!(param("watch"), "true" | "1") {
        let request = watch::WatchRequest {
            rt,
            namespace: ns.map(str::to_string),
            labels,
            fields,
            since: param("resourceVersion").parse().ok(),
            timeout: watch::WatchRequest::timeout_from(q.get("timeoutSeconds")),
        };
        return watch::respond(shared, request);
    }
    let listed = shared.store().list(rt, ns, &labels, &fields);
    match listed {
        Ok(list) if tables::wants_table(accept(headers)) => {
            let items = list["items"].as_array().cloned().unwrap_or_default();
            let version = list["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default();
            axum::Json(tables::table(rt, &items, version)).into_response()
        }
        other => respond(StatusCode::OK, other),
    }
}

/// The request's `Accept` header.
fn accept(headers: &HeaderMap) -> &str {
    headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
}

fn create(shared: &Shared, rt: &'static ResourceType, ns: Option<&str>, body: &Bytes) -> Response {
    let result = parse_body(body).and_then(|object| shared.store().create(rt, ns, object));
    respond(StatusCode::CREATED, result)
}

fn get_one(
    shared: &Shared,
    rt: &'static ResourceType,
    ns: Option<&str>,
    name: &str,
    headers: &HeaderMap,
) -> Response {
    let found = shared.store().get(rt, ns, name);
    match found {
        Ok(object) if tables::wants_table(accept(headers)) => {
            let version = object["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            axum::Json(tables::table(rt, &[object], &version)).into_response()
        }
        other => respond(StatusCode::OK, other),
    }
}

fn replace(
    shared: &Shared,
    rt: &'static ResourceType,
    ns: Option<&str>,
    name: &str,
    body: &Bytes,
) -> Response {
    let result = parse_body(body).and_then(|object| shared.store().replace(rt, ns, name, object));
    respond(StatusCode::OK, result)
}

fn patch(
    shared: &Shared,
    rt: &'static ResourceType,
    ns: Option<&str>,
    name: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let Some(patch_type) = PatchType::from_media_type(media) else {
        return ApiError::unsupported_media_type(content_type).into_response();
    };
    let result =
        parse_body(body).and_then(|p| shared.store().patch_as(rt, ns, name, &p, patch_type));
    respond(StatusCode::OK, result)
}

fn delete(shared: &Shared, rt: &'static ResourceType, ns: Option<&str>, name: &str) -> Response {
    respond(StatusCode::OK, shared.store().delete(rt, ns, name))
}

/// Whether the resource table lets clients do `verb` on `rt`.
fn serves(rt: &ResourceType, verb: &str) -> bool {
    rt.capabilities.verbs.contains(&verb)
}

/// Adds `method` to `router` when `rt` serves `verb`; a method not served is answered as the
/// real server does (405 `MethodNotAllowed`).
fn when_served(
    router: MethodRouter<Arc<Shared>>,
    rt: &ResourceType,
    verb: &str,
    method: MethodRouter<Arc<Shared>>,
) -> MethodRouter<Arc<Shared>> {
    if serves(rt, verb) {
        router.merge(method)
    } else {
        router
    }
}

fn methods(rt: &'static ResourceType) -> MethodRouter<Arc<Shared>> {
    let plural = rt.qualified();
    MethodRouter::new().fallback(move |method: axum::http::Method| async move {
        ApiError::method_not_allowed(&method, &plural)
    })
}

fn collection(rt: &'static ResourceType) -> MethodRouter<Arc<Shared>> {
    let listing = get(
        move |s: AppState, UrlPath(ns): UrlPath<String>, q: Params, h: HeaderMap| async move {
            list(s, rt, Some(&ns), q, &h)
        },
    );
    let creating = post(
        move |State(s): AppState, UrlPath(ns): UrlPath<String>, body: Bytes| async move {
            create(&s, rt, Some(&ns), &body)
        },
    );
    let router = when_served(methods(rt), rt, "list", listing);
    when_served(router, rt, "create", creating)
}

fn item(rt: &'static ResourceType) -> MethodRouter<Arc<Shared>> {
    type NsName = UrlPath<(String, String)>;
    let mut router = methods(rt);
    router = when_served(
        router,
        rt,
        "get",
        get(
            move |State(s): AppState, UrlPath((ns, name)): NsName, h: HeaderMap| async move {
                get_one(&s, rt, Some(&ns), &name, &h)
            },
        ),
    );
    router = when_served(
        router,
        rt,
        "update",
        put(
            move |State(s): AppState, UrlPath((ns, name)): NsName, body: Bytes| async move {
                replace(&s, rt, Some(&ns), &name, &body)
            },
        ),
    );
    router = when_served(
        router,
        rt,
        "patch",
        axum::routing::patch(
            move |State(s): AppState,
                  UrlPath((ns, name)): NsName,
                  headers: HeaderMap,
                  body: Bytes| async move {
                patch(&s, rt, Some(&ns), &name, &headers, &body)
            },
        ),
    );
    when_served(
        router,
        rt,
        "delete",
        axum::routing::delete(
            move |State(s): AppState, UrlPath((ns, name)): NsName| async move {
                delete(&s, rt, Some(&ns), &name)
            },
        ),
    )
}

fn cluster_collection(rt: &'static ResourceType) -> MethodRouter<Arc<Shared>> {
    let listing =
        get(move |s: AppState, q: Params, h: HeaderMap| async move { list(s, rt, None, q, &h) });
    let creating =
        post(move |State(s): AppState, body: Bytes| async move { create(&s, rt, None, &body) });
    let router = when_served(methods(rt), rt, "list", listing);
    when_served(router, rt, "create", creating)
}

fn cluster_item(rt: &'static ResourceType) -> MethodRouter<Arc<Shared>> {
    type Name = UrlPath<String>;
    let mut router = methods(rt);
    router = when_served(
        router,
        rt,
        "get",
        get(
            move |State(s): AppState, UrlPath(name): Name, h: HeaderMap| async move {
                get_one(&s, rt, None, &name, &h)
            },
        ),
    );
    router = when_served(
        router,
        rt,
        "update",
        put(
            move |State(s): AppState, UrlPath(name): Name, body: Bytes| async move {
                replace(&s, rt, None, &name, &body)
            },
        ),
    );
    router = when_served(
        router,
        rt,
        "patch",
        axum::routing::patch(
            move |State(s): AppState, UrlPath(name): Name, headers: HeaderMap, body: Bytes| async move {
                patch(&s, rt, None, &name, &headers, &body)
            },
        ),
    );
    when_served(
        router,
        rt,
        "delete",
        axum::routing::delete(move |State(s): AppState, UrlPath(name): Name| async move {
            delete(&s, rt, None, &name)
        }),
    )
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod irsa_tests;
