# shellcheck shell=bash
# Sourced (by bash) from scripts that Tests/vm/run-in-vm runs inside the
# throwaway VM, as root, on the Debian distro kernel. Everything here only
# touches the guest: its own loopback, its own tmpfs, its own processes. The
# host filesystem is visible read-only (with writable overlays on /etc, /var,
# /tmp, ...), $VM_OUTDIR is the host directory the guest may write to.
#
# Typical use:
#   . "$(dirname "$0")/guest-lib.sh"
#   vm_setup                # lo up, modules, tmpfs workspace, fixture files
#   vm_smbd_start           # smbd on 127.0.0.1:445 (shares public, secure)
#   vm_nfsd_start           # kernel nfsd: NFSv3 export + NFSv4 fsid=0 root
#   ... mount, test ...
#   vm_smbd_pause / vm_smbd_resume    # SIGSTOP / SIGCONT every smbd process
#   vm_smbd_stop  / vm_smbd_start     # server down, then up again
#   vm_nfsd_pause / vm_nfsd_resume    # drop packets to 2049+20048 ("hung")
#   vm_nfsd_stop  / vm_nfsd_start     # nfsd threads 0, mountd gone; then up
# vm_cleanup (installed as an EXIT trap by vm_setup) resumes paused servers,
# lazily unmounts everything under $VM_MNT and stops the servers.

# ------------------------------------------------------------- fixtures ---
VM_ROOT=/srv/vmt                      # tmpfs: configs, shares, mount points
VM_MNT=$VM_ROOT/mnt                   # put test mount points under here
VM_ADDR=127.0.0.1

# SMB (smbd on $VM_ADDR:$VM_SMB_PORT)
VM_SMB_PORT=445
VM_SMB_DIR=$VM_ROOT/smb               # smbd's private config + state
VM_SMB_CONF=$VM_SMB_DIR/smb.conf
VM_SMB_LOG=$VM_SMB_DIR/smbd.log
VM_SMB_PUBLIC=public                  # guest share, read only
VM_SMB_SECURE=secure                  # only $VM_SMB_USER, read/write
VM_SMB_USER=alice
VM_SMB_PASS='pa,ss"word'              # comma and double quote on purpose
VM_SMB_PUBLIC_FILE=hello.txt
VM_SMB_PUBLIC_CONTENT='hello from the public share'
VM_SMB_SECURE_FILE=secret.txt
VM_SMB_SECURE_CONTENT='secret of alice'

# NFS (kernel nfsd). The guest's /tmp is overlayfs and cannot be exported,
# so both exports are tmpfs mounts with an explicit fsid=.
VM_NFS_ROOT=$VM_ROOT/nfs              # NFSv4 pseudo-root (fsid=0): mount $VM_ADDR:/
VM_NFS3_PATH=$VM_NFS_ROOT/export      # NFSv3 export (fsid=1): mount $VM_ADDR:$VM_NFS3_PATH
VM_NFS4_SUBPATH=/export               # the same export seen through NFSv4: $VM_ADDR:/export
VM_NFS_ROOT_FILE=root.txt
VM_NFS_ROOT_CONTENT='hello from the nfsv4 root'
VM_NFS_FILE=hello.txt
VM_NFS_CONTENT='hello from the nfs export'
VM_NFS_PORT=2049
VM_MOUNTD_PORT=20048
VM_NFS_THREADS=4
# NFSv4 lease and grace time (s, kernel minimum 10): OPEN is refused during
# the grace period after every nfsd start, so keep it short.
VM_NFS_GRACE=10

VM_OUTDIR=${VM_OUTDIR:-/tmp}

# --------------------------------------------------------------- helpers ---
vm_log() { printf '[%6.1fs] %s\n' "$(vm_uptime)" "$*" >&2; }
vm_die() { vm_log "FATAL: $*"; exit 1; }
vm_uptime() { cut -d' ' -f1 /proc/uptime; }
vm_now() { date +%s.%N; }
vm_since() { awk -v a="$1" -v b="$(vm_now)" 'BEGIN { printf "%.1f", b - a }'; }

# vm_wait_for SECS DESC CMD... : poll CMD every 0.2 s until it succeeds.
vm_wait_for() {
  local secs=$1 desc=$2 i
  shift 2
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  vm_log "timed out after ${secs}s waiting for $desc"
  return 1
}

# vm_listening PORT : something listens on TCP PORT (any address).
vm_listening() { ss -Hltn "sport = :$1" | grep -q .; }

