#!/bin/bash
# Guest script: proves the VM environment and measures how real kernel
# mounts fail. Run it through the harness:
#
#   Tests/vm/run-in-vm OUTDIR Tests/vm/smoke.sh [--basic|--full]
#
# Writes OUTDIR/smoke/summary.txt (one "key: value" line per check or
# measurement, PASS/FAIL lines for checks), OUTDIR/smoke/mountinfo.txt,
# OUTDIR/smoke/dmesg.txt and the probes' raw output under OUTDIR/smoke/probes.
# Exit status 0 when every check passed. Measurements never fail the run.
#
# Modes (VM totals measured on the 2-core host, see README.md):
#   --basic  servers, every happy mount, wrong password etc.   (~1 min)
#   default  + server down/up and hung-server probes capped at SMOKE_CAP
#            (30 s), all probes in parallel                     (~2.5 min)
#   --full   cap 300 s, so the slow default-option timeouts (CIFS: 3 x
#            echo_interval = 180 s and more) are measured to the end (~7 min)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=guest-lib.sh
. "$here/guest-lib.sh"

mode=quick
case "${1:-}" in
  "") ;;
  --full) mode=full ;;
  --basic) mode=basic ;;
  *) echo "usage: smoke.sh [--basic|--full]" >&2; exit 2 ;;
esac
full=no
if [ "$mode" = full ]; then full=yes; fi
cap=${SMOKE_CAP:-30}
if [ "$full" = yes ]; then cap=${SMOKE_CAP:-300}; fi

out=$VM_OUTDIR/smoke
rm -rf "$out"
mkdir -p "$out/probes"
summary=$out/summary.txt
: >"$summary"
failures=0

note() { printf '%s: %s\n' "$1" "$2" | tee -a "$summary" >&2; }
pass() { note "PASS $1" "${2:-ok}"; }
fail() { note "FAIL $1" "${2:-failed}"; failures=$((failures + 1)); }
# check NAME CMD... : PASS when CMD succeeds
check() {
  local name=$1
  shift
  if "$@" >"$out/probes/check.out" 2>&1; then pass "$name"; else fail "$name" "$(tr '\n' ' ' <"$out/probes/check.out")"; fi
}
# expect_content NAME FILE TEXT
expect_content() {
  local got
  got=$(timeout 20 cat "$2" 2>&1)
  if [ "$got" = "$3" ]; then pass "$1" "read '$got'"; else fail "$1" "expected '$3', got '$got'"; fi
}
# result FILE -> prints "rc=N secs=S" or "still running"
result() { if [ -s "$1" ]; then cat "$1"; else echo "no result"; fi; }
first_line() { grep -v '^Refer to the mount.cifs' "$1" 2>/dev/null | head -n 4 | tr '\n' ' ' | sed 's/ *$//'; }
is_mounted() { awk -v p="$1" '$5 == p { f = 1 } END { exit !f }' /proc/self/mountinfo; }
mountinfo_of() { awk -v p="$1" '$5 == p' /proc/self/mountinfo; }

M=$VM_MNT
A=$VM_ADDR
note "kernel" "$(uname -r), $(nproc) cpus, $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo)"
note "mode" "$mode, probe cap ${cap}s"
note "cifs-utils" "$(mount.cifs -V 2>&1 | head -n 1)"
note "boot (guest uptime at script start)" "$(vm_uptime)s"

# ------------------------------------------------------------ servers ---
t=$(vm_now); vm_setup; note "time setup (lo, modprobe, tmpfs)" "$(vm_since "$t")s"
t=$(vm_now); vm_smbd_start; note "time smbd start" "$(vm_since "$t")s"
t=$(vm_now); vm_nfsd_start; note "time nfsd start" "$(vm_since "$t")s"

# ------------------------------------------------------ happy mounts ---
mkdir -p "$M"/{guest,alice,nfs3,nfs4}

t=$(vm_now)
check "cifs guest ro via /sbin/mount.cifs" /sbin/mount.cifs "//$A/$VM_SMB_PUBLIC" "$M/guest" -o guest,ro
note "time mount cifs guest" "$(vm_since "$t")s"
expect_content "cifs guest read" "$M/guest/$VM_SMB_PUBLIC_FILE" "$VM_SMB_PUBLIC_CONTENT"

