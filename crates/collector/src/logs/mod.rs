//! Cluster logs for the run window (`logs_backup`, `KRKN-PROTOCOL.md` section 5): find the
//! logs of a gather, filter each to the window on every core, archive the kept files as
//! `logs-00.tar.gz` (or `logs-<namespace>-00.tar.gz`) and upload it.
//!
//! - [`time`]: reading the captured times.
//! - [`filter`]: the line filter and the streaming, parallel file filter.
//! - [`must_gather`]: a gather folder's layout, zone and output names.
//! - [`pods`]: the native source, container logs through the API.
//! - [`oc`]: the `oc adm must-gather` / `oc adm inspect` source.
//! - [`job`]: one job from source to folder or upload, shared by `logs` and `run`.

pub mod filter;
pub mod job;
pub mod must_gather;
pub mod oc;
pub mod pods;
pub mod time;

use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

pub use filter::{FilterError, FilterStats, LogFilter};
pub use must_gather::{Gather, LogFile};

use crate::progress::Progress;

/// What filtering a gather did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatherSummary {
    /// Logs read.
    pub files: usize,
    /// Logs with at least one kept line (one output file each).
    pub kept_files: usize,
    /// Lines and bytes over all logs.
    pub stats: FilterStats,
}

/// Filters every log of `gather` into `output_dir` (created if needed), all cores at once.
pub fn filter_gather(
    gather: &Gather,
    filter: &LogFilter,
    output_dir: &Path,
) -> std::io::Result<GatherSummary> {
    std::fs::create_dir_all(output_dir)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", output_dir.display())))?;
    let files = gather.log_files()?;
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    let progress = Progress::new("filtering logs", total, files.len() as u64);
    let results: Vec<std::io::Result<FilterStats>> = files
        .par_iter()
        .map(|file| {
            let stats = filter.filter_file(&file.path, &output_dir.join(&file.output_name))?;
            progress.add(stats.bytes);
            progress.item_done();
            Ok(stats)
        })
        .collect();
    let mut summary = GatherSummary {
        files: files.len(),
        ..GatherSummary::default()
    };
    for result in results {
        let stats = result?;
        summary.kept_files += usize::from(stats.kept > 0);
        summary.stats += stats;
    }
    progress.finish(&format!(
        "{} of {} lines kept from {} files ({} with kept lines)",
        summary.stats.kept, summary.stats.lines, summary.files, summary.kept_files
    ));
    Ok(summary)
}

/// A writer that counts and hashes what goes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Archives the files of `folder` (flat, as krkn does) into a `.tar.gz` at `archive`;
/// returns its length and SHA-256, computed while it was written.
pub fn archive_folder(folder: &Path, archive: &Path) -> std::io::Result<(u64, [u8; 32])> {
    let annotate = |path: &Path, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
    };
    let mut names: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|e| annotate(folder, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let dir = archive.parent().unwrap_or(Path::new("."));
    let temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| annotate(dir, e))?;
    let file = temp
        .as_file()
        .try_clone()
        .map_err(|e| annotate(archive, e))?;
    let hashing = Hashing {
        inner: std::io::BufWriter::new(file),
        hasher: Sha256::new(),
        len: 0,
    };
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        hashing,
        flate2::Compression::default(),
    ));
    builder.mode(tar::HeaderMode::Deterministic);
    for path in &names {
        let name = path.file_name().unwrap_or_default();
        builder
            .append_path_with_name(path, name)
            .map_err(|e| annotate(path, e))?;
    }
    let mut hashing = builder
        .into_inner()
        .and_then(flate2::write::GzEncoder::finish)
        .map_err(|e| annotate(archive, e))?;
    hashing.flush().map_err(|e| annotate(archive, e))?;
    let Hashing { inner, hasher, len } = hashing;
    let file = inner
        .into_inner()
        .map_err(|e| annotate(archive, e.into_error()))?;
    file.sync_all().map_err(|e| annotate(archive, e))?;
    let digest: [u8; 32] = hasher.finalize().into();
    temp.persist(archive)
        .map_err(|e| annotate(archive, e.error))?;
    Ok((len, digest))
}
