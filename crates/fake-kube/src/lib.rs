//! A fake Kubernetes API server for tests and benchmarks: it serves recorded objects from real
//! clusters over HTTP or HTTPS to the real `kube` client, the way an API server would.
//!
//! What it does, and nothing more:
//! - lists (with `limit`/`continue` paging and `remainingItemCount`), metadata-only lists
//!   (`Accept: …;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`), get by name, `/version`,
//!   and the discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`);
//! - OpenShift's API groups only when the fixture is an OpenShift cluster (404 otherwise);
//! - a synthetic large cluster generated page by page ([`SyntheticCluster`]);
//! - injected faults (delays, hangs, error statuses) by path prefix ([`Fault`]);
//! - `pods/exec` over the websocket channel protocol, running the command here with container
//!   paths mapped to local folders ([`ExecMount`]), and broken streams ([`ExecFault`]);
//! - `pods/log` from files, with `sinceTime` and `timestamps` ([`PodLog`]);
//! - a record of every request with the RBAC attributes the real server would check
//!   ([`RecordedRequest`]), and the bytes it sent.
//!
//! Modules:
//! - [`cluster`]: the objects, loaded from fixture folders; [`synthetic`]: generated bulk.
//! - [`resources`]: the resource table and the discovery documents.
//! - `server`: accepting connections, routing, faults, the request record.
//! - `paging`: `limit`/`continue` pages and list bodies streamed in chunks.
//! - `response`: response bodies and the small answers every handler builds.
//! - `exec`: `pods/exec` over the websocket channel protocol; `logs`: `pods/log` from files.
//! - `tls`: the throw-away CA; [`kubeconfig`]: the kubeconfig that points at the server.
//!
//! ```no_run
//! use krkn_telemetry_fake_kube::{Cluster, FakeKube};
//!
//! let cluster = Cluster::from_dir("../shared/fixtures/clusters/ocp-4.4".as_ref())?;
//! let server = FakeKube::builder(cluster).https().start()?;
//! server.write_kubeconfig("/tmp/kubeconfig".as_ref())?;
//! // ... run the client ...
//! assert!(server.requests().iter().any(|r| r.path == "/version"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cluster;
mod exec;
pub mod kubeconfig;
mod logs;
mod paging;
pub mod resources;
mod response;
mod server;
pub mod synthetic;
mod tls;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use cluster::{Cluster, FixtureError};
pub use exec::{ExecFault, ExecMount};
pub use logs::PodLog;
pub use synthetic::SyntheticCluster;
pub use tls::{Tls, TlsError, generate as throwaway_tls};

/// The bearer token the fake server accepts, written into its kubeconfig.
pub const TOKEN: &str = "fake-kube-token";

/// Something to go wrong with requests whose path starts with a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally, but only after this long.
    Delay(Duration),
    /// Never answer (the client's deadline must save it).
    Hang,
    /// Answer with this HTTP status and a `Status` body.
    Status(u16),
}

/// A fault and the requests it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Requests whose path starts with this are affected.
    pub path_prefix: String,
    /// What happens to them.
    pub fault: Fault,
}

/// What a request asked for, in the terms RBAC uses (as the real API server derives them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A request for an API resource.
    Resource {
        /// `get`, `list` or `watch`.
        verb: String,
        /// API group (`""` for core).
        group: String,
        /// Plural resource name.
        resource: String,
        /// Subresource (`log`, `exec`), when any.
        subresource: Option<String>,
        /// Namespace, for namespaced requests.
        namespace: Option<String>,
        /// Object name, for requests on one object.
        name: Option<String>,
    },
    /// A request for a path that is not a resource (`/version`, discovery).
    NonResource {
        /// Lower-case HTTP verb.
        verb: String,
    },
}

/// One request the fake server saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// URL path.
    pub path: String,
    /// Raw query string (empty when none).
    pub query: String,
    /// The `Accept` header, when sent.
    pub accept: Option<String>,
    /// What RBAC would see.
    pub access: Access,
    /// Status code of the answer.
    pub status: u16,
    /// Bytes of response body sent (so far, for a body still streaming).
    pub bytes: u64,
}

/// Options for a fake server before it starts.
pub struct FakeKubeBuilder {
    cluster: Cluster,
    https: bool,
    faults: Vec<FaultRule>,
    exec_mounts: Vec<ExecMount>,
    pod_logs: Vec<PodLog>,
}

impl FakeKubeBuilder {
    /// Serve over HTTPS with a throw-away CA (the kubeconfig carries the CA).
    pub fn https(mut self) -> Self {
        self.https = true;
        self
    }

    /// Injects a fault from the start.
    pub fn fault(mut self, path_prefix: &str, fault: Fault) -> Self {
        self.faults.push(FaultRule {
            path_prefix: path_prefix.to_owned(),
            fault,
        });
        self
    }

