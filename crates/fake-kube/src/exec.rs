//! `pods/exec` over a websocket, speaking the API server's channel protocol
//! (`v5.channel.k8s.io` or `v4.channel.k8s.io`): each binary message starts with its channel
//! (1 stdout, 2 stderr, 3 the final `Status`). The command runs on this machine, with the
//! container paths of an [`ExecMount`] mapped to a local folder, so `tar cf - -C /prometheus
//! wal` streams a real directory exactly as it would stream out of a container.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures_util::SinkExt;
use hyper::body::Incoming;
use hyper::header::{
    CONNECTION, HeaderMap, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, UPGRADE,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Message, handshake::derive_accept_key};

use crate::Shared;
use crate::response::Body;

/// A container path served from a local folder for exec (`/prometheus` → a TSDB folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecMount {
    /// Namespace of the pod.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
    /// Path inside the container, e.g. `/prometheus`.
    pub container_path: String,
    /// The local folder it stands for.
    pub host_dir: PathBuf,
}

/// What can go wrong with an exec stream, for fault tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecFault {
    /// Drop the connection, without a status, after sending this many stdout bytes.
    BreakAfter(u64),
}

/// The exec request's parameters.
struct ExecQuery {
    command: Vec<String>,
    container: Option<String>,
}

fn parse(query: &str) -> ExecQuery {
    let mut out = ExecQuery {
        command: Vec::new(),
        container: None,
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "command" => out.command.push(value.into_owned()),
            "container" => out.container = Some(value.into_owned()),
            _ => {}
        }
    }
    out
}

/// A refusal before any upgrade: the status and the API server's `Status` object.
fn refuse(code: StatusCode, reason: &str, message: &str) -> (StatusCode, Response<Body>) {
    let body = crate::response::json_response(
        code,
        &crate::resources::status(code.as_u16(), reason, message),
    );
    (code, body)
}

/// The websocket key and the channel protocol chosen from those offered, or why the request
/// is a bad one.
fn handshake(headers: &HeaderMap) -> Result<(Vec<u8>, String), String> {
    let upgrade = headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(key) = headers
        .get(SEC_WEBSOCKET_KEY)
        .map(|k| k.as_bytes().to_vec())
    else {
        return Err("exec needs a websocket upgrade".to_owned());
    };
    let offered = headers
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let protocol = offered
        .split(',')
        .map(str::trim)
        .find(|p| *p == "v5.channel.k8s.io" || *p == "v4.channel.k8s.io")
        .map(str::to_owned);
    match (protocol, upgrade) {
        (Some(protocol), true) => Ok((key, protocol)),
        _ => Err(format!(
            "exec needs a websocket upgrade with a channel protocol, offered {offered:?}"
        )),
    }
}

/// The command with the mount's container path replaced by its local folder.
fn mapped_command(mount: &ExecMount, command: &[String]) -> Vec<String> {
    command
        .iter()
        .map(|arg| match arg.strip_prefix(&mount.container_path) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                format!("{}{rest}", mount.host_dir.display())
            }
            _ => arg.clone(),
        })
        .collect()
}

/// `101 Switching Protocols` with the websocket headers.
fn switching_protocols(key: &[u8], protocol: &str) -> Response<Body> {
    let mut response = Response::new(crate::response::empty_body());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(
        UPGRADE,
        hyper::header::HeaderValue::from_static("websocket"),
    );
    h.insert(
        CONNECTION,
        hyper::header::HeaderValue::from_static("Upgrade"),
    );
    if let Ok(value) = derive_accept_key(key).parse() {
        h.insert(SEC_WEBSOCKET_ACCEPT, value);
    }
    if let Ok(value) = protocol.parse() {
        h.insert(SEC_WEBSOCKET_PROTOCOL, value);
    }
    response
}

