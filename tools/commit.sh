#!/usr/bin/env bash
# Commit only the given paths, serialised with other committers of this working tree.
# Usage: tools/commit.sh "message" path [path ...]
set -euo pipefail
msg=$1; shift
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
exec flock /tmp/mefast-git.lock sh -c 'git add -- "$@" && git commit -q -m "$0" -- "$@"' "$msg" "$@"
