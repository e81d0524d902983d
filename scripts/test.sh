#!/usr/bin/env bash
# Set up, then run the whole test suite (unit and integration, on real Docker and nats-server), then the
# compose smoke test (the stack brought up with docker compose, one invocation, torn down).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test
bash scripts/compose-smoke.sh
