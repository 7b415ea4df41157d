//! What the API benchmarks share: the release server as a child process on a free loopback
//! port with a fresh data directory, and its resident memory.

use std::process::{Child, Command, Stdio};

/// The admin password every benchmark server starts with.
pub const PASSWORD: &str = "bench-admin-password";

/// A running `krkn-telemetry-api serve`, stopped (and its data removed) when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Spawns the server on the embedded store; it may not answer yet.
    pub fn spawn() -> Server {
        let dir = tempfile::tempdir().expect("data dir");
        let port = free_port();
        // KRKN_BENCH_SERVER runs another build of the server under the same load (A/B).
        let binary = std::env::var_os("KRKN_BENCH_SERVER")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_krkn-telemetry-api").into());
        let child = Command::new(binary)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--store",
                "local",
                "--data-dir",
            ])
            .arg(dir.path())
            .env("KRKN_TELEMETRY_ADMIN_PASSWORD", PASSWORD)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Resident memory of process `pid` in KiB (0 when it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_owned)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}
