#!/usr/bin/env bash
# Tests/vm/mount-suite.sh EXTLIB_NET [DEB] : real kernel mounts with the built extlib-net, inside the VM
# (run through Tests/vm/run-in-vm). Servers are the guest's own smbd and kernel nfsd on its loopback.
# With DEB (scripts/package-deb's .deb), first installs it with dpkg -i (the guest's /usr, /etc and /var
# are throwaway overlays) and runs smoke checks with the installed /usr/sbin/extlib-net.
# Prints PASS/FAIL per check and a closing "N passed, N failed" line; exits 1 when anything failed.
set -uo pipefail
. "$(dirname "$0")/guest-lib.sh"
BIN=$1
DEB=${2:-}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
vm_setup
vm_smbd_start
vm_nfsd_start

SYS=$VM_ROOT/sysroot                       # the tool's --root: nothing touches the guest's real /etc
mkdir -p "$SYS"
X() { "$BIN" --root "$SYS" "$@"; }
SMBBASE=$SYS/root/snap/immich-distribution/common
NFSBASE=$SYS/var/snap/immich-distribution/common
pass=0 fail=0
check() { # NAME CMD...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); echo "PASS $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
mounted_type() { findmnt -rn -o FSTYPE --mountpoint "$1" 2>/dev/null; }
# stack_types MOUNTPOINT: the types of every mount on it, bottom first; top_type: the one a reader sees
stack_types() { awk -v p="$1" '$5 == p { for (i = 7; $i != "-"; i++); print $(i + 1) }' /proc/self/mountinfo | tr '\n' ' '; }
top_type() { stack_types "$1" | awk '{ print $NF }'; }
# has_flags MOUNTPOINT [!]FLAG...: the mount's per-mount flags include each FLAG (and none given as !FLAG)
has_flags() {
  local flags=",$(findmnt -rn -o VFS-OPTIONS --mountpoint "$1" 2>/dev/null),"; shift
  for flag in "$@"; do
    case "$flag" in
      !*) case "$flags" in *",${flag#!},"*) return 1 ;; esac ;;
      *) case "$flags" in *",$flag,"*) ;; *) return 1 ;; esac ;;
    esac
  done
}
not_in_file() { ! grep -qF -- "$1" "$2"; }
mount_count() { grep -c " $1 " /proc/self/mountinfo; }
out=$VM_OUTDIR/suite
mkdir -p "$out"

# While any mount with the password runs (the first mounts, the backoff, the boot script), look for it in
# every process's argv and environment: start_password_scan ... stop_password_scan.
: >"$out/leaks"
scan_for_password() {
  while [ -e "$out/scanning" ]; do
    for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do
      { tr '\0' '\n' <"$f" | grep -qF -- "$VM_SMB_PASS" && echo "$f" >>"$out/leaks"; } 2>/dev/null
    done
  done
}
# niced: the timed checks that run beside it (the backoff's 4 s) get the CPU first
start_password_scan() { touch "$out/scanning"; scan_for_password & scanner=$!; renice -n 19 -p "$scanner" >/dev/null; }
stop_password_scan() { rm -f "$out/scanning"; wait "$scanner"; }
start_password_scan

# Units run their binary as root, so boot enable and immich guard enable refuse one in .build: they
# get the same binary from a root-owned 0755 folder on the guest's tmpfs, as if installed.
TRUSTED=$VM_ROOT/bin/extlib-net
install -d -m 0755 "$VM_ROOT/bin"
install -m 0755 "$BIN" "$TRUSTED"
T() { "$TRUSTED" --root "$SYS" "$@"; }
stat -c '%n: owner %U, mode %a' / /srv "$VM_ROOT" "$VM_ROOT/bin" "$TRUSTED" >"$out/trusted-path"
mkdir -p "$VM_ROOT/trustroot"
"$TRUSTED" --root "$VM_ROOT/trustroot" boot enable --no-reload >"$out/trusted.out" 2>&1
check "the root-owned copy may write units (rc $?; see trusted-path, trusted.out)" test -s "$VM_ROOT/trustroot/etc/systemd/system/extlib-net.service"

# --- the .deb, installed with dpkg, and its binary at work. --no-triggers: man-db's trigger would
# reindex every man page under emulation; nothing here needs the index.
if [ -n "$DEB" ]; then
  DR=$VM_ROOT/debroot                    # a --root of its own: the rest of the suite starts clean
  mkdir -p "$DR/etc/systemd/system"
  D() { /usr/sbin/extlib-net --root "$DR" "$@"; }
  dpkg -i --no-triggers "$DEB" >"$out/dpkg.out" 2>&1
  check "dpkg -i the .deb (rc $?)" test "$(dpkg-query -W -f='${db:Status-Abbrev}' extlib-net 2>/dev/null)" = "ii "
  check "the installed binary is this build's version" test "$(D --version)" = "$("$BIN" --version)"
  check "the man page is installed" test -s /usr/share/man/man8/extlib-net.8.gz
  check "the boot script is installed" test -x /usr/sbin/extlib-net-boot
  D add debpublic "smb://$VM_ADDR/$VM_SMB_PUBLIC" >/dev/null
  check "installed binary mounts the guest SMB share" D mount debpublic
  check "installed binary's mount reads" test "$(cat "$DR/root/snap/immich-distribution/common/debpublic/$VM_SMB_PUBLIC_FILE")" = "$VM_SMB_PUBLIC_CONTENT"
  check "installed binary unmounts" D unmount debpublic
  check "installed binary's share is unmounted" test -z "$(mounted_type "$DR/root/snap/immich-distribution/common/debpublic")"
  D boot enable --no-reload >"$out/deb-boot.out" 2>&1
  check "installed binary may write boot units (rc $?)" grep -q "^ExecStart=/usr/sbin/extlib-net mount --all" "$DR/etc/systemd/system/extlib-net.service"
  "$BIN" --root "$DR" boot disable --no-reload >/dev/null 2>&1
  "$BIN" --root "$DR" boot enable --no-reload >"$out/build-boot.out" 2>&1
  check "a binary in .build may not (rc $?)" grep -q "refusing to write a unit that runs .* as root: it lies in a build folder" "$out/build-boot.out"
  check "and wrote nothing" test ! -e "$DR/etc/systemd/system/extlib-net.service"
fi