# The password travels through a pipe whose fd number is in PASSWD_FD: it is
# in neither argv nor the environment. printf is a bash builtin (no argv of
# its own); the pipe must carry the password WITHOUT a trailing newline:
# mount.cifs 7.0 takes the bytes verbatim (see the check below).
t=$(vm_now)
exec 5< <(printf '%s' "$VM_SMB_PASS")
check "cifs alice ro via mount -t cifs + PASSWD_FD pipe (pa,ss\"word)" \
  env PASSWD_FD=5 mount -t cifs "//$A/$VM_SMB_SECURE" "$M/alice" -o "username=$VM_SMB_USER,ro"
exec 5<&-
note "time mount cifs alice" "$(vm_since "$t")s"
expect_content "cifs alice read" "$M/alice/$VM_SMB_SECURE_FILE" "$VM_SMB_SECURE_CONTENT"

t=$(vm_now)
check "nfs v3 ro mount" mount -t nfs -o ro,vers=3 "$A:$VM_NFS3_PATH" "$M/nfs3"
note "time mount nfs3" "$(vm_since "$t")s"
expect_content "nfs3 read" "$M/nfs3/$VM_NFS_FILE" "$VM_NFS_CONTENT"

t=$(vm_now)
check "nfs v4.2 ro mount of $A:/" mount -t nfs -o ro,vers=4.2 "$A:/" "$M/nfs4"
note "time mount nfs4.2" "$(vm_since "$t")s"
t=$(vm_now)
expect_content "nfs4 read root file" "$M/nfs4/$VM_NFS_ROOT_FILE" "$VM_NFS_ROOT_CONTENT"
note "time first nfs4 read (grace period ${VM_NFS_GRACE}s)" "$(vm_since "$t")s"
expect_content "nfs4 read through crossmnt export" "$M/nfs4${VM_NFS4_SUBPATH}/$VM_NFS_FILE" "$VM_NFS_CONTENT"

{
  echo "# /proc/self/mountinfo lines of the smoke mounts"
  for d in guest alice nfs3 nfs4 "nfs4$VM_NFS4_SUBPATH"; do mountinfo_of "$M/$d"; done
} >"$out/mountinfo.txt"
cat "$out/mountinfo.txt" >&2
check "mountinfo has cifs x2, nfs, nfs4 x2" test "$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1); break } }' "$out/mountinfo.txt" | sort | tr '\n' ' ')" = "cifs cifs nfs nfs4 nfs4 "
check "password not in mountinfo" bash -c "! grep -F -q 'pa,ss' /proc/self/mountinfo"

for d in "nfs4$VM_NFS4_SUBPATH" nfs4 nfs3 alice guest; do
  if is_mounted "$M/$d"; then timeout 20 umount "$M/$d" || umount -l "$M/$d"; fi
done
check "all smoke mounts unmounted" bash -c "! grep -E -q ' - (cifs|nfs|nfs4) ' /proc/self/mountinfo"

# ----------------------------------------------------- failure modes ---
# PASSWD_FD takes the bytes verbatim: a here-string (<<<) appends "\n".
exec 5<<<"$VM_SMB_PASS"
env PASSWD_FD=5 mount -t cifs "//$A/$VM_SMB_SECURE" "$M/alice" -o "username=$VM_SMB_USER,ro" >"$out/probes/newline.out" 2>&1
rc=$?
exec 5<&-
if is_mounted "$M/alice"; then umount "$M/alice"; fi
note "PASSWD_FD with trailing newline" "rc=$rc: $(first_line "$out/probes/newline.out")"

exec 5< <(printf '%s' 'not-the-password')
t=$(vm_now)
env PASSWD_FD=5 mount -t cifs "//$A/$VM_SMB_SECURE" "$M/alice" -o "username=$VM_SMB_USER,ro" >"$out/probes/wrongpw.out" 2>&1
rc=$?
exec 5<&-
note "wrong password: mount -t cifs" "rc=$rc in $(vm_since "$t")s: $(first_line "$out/probes/wrongpw.out")"
if [ "$rc" = 32 ]; then pass "wrong password exits 32"; else fail "wrong password exits 32" "rc=$rc"; fi
exec 5< <(printf '%s' 'not-the-password')
env PASSWD_FD=5 /sbin/mount.cifs "//$A/$VM_SMB_SECURE" "$M/alice" -o "username=$VM_SMB_USER,ro" >"$out/probes/wrongpw2.out" 2>&1
rc=$?
exec 5<&-
note "wrong password: /sbin/mount.cifs" "rc=$rc: $(first_line "$out/probes/wrongpw2.out")"

