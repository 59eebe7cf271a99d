#!/usr/bin/env bash
# The demo job run by `packaging/bootstrap.sh demo`: the main user job, asking about a
# document image, on the bundled model. That model is a tiny RANDOM one (the CLI says so on
# stderr), so the streamed answer is gibberish; with -m /path/to/MiniMax-VL-01 it is real.
set -euo pipefail
cli="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
echo "\$ minimax-vl ask --image assets/samples/invoice.png \"What is the total amount due?\" -n 64 -v" >&2
"$cli" ask --image assets/samples/invoice.png "What is the total amount due?" -n 64 -v
