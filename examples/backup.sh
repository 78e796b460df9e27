#!/usr/bin/env bash
# Dated backup of a hub: writes backups/YYYYMMDD (one package per day; a
# second run on the same day replaces that day's backup atomically). When an
# earlier backup exists, files that did not change are hard-linked to it
# (`--link-dest`, as rsync does), so a day without changes costs almost no
# space; each backup is still a complete package on its own. `created_at`
# records when the hub last changed, so an unchanged hub gives a
# byte-identical package (its manifest is linked too).
#   usage: examples/backup.sh [SPACE...]      (no SPACE: every space)
set -euo pipefail
root=${BACKUP_DIR:-backups}
today=$(date +%Y%m%d)
dest=$root/$today
args=()
for space in "$@"; do args+=(--space "$space"); done
mkdir -p "$root"
# The newest earlier backup (YYYYMMDD sorts by date), if any.
prev=$(find "$root" -mindepth 1 -maxdepth 1 -type d -name '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' ! -name "$today" | sort | tail -n 1)
if [ -n "$prev" ]; then args+=(--link-dest "$prev"); fi
pkg create "$dest" "${args[@]}" --force --created-at hub --description "backup of the hub on $(hostname)"
pkg validate "$dest" -q >/dev/null
echo "backup written to $dest${prev:+ (unchanged files linked to $prev)}"