mount -t cifs "//$A/nosuchshare" "$M/guest" -o guest,ro >"$out/probes/noshare.out" 2>&1
note "unknown share" "rc=$?: $(first_line "$out/probes/noshare.out")"
mount -t cifs "//$A/$VM_SMB_PUBLIC" "$M/guest" -o guest,ro,port=4455 >"$out/probes/closed.out" 2>&1
note "closed port (4455)" "rc=$?: $(first_line "$out/probes/closed.out")"
mount -t cifs "//$A/$VM_SMB_SECURE" "$M/alice" -o "username=$VM_SMB_USER,ro" >"$out/probes/nopw.out" 2>&1 </dev/null
note "no password, no tty" "rc=$?: $(first_line "$out/probes/nopw.out")"
mount -t nfs -o ro,vers=3 "$A:/no/such/export" "$M/nfs3" >"$out/probes/nfsnoexport.out" 2>&1
note "nfs3 unknown export" "rc=$?: $(first_line "$out/probes/nfsnoexport.out")"

finish() {
  dmesg >"$out/dmesg.txt" 2>&1
  note "guest uptime at end" "$(vm_uptime)s"
  note "result" "$failures check(s) failed"
  [ "$failures" -eq 0 ]
  exit
}
if [ "$mode" = basic ]; then finish; fi

# ------------------------------------------ smbd down, then up again ---
vm_smbd_stop
t=$(vm_now)
mount -t cifs "//$A/$VM_SMB_PUBLIC" "$M/guest" -o guest,ro >"$out/probes/smbdown.out" 2>&1
note "smbd down: mount" "rc=$? in $(vm_since "$t")s: $(first_line "$out/probes/smbdown.out")"
vm_smbd_start
check "smbd up again: mount works" mount -t cifs "//$A/$VM_SMB_PUBLIC" "$M/guest" -o guest,ro
expect_content "smbd up again: read" "$M/guest/$VM_SMB_PUBLIC_FILE" "$VM_SMB_PUBLIC_CONTENT"
umount "$M/guest"

# ------------------------------- hung servers: every probe in parallel ---
# smbd is SIGSTOPped (TCP handshakes still complete, nothing answers); the
# kernel nfsd cannot be stopped, so packets to 2049/20048 are dropped. Each
# CIFS probe mount has its own connection (nosharesock): without it, mounts
# of the same server share one session/tree connection and one mount's
# options (e.g. hard) are silently those of the first. Every probe runs
# under timeout -k 5 $cap: rc=124 means SIGTERM ended it at the cap, rc=137
# that it took SIGKILL, "no result" that even SIGKILL did not end it.
P=$out/probes
cifs_probe_mounts=(
  "c_def:guest,ro,nosharesock"
  "c_e5:guest,ro,nosharesock,echo_interval=5"
  "c_e5hard:guest,ro,nosharesock,echo_interval=5,hard"
  "c_ul:guest,ro,nosharesock"
  "c_uf:guest,ro,nosharesock"
  "c_u:guest,ro,nosharesock"
)
for spec in "${cifs_probe_mounts[@]}"; do
  d=${spec%%:*}
  mkdir -p "$M/$d"
  check "hung setup: cifs $d (${spec#*:})" mount -t cifs "//$A/$VM_SMB_PUBLIC" "$M/$d" -o "${spec#*:}"
done
nfs_probe_mounts=(
  "n_soft:vers=4.2,ro,soft,timeo=10,retrans=1:/"
  "n_v4:vers=4.2,ro:/"
  "n_v3:vers=3,ro:$VM_NFS3_PATH"
  "n_ul:vers=3,ro:$VM_NFS3_PATH"
)
for spec in "${nfs_probe_mounts[@]}"; do
  IFS=: read -r d opts path <<<"$spec"
  mkdir -p "$M/$d"
  check "hung setup: nfs $d ($opts)" mount -t nfs -o "$opts" "$A:$path" "$M/$d"
done
for d in c_def c_e5hard n_soft n_v4 n_v3; do
  note "effective options $d" "$(mountinfo_of "$M/$d" | sed 's/.* - //')"
done
mkdir -p "$M"/{c_new_def,c_new_e5,c_new_kill,c_new_term,n_new_def,n_new_soft}