# --- guest SMB
X add public "smb://$VM_ADDR/$VM_SMB_PUBLIC" >/dev/null
check "guest SMB mounts" X mount public
check "guest SMB file reads" test "$(cat "$SMBBASE/public/$VM_SMB_PUBLIC_FILE")" = "$VM_SMB_PUBLIC_CONTENT"
check "guest SMB is cifs" test "$(mounted_type "$SMBBASE/public")" = cifs
check "SMB files appear owned by root" test "$(stat -c %u "$SMBBASE/public/$VM_SMB_PUBLIC_FILE")" = 0
check "SMB is mounted nosuid,nodev,noexec" has_flags "$SMBBASE/public" nosuid nodev noexec

# --- SMB with an account whose password has a comma and a quote
printf '%s' "$VM_SMB_PASS" | X credentials add alice --user "$VM_SMB_USER" --password-stdin >/dev/null
X add secure "smb://$VM_ADDR/$VM_SMB_SECURE" --credentials alice --rw --exec >/dev/null
check "SMB with account mounts" X mount secure
check "SMB with account reads" test "$(cat "$SMBBASE/secure/$VM_SMB_SECURE_FILE")" = "$VM_SMB_SECURE_CONTENT"
check "SMB added with --exec is nosuid,nodev, not noexec" has_flags "$SMBBASE/secure" nosuid nodev '!noexec'

# --- NFSv3 and NFSv4.2
X add v3 "nfs://$VM_ADDR$VM_NFS3_PATH" --nfs-version 3 >/dev/null
check "NFSv3 mounts" X mount v3
check "NFSv3 reads" test "$(cat "$NFSBASE/v3/$VM_NFS_FILE")" = "$VM_NFS_CONTENT"
check "NFSv3 is vers=3" grep -q "vers=3" <(findmnt -rn -o OPTIONS --mountpoint "$NFSBASE/v3")
check "NFS is mounted nosuid,nodev,noexec" has_flags "$NFSBASE/v3" nosuid nodev noexec
X add v42 "nfs://$VM_ADDR/" >/dev/null
check "NFSv4.2 mounts by negotiation" X mount v42
check "NFSv4.2 reads" test "$(cat "$NFSBASE/v42/$VM_NFS_ROOT_FILE")" = "$VM_NFS_ROOT_CONTENT"
check "NFSv4.2 is vers=4.2" grep -q "vers=4.2" <(findmnt -rn -o OPTIONS --mountpoint "$NFSBASE/v42")

stop_password_scan

# --- idempotent, unmount
X mount public >"$out/again.out" 2>&1
check "second mount says already mounted" grep -q "already mounted" "$out/again.out"
check "second mount mounts nothing" test "$(mount_count "$SMBBASE/public")" = 1
check "unmount" X unmount public v3 v42
check "unmounted" test -z "$(mounted_type "$SMBBASE/public")"
check "unmount leaves the folder" test -d "$SMBBASE/public"

# --- server down at the first attempt, up a few seconds later: mounted through backoff
X unmount secure >/dev/null
vm_smbd_stop
start_password_scan  # the account's share too, so the password goes through the backoff's retries
X mount public secure --wait 90s >"$out/backoff.out" 2>"$out/backoff.err" &
mounter=$!
check "with the server down, the first attempt failed" vm_wait_for 60 "the first failed attempt" grep -q 'attempt 1 failed' "$out/backoff.err"
vm_smbd_start   # in this shell, so guest-lib's bookkeeping stays right; returns once smbd answers
answering=$(vm_now)
wait "$mounter"
rc=$?
after=$(vm_since "$answering")
check "mounted once the server is back" test "$rc" = 0
# Target 2 s (one probe interval plus the helper run). Under QEMU without KVM a helper run alone varies from
# 0.5 to 1.5 s, so the check allows 4 s: still far from the backoff's old 7 s and up to 30 s.
check "mounted ${after}s after the server answered (target 2 s)" awk -v t="$after" 'BEGIN { exit !(t <= 4) }'
check "the unreachable server was reported, not every probe" test "$(grep -c 'public: .*failed: connection refused' "$out/backoff.err")" -le 2
check "the share with an account mounted through the backoff too" test "$(mounted_type "$SMBBASE/secure")" = cifs
stop_password_scan
X unmount public secure >/dev/null

# --- wrong password: fails at once, no retry loop
printf 'wrong,"one' | X credentials add bad --user "$VM_SMB_USER" --password-stdin >/dev/null
X add wrong "smb://$VM_ADDR/$VM_SMB_SECURE" --credentials bad >/dev/null
start=$(vm_now)
X mount wrong --wait 60s >"$out/wrong.out" 2>"$out/wrong.err"
rc=$?
took=$(vm_since "$start")
check "wrong password exits 32" test "$rc" = 32
check "wrong password fails at once (${took}s)" awk -v t="$took" 'BEGIN { exit !(t < 15) }'
check "wrong password is not retried" test "$(grep -c 'attempt' "$out/wrong.err")" -le 1

# --- a hardened Samba, like a NAS with security turned up: no guest, no anonymous listing, SMB 3.1.1
# only, encryption required
vm_smbd_extra_start hard 1445 <<CONF
  map to guest = never
  restrict anonymous = 2
  server min protocol = SMB3_11
  smb encrypt = required
[vault]
  path = $VM_ROOT/shares/$VM_SMB_SECURE
  valid users = $VM_SMB_USER
  read only = yes
CONF
# Under emulation smbd's first share listing takes 20 s and more (it starts samba-dcerpcd and its
# workers, paged in over 9p): one listing first, not checked, so the checks time our side.
X discover "$VM_ADDR" --timeout 90 --smb-port 1445 --credentials alice >/dev/null 2>&1
X discover "$VM_ADDR" --timeout 20 --smb-port 1445 --json >"$out/hard-anon.json" 2>&1
check "hardened Samba: anonymous discover says an account is needed" jq -e '.smb.authRequired == true and (.smb.shares | length) == 0' "$out/hard-anon.json"
# The account listing opens the srvsvc pipe, which smbd hands to samba-dcerpcd (1.1 s on the host,
# over ten times that under emulation): a longer timeout here.
X discover "$VM_ADDR" --timeout 60 --smb-port 1445 --credentials alice --json >"$out/hard-auth.json" 2>&1
check "hardened Samba: discover --credentials lists its share" jq -e '.smb.listedAs == "alice" and (.smb.shares | map(.name) | index("vault")) != null' "$out/hard-auth.json"
X add hard "smb://$VM_ADDR:1445/vault" --credentials alice >/dev/null
check "hardened Samba: the share mounts" X mount hard --wait 30s
check "hardened Samba: and reads" test "$(cat "$SMBBASE/hard/$VM_SMB_SECURE_FILE")" = "$VM_SMB_SECURE_CONTENT"
X unmount hard >/dev/null; X remove hard >/dev/null   # its server goes away: later --all runs must not wait for it
vm_smbd_extra_stop hard

