#!/usr/bin/env bash
# The README's RUN command: install what is missing, build Stratus (release), and serve.
#
# `stratus serve` defaults: data dir ./data, listening on 127.0.0.1:8080, demo hosts on libvirt's
# test driver. Extra arguments go to `stratus serve` unchanged, e.g.
#   bash scripts/run.sh --port 9090 --hypervisor qemu:///system
# Set STRATUS_ADMIN_PASSWORD before the first start to choose the admin password (otherwise one is
# generated and printed once).
set -euo pipefail

# Work from the repository root whatever the caller's directory.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

echo "run: building stratus (release)"
swift build -c release --product stratus

echo "run: starting stratus serve $*"
exec .build/release/stratus serve "$@"
