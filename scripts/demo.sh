#!/usr/bin/env bash
# The main job: set up, start the mesh on this machine, deploy the sample functions, invoke them cold and
# warm, print a report. Arguments go to the demo (e.g. --keep-running).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/scripts/demo.js "$@"
