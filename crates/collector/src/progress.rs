//! Progress of long work (log filtering, uploads): an indicatif bar with bytes, rate and ETA
//! on a terminal; a plain log line every few seconds otherwise (CI logs, `kubectl logs`).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether bars may be drawn at all (not with `-q` or JSON logs).
static BARS_WANTED: AtomicBool = AtomicBool::new(true);

/// Every bar of the process, drawn on stderr together, so a log line can clear them first.
fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// Allows or forbids progress bars (`-q` and `--log-format json` forbid them; without a
/// terminal there are none anyway).
pub fn show_bars(wanted: bool) {
    BARS_WANTED.store(wanted, Ordering::Relaxed);
}

/// Runs `write` (a whole log line) with the bars cleared, then draws them again.
pub fn suspend<T>(write: impl FnOnce() -> T) -> T {
    bars().suspend(write)
}

/// How often the plain log line is written.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// A byte count towards a known total, shown one way or the other.
#[derive(Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

struct Inner {
    what: String,
    total: u64,
    done: AtomicU64,
    items_done: AtomicU64,
    items_total: u64,
    bar: Option<ProgressBar>,
    started: Instant,
    last_log: std::sync::Mutex<Instant>,
}

impl Progress {
    /// Progress of `what` over `total` bytes in `items` pieces (files, parts).
    pub fn new(what: &str, total: u64, items: u64) -> Self {
        let wanted = BARS_WANTED.load(Ordering::Relaxed) && std::io::stderr().is_terminal();
        let bar = wanted.then(|| {
            let bar = bars().add(ProgressBar::new(total));
            let style = ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(format!("{what} 0/{items}"));
            bar
        });
        Progress {
            inner: Arc::new(Inner {
                what: what.to_owned(),
                total,
                done: AtomicU64::new(0),
                items_done: AtomicU64::new(0),
                items_total: items,
                bar,
                started: Instant::now(),
                last_log: std::sync::Mutex::new(Instant::now()),
            }),
        }
    }

    /// Adds `bytes` done.
    pub fn add(&self, bytes: u64) {
        let inner = &self.inner;
        let done = inner.done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        match &inner.bar {
            Some(bar) => bar.set_position(done),
            None => self.maybe_log(done),
        }
    }

    /// Marks one piece (file, part) finished.
    pub fn item_done(&self) {
        let inner = &self.inner;
        let items = inner.items_done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &inner.bar {
            bar.set_message(format!("{} {items}/{}", inner.what, inner.items_total));
        }
    }

    fn maybe_log(&self, done: u64) {
        let inner = &self.inner;
        let mut last = inner
            .last_log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.elapsed() < LOG_EVERY {
            return;
        }
        *last = Instant::now();
        let elapsed = inner.started.elapsed().as_secs_f64().max(1e-3);
        let rate = done as f64 / elapsed;
        let eta = if rate > 0.0 {
            format!("{:.0} s", inner.total.saturating_sub(done) as f64 / rate)
        } else {
            "unknown".to_owned()
        };
        tracing::info!(
            "{}: {:.1}/{:.1} MB, {} of {} done, {:.1} MB/s, ETA {eta}",
            inner.what,
            done as f64 / 1e6,
            inner.total as f64 / 1e6,
            inner.items_done.load(Ordering::Relaxed),
            inner.items_total,
            rate / 1e6
        );
    }

    /// Ends the bar (or writes the last line) with a summary.
    pub fn finish(&self, summary: &str) {
        if let Some(bar) = &self.inner.bar {
            bar.finish_and_clear();
        }
        tracing::info!(
            "{}: {summary} in {:.1?}",
            self.inner.what,
            self.inner.started.elapsed()
        );
    }
}