# vm_timed RESULTFILE SECS CMD... : run CMD under `timeout -k 5 SECS`,
# write "rc=N secs=S" to RESULTFILE and CMD's output to RESULTFILE.out.
# Meant to be started with & so several probes can run at once.
vm_timed() {
  local res=$1 secs=$2 t0 rc=0
  shift 2
  t0=$(vm_now)
  # the outer 2>/dev/null hides bash's "Killed" job notice
  { timeout -k 5 "$secs" "$@" >"$res.out" 2>&1; } 2>/dev/null || rc=$?
  echo "rc=$rc secs=$(vm_since "$t0")" >"$res"
}

# ----------------------------------------------------------------- setup ---
vm_net_up() {
  ip link set lo up
  vm_wait_for 5 "lo up" ip -o addr show dev lo scope host
}

vm_modules() {
  local m
  for m in cifs nfs nfsv3 nfsv4 nfsd; do
    modprobe "$m" || vm_die "modprobe $m failed"
  done
}

vm_setup() {
  [ "$(id -u)" -eq 0 ] || vm_die "guest scripts run as root"
  vm_net_up
  vm_modules
  mkdir -p "$VM_ROOT"
  mountpoint -q "$VM_ROOT" || mount -t tmpfs -o mode=0755 vmt "$VM_ROOT"
  mkdir -p "$VM_MNT"
  # shares
  mkdir -p "$VM_ROOT/shares/$VM_SMB_PUBLIC" "$VM_ROOT/shares/$VM_SMB_SECURE"
  chmod 0755 "$VM_ROOT/shares" "$VM_ROOT/shares/"*
  printf '%s\n' "$VM_SMB_PUBLIC_CONTENT" >"$VM_ROOT/shares/$VM_SMB_PUBLIC/$VM_SMB_PUBLIC_FILE"
  printf '%s\n' "$VM_SMB_SECURE_CONTENT" >"$VM_ROOT/shares/$VM_SMB_SECURE/$VM_SMB_SECURE_FILE"
  # exports: two tmpfs mounts so each has its own fsid
  mkdir -p "$VM_NFS_ROOT"
  mountpoint -q "$VM_NFS_ROOT" || mount -t tmpfs -o mode=0755 vmt-nfs "$VM_NFS_ROOT"
  mkdir -p "$VM_NFS3_PATH"
  mountpoint -q "$VM_NFS3_PATH" || mount -t tmpfs -o mode=0755 vmt-nfs-export "$VM_NFS3_PATH"
  printf '%s\n' "$VM_NFS_ROOT_CONTENT" >"$VM_NFS_ROOT/$VM_NFS_ROOT_FILE"
  printf '%s\n' "$VM_NFS_CONTENT" >"$VM_NFS3_PATH/$VM_NFS_FILE"
  trap vm_cleanup EXIT
}

# ------------------------------------------------------------------ smbd ---
_vm_smb_conf() {
  local d=$VM_SMB_DIR
  mkdir -p "$d"/{private,state,lock,cache,pid,ncalrpc}
  cat >"$VM_SMB_CONF" <<EOF
[global]
  # private config: nothing from /etc/samba or /var/lib/samba is used
  private dir = $d/private
  state directory = $d/state
  lock directory = $d/lock
  cache directory = $d/cache
  pid directory = $d/pid
  ncalrpc dir = $d/ncalrpc
  log file = $VM_SMB_LOG
  max log size = 0
  log level = 1
  usershare path =
  interfaces = $VM_ADDR
  bind interfaces only = yes
  smb ports = $VM_SMB_PORT
  disable netbios = yes
  server role = standalone server
  map to guest = bad user
  server min protocol = SMB2_02
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes

[$VM_SMB_PUBLIC]
  path = $VM_ROOT/shares/$VM_SMB_PUBLIC
  comment = Guest share
  guest ok = yes
  read only = yes

[$VM_SMB_SECURE]
  path = $VM_ROOT/shares/$VM_SMB_SECURE
  comment = Needs an account
  valid users = $VM_SMB_USER
  guest ok = no
  read only = no
EOF
  # Extra shares or [global] lines: set VM_SMB_EXTRA_CONF before starting.
  if [ -n "${VM_SMB_EXTRA_CONF:-}" ]; then printf '%s\n' "$VM_SMB_EXTRA_CONF" >>"$VM_SMB_CONF"; fi
}

