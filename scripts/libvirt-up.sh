#!/usr/bin/env bash
# Bring up a real hypervisor for the integration tests: a libvirtd (as root) and one running QEMU VM.
#
# 1. Make sure the users/groups libvirt's QEMU driver runs guests as exist, and its dirs.
# 2. Start virtlogd, then libvirtd, unless they already run; remember which ones WE started.
# 3. Wait (bounded) until `virsh -c qemu:///system version` answers.
# 4. Define and start `stratus-it-vm`: TCG (no KVM), 64 MiB, 1 vCPU, an empty 64M qcow2 disk in a
#    temp dir, a tap NIC without bridge (user-mode if no /dev/net/tun), no graphics (no
#    <graphics> element, video model none). It boots nothing (the disk is empty), so SeaBIOS keeps
#    the vCPU busy and every stats group (cpu, balloon, vcpu, block, net) has live values.
# 5. Check the VM really runs (cpu.time grows) and write the env file the test script sources:
#      STRATUS_QEMU_URI=qemu:///system
#      STRATUS_QEMU_DOMAIN=stratus-it-vm
#      STRATUS_QEMU_TCP_URI=qemu+tcp://127.0.0.1:16509/system   (when libvirtd listens on TCP)
#
# libvirtd runs with a generated config (--listen --config): TCP on 127.0.0.1:16509 only, no TLS,
# auth_tcp "none". That is for tests on one machine and nothing else: anyone who can reach the
# port controls the hypervisor. A libvirtd that was already running is used as is (no TCP then
# unless it listens already).
#
# Idempotent: running it again with everything up changes nothing. Undo with libvirt-down.sh.
# Usage: sudo bash scripts/libvirt-up.sh   (prints the env file's path as its last line)
set -euo pipefail

# shellcheck source=scripts/libvirt-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/libvirt-common.sh"

# Bounded waits, in seconds.
readonly DAEMON_WAIT=90
readonly VM_WAIT=30

[[ ${EUID} -eq 0 ]] || die "must run as root (it starts libvirtd and QEMU guests); try: sudo $0"
for tool in libvirtd virtlogd virsh qemu-img qemu-system-x86_64; do
    command -v "${tool}" >/dev/null 2>&1 || die "'${tool}' not found; run scripts/install-deps.sh first"
done
mkdir -p "${STATE_DIR}"
touch "${DAEMONS_FILE}"

# MARK: Users, groups and directories
# Debian's QEMU driver runs guests as libvirt-qemu:libvirt-qemu; the libvirt-daemon-system package
# would create them, but we install without it. The kvm group owns /dev/kvm on real hosts.
ensure_group() {
    getent group "$1" >/dev/null || { groupadd --system "$1"; log "created group $1"; }
}
ensure_group kvm
ensure_group libvirt-qemu
if ! getent passwd libvirt-qemu >/dev/null; then
    useradd --system --gid libvirt-qemu --groups kvm --home-dir /var/lib/libvirt \
        --no-create-home --shell /usr/sbin/nologin libvirt-qemu
    log "created user libvirt-qemu"
elif ! id -nG libvirt-qemu | tr ' ' '\n' | grep -qx kvm; then
    usermod -a -G kvm libvirt-qemu
    log "added libvirt-qemu to group kvm"
fi
mkdir -p /var/log/libvirt /var/log/libvirt/qemu /run/libvirt /var/lib/libvirt

# /dev/kvm must be usable by libvirt-qemu even though our VM is TCG: when it is not (containers
# leave it root:root 0600), libvirt 9.0 finds its cached QEMU capabilities (probed with KVM)
# stale on every call and re-probes QEMU each time: `virsh define` then takes ~40 s instead of
# 20 ms. Debian's udev rule gives root:kvm 0660; do the same and remember what it was.
if [[ -c /dev/kvm && "$(stat -c '%G' /dev/kvm)" != "kvm" ]]; then
    [[ -s "${KVM_PERMS_FILE}" ]] || stat -c '%U:%G %a' /dev/kvm >"${KVM_PERMS_FILE}"
    chgrp kvm /dev/kvm
    chmod 0660 /dev/kvm
    log "made /dev/kvm root:kvm 0660 (was $(cat "${KVM_PERMS_FILE}"))"
fi

# MARK: Daemons
# Start <name> daemonised unless it already runs; record its pid when we started it.
start_daemon() {
    local name="$1" pid deadline
    shift
    pid="$(running_pid "${name}")"
    if [[ -n "${pid}" ]]; then
        log "${name} already running (pid ${pid})"
        return
    fi
    "${name}" -d "$@"
    deadline=$((SECONDS + DAEMON_WAIT))
    until pid="$(running_pid "${name}")" && [[ -n "${pid}" ]]; do
        ((SECONDS < deadline)) || die "${name} did not write /run/${name}.pid within ${DAEMON_WAIT}s"
        sleep 0.2
    done
    echo "${name} ${pid}" >>"${DAEMONS_FILE}"
    log "started ${name} (pid ${pid})"
}

if libvirt_answers && [[ -z "$(running_pid libvirtd)" ]]; then
    # Something else serves qemu:///system (e.g. systemd socket activation): use it as is.
    log "qemu:///system already answers; not starting daemons"
