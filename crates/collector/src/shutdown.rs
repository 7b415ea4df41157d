//! Stopping cleanly on SIGTERM (how Kubernetes stops a Job's pod; the collector may be PID 1,
//! which gets no default handler) and SIGINT (Ctrl-C). The first signal asks every step to
//! start no new work and gives what is in flight the grace period to finish; then the command
//! exits with 128 + the signal's number (143, 130) and one line saying what is done and how to
//! resume. A second signal stops at once.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// The signals the collector stops on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: Kubernetes, `kill`, systemd.
    Term,
    /// SIGINT: Ctrl-C.
    Int,
}

impl Signal {
    /// The exit status a shell reports for a process this signal stopped (128 + its number).
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Term => 143,
            Signal::Int => 130,
        }
    }

    /// `SIGTERM` or `SIGINT`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Term => "SIGTERM",
            Signal::Int => "SIGINT",
        }
    }
}

/// Whether a stop was asked for, shared by every step of a command.
#[derive(Debug, Clone)]
pub struct Shutdown {
    token: CancellationToken,
    signal: Arc<OnceLock<Signal>>,
    grace: Duration,
}

impl Shutdown {
    /// A shutdown nobody has asked for yet; in-flight work gets `grace` once it is.
    pub fn new(grace: Duration) -> Self {
        Shutdown {
            token: CancellationToken::new(),
            signal: Arc::new(OnceLock::new()),
            grace,
        }
    }

    /// Listens for SIGTERM and SIGINT on the current runtime: the first asks for the stop, a
    /// second exits at once. Fails only when the signal handlers cannot be installed.
    pub fn listen(grace: Duration) -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let shutdown = Shutdown::new(grace);
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let listener = shutdown.clone();
        tokio::spawn(async move {
            loop {
                let signal = tokio::select! {
                    _ = term.recv() => Signal::Term,
                    _ = int.recv() => Signal::Int,
                };
                if listener.requested().is_some() {
                    tracing::warn!("second signal ({}): stopping now", signal.name());
                    std::process::exit(i32::from(signal.exit_code()));
                }
                listener.request(signal);
            }
        });
        Ok(shutdown)
    }

    /// Asks for the stop as `signal` would (what the signal listener does).
    pub fn request(&self, signal: Signal) {
        if self.signal.set(signal).is_ok() {
            tracing::warn!(
                "{}: starting no new work; what is in flight gets {:.0?} to finish",
                signal.name(),
                self.grace
            );
            self.token.cancel();
        }
    }

    /// The signal that asked for the stop, if one did.
    pub fn requested(&self) -> Option<Signal> {
        self.signal.get().copied()
    }

    /// Resolves when a stop is asked for.
    pub async fn wait(&self) {
        self.token.cancelled().await;
    }

    /// How long in-flight work may take once the stop is asked for.
    pub fn grace(&self) -> Duration {
        self.grace
    }
}