    /// Lets `pods/exec` run commands in a pod's container, with `mount.container_path` standing
    /// for a local folder.
    pub fn exec_mount(mut self, mount: ExecMount) -> Self {
        self.exec_mounts.push(mount);
        self
    }

    /// Serves a container's log (`pods/log`) from a file.
    pub fn pod_log(mut self, log: PodLog) -> Self {
        self.pod_logs.push(log);
        self
    }

    /// Starts the server on a free loopback port, on its own thread and runtime, so it serves
    /// whether the test is async or blocks on a child process.
    pub fn start(self) -> Result<FakeKube, StartError> {
        FakeKube::start(self)
    }

    /// Starts the server on `address` (e.g. `127.0.0.1:0`).
    pub fn start_on(self, address: SocketAddr) -> Result<FakeKube, StartError> {
        FakeKube::start_on(self, address)
    }
}

/// Why the fake server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listener or runtime could not be set up.
    #[error("cannot start the fake API server: {0}")]
    Io(#[from] std::io::Error),
    /// The certificates could not be made.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// State shared by the server and its handle.
pub(crate) struct Shared {
    pub cluster: Cluster,
    pub faults: Mutex<Vec<FaultRule>>,
    pub requests: Mutex<Vec<(RecordedRequest, Arc<AtomicU64>)>>,
    pub bytes_sent: AtomicU64,
    pub exec_mounts: Vec<ExecMount>,
    pub pod_logs: Vec<PodLog>,
    /// Faults for the next exec streams, taken one per stream (last pushed first).
    pub exec_faults: Mutex<Vec<ExecFault>>,
}

/// A running fake API server; stops when dropped.
pub struct FakeKube {
    address: SocketAddr,
    ca_pem: Option<String>,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeKube {
    /// A server for `cluster` (plain HTTP unless [`FakeKubeBuilder::https`]).
    pub fn builder(cluster: Cluster) -> FakeKubeBuilder {
        FakeKubeBuilder {
            cluster,
            https: false,
            faults: Vec::new(),
            exec_mounts: Vec::new(),
            pod_logs: Vec::new(),
        }
    }

    fn start(builder: FakeKubeBuilder) -> Result<FakeKube, StartError> {
        Self::start_on(builder, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    fn start_on(builder: FakeKubeBuilder, address: SocketAddr) -> Result<FakeKube, StartError> {
        let tls = builder.https.then(tls::generate).transpose()?;
        let listener = std::net::TcpListener::bind(address)?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            cluster: builder.cluster,
            faults: Mutex::new(builder.faults),
            requests: Mutex::new(Vec::new()),
            bytes_sent: AtomicU64::new(0),
            exec_mounts: builder.exec_mounts,
            pod_logs: builder.pod_logs,
            exec_faults: Mutex::new(Vec::new()),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-kube")
            .enable_all()
            .build()?;
        let (shutdown, stop) = tokio::sync::oneshot::channel();
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.server_config));
        let serving = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fake-kube".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        () = server::serve(listener, acceptor, serving) => {}
                        _ = stop => {}
                    }
                });
                // In-flight connections (a hung request) must not keep the thread alive.
                runtime.shutdown_background();
            })?;
        Ok(FakeKube {
            address,
            ca_pem,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The server's base URL (`http://127.0.0.1:PORT` or `https://…`).
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.address)
    }

    /// The listening address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// PEM of the CA that signed the server certificate (HTTPS only).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// A kubeconfig that points the client at this server.
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig::render(&self.url(), self.ca_pem.as_deref(), TOKEN)
    }

    /// Writes [`FakeKube::kubeconfig_yaml`] to `path`.
    pub fn write_kubeconfig(&self, path: &std::path::Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// Every request seen so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        let requests = self
            .shared
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        requests
            .iter()
            .map(|(request, bytes)| RecordedRequest {
                bytes: bytes.load(Ordering::Relaxed),
                ..request.clone()
            })
            .collect()
    }

    /// Forgets the requests recorded so far.
    pub fn clear_requests(&self) {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// Total response body bytes sent since the start.
    pub fn bytes_sent(&self) -> u64 {
        self.shared.bytes_sent.load(Ordering::Relaxed)
    }

    /// Injects a fault for requests whose path starts with `path_prefix`.
    pub fn inject(&self, path_prefix: &str, fault: Fault) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(FaultRule {
                path_prefix: path_prefix.to_owned(),
                fault,
            });
    }

    /// Makes the next exec stream fail as `fault` says.
    pub fn inject_exec_fault(&self, fault: ExecFault) {
        self.shared
            .exec_faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(fault);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