else
    start_daemon virtlogd
    # Errors and warnings go to a file we can show if it fails to come up.
    [[ -n "$(running_pid libvirtd)" ]] || : >"${LIBVIRTD_LOG}"
    # A local TCP listener for qemu+tcp:// (the remote-host path). --listen needs listen_tls=0 or
    # certificates; the unix sockets keep their defaults.
    cat >"${LIBVIRTD_CONF}" <<CONF
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "${TCP_PORT}"
auth_tcp = "none"
CONF
    LIBVIRT_LOG_OUTPUTS="3:file:${LIBVIRTD_LOG}" start_daemon libvirtd --listen --config "${LIBVIRTD_CONF}"
fi

deadline=$((SECONDS + DAEMON_WAIT))
until libvirt_answers; do
    if ((SECONDS >= deadline)); then
        [[ -s "${LIBVIRTD_LOG}" ]] && tail -n 20 "${LIBVIRTD_LOG}" >&2
        die "libvirtd did not answer on ${QEMU_URI} within ${DAEMON_WAIT}s (log: ${LIBVIRTD_LOG})"
    fi
    sleep 0.5
done
log "libvirt answers on ${QEMU_URI}"

# MARK: The VM
disk_dir="$(cat "${DISK_DIR_FILE}" 2>/dev/null || true)"
state="$(vm_state)"
if [[ "${state}" == "running" && -n "${disk_dir}" && -f "${disk_dir}/disk.qcow2" ]]; then
    log "${VM_NAME} already running"
else
    # Clear a half-made VM from an earlier, interrupted run before making a fresh one.
    if [[ "${state}" != "absent" ]]; then
        log "replacing stale ${VM_NAME} (state: ${state})"
        [[ "${state}" == "shut off" ]] || vsh destroy "${VM_NAME}" >/dev/null
        vsh undefine "${VM_NAME}" >/dev/null
    fi
    # Only ever remove a directory an earlier run made (guards against a corrupted state file).
    if [[ "${disk_dir}" == */stratus-it-vm.* ]]; then rm -rf "${disk_dir}"; fi

    disk_dir="$(mktemp -d "${TMPDIR:-/tmp}/stratus-it-vm.XXXXXX")"
    echo "${disk_dir}" >"${DISK_DIR_FILE}"
    # QEMU runs as libvirt-qemu: it must be able to enter the dir (libvirt chowns the image).
    chmod 0755 "${disk_dir}"
    qemu-img create -q -f qcow2 "${disk_dir}/disk.qcow2" 64M

    # A tap NIC with no bridge (root + /dev/net/tun) has a host-side device, so libvirt reports
    # net.0.* counters; a user-mode NIC has none and only yields net.count.
    if [[ -c /dev/net/tun ]]; then
        nic_xml="<interface type='ethernet'><model type='virtio'/></interface>"
    else
        nic_xml="<interface type='user'><model type='virtio'/></interface>"
        log "warning: no /dev/net/tun; using a user-mode NIC (no net.N.* stats)"
    fi
    cat >"${disk_dir}/domain.xml" <<XML
<domain type='qemu'>
  <name>${VM_NAME}</name>
  <memory unit='MiB'>64</memory>
  <currentMemory unit='MiB'>64</currentMemory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${disk_dir}/disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ${nic_xml}
    <memballoon model='virtio'><stats period='5'/></memballoon>
    <video><model type='none'/></video>
  </devices>
</domain>
XML
    vsh define "${disk_dir}/domain.xml" >/dev/null
    vsh start "${VM_NAME}" >/dev/null
    log "started ${VM_NAME} (disk ${disk_dir}/disk.qcow2)"
fi

# MARK: Check it really runs: cpu.time must advance.
cpu_time() { vsh domstats --cpu-total "${VM_NAME}" | sed -n 's/^ *cpu\.time=//p'; }
first="$(cpu_time)"
deadline=$((SECONDS + VM_WAIT))
while :; do
    sleep 1
    now="$(cpu_time)"
    [[ -n "${first}" && -n "${now}" && "${now}" -gt "${first}" ]] && break
    ((SECONDS < deadline)) || die "${VM_NAME} is '$(vm_state)' but cpu.time did not advance in ${VM_WAIT}s (${first:-none} -> ${now:-none}); see /var/log/libvirt/qemu/${VM_NAME}.log"
done
log "${VM_NAME} runs: cpu.time ${first} -> ${now} ns"

# MARK: Env for the tests
cat >"${ENV_FILE}" <<ENV
STRATUS_QEMU_URI=${QEMU_URI}
STRATUS_QEMU_DOMAIN=${VM_NAME}
ENV
if tcp_answers; then
    echo "STRATUS_QEMU_TCP_URI=${QEMU_TCP_URI}" >>"${ENV_FILE}"
    log "libvirt answers on ${QEMU_TCP_URI}"
else
    log "warning: nothing answers on ${QEMU_TCP_URI} (a libvirtd started elsewhere without --listen?); qemu+tcp tests will be skipped"
fi
echo "${ENV_FILE}"
