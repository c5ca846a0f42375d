#!/usr/bin/env bash
# Tests/vm/soak.sh EXTLIB_NET SEED EVENTS : a seeded soak of the placeholder, inside the VM (through
# Tests/vm/run-in-vm). One SMB share of photos is mounted, linked in the Immich stand-in (which runs as
# the snap runs Immich: root without DAC override, in a slave mount namespace) and then put through
# EVENTS random events drawn from SEED: the NAS hangs, stops, comes back; heal, mount, unmount
# --placeholder; Immich's Scan button, the Jobs page's scan all, Immich's own schedule and the guarded
# scan. After every event: no asset of the library is offline or in the trash, the folder shows the
# share or its placeholder (never nothing), and every command answered within its bound. A stat loop
# runs through it all and must never find the photo missing.
#
# The model: after the NAS changes, heal runs before the next scan (the heal timer's job). A scan that
# meets a dead share before heal has detached it is outside what a placeholder can cover (Immich's
# stat of a dead soft cifs mount fails), and is not drawn.
# Prints one line per event and a closing "N passed, N failed" line; exits 1 when anything failed.
set -uo pipefail
. "$(dirname "$0")/guest-lib.sh"
BIN=$1
SEED=${2:-1}
EVENTS=${3:-20}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
vm_setup
vm_smbd_start

SYS=$VM_ROOT/sysroot
mkdir -p "$SYS"
X() { timeout 90 "$BIN" --root "$SYS" "$@"; }
BASE=$SYS/root/snap/immich-distribution/common
out=$VM_OUTDIR/soak
mkdir -p "$out"
pass=0 fail=0
check() { # NAME CMD...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name"; fi
}
stack_types() { awk -v p="$1" '$5 == p { for (i = 7; $i != "-"; i++); print $(i + 1) }' /proc/self/mountinfo | tr '\n' ' '; }
top_type() { stack_types "$1" | awk '{ print $NF }'; }

# Photos, with times to the nanosecond.
SHARE=$VM_ROOT/shares/$VM_SMB_PUBLIC
for n in $(seq 1 40); do
  mkdir -p "$SHARE/$((2000 + n % 5))/$((n % 12 + 1))"
  printf 'jpeg %s' "$n" >"$SHARE/$((2000 + n % 5))/$((n % 12 + 1))/IMG_$n.jpg"
  touch -d "@$((1600000000 + n * 86400)).$(printf '%09d' $((n * 7919)))" "$SHARE/$((2000 + n % 5))/$((n % 12 + 1))/IMG_$n.jpg"
done
PROBE_REL=2001/2/IMG_1.jpg

# The stand-in, as the snap runs Immich.
mkdir -p "$BASE"
mount --bind "$BASE" "$BASE" && mount --make-shared "$BASE"
IMM=$VM_ROOT/immich
mkdir -p "$IMM"
IKEY=soak$(od -An -tx8 -N16 /dev/urandom | tr -d ' \n')
printf '{"users": [{"email": "admin@example.com", "name": "Admin", "isAdmin": true, "apiKeys": ["%s"]}]}' "$IKEY" >"$IMM/seed.json"
printf 'x-api-key: %s\n' "$IKEY" >"$IMM/header"
unshare --mount --propagation slave -- capsh --drop=cap_dac_override,cap_dac_read_search -- -c \
  'exec /usr/bin/python3 "$0" --listen 127.0.0.1:0 --state "$1" --port-file "$1/port" --fs-root "$2"' \
  "$REPO/Tests/testbed/immich-standin" "$IMM" "$SYS" >"$out/standin.log" 2>&1 &
standin=$!
vm_wait_for 20 "the Immich stand-in" test -s "$IMM/port"
IURL=http://127.0.0.1:$(tr -d '\n' <"$IMM/port")
state() { curl -sf --max-time 60 "$IURL/_standin/state"; }
printf '%s' "$IKEY" | X immich login --url "$IURL" --api-key-stdin >"$out/login.out" 2>&1
X add photos "smb://$VM_ADDR/$VM_SMB_PUBLIC" >/dev/null
X mount photos --wait 30s >"$out/mount.out" 2>&1
X immich link photos >"$out/link.out" 2>&1
LIB=$(state | jq -r '.libraries[] | select(.name == "photos") | .id')
curl -sf --max-time 60 -H @"$IMM/header" -X POST "$IURL/api/libraries/$LIB/scan"
X immich link photos >"$out/link-again.out" 2>&1   # the record now holds the imported photos
held=$(state | jq --arg id "$LIB" '[.assets[] | select(.libraryId == $id and (.isOffline | not))] | length')
check "setup: the 40 photos imported ($held)" test "$held" = 40   # the share's text file is no asset
check "setup: the share on its placeholder ($(stack_types "$BASE/photos"))" test "$(stack_types "$BASE/photos")" = "cifs tmpfs cifs "
grep -q "placeholder recorded: $held files" "$out/link-again.out" || { fail=$((fail + 1)); echo "FAIL setup: the record holds what Immich holds"; cat "$out/link-again.out"; }