# --- an old NAS that speaks only SMB1
vm_smbd_extra_start old 4445 <<CONF
  server min protocol = NT1
  server max protocol = NT1
  ntlm auth = yes
[oldshare]
  path = $VM_ROOT/shares/$VM_SMB_PUBLIC
  guest ok = yes
  read only = yes
CONF
X discover "$VM_ADDR" --timeout 90 --smb-port 4445 --smb1 >/dev/null 2>&1   # warm-up, as above
X discover "$VM_ADDR" --timeout 20 --smb-port 4445 --json >"$out/old.json" 2>&1
check "SMB1-only: discover says so and lists nothing without --smb1" jq -e '.smb.smb1Only == true and (.smb.shares | length) == 0' "$out/old.json"
X discover "$VM_ADDR" --timeout 20 --smb-port 4445 --smb1 >"$out/old-smb1.out" 2>&1
check "SMB1-only: discover --smb1 lists the share" grep -q "^  oldshare " "$out/old-smb1.out"
check "SMB1-only: and suggests --smb-version 1.0" grep -q -- "--smb-version 1.0" "$out/old-smb1.out"
X add old "smb://$VM_ADDR:4445/oldshare" >/dev/null
start=$(vm_now)
X mount old --wait 60s >"$out/old-mount.out" 2>"$out/old-mount.err"
rc=$?
took=$(vm_since "$start")
check "SMB1-only: a default mount fails (rc $rc, want 32)" test "$rc" = 32
check "SMB1-only: after one attempt, not after the whole --wait 60s (${took}s)" \
  sh -c "test \"\$(grep -c 'attempt' '$out/old-mount.err')\" = 1 && awk -v t=$took 'BEGIN { exit !(t < 40) }'"
check "SMB1-only: the message gives the --smb-version 1.0 advice" grep -q -- "--smb-version 1.0" "$out/old-mount.err"
X remove old >/dev/null
X add old "smb://$VM_ADDR:4445/oldshare" --smb-version 1.0 >/dev/null
X mount old --wait 30s >"$out/old-mount1.out" 2>&1
check "SMB1-only: with --smb-version 1.0 it mounts (rc $?)" test "$(cat "$SMBBASE/old/$VM_SMB_PUBLIC_FILE")" = "$VM_SMB_PUBLIC_CONTENT"
X unmount old >/dev/null; X remove old >/dev/null
vm_smbd_extra_stop old

# --- a NAS behind a real link: its own network namespace, a veth pair, tc netem on both ends. Timed
# commands run the tmpfs copy (T): the 9p root pages the binary in again at every start.
vm_nas_start
T discover "$VM_NAS_IP" --timeout 90 >/dev/null 2>&1   # warm-up of smbd's RPC side (see above), unshaped
vm_link delay 100ms 20ms loss 3%
check "netem shapes the link (100 ms +- 20 ms, 3% loss)" sh -c "tc qdisc show dev vmt-h | grep -q 'delay 100ms  20ms loss 3%'"
start=$(vm_now)
T discover "$VM_NAS_IP" --timeout 10 --json >"$out/lossy.json" 2>&1
ours=$(vm_since "$start")
start=$(vm_now)
timeout 60 smbclient -N -L "//$VM_NAS_IP" >"$out/lossy-smbclient.out" 2>&1
theirs=$(vm_since "$start")
echo "lossy link: extlib-net discover ${ours}s, smbclient -N -L ${theirs}s" >"$out/lossy-times"
check "lossy link: discover --timeout 10 lists the share (${ours}s; smbclient -N -L ${theirs}s)" \
  jq -e '.smb.shares | map(.name) | index("'"$VM_NAS_SHARE"'") != null' "$out/lossy.json"
# The tmpfs copy, as for every timed check: --timeout counts from the command's start, and the debug
# binary paged in over 9p spends a second or more of the default 3 s before its first packet.
T discover "$VM_NAS_IP" >"$out/lossy-default.out" 2>&1
check "lossy link: with the default timeout it says what it got" grep -q "^SMB  port 445 open" "$out/lossy-default.out"
X add far "smb://$VM_NAS_IP/$VM_NAS_SHARE" >/dev/null
X mount far --wait 60s >"$out/lossy-mount.out" 2>&1
check "lossy link: mount succeeds within its --wait (rc $?)" test "$(cat "$SMBBASE/far/$VM_SMB_PUBLIC_FILE")" = "$VM_SMB_PUBLIC_CONTENT"

# The link dies: every packet lost.
vm_link loss 100%
start=$(vm_now)
T status --json >"$out/dead-status.json" 2>&1
took=$(vm_since "$start")
check "dead link: status answers within its deadline (${took}s)" awk -v t="$took" 'BEGIN { exit !(t < 10) }'
check "dead link: status says the share is mounted but not healthy, its server unreachable" \
  jq -e '.[] | select(.name == "far") | .mounted == true and .healthy == false and .serverReachable == false' "$out/dead-status.json"
start=$(vm_now)
T heal far --wait 5s >"$out/dead-heal.out" 2>&1
took=$(vm_since "$start")
check "dead link: heal --wait 5s answers within its own bound (${took}s)" awk -v t="$took" 'BEGIN { exit !(t < 20) }'
start=$(vm_now)
T list >"$out/dead-list.out" 2>&1
took=$(vm_since "$start")
check "dead link: the next command is not blocked by a stuck child (${took}s)" awk -v t="$took" 'BEGIN { exit !(t < 5) }'
X unmount far --lazy >"$out/dead-unmount.out" 2>&1
check "dead link: unmount --lazy detaches (rc $?)" test -z "$(mounted_type "$SMBBASE/far")"

# The link comes back: mount again.
vm_link clear
X mount far --wait 60s >"$out/back-mount.out" 2>&1
check "link back: the share mounts again (rc $?)" test "$(cat "$SMBBASE/far/$VM_SMB_PUBLIC_FILE")" = "$VM_SMB_PUBLIC_CONTENT"
X unmount far --lazy >/dev/null 2>&1; X remove far >/dev/null
vm_nas_stop

