#!/usr/bin/env bash
# A fresh, empty ext4 file system for A/B runs of the API load bench (root only; optional).
#
# Filing speed on ext4 depends on the file system's history: without a journal (like this
# project's VM), allocating an inode skips every inode freed in the last 60 s (300 s while its
# inode table block is dirty), and each bench run frees 20,000. Runs on the same disk then
# get slower one after the other. A file system made fresh for each run has no history.
#
# Usage: sudo scripts/fresh-bench-fs.sh [IMAGE] [MOUNTPOINT]
#   then: TMPDIR=MOUNTPOINT target/release/deps/load-* --bench
#   (KRKN_BENCH_SERVER=/path/to/krkn-telemetry-api runs another build of the server.)
# The image (default /work/benchfs.img, 6 GB sparse) sits on the disk under test and is
# attached with direct I/O, so flushes reach that disk. Like the VM's root: no journal.
set -euo pipefail
image="${1:-/work/benchfs.img}"
mountpoint="${2:-/mnt/benchfs}"
mkdir -p "$mountpoint"
umount "$mountpoint" 2>/dev/null || true
for device in $(losetup -j "$image" | cut -d: -f1); do losetup -d "$device"; done
truncate -s 6G "$image"
mkfs.ext4 -q -F -O ^has_journal "$image"
device="$(losetup --direct-io=on -f --show "$image")"
mount -o relatime "$device" "$mountpoint"
chmod 1777 "$mountpoint"
echo "fresh ext4 (no journal) on $device at $mountpoint"
