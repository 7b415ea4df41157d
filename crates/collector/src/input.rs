//! What the commands read: a file or standard input, and krkn's run output inside it (the
//! JSON itself, or the JSON after the last `Chaos data:` line of krkn's report or log).

use std::path::Path;

use anyhow::Context;

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
            .context("cannot read standard input")?;
        Ok(("<stdin>".to_owned(), bytes))
    } else {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok((path.display().to_string(), bytes))
    }
}

/// The marker krkn logs before the run output (`logging.info("Chaos data:\n" + json)`).
pub const CHAOS_DATA_MARKER: &[u8] = b"Chaos data:";

/// The run output in `bytes`: the JSON itself, or, in krkn's report or log (`kraken.report`),
/// the JSON object after the last `Chaos data:` line.
pub fn run_output(bytes: &[u8]) -> &[u8] {
    let starts_as_json = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    if starts_as_json {
        return bytes;
    }
    let Some(marker) = bytes
        .windows(CHAOS_DATA_MARKER.len())
        .rposition(|w| w == CHAOS_DATA_MARKER)
    else {
        return bytes;
    };
    let after = &bytes[marker + CHAOS_DATA_MARKER.len()..];
    let Some(open) = after.iter().position(|b| *b == b'{') else {
        return bytes;
    };
    let json = &after[open..];
    // The object ends where a JSON value ends; log lines may follow it.
    let mut values =
        serde_json::Deserializer::from_slice(json).into_iter::<serde::de::IgnoredAny>();
    match values.next() {
        Some(Ok(_)) => &json[..values.byte_offset()],
        _ => json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_output_is_found_in_a_krkn_report() {
        let json = br#"{"telemetry": {"scenarios": []}, "critical_alerts": null}"#;
        assert_eq!(run_output(json), json);
        let mut report = b"2025-04-22 17:41:20,001 [INFO] Chaos data:\n{\"old\": 1}\n".to_vec();
        report.extend_from_slice(b"2025-04-22 17:41:23,456 [INFO] Chaos data:\n");
        report.extend_from_slice(json);
        report
            .extend_from_slice(b"\n2025-04-22 17:41:24,000 [INFO] telemetry data will be stored\n");
        assert_eq!(run_output(&report), json);
        // Neither JSON nor a report: handed on as is, so the parser explains what it sees.
        assert_eq!(run_output(b"not json"), b"not json");
    }
}