/// Answers `GET …/pods/<pod>/exec` with a websocket upgrade and runs the command.
pub(crate) fn exec(
    shared: Arc<Shared>,
    mut request: Request<Incoming>,
    namespace: &str,
    pod: &str,
    query: &str,
) -> (StatusCode, Response<Body>) {
    let query = parse(query);
    let (key, protocol) = match handshake(request.headers()) {
        Ok(handshake) => handshake,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, "BadRequest", &message),
    };
    let mount = shared.exec_mounts.iter().find(|m| {
        m.namespace == namespace
            && m.pod == pod
            && query.container.as_deref().is_none_or(|c| c == m.container)
    });
    let Some(mount) = mount else {
        let message = format!("pods \"{pod}\" not found (or no such container to exec in)");
        return refuse(StatusCode::NOT_FOUND, "NotFound", &message);
    };
    if query.command.is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "you must specify at least 1 command",
        );
    }
    let command = mapped_command(mount, &query.command);
    let fault = shared
        .exec_faults
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .pop();
    let upgraded = hyper::upgrade::on(&mut request);
    let bytes_counter = Arc::clone(&shared);
    tokio::spawn(async move {
        let Ok(upgraded) = upgraded.await else {
            return;
        };
        let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            None,
        )
        .await;
        run(ws, command, fault, bytes_counter).await;
    });
    (
        StatusCode::SWITCHING_PROTOCOLS,
        switching_protocols(&key, &protocol),
    )
}

type Ws = tokio_tungstenite::WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

fn framed(channel: u8, data: &[u8]) -> Message {
    let mut frame = Vec::with_capacity(data.len() + 1);
    frame.push(channel);
    frame.extend_from_slice(data);
    Message::Binary(Bytes::from(frame))
}

/// Runs the command and streams its output; the last message is its `Status` on channel 3.
async fn run(mut ws: Ws, command: Vec<String>, fault: Option<ExecFault>, shared: Arc<Shared>) {
    let spawned = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            let status = json!({"metadata": {}, "status": "Failure", "reason": "InternalError",
                "message": format!("exec: {}: {error}", command[0])});
            let _ = ws.send(framed(3, status.to_string().as_bytes())).await;
            let _ = ws.close(None).await;
            return;
        }
    };
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return;
    };
    let limit = fault.map(|ExecFault::BreakAfter(bytes)| bytes);
    let mut sent = 0u64;
    let mut out = vec![0u8; 64 * 1024];
    let mut err = vec![0u8; 8 * 1024];
    let mut stdout_open = true;
    let mut stderr_open = true;
    while stdout_open || stderr_open {
        tokio::select! {
            read = stdout.read(&mut out), if stdout_open => match read {
                Ok(0) | Err(_) => stdout_open = false,
                Ok(n) => {
                    let n = match limit {
                        Some(limit) if sent + n as u64 >= limit => (limit - sent) as usize,
                        _ => n,
                    };
                    if ws.send(framed(1, &out[..n])).await.is_err() {
                        return;
                    }
                    sent += n as u64;
                    shared.bytes_sent.fetch_add(n as u64, Ordering::Relaxed);
                    if limit.is_some_and(|l| sent >= l) {
                        // The stream breaks: no status, no close handshake.
                        drop(ws);
                        let _ = child.kill().await;
                        return;
                    }
                }
            },
            read = stderr.read(&mut err), if stderr_open => match read {
                Ok(0) | Err(_) => stderr_open = false,
                Ok(n) => {
                    if ws.send(framed(2, &err[..n])).await.is_err() {
                        return;
                    }
                }
            },
        }
    }
    let status = match child.wait().await {
        Ok(exit) if exit.success() => json!({"metadata": {}, "status": "Success"}),
        Ok(exit) => json!({"metadata": {}, "status": "Failure",
            "message": format!("command terminated with non-zero exit code: {exit}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": exit.code().unwrap_or(-1).to_string()}]}}),
        Err(error) => json!({"metadata": {}, "status": "Failure", "reason": "InternalError",
            "message": error.to_string()}),
    };
    let _ = ws.send(framed(3, status.to_string().as_bytes())).await;
    let _ = ws.close(None).await;
}
