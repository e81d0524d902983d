#!/usr/bin/env bash
# Set up, then run the whole test suite (unit and integration, on real Docker and nats-server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test
