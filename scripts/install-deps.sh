#!/usr/bin/env bash
# Install what Stratus needs to build and test, and only what is missing.
#
# - Debian packages: C libraries the Swift shims link against, a libvirt daemon + QEMU for the
#   real-hypervisor integration tests, Debian's chromium + chromedriver for the browser test, and
#   an SMTP server for the alarm e-mail tests, and Prometheus' `promtool` as a real client of the
#   Prometheus-compatible query API.
# - PyPI: selenium (it drives /usr/bin/chromedriver; no driver is ever downloaded).
#
# Idempotent and quiet: when everything is present it runs no apt/pip command at all and takes
# well under a second. Prints one line per action it takes.
#
# Usage: bash scripts/install-deps.sh
set -euo pipefail

# Debian packages the build and the test suite need.
readonly APT_PACKAGES=(
    libvirt-dev librocksdb-dev libsqlite3-dev libcurl4-openssl-dev libssl-dev pkg-config
    libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
    chromium chromium-driver python3-aiosmtpd prometheus
)

log() { printf 'install-deps: %s\n' "$*"; }

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [[ ${EUID} -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "error: '$*' needs root and sudo is not installed; run this script as root" >&2
        exit 1
    fi
}

# True when dpkg reports the package as fully installed.
is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# MARK: Debian packages
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    is_installed "${pkg}" || missing+=("${pkg}")
done

if ((${#missing[@]} > 0)); then
    log "installing missing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    # Packages such as prometheus start their own daemon on install; a policy-rc.d that answers
    # 101 ("action not allowed") keeps them stopped. Only ours is removed afterwards.
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e ${policy} ]]; then
        as_root sh -c "printf '#!/bin/sh\\nexit 101\\n' > ${policy} && chmod +x ${policy}"
        trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    log "Debian packages installed"
else
    log "Debian packages: all ${#APT_PACKAGES[@]} present"
fi

# MARK: Python packages
if ! command -v python3 >/dev/null 2>&1; then
    log "error: python3 not found on PATH; install Python 3 (Debian: python3 python3-pip)" >&2
    exit 1
fi
if python3 -c 'import selenium' >/dev/null 2>&1; then
    log "selenium: present"
else
    log "installing selenium from PyPI"
    # --root-user-action=ignore: CI runs as root on purpose; skip pip's warning about it.
    python3 -m pip install -q --root-user-action=ignore selenium
    log "selenium installed"
fi

# MARK: Toolchain (not installed here: it is large and comes from swift.org, not Debian)
if ! command -v swift >/dev/null 2>&1; then
    log "error: the Swift toolchain (swift 6) is not on PATH; install it from https://swift.org/install" >&2
    exit 1
fi
