#!/usr/bin/env bash
# The guest half of benchmarks/links: EXTLIB_NET ROUNDS. Prints one line per round and the medians.
set -euo pipefail
. "$(dirname "$0")/../Tests/vm/guest-lib.sh"
BIN=$1 ROUNDS=$2
vm_setup
vm_smbd_start

vm_nas_start

SYS=$VM_ROOT/bench
mkdir -p "$SYS" "$VM_MNT/plain"
# A copy on the guest's tmpfs: the 9p root pages the binary in again at every start (see benchmarks/mount).
LOCAL=/run/extlib-net-bench
cp "$BIN" "$LOCAL"
X() { "$LOCAL" --root "$SYS" "$@"; }
X add far "smb://$VM_NAS_IP/$VM_NAS_SHARE" >/dev/null
now() { date +%s.%N; }
timed() { # seconds taken by CMD... (its status ignored: a dead link makes status and heal fail)
  local t0; t0=$(now)
  "$@" >/dev/null 2>&1 || true
  awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'
}
lists() { "$@" 2>/dev/null | grep -q "$VM_NAS_SHARE"; }
plain_mount() { mount -t cifs "//$VM_NAS_IP/$VM_NAS_SHARE" "$VM_MNT/plain" -o guest,ro; }

# smbd's first listing starts samba-dcerpcd and its workers (20 s and more under emulation): once first.
X discover "$VM_NAS_IP" --timeout 90 >/dev/null 2>&1 || true
: >"$VM_OUTDIR/rounds.dat"
for round in $(seq "$ROUNDS"); do
  vm_link delay 100ms 20ms loss 3%
  d=$(timed X discover "$VM_NAS_IP" --timeout 10)
  X discover "$VM_NAS_IP" --timeout 10 | grep -q "$VM_NAS_SHARE" && dok=1 || dok=0
  s=$(timed smbclient -N -L "//$VM_NAS_IP")
  smbclient -N -L "//$VM_NAS_IP" 2>/dev/null | grep -q "$VM_NAS_SHARE" && sok=1 || sok=0
  p=$(timed plain_mount); umount -l "$VM_MNT/plain" 2>/dev/null || true
  m=$(timed X mount far --wait 60s)
  vm_link loss 100%
  st=$(timed X status)
  h=$(timed X heal far --wait 5s)
  X unmount far --lazy >/dev/null 2>&1 || true
  vm_link clear
  echo "round $round: lossy: extlib-net discover ${d}s (listed: $dok), smbclient -N -L ${s}s (listed: $sok), extlib-net mount ${m}s, mount -t cifs ${p}s; dead: status ${st}s, heal --wait 5s ${h}s"
  echo "$d $s $m $p $st $h $dok $sok" >>"$VM_OUTDIR/rounds.dat"
done
awk '
  { d[NR] = $1; s[NR] = $2; m[NR] = $3; p[NR] = $4; st[NR] = $5; h[NR] = $6; dok += $7; sok += $8 }
  function median(v, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2 }
  END {
    md = median(d, NR); ms = median(s, NR); mm = median(m, NR); mp = median(p, NR)
    printf "lossy link, median of %d: extlib-net discover %.3fs (listed %d/%d), smbclient -N -L %.3fs (listed %d/%d): ratio %.2fx (target <= 1x)\n", NR, md, dok, NR, ms, sok, NR, md / ms
    printf "lossy link, median: extlib-net mount %.3fs, plain mount -t cifs %.3fs: ratio %.2fx\n", mm, mp, mm / mp
    printf "dead link, median: extlib-net status %.3fs, extlib-net heal --wait 5s %.3fs\n", median(st, NR), median(h, NR)
  }' "$VM_OUTDIR/rounds.dat"