# --- hung server: status answers within its deadline
X mount public >/dev/null 2>&1
vm_smbd_pause
start=$(vm_now)
timeout 30 "$TRUSTED" --root "$SYS" status --json >"$out/status.json"
rc=$?
took=$(vm_since "$start")
vm_smbd_resume
check "status with a hung server exits 9 (a mount is unhealthy)" test "$rc" = 9
check "status --json reports the hung mount unhealthy" grep -q '"name":"public"[^}]*"healthy":false' "$out/status.json"
check "status with a hung server is quick (${took}s)" awk -v t="$took" 'BEGIN { exit !(t < 10) }'
X unmount --all --lazy >/dev/null 2>&1
X remove wrong >/dev/null

# --- status says why a mount is unhealthy; progress lines on a terminal
X mount --all >/dev/null 2>&1
script -qec "$BIN --root $SYS unmount --all >/dev/null; $BIN --root $SYS mount --all" /dev/null >"$out/terminal.out" 2>&1
check "mount --all on a terminal redraws one line per share" grep -q $'\e\[[0-9]*A' "$out/terminal.out"
# What the terminal shows in the end: the last line drawn for each share, redraws split at \r and
# cursor moves, escape sequences removed.
final_says_mounted() { final_line "$1" | grep -Eq "^ *$1: mounted (.* )?on /"; }
final_line() { sed 's/\x1b\[[0-9;]*[A-Za-z]/\n/g' "$out/terminal.out" | tr '\r' '\n' | grep -E "^ *$1( |:)" | tail -n 1; }
for name in public secure v3 v42; do
  check "on the terminal, $name's last line says it is mounted: $(final_line "$name")" final_says_mounted "$name"
done

# --- boot: the plain boot script (what the systemd unit runs too: mount --all --wait) with both
# servers started once it has failed a first attempt
X unmount --all >/dev/null
vm_smbd_stop
vm_nfsd_stop
start_password_scan
EXTLIB_NET="$BIN" EXTLIB_NET_ROOT="$SYS" EXTLIB_NET_WAIT=150s sh "$REPO/contrib/extlib-net-boot" >"$out/boot.out" 2>"$out/boot.err" &
booter=$!
check "with the servers down, the boot script's first attempt failed" vm_wait_for 60 "the first failed attempt" grep -q 'attempt 1 failed' "$out/boot.err"
vm_smbd_start
vm_nfsd_start
wait "$booter"
rc=$?
check "boot script mounts everything once the servers come up (rc $rc)" test "$rc" = 0
for name in public secure v3 v42; do
  check "boot mounted $name" grep -q "^$name: mounted" "$out/boot.out"
done
check "boot logged backoff attempts" grep -q "attempt 1 failed: .*next try in" "$out/boot.err"
stop_password_scan
check "password never in any argv or environment (first mounts, backoff, boot)" test ! -s "$out/leaks"

# --- heal: an NFS export re-exported as another file system (stale handles) is remounted; the SMB
# mount, which survives a server restart on its own, is left untouched
X unmount v42 >/dev/null
smb_id=$(awk -v p="$SMBBASE/public" '$5 == p { print $1 }' /proc/self/mountinfo)
vm_smbd_stop
vm_smbd_start
timeout 60 stat -f "$SMBBASE/public" >/dev/null   # the CIFS client reconnects on its own
vm_nfsd_stop
vm_nfsd_start
sed -i "s/fsid=1)/fsid=7)/" /etc/exports
exportfs -ra
stat -f "$NFSBASE/v3" >/dev/null 2>"$out/stale.err"
check "the NFS mount is stale before healing" grep -qi "stale" "$out/stale.err"
X heal --all >"$out/heal.out" 2>"$out/heal.err"
rc=$?
check "heal succeeds (rc $rc)" test "$rc" = 0
check "heal remounted the stale NFS mount" grep -q "^v3: was stale" "$out/heal.out"
check "the healed NFS mount reads" test "$(cat "$NFSBASE/v3/$VM_NFS_FILE")" = "$VM_NFS_CONTENT"
check "heal left the healthy SMB mount alone" grep -q "^public: healthy, left alone" "$out/heal.out"
check "the SMB mount is the same mount as before" test "$(awk -v p="$SMBBASE/public" '$5 == p { print $1 }' /proc/self/mountinfo)" = "$smb_id"
X status >"$out/status-after-heal.out"
check "status shows the healing as the last event" grep -q "v3 .*was stale" "$out/status-after-heal.out"

# --- doctor: read as Immich (no DAC override) and the owner rule
X doctor public >"$out/doctor-public.out"
check "doctor: a root-owned CIFS mount is readable as Immich" grep -q "^\[PASS\] public: readable by Immich" "$out/doctor-public.out"
check "doctor: a root-owned CIFS mount passes the owner rule" grep -q "^\[PASS\] public: owner rule" "$out/doctor-public.out"
X add other "smb://$VM_ADDR/$VM_SMB_PUBLIC" --uid 1000 --file-mode 0600 >/dev/null
X mount other >/dev/null 2>&1
X doctor other >"$out/doctor-other.out"
rc=$?
check "doctor fails on files of another user, mode 0600 (rc $rc)" test "$rc" = 9
check "doctor: not readable as Immich" grep -q "^\[FAIL\] other: readable by Immich" "$out/doctor-other.out"
check "doctor: says the fix" grep -q "fix: .*extlib-net remove other, then add it again without --uid" "$out/doctor-other.out"
check "doctor: owner rule fails" grep -q "^\[FAIL\] other: owner rule" "$out/doctor-other.out"
X unmount other >/dev/null

# --- doctor: the namespace check, against namespaces that do and do not see the mount
X unmount public >/dev/null
own_namespace() { [ "$(readlink "/proc/$1/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]; }
unshare --mount --propagation private sleep 600 &
blind=$!
vm_wait_for 10 "a mount namespace of its own" own_namespace "$blind"
X mount public >/dev/null 2>&1
unshare --mount --propagation private sleep 600 &
seeing=$!
vm_wait_for 10 "a mount namespace of its own" own_namespace "$seeing"
X doctor public --namespace "/proc/$blind/ns/mnt" >"$out/doctor-blind.out"
X doctor public --namespace "/proc/$seeing/ns/mnt" >"$out/doctor-seeing.out"
kill "$blind" "$seeing"
check "doctor: a namespace without the mount fails the visibility check" grep -q "^\[FAIL\] public: visible in the snap" "$out/doctor-blind.out"
check "doctor: a namespace with the mount passes it" grep -q "^\[PASS\] public: visible in the snap" "$out/doctor-seeing.out"
check "doctor reads as Immich inside that namespace" grep -q "^\[PASS\] public: readable by Immich" "$out/doctor-seeing.out"
X unmount --all --lazy >/dev/null 2>&1

