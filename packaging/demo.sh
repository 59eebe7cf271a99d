#!/usr/bin/env bash
# The demo job run by `packaging/bootstrap.sh demo`: the main user job on the bundled model.
set -euo pipefail
cli="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$cli" info -m "$root/assets/models/tiny-random"
