#!/usr/bin/env bash
# The guest half of benchmarks/mount: EXTLIB_NET ROUNDS. Prints one line per round and the medians.
set -euo pipefail
. "$(dirname "$0")/../Tests/vm/guest-lib.sh"
BIN=$1 ROUNDS=$2
vm_setup
vm_smbd_start
vm_nfsd_start

SYS=$VM_ROOT/bench
mkdir -p "$SYS" "$VM_MNT/plain"
# The guest's root is the host's tree over 9p, mounted sync and uncached: every start of the 80 MB
# binary pages it in again (about 1 s here), where a real host has it in its page cache. Run a copy
# in the guest's tmpfs; the 9p start-up is still measured and printed.
LOCAL=/run/extlib-net-bench
cp "$BIN" "$LOCAL"
X() { "$LOCAL" --root "$SYS" "$@"; }
for i in 1 2 3 4 5 6; do
  mkdir -p "$VM_ROOT/shares/$VM_SMB_PUBLIC/d$i" "$VM_NFS3_PATH/d$i"
  X add "smb$i" "smb://$VM_ADDR/$VM_SMB_PUBLIC/d$i" >/dev/null
  X add "nfs$i" "nfs://$VM_ADDR$VM_NFS4_SUBPATH/d$i" >/dev/null   # the path NFSv4 (tried first) sees
done

now() { date +%s.%N; }
timed() { # prints seconds taken by CMD..., which must succeed
  local t0; t0=$(now)
  "$@" >/dev/null
  awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'
}
plain_cifs() { mount -t cifs "//$VM_ADDR/$VM_SMB_PUBLIC" "$VM_MNT/plain" -o guest,ro; }
plain_nfs() { mount -t nfs "$VM_ADDR:$VM_NFS4_SUBPATH" "$VM_MNT/plain" -o ro; }
# The same 12 mounts by hand, one after the other: what the tool saves over a shell loop.
plain_twelve() {
  for i in 1 2 3 4 5 6; do
    mkdir -p "$VM_MNT/s$i" "$VM_MNT/n$i"
    mount -t cifs "//$VM_ADDR/$VM_SMB_PUBLIC/d$i" "$VM_MNT/s$i" -o guest,ro
    mount -t nfs "$VM_ADDR:$VM_NFS4_SUBPATH/d$i" "$VM_MNT/n$i" -o ro
  done
}
# All 12 at once, each helper in the background: the floor for any tool that runs mount helpers.
plain_twelve_parallel() {
  local pids=() i
  for i in 1 2 3 4 5 6; do
    mkdir -p "$VM_MNT/s$i" "$VM_MNT/n$i"
    mount -t cifs "//$VM_ADDR/$VM_SMB_PUBLIC/d$i" "$VM_MNT/s$i" -o guest,ro & pids+=($!)
    mount -t nfs "$VM_ADDR:$VM_NFS4_SUBPATH/d$i" "$VM_MNT/n$i" -o ro & pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
}
unmount_twelve() { for i in 1 2 3 4 5 6; do umount "$VM_MNT/s$i" "$VM_MNT/n$i"; done; }

# One warm-up of each, not counted (first mounts load code paths and establish the NFSv4 client).
plain_cifs; umount "$VM_MNT/plain"; plain_nfs; umount "$VM_MNT/plain"
X mount --all >/dev/null; X unmount --all >/dev/null

: >"$VM_OUTDIR/rounds.dat"
for round in $(seq "$ROUNDS"); do
  c=$(timed plain_cifs); umount "$VM_MNT/plain"
  n=$(timed plain_nfs); umount "$VM_MNT/plain"
  t=$(timed plain_twelve); unmount_twelve
  p=$(timed plain_twelve_parallel); unmount_twelve
  v=$(timed X --version)
  w=$(timed "$BIN" --version)
  s1=$(timed X mount smb1); n1=$(timed X mount nfs1); X unmount --all >/dev/null
  a=$(timed X mount --all)
  [ "$(grep -c " $SYS/" /proc/self/mountinfo)" = 12 ] || vm_die "mount --all did not mount all 12"
  X unmount --all >/dev/null
  echo "round $round: mount -t cifs ${c}s, mount -t nfs ${n}s, 12 plain mounts in a row ${t}s, all 12 at once ${p}s, extlib-net --version ${v}s (from 9p ${w}s), extlib-net mount smb1 ${s1}s, nfs1 ${n1}s, extlib-net mount --all (12) ${a}s"
  echo "$c $n $a $t $p $v $w $s1 $n1" >>"$VM_OUTDIR/rounds.dat"
done
awk '
  { c[NR] = $1; n[NR] = $2; a[NR] = $3; t[NR] = $4; p[NR] = $5; v[NR] = $6; w[NR] = $7; s1[NR] = $8; n1[NR] = $9 }
  function median(v, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2 }
  END {
    mc = median(c, NR); mn = median(n, NR); ma = median(a, NR); mt = median(t, NR); mp = median(p, NR); mv = median(v, NR); mw = median(w, NR); ms = median(s1, NR); mn1 = median(n1, NR); one = (mc + mn) / 2
    printf "median: one mount -t cifs %.3fs, one mount -t nfs %.3fs, extlib-net mount --all of 12: %.3fs\n", mc, mn, ma
    printf "ratio: mount --all of 12 / one mount (mean of cifs and nfs) = %.2fx (target <= 2x)\n", ma / one
    printf "for scale: one extlib-net mount (mean of smb1 %.3fs and nfs1 %.3fs); mount --all of 12 / that = %.2fx\n", ms, mn1, ma / ((ms + mn1) / 2)
    printf "for scale: 12 plain mounts in a row %.3fs; mount --all of 12 / those = %.2fx\n", mt, ma / mt
    printf "floor: all 12 plain mounts started at once %.3fs = %.2fx one mount; mount --all / that floor = %.2fx\n", mp, mp / one, ma / mp
    printf "extlib-net start-up (--version) %.3fs from tmpfs, %.3fs from the 9p root\n", mv, mw
  }' "$VM_OUTDIR/rounds.dat"