_vm_smb_account() {
  if ! id -u "$VM_SMB_USER" >/dev/null 2>&1; then
    # useradd may fail on virtme's bind-mounted /etc/shadow: then add the
    # passwd/group lines by hand (the guest's /etc is a throwaway overlay).
    useradd -M -s /usr/sbin/nologin "$VM_SMB_USER" 2>/dev/null || {
      echo "$VM_SMB_USER:x:4711:4711::/nonexistent:/usr/sbin/nologin" >>/etc/passwd
      echo "$VM_SMB_USER:x:4711:" >>/etc/group
    }
  fi
  printf '%s\n%s\n' "$VM_SMB_PASS" "$VM_SMB_PASS" |
    smbpasswd -c "$VM_SMB_CONF" -a -s "$VM_SMB_USER" >/dev/null ||
    vm_die "smbpasswd -a $VM_SMB_USER failed"
}

# vm_smbd_start : (re)start smbd and wait until 445 listens. The first call
# writes the config and creates the account; later calls reuse them.
vm_smbd_start() {
  if [ -n "${VM_SMBD_PID:-}" ] && kill -0 "$VM_SMBD_PID" 2>/dev/null; then return 0; fi
  if [ ! -f "$VM_SMB_CONF" ]; then
    _vm_smb_conf
    _vm_smb_account
  fi
  # setsid: smbd and every child it forks (one per client connection,
  # notifyd, cleanupd, samba-dcerpcd) share one process group whose id is
  # VM_SMBD_PID, so pause/resume/stop can signal all of them at once.
  setsid smbd --foreground --no-process-group -s "$VM_SMB_CONF" \
    >>"$VM_SMB_DIR/smbd.out" 2>&1 </dev/null &
  VM_SMBD_PID=$!
  VM_SMBD_PAUSED=no
  vm_wait_for 30 "smbd on :$VM_SMB_PORT" vm_listening "$VM_SMB_PORT" || {
    tail -n 20 "$VM_SMB_LOG" "$VM_SMB_DIR/smbd.out" >&2 || true
    vm_die "smbd did not come up"
  }
  vm_log "smbd up (pgid $VM_SMBD_PID)"
}

# vm_smbd_stop : server down (SIGTERM to the group, then SIGKILL); port 445
# is closed afterwards, so clients get "connection refused".
vm_smbd_stop() {
  [ -n "${VM_SMBD_PID:-}" ] || return 0
  kill -CONT -- "-$VM_SMBD_PID" 2>/dev/null || true
  kill -TERM -- "-$VM_SMBD_PID" 2>/dev/null || true
  vm_wait_for 10 "smbd to exit" _vm_group_gone "$VM_SMBD_PID" ||
    kill -KILL -- "-$VM_SMBD_PID" 2>/dev/null || true
  wait "$VM_SMBD_PID" 2>/dev/null || true
  VM_SMBD_PID=
  VM_SMBD_PAUSED=no
  vm_log "smbd stopped"
}

# vm_smbd_pause : "hung server": SIGSTOP every smbd process. The kernel still
# accepts TCP connections on 445, nothing ever answers.
vm_smbd_pause() {
  [ -n "${VM_SMBD_PID:-}" ] || vm_die "smbd is not running"
  kill -STOP -- "-$VM_SMBD_PID"
  VM_SMBD_PAUSED=yes
  vm_log "smbd paused (SIGSTOP)"
}

vm_smbd_resume() {
  [ -n "${VM_SMBD_PID:-}" ] || return 0
  kill -CONT -- "-$VM_SMBD_PID" 2>/dev/null || true
  VM_SMBD_PAUSED=no
  vm_log "smbd resumed (SIGCONT)"
}

_vm_group_gone() { ! kill -0 -- "-$1" 2>/dev/null; }

# _vm_listening_in NETNS PORT : like vm_listening, inside NETNS (empty: here).
_vm_listening_in() {
  if [ -n "$1" ]; then ip netns exec "$1" ss -Hltn "sport = :$2"; else ss -Hltn "sport = :$2"; fi | grep -q .
}

