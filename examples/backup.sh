#!/usr/bin/env bash
# Dated backup of a hub: writes backups/YYYYMMDD (one package per day; a
# second run on the same day replaces that day's backup atomically).
#   usage: examples/backup.sh [SPACE...]      (no SPACE: every space)
set -euo pipefail
dest=${BACKUP_DIR:-backups}/$(date +%Y%m%d)
args=()
for space in "$@"; do args+=(--space "$space"); done
mkdir -p "$(dirname "$dest")"
pkg create "$dest" "${args[@]}" --force --description "backup of $(hostname) on $(date -u +%FT%TZ)"
pkg validate "$dest" -q >/dev/null
echo "backup written to $dest"