# --- immich: link, guard, a NAS that goes away, recovery. Against the test bed's stand-in of Immich's
# API (Tests/testbed/immich-standin: no real Immich can run here), which sees $SYS as the snap sees /.
X unmount --all --lazy >/dev/null 2>&1
IMM=$VM_ROOT/immich
mkdir -p "$IMM"
IKEY=vmadmin$(od -An -tx8 -N16 /dev/urandom | tr -d ' \n')
printf '{"users": [{"email": "admin@example.com", "name": "Admin", "isAdmin": true, "apiKeys": ["%s"]}]}' "$IKEY" >"$IMM/seed.json"
printf 'x-api-key: %s\n' "$IKEY" >"$IMM/header"   # curl -H @file: the key stays off every command line
/usr/bin/python3 "$REPO/Tests/testbed/immich-standin" --listen 127.0.0.1:0 --state "$IMM" --port-file "$IMM/port" --fs-root "$SYS" >"$out/standin.log" 2>&1 &
standin=$!
vm_wait_for 20 "the Immich stand-in" test -s "$IMM/port"
IURL=http://127.0.0.1:$(tr -d '\n' <"$IMM/port")
state() { curl -sf "$IURL/_standin/state"; }
lib_id() { state | jq -r --arg n "$1" '.libraries[] | select(.name == $n) | .id'; }
assets() { state | jq --arg id "$(lib_id "$1")" "[.assets[] | select(.libraryId == \$id) | $2] | length"; }
# Photos on both servers.
printf 'jpeg' >"$VM_ROOT/shares/$VM_SMB_PUBLIC/beach.jpg"
printf 'jpeg' >"$VM_NFS3_PATH/one.jpg"; printf 'jpeg' >"$VM_NFS3_PATH/two.jpg"
scan_for_key() {
  : >"$out/key-leaks"
  while [ -e "$out/key-scanning" ]; do
    for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do
      { tr '\0' '\n' <"$f" | grep -qF -- "$IKEY" && echo "$f" >>"$out/key-leaks"; } 2>/dev/null
    done
  done
}
touch "$out/key-scanning"
scan_for_key &
keyscanner=$!

printf '%s' "$IKEY" | X immich login --url "$IURL" --api-key-stdin >"$out/login.out" 2>&1
check "immich login with the admin key" grep -q "logged in to Immich" "$out/login.out"
X mount public v3 >/dev/null 2>&1
X immich link public >"$out/link-public.out" 2>&1
X immich link v3 >"$out/link-v3.out" 2>&1
check "immich link creates a library with the snap's path" grep -q "created external library 'public'" "$out/link-public.out"
check "Immich finds the linked path valid" grep -q "checks the path: valid" "$out/link-v3.out"
check "the import path is the snap's, not --root's" test "$(state | jq -r '.libraries[] | select(.name == "v3") | .importPaths[0]')" = /var/snap/immich-distribution/common/v3
X immich scan --all >"$out/scan-first.out" 2>&1
check "first guarded scan scans both (rc $?)" test "$(grep -c 'scan started' "$out/scan-first.out")" = 2
check "the first scan imported the NFS photos" test "$(assets v3 'select(.isOffline | not)')" = 2
check "the first scan imported the SMB photo" test "$(assets public 'select(.isOffline | not)')" = 1

state | jq -S 'del(.config.library.scan.enabled) | .config' >"$out/config-before.json"
T immich guard enable --no-reload >"$out/guard.out" 2>&1
check "guard enable (rc $?)" grep -q "guard on" "$out/guard.out"
check "guard: Immich's own schedule is off" test "$(state | jq '.config.library.scan.enabled')" = false
state | jq -S 'del(.config.library.scan.enabled) | .config' >"$out/config-after.json"
check "guard: the rest of Immich's config is unchanged" cmp -s "$out/config-before.json" "$out/config-after.json"
check "guard: a timer on Immich's schedule" grep -q "OnCalendar=\*-\*-\* 00:00:00" "$SYS/etc/systemd/system/extlib-net-immich-scan.timer"

# The NAS goes away: unmounted, server stopped.
X unmount v3 >/dev/null
vm_nfsd_stop
check "Immich's own schedule no longer fires" test "$(curl -sf -X POST "$IURL/_standin/scheduled-scan" | jq .ran)" = false
X immich scan --all >"$out/scan-away.out" 2>&1
rc=$?
check "guarded scan with a share away exits 10 (rc $rc)" test "$rc" = 10
check "guarded scan skips the away library" grep -q "^v3: SKIPPED" "$out/scan-away.out"
check "guarded scan still scans the healthy one" grep -q "^public: scan started" "$out/scan-away.out"
check "no asset of the away library went offline" test "$(assets v3 'select(.isOffline)')" = 0
check "the admins got one warning" test "$(state | jq '[.notifications[] | select(.level == "warning")] | length')" = 1
# A manual scan in Immich's web UI, while the NAS is away, takes the library offline (into the trash).
curl -sf -H @"$IMM/header" -X POST "$IURL/api/libraries/$(lib_id v3)/scan"
check "a manual scan in Immich trashed the away library" test "$(assets v3 'select(.isOffline and .deletedAt != null)')" = 2
# The share comes back through mount: the library is rescanned and whole again.
vm_nfsd_start
X mount v3 --wait 60s >"$out/mount-back.out" 2>"$out/mount-back.err"
check "the share mounts again (rc $?)" grep -q "^v3: mounted" "$out/mount-back.out"
check "mount rescanned the library" grep -q "immich: 'v3' rescanned" "$out/mount-back.err"
check "the library is whole again" test "$(assets v3 'select((.isOffline | not) and .deletedAt == null)')" = 2
check "the admins were told it is back" test "$(state | jq '[.notifications[] | select(.level == "success")] | length')" = 1
X immich status >"$out/immich-status.out" 2>&1
check "immich status shows the share mounted and healthy" grep -q "share 'v3', mounted, healthy" "$out/immich-status.out"