# vm_smbd_extra_start NAME PORT [NETNS ADDR] : a second smbd (own config, state and log
# under $VM_SMB_DIR-NAME) on PORT, with [global] lines and shares from stdin, and its own
# passdb holding $VM_SMB_USER; with NETNS, inside that network namespace, listening on ADDR.
# Nothing is shared with the main smbd: sharing its private dir made every RPC (share
# listing through samba-dcerpcd) of the second one hang. vm_smbd_extra_stop NAME stops it.
vm_smbd_extra_start() {
  local name=$1 port=$2 netns=${3:-} addr=${4:-$VM_ADDR} d=$VM_SMB_DIR-$1
  local inns=()
  [ -z "$netns" ] || inns=(ip netns exec "$netns")
  [ -f "$VM_SMB_CONF" ] || vm_die "start the main smbd first (its [global] is the template)"
  mkdir -p "$d"/{private,state,lock,cache,pid,ncalrpc}
  {
    sed -e "s|^  private dir = .*|  private dir = $d/private|" \
      -e "s|^  state directory = .*|  state directory = $d/state|" \
      -e "s|^  lock directory = .*|  lock directory = $d/lock|" \
      -e "s|^  cache directory = .*|  cache directory = $d/cache|" \
      -e "s|^  pid directory = .*|  pid directory = $d/pid|" \
      -e "s|^  ncalrpc dir = .*|  ncalrpc dir = $d/ncalrpc|" \
      -e "s|^  log file = .*|  log file = $d/smbd.log|" \
      -e "s|^  smb ports = .*|  smb ports = $port|" \
      -e "s|^  interfaces = .*|  interfaces = $addr|" "$VM_SMB_CONF" |
      awk '/^\[/ && $0 != "[global]" { exit } { print }'
    cat
  } >"$d/smb.conf"
  printf '%s\n%s\n' "$VM_SMB_PASS" "$VM_SMB_PASS" | smbpasswd -c "$d/smb.conf" -a -s "$VM_SMB_USER" >/dev/null ||
    vm_die "smbpasswd -a $VM_SMB_USER for smbd $name failed"
  setsid "${inns[@]}" smbd --foreground --no-process-group -s "$d/smb.conf" >>"$d/smbd.out" 2>&1 </dev/null &
  eval "VM_SMBD_EXTRA_PID_$name=\$!"
  vm_wait_for 30 "smbd $name on :$port" _vm_listening_in "$netns" "$port" || {
    tail -n 20 "$d/smbd.log" "$d/smbd.out" >&2 || true
    vm_die "smbd $name did not come up"
  }
  vm_log "smbd $name up on :$port"
}

vm_smbd_extra_stop() {
  local pid_var=VM_SMBD_EXTRA_PID_$1 pid
  pid=${!pid_var:-}
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  vm_wait_for 10 "smbd $1 to exit" _vm_group_gone "$pid" || kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  eval "$pid_var="
}

# ------------------------------------------------------------ a far NAS ---
# A NAS behind a real link: network namespace vmt-nas (VM_NAS_IP) joined to the guest (VM_NAS_HOST_IP)
# by a veth pair, with an smbd of its own serving the public share as [farphotos]; vm_link shapes both
# ends with tc netem. Used by the suite's netem section and benchmarks/links.
VM_NAS_NS=vmt-nas VM_NAS_IP=10.77.0.2 VM_NAS_HOST_IP=10.77.0.1 VM_NAS_SHARE=farphotos
vm_nas_start() {
  ip netns add "$VM_NAS_NS"
  ip link add vmt-h type veth peer name vmt-n
  ip link set vmt-n netns "$VM_NAS_NS"
  ip addr add "$VM_NAS_HOST_IP/24" dev vmt-h && ip link set vmt-h up
  ip netns exec "$VM_NAS_NS" sh -c "ip link set lo up; ip addr add $VM_NAS_IP/24 dev vmt-n; ip link set vmt-n up"
  vm_nas_smbd_start
}

# vm_nas_smbd_start : the far NAS's smbd (again, after it was killed).
vm_nas_smbd_start() {
  vm_smbd_extra_start far 445 "$VM_NAS_NS" "$VM_NAS_IP" <<CONF
  map to guest = bad user
[$VM_NAS_SHARE]
  path = $VM_ROOT/shares/$VM_SMB_PUBLIC
  guest ok = yes
  read only = yes
CONF
}

vm_nas_stop() {
  vm_smbd_extra_stop far
  ip link del vmt-h 2>/dev/null || true
  ip netns del "$VM_NAS_NS" 2>/dev/null || true
}

vm_link() { # netem arguments for both directions, or "clear"
  if [ "$1" = clear ]; then
    tc qdisc del dev vmt-h root 2>/dev/null || true
    ip netns exec "$VM_NAS_NS" tc qdisc del dev vmt-n root 2>/dev/null || true
  else
    tc qdisc replace dev vmt-h root netem "$@" && ip netns exec "$VM_NAS_NS" tc qdisc replace dev vmt-n root netem "$@"
  fi
}

# ------------------------------------------------------------------ nfsd ---
_vm_nfs_exports() {
  # crossmnt on the root: an NFSv4 mount of / reaches the export below it.
  cat >/etc/exports <<EOF
$VM_NFS_ROOT  $VM_ADDR(ro,insecure,no_subtree_check,no_root_squash,crossmnt,fsid=0)
$VM_NFS3_PATH $VM_ADDR(rw,insecure,no_subtree_check,no_root_squash,fsid=1)
EOF
}

