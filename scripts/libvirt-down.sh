#!/usr/bin/env bash
# Undo scripts/libvirt-up.sh: destroy + undefine `stratus-it-vm`, remove its disk, stop the daemons
# that libvirt-up started (a libvirtd/virtlogd that was already running is left alone), restore
# /dev/kvm's permissions if up changed them, and remove the env file.
#
# Idempotent and safe to call when up failed halfway or never ran (test.sh calls it from a trap).
# Usage: sudo bash scripts/libvirt-down.sh
set -euo pipefail

# shellcheck source=scripts/libvirt-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/libvirt-common.sh"

# Seconds a daemon gets to exit after SIGTERM before SIGKILL.
readonly STOP_WAIT=15

[[ ${EUID} -eq 0 ]] || die "must run as root (it stops libvirtd and QEMU guests); try: sudo $0"
status=0

# MARK: The VM (only while a daemon answers; without one there is no VM to stop)
if command -v virsh >/dev/null 2>&1 && libvirt_answers; then
    state="$(vm_state)"
    if [[ "${state}" != "absent" ]]; then
        if [[ "${state}" != "shut off" ]]; then
            vsh destroy "${VM_NAME}" >/dev/null || { log "warning: could not destroy ${VM_NAME}"; status=1; }
        fi
        vsh undefine "${VM_NAME}" >/dev/null || { log "warning: could not undefine ${VM_NAME}"; status=1; }
        log "removed ${VM_NAME} (was ${state})"
    fi
fi

# MARK: The disk
if [[ -s "${DISK_DIR_FILE}" ]]; then
    disk_dir="$(cat "${DISK_DIR_FILE}")"
    # Only ever remove a directory libvirt-up made (guards against a corrupted state file).
    if [[ "${disk_dir}" == */stratus-it-vm.* ]]; then
        rm -rf "${disk_dir}"
        log "removed ${disk_dir}"
    fi
    rm -f "${DISK_DIR_FILE}"
fi

# MARK: Our daemons, newest first (libvirtd before virtlogd)
stop_daemon() {
    local name="$1" pid="$2" deadline
    if ! pid_is "${pid}" "${name}"; then
        log "${name} (pid ${pid}) already gone"
        return
    fi
    kill -TERM "${pid}"
    deadline=$((SECONDS + STOP_WAIT))
    while pid_is "${pid}" "${name}"; do
        if ((SECONDS >= deadline)); then
            log "warning: ${name} (pid ${pid}) ignored SIGTERM for ${STOP_WAIT}s; sending SIGKILL"
            kill -KILL "${pid}" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    log "stopped ${name} (pid ${pid})"
}

if [[ -s "${DAEMONS_FILE}" ]]; then
    tac "${DAEMONS_FILE}" | while read -r name pid; do
        [[ -n "${name}" ]] && stop_daemon "${name}" "${pid}"
    done
fi
rm -f "${DAEMONS_FILE}"

# MARK: /dev/kvm back to what it was
if [[ -s "${KVM_PERMS_FILE}" && -c /dev/kvm ]]; then
    read -r owner mode <"${KVM_PERMS_FILE}"
    chown "${owner}" /dev/kvm && chmod "${mode}" /dev/kvm
    log "restored /dev/kvm to ${owner} ${mode}"
fi
rm -f "${KVM_PERMS_FILE}"

# MARK: Env file and the (now empty of state) directory; keep libvirtd.log for post-mortems
rm -f "${ENV_FILE}" "${LIBVIRTD_CONF}"
exit "${status}"
