#!/usr/bin/env bash
# The demo job run by `packaging/bootstrap.sh demo`: the main user job, asking about a
# document image, on the bundled model: assets/models/tiny-docs, 7M parameters of the VL-01
# architecture trained on synthetic documents (docs/tiny_model.md). It reads this invoice's
# total ($513.81); with -m /path/to/MiniMax-VL-01 the real model answers.
set -euo pipefail
cli="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
echo "\$ minimax-vl ask --image assets/samples/invoice.png \"What is the total amount due?\" -n 64 -v" >&2
"$cli" ask --image assets/samples/invoice.png "What is the total amount due?" -n 64 -v