# vm_nfsd_start : rpcbind, rpc.statd (NFSv3 locking, client side too), the
# kernel nfsd (v3, v4.x) and rpc.mountd on a fixed port; waits until 2049
# and the MOUNT service answer. Callable again after vm_nfsd_stop.
vm_nfsd_start() {
  mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd
  mkdir -p /run/rpcbind /var/lib/nfs/v4recovery /var/lib/nfs/sm /var/lib/nfs/sm.bak /var/lib/nfs/rpc_pipefs
  mountpoint -q /var/lib/nfs/rpc_pipefs || mount -t rpc_pipefs sunrpc /var/lib/nfs/rpc_pipefs
  pgrep -x rpcbind >/dev/null || rpcbind -w
  vm_wait_for 10 "rpcbind" rpcinfo -p "$VM_ADDR" || vm_die "rpcbind did not come up"
  pgrep -x rpc.statd >/dev/null || rpc.statd --no-notify
  _vm_nfs_exports
  exportfs -ra
  # lease/grace times can only be set while no nfsd thread runs
  if [ "$(cat /proc/fs/nfsd/threads)" = 0 ]; then
    echo "$VM_NFS_GRACE" >/proc/fs/nfsd/nfsv4leasetime
    echo "$VM_NFS_GRACE" >/proc/fs/nfsd/nfsv4gracetime 2>/dev/null || true
  fi
  rpc.nfsd "$VM_NFS_THREADS"
  pgrep -x rpc.mountd >/dev/null || rpc.mountd -p "$VM_MOUNTD_PORT"
  vm_wait_for 20 "nfsd on :$VM_NFS_PORT" vm_listening "$VM_NFS_PORT" || vm_die "nfsd did not come up"
  vm_wait_for 20 "mountd" rpcinfo -T tcp "$VM_ADDR" mountd 3 || vm_die "mountd did not come up"
  VM_NFSD_UP=yes
  vm_log "nfsd up: v3 $VM_ADDR:$VM_NFS3_PATH, v4 $VM_ADDR:/ (versions: $(cat /proc/fs/nfsd/versions))"
}

# vm_nfsd_stop : server down: no nfsd threads (2049 closed), no mountd.
vm_nfsd_stop() {
  vm_nfsd_resume
  [ "${VM_NFSD_UP:-}" = yes ] || return 0
  rpc.nfsd 0 || true
  pkill -x rpc.mountd || true
  vm_wait_for 10 "mountd to exit" _vm_no_proc rpc.mountd || true
  VM_NFSD_UP=no
  vm_log "nfsd stopped"
}
_vm_no_proc() { ! pgrep -x "$1" >/dev/null; }

# vm_nfsd_pause / vm_nfsd_resume : "hung server". nfsd threads are kernel
# threads and ignore SIGSTOP, so packets to 2049 and mountd are dropped on
# the guest's loopback instead: new connections hang in SYN retries and an
# established mount gets no replies. (A paused smbd, in contrast, still
# completes TCP handshakes.)
vm_nfsd_pause() { vm_port_block "$VM_NFS_PORT" "$VM_MOUNTD_PORT"; vm_log "nfsd paused (packets dropped)"; }
vm_nfsd_resume() {
  if nft list table inet vmt_block >/dev/null 2>&1; then
    vm_port_unblock
    vm_log "nfsd resumed"
  fi
}

# vm_port_block PORT... : drop every TCP/UDP packet to these ports (lo).
# vm_port_unblock       : remove all such rules.
vm_port_block() {
  local ports
  ports=$(IFS=,; echo "$*")
  nft list table inet vmt_block >/dev/null 2>&1 || {
    nft add table inet vmt_block
    nft add chain inet vmt_block input '{ type filter hook input priority 0; policy accept; }'
  }
  nft add rule inet vmt_block input tcp dport "{ $ports }" drop
  nft add rule inet vmt_block input udp dport "{ $ports }" drop
}
vm_port_unblock() { nft delete table inet vmt_block 2>/dev/null || true; }

# --------------------------------------------------------------- cleanup ---
# vm_cleanup : resume everything paused, lazily unmount whatever is mounted
# under $VM_MNT (in reverse order), stop the servers. Safe to call twice.
vm_cleanup() {
  local rc=$? m
  set +e
  vm_port_unblock
  if [ "${VM_SMBD_PAUSED:-no}" = yes ]; then vm_smbd_resume; fi
  while read -r m; do
    [ -n "$m" ] || continue
    timeout 5 umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done < <(awk -v p="$VM_MNT/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  vm_smbd_stop >/dev/null 2>&1
  vm_nfsd_stop >/dev/null 2>&1
  return "$rc"
}