# Immich scans inside the snap's mount namespace: a share mounted after that namespace was made (with
# private propagation) does not reach it, and must count as away.
X unmount v3 >/dev/null
unshare --mount --propagation private sleep 600 &
blindns=$!
vm_wait_for 10 "a mount namespace of its own" own_namespace "$blindns"
mkdir -p "$SYS/run/snapd/ns"; touch "$SYS/run/snapd/ns/immich-distribution.mnt"
mount --bind "/proc/$blindns/ns/mnt" "$SYS/run/snapd/ns/immich-distribution.mnt"
X mount v3 >/dev/null 2>"$out/mount-blind.err"
X immich scan v3 >"$out/scan-blind.out" 2>&1
rc=$?
check "a share the snap does not see is not scanned (rc $rc)" test "$rc" = 10
check "it says the snap does not see it" grep -q "not inside the snap where Immich scans" "$out/scan-blind.out"
umount "$SYS/run/snapd/ns/immich-distribution.mnt"; rm -f "$SYS/run/snapd/ns/immich-distribution.mnt"
kill "$blindns"; wait "$blindns" 2>/dev/null

X immich guard disable --no-reload >"$out/guard-off.out" 2>&1
check "guard disable restores Immich's schedule" test "$(state | jq -cS '.config.library.scan')" = '{"cronExpression":"0 0 * * *","enabled":true}'

# --- setup: the guided flow on a pseudo-terminal (Tests/testbed/pty-play plays the user), through the mount
# step the host's tests cannot reach (no cifs client there): a share that needs an account, the account
# asked and stored, the definition added, mounted for real, boot declined, linked in the Immich stand-in
# (logged in above), guard declined, doctor's verdict. Steps are in a file: the password stays off argv.
X unmount --all --lazy >/dev/null 2>&1
jq -n --arg pass "$VM_SMB_PASS" '[
  {expect: "Which to mount?"}, {pick: "smb  secure"},
  {expect: "does not open as guest"}, {expect: "or Enter for a new one: "}, {send: "\n"},
  {expect: "User name on the NAS: "}, {send: "alice\n"}, {expect: "Password for alice: "}, {echo: true}, {send: ($pass + "\n")},
  {expect: "the account works"}, {expect: "Name to store this account under"}, {send: "setupcred\n"},
  {expect: "Name for this mount"}, {send: "setupsec\n"},
  {expect: "Mount the shares at every boot"}, {send: "n\n"},
  {expect: "import '\''setupsec'\''? [Y/n] "}, {send: "\n"},
  {expect: "guarded scan"}, {send: "n\n"},
  {expect: "doctor: "}
]' >"$out/setup-steps.json"
chmod 600 "$out/setup-steps.json"
# Under emulation smbd's first share listing after a restart takes 10 s and more (samba-dcerpcd starts):
# one listing first, and a longer --timeout for setup's own.
X discover "$VM_ADDR" --timeout 60 >/dev/null 2>&1
setup_fails_before=$fail
PTY_PLAY_WAIT=90 /usr/bin/python3 "$REPO/Tests/testbed/pty-play" "$out/setup-steps.json" "$BIN" setup "$VM_ADDR" --timeout 60 --immich-url "$IURL" --wait 30s --root "$SYS" >"$out/setup.json"
jq -r .screen "$out/setup.json" >"$out/setup.screen"
rc=$(jq -r .status "$out/setup.json")
check "setup: every step played ($(jq -r .failed "$out/setup.json"))" test "$(jq -r .failed "$out/setup.json")" = null
check "setup: ends with doctor's verdict, exit 0 or 9 (rc $rc)" test "$rc" = 0 -o "$rc" = 9
check "setup: no echo at the password prompt, echo back at the end" test "$(jq -c '[.echoes, .echoAfter]' "$out/setup.json")" = '[[false],true]'
check "setup: the password never on the screen" not_in_file "$VM_SMB_PASS" "$out/setup.screen"
check "setup: shows the plain add command" grep -qF "$ extlib-net add setupsec smb://$VM_ADDR/$VM_SMB_SECURE --credentials setupcred --root $SYS" "$out/setup.screen"
check "setup: shows the plain mount command" grep -qF "$ extlib-net mount setupsec --root $SYS" "$out/setup.screen"
check "setup: the credential is stored and works" X credentials check setupcred "$VM_ADDR/$VM_SMB_SECURE" --timeout 60
# immich link restacks: the placeholder beneath, the share on top
check "setup: the share is mounted on top ($(stack_types "$SMBBASE/setupsec"))" test "$(top_type "$SMBBASE/setupsec")" = cifs
check "setup: says it mounted" grep -q "^setupsec: mounted " "$out/setup.screen"
check "setup: alice's file is readable through it" grep -qF "$VM_SMB_SECURE_CONTENT" "$SMBBASE/setupsec/$VM_SMB_SECURE_FILE"
check "setup: no boot units (declined)" test ! -e "$SYS/etc/systemd/system/extlib-net.service"
check "setup: linked in Immich with the snap's path" test "$(state | jq -r '.libraries[] | select(.name == "setupsec") | .importPaths[0]')" = /root/snap/immich-distribution/common/setupsec
check "setup: the guard stays off (declined)" test ! -e "$SYS/etc/extlib-net/immich-guard"
# CI keeps only the log: on any failure above, the screen says why (any line with the password left out).
[ "$fail" = "$setup_fails_before" ] || { echo "setup's screen:"; grep -vF -- "$VM_SMB_PASS" "$out/setup.screen" | sed 's/^/  | /'; }
X unmount setupsec >/dev/null 2>&1
X remove setupsec >/dev/null 2>&1
X credentials remove setupcred >/dev/null 2>&1

rm -f "$out/key-scanning"; wait "$keyscanner"
check "the API key never in any argv or environment" test ! -s "$out/key-leaks"
kill "$standin"; wait "$standin" 2>/dev/null
start=$(vm_now)
X immich status >"$out/immich-down.out" 2>&1
rc=$?
took=$(vm_since "$start")
check "Immich stopped: exit 4 (rc $rc)" test "$rc" = 4
check "Immich stopped: says how to start it" grep -q "snap start immich-distribution" "$out/immich-down.out"
check "Immich stopped: answered in ${took}s, within the request deadline" awk -v t="$took" 'BEGIN { exit !(t < 10) }'
X unmount --all --lazy >/dev/null 2>&1

