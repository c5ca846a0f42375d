#!/usr/bin/env bash
# The guest half of benchmarks/links: EXTLIB_NET ROUNDS. Prints one line per round and the medians.
set -euo pipefail
. "$(dirname "$0")/../Tests/vm/guest-lib.sh"
BIN=$1 ROUNDS=$2
vm_setup
vm_smbd_start

NAS_NS=vmt-nas NAS_IP=10.77.0.2
ip netns add "$NAS_NS"
ip link add vmt-h type veth peer name vmt-n
ip link set vmt-n netns "$NAS_NS"
ip addr add 10.77.0.1/24 dev vmt-h && ip link set vmt-h up
ip netns exec "$NAS_NS" sh -c "ip link set lo up; ip addr add $NAS_IP/24 dev vmt-n; ip link set vmt-n up"
vm_smbd_extra_start far 445 "$NAS_NS" "$NAS_IP" <<CONF
  map to guest = bad user
[farphotos]
  path = $VM_ROOT/shares/$VM_SMB_PUBLIC
  guest ok = yes
  read only = yes
CONF
link() {
  if [ "$1" = clear ]; then
    tc qdisc del dev vmt-h root 2>/dev/null || true; ip netns exec "$NAS_NS" tc qdisc del dev vmt-n root 2>/dev/null || true
  else
    tc qdisc replace dev vmt-h root netem "$@"; ip netns exec "$NAS_NS" tc qdisc replace dev vmt-n root netem "$@"
  fi
}

SYS=$VM_ROOT/bench
mkdir -p "$SYS" "$VM_MNT/plain"
# A copy on the guest's tmpfs: the 9p root pages the binary in again at every start (see benchmarks/mount).
LOCAL=/run/extlib-net-bench
cp "$BIN" "$LOCAL"
X() { "$LOCAL" --root "$SYS" "$@"; }
X add far "smb://$NAS_IP/farphotos" >/dev/null
now() { date +%s.%N; }
timed() { # seconds taken by CMD... (its status ignored: a dead link makes status and heal fail)
  local t0; t0=$(now)
  "$@" >/dev/null 2>&1 || true
  awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'
}
lists() { "$@" 2>/dev/null | grep -q farphotos; }
plain_mount() { mount -t cifs "//$NAS_IP/farphotos" "$VM_MNT/plain" -o guest,ro; }

# smbd's first listing starts samba-dcerpcd and its workers (20 s and more under emulation): once first.
X discover "$NAS_IP" --timeout 90 >/dev/null 2>&1 || true
: >"$VM_OUTDIR/rounds.dat"
for round in $(seq "$ROUNDS"); do
  link delay 100ms 20ms loss 3%
  d=$(timed X discover "$NAS_IP" --timeout 10)
  X discover "$NAS_IP" --timeout 10 | grep -q farphotos && dok=1 || dok=0
  s=$(timed smbclient -N -L "//$NAS_IP")
  smbclient -N -L "//$NAS_IP" 2>/dev/null | grep -q farphotos && sok=1 || sok=0
  p=$(timed plain_mount); umount -l "$VM_MNT/plain" 2>/dev/null || true
  m=$(timed X mount far --wait 60s)
  link loss 100%
  st=$(timed X status)
  h=$(timed X heal far --wait 5s)
  X unmount far --lazy >/dev/null 2>&1 || true
  link clear
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
