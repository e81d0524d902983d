#!/usr/bin/env bash
# The main job: set up, then replay the bundled demo scenario (a sample of the real Azure 2019 day 7)
# against the mesh started on this machine, once per start-up policy, and print the report.
# Arguments go to the load generator (see loadgen/main.ts), e.g. --policies keepalive --seed 4.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/loadgen/main.js "$@"