# --- placeholder: while a share is away, its mount folder shows the files Immich knows (empty, mode
# 0000, the share's exact times), read-only; never an empty folder during a swap. The record is written
# here as immich link would write it (the stand-in's libraries are not needed for the mounts).
write_record() { # NAME FOLDER: every file of FOLDER, with its time to the nanosecond
  python3 - "$1" "$2" "$SYS/var/lib/extlib-net/placeholders" <<'PY'
import json, os, sys
name, folder, out = sys.argv[1:4]
entries = []
for top, dirs, files in os.walk(folder):
    for f in files:
        path = os.path.join(top, f)
        ns = os.lstat(path).st_mtime_ns
        entries.append("%d.%09d %s" % (ns // 10**9, ns % 10**9, os.path.relpath(path, folder)))
os.makedirs(out, mode=0o700, exist_ok=True)
os.chmod(os.path.dirname(out), 0o700)
fd = os.open(os.path.join(out, name + ".json"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps({"definition": name, "libraryIDs": ["vm"], "takenAt": "2026-12-04T00:00:00Z", "source": "immichAssets", "entries": entries}).encode())
os.close(fd)
print(len(entries))
PY
}
# stat_loop FILE: stats FILE until $out/stop-loop exists; counts tries and misses
stat_loop() {
  local n=0 miss=0
  while [ ! -e "$out/stop-loop" ]; do
    [ -e "$1" ] || miss=$((miss + 1))
    n=$((n + 1))
  done
  echo "$n $miss" >"$out/loop-count"
}
X mount public --wait 30s >/dev/null 2>&1
recorded=$(write_record public "$SMBBASE/public")
share_time=$(stat -c %y "$SMBBASE/public/$VM_SMB_PUBLIC_FILE")
X unmount public >/dev/null 2>&1
X mount public --wait 30s >"$out/ph-mount.out" 2>&1
check "placeholder: mount puts it beneath the share ($(stack_types "$SMBBASE/public"))" test "$(stack_types "$SMBBASE/public")" = "tmpfs cifs "
check "placeholder: the share reads on top of it" test "$(cat "$SMBBASE/public/$VM_SMB_PUBLIC_FILE")" = "$VM_SMB_PUBLIC_CONTENT"
rm -f "$out/stop-loop"; stat_loop "$SMBBASE/public/$VM_SMB_PUBLIC_FILE" & looper=$!
X unmount --placeholder public >"$out/ph-by-hand.out" 2>&1
check "placeholder: unmount --placeholder shows it (rc $?)" test "$(top_type "$SMBBASE/public")" = tmpfs
X mount public --wait 30s >/dev/null 2>&1
check "placeholder: mount puts the share back on top" test "$(top_type "$SMBBASE/public")" = cifs
touch "$out/stop-loop"; wait "$looper"
read -r looks misses <"$out/loop-count"
check "placeholder: a stat loop through both swaps never missed the file ($misses of $looks)" test "$misses" = 0 -a "$looks" -gt 100
# A hung server: heal detaches the share; the placeholder is there at once, exact, unreadable.
vm_smbd_pause
start=$(vm_now)
X heal public --wait 5s >"$out/ph-heal.out" 2>&1
took=$(vm_since "$start")
check "placeholder: heal with a hung server answers within its bound (${took}s)" awk -v t="$took" 'BEGIN { exit !(t < 30) }'
check "placeholder: after heal the folder shows the placeholder ($(stack_types "$SMBBASE/public"))" test "$(top_type "$SMBBASE/public")" = tmpfs
check "placeholder: the file has the share's exact time" test "$(stat -c %y "$SMBBASE/public/$VM_SMB_PUBLIC_FILE")" = "$share_time"
check "placeholder: root-owned, mode 0000, empty" test "$(stat -c '%u %a %s' "$SMBBASE/public/$VM_SMB_PUBLIC_FILE")" = "0 0 0"
check "placeholder: unreadable without DAC override (as the snap's Immich)" \
  sh -c '! capsh --drop=cap_dac_override,cap_dac_read_search -- -c "cat \"\$0\"" "$1" 2>/dev/null' _ "$SMBBASE/public/$VM_SMB_PUBLIC_FILE"
check "placeholder: read-only even for root" sh -c '! touch "$1/new.jpg" 2>/dev/null' _ "$SMBBASE/public"
X status --json >"$out/ph-status.json"
json_true() { jq -e "$1" "$2" >/dev/null; }
check "placeholder: status --json says shown, with a time and its $recorded files" \
  json_true '.[] | select(.name == "public") | .placeholder.state == "shown" and .placeholder.files == '"$recorded"' and (.placeholder.since | type == "string")' "$out/ph-status.json"
vm_smbd_resume
X heal public --wait 60s >"$out/ph-heal-back.out" 2>&1
check "placeholder: heal mounts the returned share over it ($(stack_types "$SMBBASE/public"))" test "$(top_type "$SMBBASE/public")" = cifs
check "placeholder: the share reads again" test "$(cat "$SMBBASE/public/$VM_SMB_PUBLIC_FILE")" = "$VM_SMB_PUBLIC_CONTENT"
X unmount public >"$out/ph-unmount.out" 2>"$out/ph-unmount.err"
check "placeholder: a plain unmount removes every layer" test -z "$(stack_types "$SMBBASE/public")"
check "placeholder: a plain unmount warns about the trash" grep -q "trash" "$out/ph-unmount.err"
rm -f "$SYS/var/lib/extlib-net/placeholders/public.json"

# --- placeholder against every kind of Immich scan. The stand-in runs as the snap runs Immich: root
# without the DAC capabilities, in a mount namespace that is a slave of the share's folder and was made
# before anything was mounted there (as the snap's is). The record comes from immich link (Immich's
# assets on the share), which restacks the mounted share over its placeholder.
mount --bind "$SMBBASE" "$SMBBASE" && mount --make-shared "$SMBBASE"   # as the host's / is under systemd
unshare --mount --propagation slave -- capsh --drop=cap_dac_override,cap_dac_read_search -- -c \
  'exec /usr/bin/python3 "$0" --listen 127.0.0.1:0 --state "$1" --port-file "$1/port2" --fs-root "$2"' \
  "$REPO/Tests/testbed/immich-standin" "$IMM" "$SYS" >"$out/standin2.log" 2>&1 &
standin=$!
vm_wait_for 20 "the Immich stand-in without DAC override" test -s "$IMM/port2"
IURL=http://127.0.0.1:$(tr -d '\n' <"$IMM/port2")
caps=$(awk '/^CapEff:/ { print $2 }' "/proc/$standin/status")
check "placeholder/Immich: the stand-in has no DAC override (CapEff $caps)" test "$(( 0x$caps & 6 ))" = 0
check "placeholder/Immich: in a mount namespace of its own" own_namespace "$standin"
printf '%s' "$IKEY" | X immich login --url "$IURL" --api-key-stdin >"$out/login2.out" 2>&1
mkdir -p "$VM_ROOT/shares/$VM_SMB_PUBLIC/2024"
printf 'jpeg' >"$VM_ROOT/shares/$VM_SMB_PUBLIC/2024/sunset.jpg"
touch -d '@1700000000.123456789' "$VM_ROOT/shares/$VM_SMB_PUBLIC/2024/sunset.jpg"
X mount public --wait 30s >/dev/null 2>&1
curl -sf -H @"$IMM/header" -X POST "$IURL/api/libraries/$(lib_id public)/scan"
held=$(assets public 'select(.isOffline | not)')
X immich link public >"$out/ph-link.out" 2>&1
check "placeholder/Immich: link records the $held files Immich holds on the share" grep -q "placeholder recorded: $held files" "$out/ph-link.out"
check "placeholder/Immich: link restacks the mounted share over its placeholder ($(stack_types "$SMBBASE/public"))" \
  test "$(stack_types "$SMBBASE/public")" = "cifs tmpfs cifs "
vm_smbd_pause
X heal public --wait 5s >"$out/ph2-heal.out" 2>&1
check "placeholder/Immich: with the NAS hung, heal shows the placeholder" test "$(top_type "$SMBBASE/public")" = tmpfs
snap_top=$(nsenter -t "$standin" -m -- awk -v p="$SMBBASE/public" '$5 == p { for (i = 7; $i != "-"; i++); t = $(i + 1) } END { print t }' /proc/self/mountinfo)
check "placeholder/Immich: the stand-in's namespace shows it too ($snap_top)" test "$snap_top" = tmpfs
library_view() { state | jq -c --arg id "$(lib_id public)" '[.assets[] | select(.libraryId == $id) | [.id, .isOffline, .deletedAt, .fileModifiedAt]]'; }
last_scan() { state | jq -c --arg id "$(lib_id public)" '.libraries[] | select(.id == $id) | .lastScan'; }
before=$(library_view)
curl -sf -H @"$IMM/header" -X POST "$IURL/api/libraries/$(lib_id public)/scan"
check "placeholder/Immich: the Scan button: nothing offline, imported or read" \
  jq -e '.offlined == 0 and .imported == 0 and .extracted == 0 and (.extractFailed | length) == 0 and (.validImportPaths | length) == 1' <<<"$(last_scan)"
curl -sf -H @"$IMM/header" -H 'content-type: application/json' -X PUT -d '{"command": "start"}' "$IURL/api/jobs/library" >/dev/null
check "placeholder/Immich: the Jobs page's scan all: the same" jq -e '.offlined == 0 and .imported == 0 and .extracted == 0' <<<"$(last_scan)"
check "placeholder/Immich: Immich's own schedule ran" test "$(curl -sf -X POST "$IURL/_standin/scheduled-scan" | jq .ran)" = true
check "placeholder/Immich: after all three, every asset exactly as before" test "$(library_view)" = "$before"
check "placeholder/Immich: none offline, none in the trash" test "$(assets public 'select(.isOffline or .deletedAt != null)')" = 0
sunset=$(state | jq -r '.assets[] | select(.originalPath | endswith("/public/2024/sunset.jpg")) | .originalPath')
curl -sf -H 'content-type: application/json' -X POST -d "$(jq -nc --arg p "$sunset" '{originalPath: $p, fileModifiedAt: "2020-01-01T00:00:00.000Z"}')" \
  "$IURL/_standin/asset-modified" >/dev/null
curl -sf -H @"$IMM/header" -X POST "$IURL/api/libraries/$(lib_id public)/scan"
check "placeholder/Immich: a file Immich thinks changed is read, refused (EACCES), and the asset stays" \
  jq -e '(.extractFailed | length) == 1 and .extractFailed[0].error == "EACCES" and .offlined == 0' <<<"$(last_scan)"
vm_smbd_resume
X heal public --wait 60s >"$out/ph2-heal-back.out" 2>&1
check "placeholder/Immich: the NAS back, heal puts the share on top ($(stack_types "$SMBBASE/public"))" test "$(top_type "$SMBBASE/public")" = cifs
curl -sf -H @"$IMM/header" -X POST "$IURL/api/libraries/$(lib_id public)/scan"
check "placeholder/Immich: the share back, that file is read from it" jq -e '.extracted == 1 and (.extractFailed | length) == 0 and .offlined == 0' <<<"$(last_scan)"
X unmount public >/dev/null 2>&1
kill "$standin"; wait "$standin" 2>/dev/null
umount "$SMBBASE" 2>/dev/null || umount -l "$SMBBASE"
rm -f "$SYS/var/lib/extlib-net/placeholders/public.json"

# --- an NFSv4-only kernel server: no rpcbind, no MOUNT protocol (rpc.nfsd -N 3)
vm_nfsd_stop
pkill -x rpcbind; pkill -x rpc.statd
vm_wait_for 10 "rpcbind to exit" _vm_no_proc rpcbind
rpc.nfsd -N 3 -V 4 -U "$VM_NFS_THREADS" >"$out/v4only-nfsd.out" 2>&1
rpc.mountd -N 2 -N 3 -V 4 -u >>"$out/v4only-nfsd.out" 2>&1
vm_wait_for 20 "nfsd v4 on 2049" vm_listening "$VM_NFS_PORT"
X discover "$VM_ADDR" --timeout 20 --json >"$out/v4only.json" 2>&1
check "NFSv4-only: discover reports v4-only" jq -e '.nfs.v4only == true and .nfs.reachable == true' "$out/v4only.json"
X add v4only "nfs://$VM_ADDR/" >/dev/null
X mount v4only --wait 60s >"$out/v4only-mount.out" 2>&1
check "NFSv4-only: nfs://HOST/ mounts (rc $?)" test "$(cat "$NFSBASE/v4only/$VM_NFS_ROOT_FILE")" = "$VM_NFS_ROOT_CONTENT"
check "NFSv4-only: over NFSv4" grep -q "vers=4" <(findmnt -rn -o OPTIONS --mountpoint "$NFSBASE/v4only")
X unmount v4only >/dev/null

cat "$out"/*.err >&2 2>/dev/null || true
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