vm_smbd_pause
vm_nfsd_pause
sleep 2 # let attribute caches (cifs actimeo=1) expire
t0=$(vm_now)
probes=()
probe() { probes+=("$P/$1"); vm_timed "$P/$1" "$cap" "${@:2}" & }
for d in c_def c_e5 c_e5hard; do
  probe "$d.stat" stat -c '%n %s' "$M/$d/$VM_SMB_PUBLIC_FILE"
  probe "$d.statfs" stat -f -c '%n %b' "$M/$d"
done
# The kernel serializes CIFS mounts (smb3_get_tree holds a global mutex):
# only ONE new cifs mount runs in this window; the others follow one by one.
probe c_new_e5.mount mount -t cifs "//$A/$VM_SMB_PUBLIC" "$M/c_new_e5" -o guest,ro,nosharesock,echo_interval=5
probe c_ul.umount umount -l "$M/c_ul"
probe c_uf.umount umount -f "$M/c_uf"
probe c_u.umount umount "$M/c_u"
probe n_soft.statfs stat -f -c '%n %b' "$M/n_soft"
probe n_v4.statfs stat -f -c '%n %b' "$M/n_v4"
probe n_v3.statfs stat -f -c '%n %b' "$M/n_v3"
probe n_new_def.mount mount -t nfs -o vers=4.2,ro "$A:/" "$M/n_new_def"
probe n_new_soft.mount mount -t nfs -o vers=4.2,ro,soft,timeo=10,retrans=1,retry=0 "$A:/" "$M/n_new_soft"
probe n_ul.umount umount -l "$M/n_ul"
sleep 3
note "hung: 3 s after umount -l, cifs mount still listed" "$(is_mounted "$M/c_ul" && echo yes || echo no)"
note "hung: 3 s after umount -l, nfs mount still listed" "$(is_mounted "$M/n_ul" && echo yes || echo no)"
note "hung: 3 s after umount -f, cifs mount still listed" "$(is_mounted "$M/c_uf" && echo yes || echo no)"
note "hung: 3 s after umount, cifs mount still listed" "$(is_mounted "$M/c_u" && echo yes || echo no)"
# wait for every result file, but never longer than cap + 20 s: a probe
# stuck beyond SIGKILL would otherwise block the run
all_done() { local f; for f in "${probes[@]}"; do [ -s "$f" ] || return 1; done; }
vm_wait_for $((cap + 20)) "hung probes" all_done
note "hung: probes done after" "$(vm_since "$t0")s (cap ${cap}s)"
desc() {
  case $1 in
    c_def.stat) echo "cifs default: stat file" ;;
    c_def.statfs) echo "cifs default: statfs" ;;
    c_e5.stat) echo "cifs echo_interval=5: stat file" ;;
    c_e5.statfs) echo "cifs echo_interval=5: statfs" ;;
    c_e5hard.stat) echo "cifs echo_interval=5,hard: stat file" ;;
    c_e5hard.statfs) echo "cifs echo_interval=5,hard: statfs" ;;
    c_new_e5.mount) echo "cifs new mount, echo_interval=5" ;;
    c_ul.umount) echo "cifs umount -l" ;;
    c_uf.umount) echo "cifs umount -f" ;;
    c_u.umount) echo "cifs umount" ;;
    n_soft.statfs) echo "nfs v4.2 soft,timeo=10,retrans=1: statfs" ;;
    n_v4.statfs) echo "nfs v4.2 default (hard): statfs" ;;
    n_v3.statfs) echo "nfs v3 default (hard): statfs" ;;
    n_new_def.mount) echo "nfs new v4.2 mount, default options" ;;
    n_new_soft.mount) echo "nfs new v4.2 mount, soft,timeo=10,retrans=1,retry=0" ;;
    n_ul.umount) echo "nfs v3 umount -l" ;;
    *) echo "$1" ;;
  esac
}
for f in "${probes[@]}"; do
  note "hung: $(desc "${f##*/}")" "$(result "$f") $(first_line "$f.out")"
done
# Sequential new cifs mounts against the still hung smbd: can a hanging
# mount.cifs be ended from outside (how a tool would bound it)? Start
# /sbin/mount.cifs itself (not mount(8), whose death says nothing about its
# mount.cifs child), signal it after 5 s and measure when it really exits.
kill_after_5() { # SIG DIR OPTS
  local t p
  /sbin/mount.cifs "//$A/$VM_SMB_PUBLIC" "$2" -o "$3" >"$P/c_new_$1.out" 2>&1 &
  p=$!
  sleep 5
  kill "-$1" "$p"
  t=$(vm_now)
  sleep 0.5
  if [ -d "/proc/$p" ]; then
    note "hung: mount.cifs 0.5 s after SIG$1 still in" "$(awk '{ print $2 }' "/proc/$p/stack" 2>/dev/null | head -n 3 | tr '\n' ' ')"
  fi
  { wait "$p"; } 2>/dev/null
  note "hung: new mount.cifs, SIG$1 after 5 s" "exit $? $(vm_since "$t")s after the signal $(first_line "$P/c_new_$1.out")"
  if is_mounted "$2"; then umount -l "$2"; fi
}
kill_after_5 KILL "$M/c_new_kill" guest,ro,nosharesock
kill_after_5 TERM "$M/c_new_term" guest,ro,nosharesock
if [ "$full" = yes ]; then
  # default options: measured 22-45 s, so only in --full
  vm_timed "$P/c_new_def.mount" "$cap" mount -t cifs "//$A/$VM_SMB_PUBLIC" "$M/c_new_def" -o guest,ro,nosharesock
  note "hung: cifs new mount, default options (sequential)" "$(result "$P/c_new_def.mount") $(first_line "$P/c_new_def.mount.out")"
fi
for d in c_ul c_uf c_u n_ul; do
  note "hung: after the probes, $d still listed" "$(is_mounted "$M/$d" && echo yes || echo no)"
done
for d in c_new_def c_new_e5 c_new_kill c_new_term n_new_def n_new_soft; do
  if is_mounted "$M/$d"; then note "hung: $d" "MOUNTED"; fi
done

# recovery: resume both servers; do the old mounts work again, and when?
vm_smbd_resume
vm_nfsd_resume
t=$(vm_now)
probes=()
# read_until N FILE : retry every second until the read works (N tries)
read_until=(bash -c 'for ((i = 0; i < $1; i++)); do timeout -k 2 10 cat "$2" && exit 0; sleep 1; done; exit 1' read_until)
probe c_def.recover "${read_until[@]}" "$cap" "$M/c_def/$VM_SMB_PUBLIC_FILE"
probe c_e5.recover "${read_until[@]}" "$cap" "$M/c_e5/$VM_SMB_PUBLIC_FILE"
probe n_soft.recover "${read_until[@]}" "$cap" "$M/n_soft/$VM_NFS_ROOT_FILE"
probe n_v3.recover "${read_until[@]}" "$cap" "$M/n_v3/$VM_NFS_FILE"
vm_wait_for $((cap + 20)) "recovery probes" all_done
for f in "${probes[@]}"; do
  note "resumed: read via ${f##*/}" "$(result "$f") $(first_line "$f.out" | tail -c 60)"
done
check "smbd resumed: new mount works" mount -t cifs "//$A/$VM_SMB_PUBLIC" "$M/guest" -o guest,ro
expect_content "smbd resumed: read" "$M/guest/$VM_SMB_PUBLIC_FILE" "$VM_SMB_PUBLIC_CONTENT"
umount "$M/guest"
while read -r m; do
  timeout 5 umount "$m" 2>/dev/null || umount -l "$m"
done < <(awk -v p="$M/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r)

# ------------------------------------------------- nfsd down, then up ---
vm_nfsd_stop
mkdir -p "$M/n_new"
t=$(vm_now)
timeout -k 5 "$cap" mount -t nfs -o ro,vers=4.2,retry=0 "$A:/" "$M/n_new" >"$P/nfsdown.out" 2>&1
note "nfsd down: v4.2 mount, retry=0" "rc=$? in $(vm_since "$t")s: $(first_line "$P/nfsdown.out")"
if is_mounted "$M/n_new"; then umount -l "$M/n_new"; fi
vm_nfsd_start
t=$(vm_now)
check "nfsd up again: v4.2 mount" mount -t nfs -o ro,vers=4.2 "$A:/" "$M/n_new"
expect_content "nfsd up again: read" "$M/n_new/$VM_NFS_ROOT_FILE" "$VM_NFS_ROOT_CONTENT"
note "nfsd up again: mount + first read" "$(vm_since "$t")s"
umount "$M/n_new"

finish
