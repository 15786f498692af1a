#!/usr/bin/env bash
# Hangar's load benchmark (BENCHMARKS.md): builds hangar and the bare baseline server, seeds a
# temporary Hangar on 127.0.0.1 and runs every phase against both, side by side. Flags go to
# bench/cmd/hangarbench, e.g.
#   bench/run.sh                                   # the documented run (~6 min)
#   bench/run.sh -rounds 1 -d 3s                   # a quick look
#   bench/run.sh -profile /tmp/prof                # plus one CPU profile per phase
#   bench/run.sh -before /tmp/hangar-old           # an older hangar binary side by side
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench/cmd/hangarbench "$@"
