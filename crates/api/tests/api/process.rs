//! The real `krkn-telemetry-api serve` as a child process, for tests that need what only a
//! process has: its own memory (read from `/proc`), its connections, its start-up.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The password the process's `admin` gets.
pub const ADMIN_PASSWORD: &str = "admin-password-hostile";

/// A server process on a free loopback port over a fresh embedded store.
pub struct ServerProcess {
    pub url: String,
    pub address: std::net::SocketAddr,
    pub child: Child,
    pub dir: tempfile::TempDir,
}

/// A free loopback port (bound and released; the test binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl ServerProcess {
    /// Starts the server with `env` on top of an admin password, and returns once it is
    /// ready (`/healthz` answers 200).
    pub async fn start(env: &[(&str, &str)]) -> ServerProcess {
        let server = Self::spawn(env);
        server.wait_ready().await;
        server
    }

    /// Starts the server without waiting for it.
    pub fn spawn(env: &[(&str, &str)]) -> ServerProcess {
        let dir = tempfile::tempdir().expect("data dir");
        let port = free_port();
        let address: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let mut command = Command::new(env!("CARGO_BIN_EXE_krkn-telemetry-api"));
        command
            .args(["serve", "--listen", &address.to_string(), "--data-dir"])
            .arg(dir.path())
            .env("KRKN_TELEMETRY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("the server binary starts");
        ServerProcess {
            url: format!("http://{address}"),
            address,
            child,
            dir,
        }
    }

    /// Waits until `/healthz` answers 200.
    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(response) = client.get(format!("{}/healthz", self.url)).send().await
                && response.status() == 200
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process id, for `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// Adds a user through the binary's own `user add` (the store allows a second opener).
    pub fn add_user(&self, name: &str, role: &str, groups: &str, password: &str) {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_krkn-telemetry-api"))
            .args([
                "user",
                "add",
                name,
                "--role",
                role,
                "--groups",
                groups,
                "--data-dir",
            ])
            .arg(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("user add starts");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(password.as_bytes())
            .expect("password written");
        let out = child.wait_with_output().expect("user add ends");
        assert!(
            out.status.success(),
            "user add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The resident memory of a process in KiB, from `/proc/<pid>/status`.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Samples a process's RSS every 10 ms, keeps the peak, and kills the process once it passes
/// `guard_kib` (an attack that is not stopped must not take the machine down with it).
pub struct RssWatch {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    tripped: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssWatch {
    /// Starts watching `pid`.
    pub fn start(pid: u32, guard_kib: u64) -> RssWatch {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let tripped = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak, stop, tripped) = (peak.clone(), stop.clone(), tripped.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some(rss) = rss_kib(pid) else { return };
                    peak.fetch_max(rss, Ordering::Relaxed);
                    if rss > guard_kib {
                        tripped.store(true, Ordering::Relaxed);
                        let _ = Command::new("kill")
                            .args(["-KILL", &pid.to_string()])
                            .status();
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        RssWatch {
            peak,
            stop,
            tripped,
            thread: Some(thread),
        }
    }

    /// Stops watching; returns the peak in KiB, failing the test if the guard tripped.
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        assert!(
            !self.tripped.load(Ordering::Relaxed),
            "the server passed the memory guard ({} KiB) and was killed",
            self.peak.load(Ordering::Relaxed)
        );
        self.peak.load(Ordering::Relaxed)
    }
}
