#!/usr/bin/env bash
# Restores a dated backup next to the live spaces, under a prefix, after
# showing what would change. Nothing is written when the plan has conflicts.
#   usage: examples/restore.sh DATE [PREFIX]    e.g. examples/restore.sh 20261121
set -euo pipefail
date=${1:?usage: restore.sh DATE [PREFIX]}
prefix=${2:-restored}
src=${BACKUP_DIR:-backups}/$date
pkg validate "$src"
pkg diff "$src" --prefix "$prefix"
pkg load "$src" --prefix "$prefix"
echo "restored $src as $prefix-<space>; undo with: pkg rollback \$(pkg history -o json | jq '.[0].id')"