# The stat loop: ENOENT is a miss (an empty folder); another error is the dead share itself.
python3 - "$BASE/photos/$PROBE_REL" "$out/stop-loop" "$out/loop" <<'PY' &
import os, sys, time
probe, stop, report = sys.argv[1:4]
looks = misses = errors = 0
while not os.path.exists(stop):
    try:
        os.stat(probe)
    except FileNotFoundError:
        misses += 1
    except OSError:
        errors += 1
    looks += 1
    if looks % 200 == 0:
        time.sleep(0.001)
with open(report, "w") as f:
    f.write(f"{looks} {misses} {errors}\n")
PY
looper=$!

nas=up
scan_ok() { # after a scan: nothing offline or in the trash
  local bad
  bad=$(state | jq --arg id "$LIB" '[.assets[] | select(.libraryId == $id and (.isOffline or .deletedAt != null))] | length')
  [ "$bad" = 0 ]
}
event_names=(hang stop back heal mount placeholder scan-button scan-all schedule guarded-scan)
RANDOM=$SEED
for i in $(seq 1 "$EVENTS"); do
  event=${event_names[$((RANDOM % ${#event_names[@]}))]}
  start=$(vm_now)
  rc=0
  case $event in
    hang) [ "$nas" = up ] && { vm_smbd_pause; nas=hung; } ;;
    stop) [ "$nas" != down ] && { vm_smbd_stop; nas=down; } ;;
    back) case $nas in hung) vm_smbd_resume ;; down) vm_smbd_start ;; esac; nas=up ;;
    heal) X heal photos --wait 5s >>"$out/events.out" 2>&1 || rc=$? ;;
    mount) X mount photos --wait 5s >>"$out/events.out" 2>&1 || rc=$? ;;
    placeholder) X unmount --placeholder photos >>"$out/events.out" 2>&1 || rc=$? ;;
    scan-button) curl -sf --max-time 60 -H @"$IMM/header" -X POST "$IURL/api/libraries/$LIB/scan" || rc=$? ;;
    scan-all) curl -sf --max-time 60 -H @"$IMM/header" -H 'content-type: application/json' -X PUT -d '{"command": "start"}' "$IURL/api/jobs/library" >/dev/null || rc=$? ;;
    schedule) curl -sf --max-time 60 -X POST "$IURL/_standin/scheduled-scan" >/dev/null || rc=$? ;;
    guarded-scan) X immich scan --all >>"$out/events.out" 2>&1 || rc=$? ;;
  esac
  # The model: a change of the NAS is followed by the heal timer before any scan.
  case $event in hang|stop|back) X heal photos --wait 5s >>"$out/events.out" 2>&1 || true ;; esac
  took=$(vm_since "$start")
  top=$(top_type "$BASE/photos")
  printf '%3d %-13s nas=%-4s rc=%-3s %5ss top=%s\n' "$i" "$event" "$nas" "$rc" "$took" "$top"
  check "event $i ($event): no command over its bound (rc $rc)" test "$rc" != 124
  check "event $i ($event): the folder shows the share or its placeholder ($(stack_types "$BASE/photos"))" \
    sh -c '[ "$1" = cifs ] || [ "$1" = tmpfs ]' _ "$top"
  check "event $i ($event): no asset offline or in the trash" scan_ok
done

# The NAS back for good: heal and mount bring the share back on top, and a scan finds it all.
case $nas in hung) vm_smbd_resume ;; down) vm_smbd_start ;; esac
X heal photos --wait 60s >>"$out/events.out" 2>&1
X mount photos --wait 60s >>"$out/events.out" 2>&1
check "end: the share on top ($(stack_types "$BASE/photos"))" test "$(top_type "$BASE/photos")" = cifs
curl -sf --max-time 60 -H @"$IMM/header" -X POST "$IURL/api/libraries/$LIB/scan"
check "end: every asset online" scan_ok
touch "$out/stop-loop"; wait "$looper"
read -r looks misses errors <"$out/loop"
echo "stat loop: $looks looks, $misses missing, $errors errors from a dead share"
check "the stat loop never found the photo missing ($misses of $looks)" test "$misses" = 0 -a "$looks" -gt 1000
X unmount photos >/dev/null 2>&1
kill "$standin" 2>/dev/null; wait "$standin" 2>/dev/null
umount "$BASE" 2>/dev/null || umount -l "$BASE"
echo "soak seed $SEED, $EVENTS events: $pass passed, $fail failed"
[ "$fail" = 0 ]
