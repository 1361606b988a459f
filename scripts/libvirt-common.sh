# Shared names for scripts/libvirt-up.sh and scripts/libvirt-down.sh (sourced, not run).
#
# Everything the pair creates is recorded under one state directory so that `down` undoes exactly
# what `up` did and nothing else (a libvirtd someone else started is left alone).

# Where the state lives; override with STRATUS_IT_DIR to run several harnesses side by side.
STATE_DIR="${STRATUS_IT_DIR:-/tmp/stratus-it}"
# One line per daemon WE started: "<name> <pid>".
DAEMONS_FILE="${STATE_DIR}/daemons"
# Original "owner:group mode" of /dev/kvm when we changed it (see libvirt-up.sh).
KVM_PERMS_FILE="${STATE_DIR}/kvm-perms"
# Path of the temp dir holding the VM's disk.
DISK_DIR_FILE="${STATE_DIR}/disk-dir"
# KEY=VALUE lines the test script sources (set -a; . "$ENV_FILE").
ENV_FILE="${STATE_DIR}/env"
# libvirtd's own log (warnings and errors), shown when it fails to come up.
LIBVIRTD_LOG="${STATE_DIR}/libvirtd.log"

# The connection and the VM the integration tests use.
QEMU_URI="qemu:///system"
VM_NAME="stratus-it-vm"

log() { printf '%s: %s\n' "${0##*/}" "$*"; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# virsh against the system QEMU connection, bounded so a wedged daemon cannot hang the caller.
vsh() { timeout 120 virsh -q -c "${QEMU_URI}" "$@"; }

# True when the libvirt daemon answers `version` on qemu:///system. Fails at once when nothing
# listens; the first answer waits for libvirtd's QEMU capability probe (seconds on a busy box).
libvirt_answers() { timeout 60 virsh -q -c "${QEMU_URI}" version >/dev/null 2>&1; }

# True when <pid> is alive and is the program <name> (guards against a recycled pid).
pid_is() {
    local pid="$1" name="$2"
    [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null \
        && [[ "$(cat "/proc/${pid}/comm" 2>/dev/null)" == "${name}" ]]
}

# The pid in /run/<name>.pid when that process is alive and is <name>; empty otherwise.
running_pid() {
    local name="$1" pid=""
    [[ -r "/run/${name}.pid" ]] && pid="$(tr -dc '0-9' <"/run/${name}.pid")"
    if pid_is "${pid}" "${name}"; then echo "${pid}"; fi
}

# The domain's state as virsh prints it ("running", "shut off", …), or "absent".
vm_state() { vsh domstate "${VM_NAME}" 2>/dev/null || echo absent; }
