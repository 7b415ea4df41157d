//! Log lines on stderr, as operators read them or as machines do: `krkn-telemetry: warning: …`
//! text (the default) or one JSON object per line (`--log-format json`), at the level `-q`/`-v`
//! choose (or `RUST_LOG`). Lines go through the progress bars' `suspend`, so a bar is cleared,
//! the line written whole, and the bar redrawn below it. Every warning is also kept for the
//! `--output json` result.

use std::io::Write;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `krkn-telemetry: warning: …` lines.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `message`, fields).
    Json,
}

/// Installs the logger: `verbosity` below 0 is `-q` (warnings and errors), 0 the default (our
/// info and every crate's warnings, or `RUST_LOG` when set), 1 and more `-v`, `-vv`.
pub fn init(format: LogFormat, verbosity: i8) {
    let filter = match verbosity {
        ..=-1 => tracing_subscriber::EnvFilter::new("warn"),
        0 => tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("krkn_telemetry_collector=info,warn")
        }),
        1 => tracing_subscriber::EnvFilter::new("krkn_telemetry_collector=debug,info"),
        _ => tracing_subscriber::EnvFilter::new("krkn_telemetry_collector=trace,debug"),
    };
    let lines = tracing_subscriber::fmt::layer().with_writer(BarSafeStderr);
    let lines = match format {
        LogFormat::Text => lines.event_format(PlainLine).boxed(),
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_target(false)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(lines)
        .with(KeepWarnings)
        .try_init();
}

/// `krkn-telemetry: [error: |warning: |debug: ]message [field=value …]`.
struct PlainLine;

impl<S, N> FormatEvent<S, N> for PlainLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let prefix = match *event.metadata().level() {
            Level::ERROR => "error: ",
            Level::WARN => "warning: ",
            Level::INFO => "",
            _ => "debug: ",
        };
        write!(writer, "krkn-telemetry: {prefix}")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Stderr, written with the progress bars out of the way.
struct BarSafeStderr;

impl<'a> MakeWriter<'a> for BarSafeStderr {
    type Writer = BarSafeStderr;
    fn make_writer(&'a self) -> Self::Writer {
        BarSafeStderr
    }
}

impl Write for BarSafeStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter hands over a whole line at once.
        crate::progress::suspend(|| std::io::stderr().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Copies every warning's message into the command's result (`--output json`).
struct KeepWarnings;

impl<S: Subscriber> Layer<S> for KeepWarnings {
    fn on_event(&self, event: &Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() == Level::WARN {
            let mut message = Message(String::new());
            event.record(&mut message);
            crate::report::warning(message.0);
        }
    }
}

struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.0);
        }
    }
}
