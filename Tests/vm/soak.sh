#!/usr/bin/env bash
# Tests/vm/soak.sh EXTLIB_NET SEED EVENTS : the placeholder's seeded soak, inside the VM (through
# Tests/vm/run-in-vm; scripts/soak runs a long one). Two shares, each linked to a library of the Immich
# stand-in (which runs as the snap runs Immich: root without DAC override, in a slave mount namespace):
#   photos   SMB, from an smbd in a network namespace of its own behind a veth link (netem can kill it)
#   archive  NFSv4, from the kernel nfsd on the guest's loopback
# They go through EVENTS random events drawn from SEED (the same seed draws the same events): the NAS
# hung (SIGSTOP; for NFS its packets dropped), killed (smbd SIGKILL, nfsd stopped), its link dead (netem
# loss 100%), back; files added and deleted on the NAS; heal, mount, unmount --placeholder; the Scan
# button, the Jobs page's scan all, Immich's own schedule (while the guard is off), the guarded scan,
# guard on and off; a scan during a swap (the share coming back over its placeholder, or put aside by
# hand); a simulated host reboot (the shutdown unit's unmount, everything else detached, /run emptied,
# then the boot unit's mount and the guard's recover). The heal timer is run after every event, as if
# the events were one heal interval apart.
# After every event:
#   - no asset is offline or in the trash unless its file was deleted on the NAS;
#   - no asset was imported unreadable;
#   - every command ended within its bound (BOUND below);
#   - each share's folder shows the share or its placeholder, never nothing;
#   - a NAS that answers again has its share on top and its library online, with the time it took
#     (the recovery) printed; it must be within MAX_RECOVERY.
# A stat loop on one photo of each share runs throughout (paused only while the host "reboots") and must
# never find it missing. It prints one line per event and the figures: events, outages, scans during
# outages, assets lost, worst recovery, worst time per command; exits 1 when anything failed.
#
# Outside the model (README, "What it does not cover"): a scan that meets a dead share before heal has
# detached it, and an asset imported less than one heal interval before its share goes away.
set -uo pipefail
. "$(dirname "$0")/guest-lib.sh"
BIN=$1
SEED=${2:-1}
EVENTS=${3:-20}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# The most a command may take here (s): heal runs with --wait 2s, mount with 5s (the boot's with 10s)
# and add the statfs probe's and the detach's deadlines; a reboot's unmount is lazy.
declare -A BOUND=([heal]=40 [mount]=40 [boot-mount]=45 [unmount]=30 [shutdown]=30 [scan]=60 [recover]=40 [guard]=40)
# A share whose NAS answers again is on top at the next heal (run at once here) within this (s).
MAX_RECOVERY=${EXTLIB_NET_SOAK_MAX_RECOVERY:-15}
soak_started=$(vm_now)
vm_setup
vm_smbd_start      # its [global] is the far smbd's template
vm_nas_start       # smbd in netns vmt-nas, 10.77.0.2, share [farphotos] of $VM_ROOT/shares/public
vm_nfsd_start

# Units run their binary as root, so guard enable refuses one in .build: a root-owned copy, as installed.
install -d -m 0755 "$VM_ROOT/bin" && install -m 0755 "$BIN" "$VM_ROOT/bin/extlib-net"
BIN=$VM_ROOT/bin/extlib-net
SYS=$VM_ROOT/sysroot
mkdir -p "$SYS"
BASES=("$SYS/root/snap/immich-distribution/common" "$SYS/var/snap/immich-distribution/common")
out=$VM_OUTDIR/soak
mkdir -p "$out"
: >"$out/events.out"
pass=0 fail=0
check() { # NAME CMD...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name"; fi
}
stack_types() { awk -v p="$1" '$5 == p { for (i = 7; $i != "-"; i++); print $(i + 1) }' /proc/self/mountinfo | tr '\n' ' '; }
top_type() { stack_types "$1" | awk '{ print $NF }'; }

# X KIND ARGS... : extlib-net under KIND's bound; its time goes to the worst of KIND, its output to events.out.
declare -A WORST=()
X() {
  local kind=$1 start took rc=0; shift
  start=$(vm_now)
  timeout "${BOUND[$kind]}" "$BIN" --root "$SYS" "$@" >>"$out/events.out" 2>&1 || rc=$?
  took=$(vm_since "$start")
  awk -v a="$took" -v b="${WORST[$kind]:-0}" 'BEGIN { exit !(a > b) }' && WORST[$kind]=$took
  check "extlib-net $* ended within ${BOUND[$kind]} s (took $took s, rc $rc)" test "$rc" != 124
  return "$rc"
}

# --- the NAS side: photos with times to the nanosecond
declare -A SHARE_DIR=([photos]=$VM_ROOT/shares/$VM_SMB_PUBLIC [archive]=$VM_NFS3_PATH)
declare -A SHARE_TYPE=([photos]=cifs [archive]=nfs4)
declare -A PROBE=()
photo() { # SHARE N : one photo, in a year/month folder
  local dir=${SHARE_DIR[$1]}/$((2000 + $2 % 5))/$(($2 % 12 + 1))
  mkdir -p "$dir"
  printf 'jpeg %s %s' "$1" "$2" >"$dir/IMG_$2.jpg"
  touch -d "@$((1600000000 + $2 * 86400)).$(printf '%09d' $(($2 * 7919 % 1000000000)))" "$dir/IMG_$2.jpg"
  echo "$((2000 + $2 % 5))/$(($2 % 12 + 1))/IMG_$2.jpg"
}
for n in $(seq 1 40); do photo photos "$n" >/dev/null; done
for n in $(seq 1 30); do photo archive "$n" >/dev/null; done
PROBE[photos]=$(photo photos 1)
PROBE[archive]=$(photo archive 1)
next_photo=1000

declare -A NAS=([photos]=up [archive]=up)
nas_away() { # SHARE hang|kill|link
  local share=$1 how=$2
  [ "${NAS[$share]}" = up ] || return 0
  case $share/$how in
    photos/hang) kill -STOP -- "-$VM_SMBD_EXTRA_PID_far" ;;
    photos/kill) kill -KILL -- "-$VM_SMBD_EXTRA_PID_far"; wait "$VM_SMBD_EXTRA_PID_far" 2>/dev/null; VM_SMBD_EXTRA_PID_far= ;;
    photos/link) vm_link loss 100% ;;
    archive/hang | archive/link) vm_nfsd_pause ;;
    archive/kill) vm_nfsd_stop >/dev/null 2>&1 ;;
  esac
  NAS[$share]=$how
  outages=$((outages + 1))
}
nas_back() { # SHARE
  local share=$1
  case $share/${NAS[$share]} in
    photos/hang) kill -CONT -- "-$VM_SMBD_EXTRA_PID_far" ;;
    photos/kill) vm_nas_smbd_start >/dev/null 2>&1 ;;
    photos/link) vm_link clear ;;
    archive/hang | archive/link) vm_nfsd_resume >/dev/null 2>&1 ;;
    archive/kill) vm_nfsd_start >/dev/null 2>&1 ;;
    */up) return 0 ;;
  esac
  NAS[$share]=up
}

# --- the stand-in, as the snap runs Immich (its namespace made before anything is mounted)
for b in "${BASES[@]}"; do mkdir -p "$b" && mount --bind "$b" "$b" && mount --make-shared "$b"; done
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
api() { curl -sf --max-time 60 -H @"$IMM/header" -H 'content-type: application/json' "$@"; }

printf '%s' "$IKEY" | "$BIN" --root "$SYS" immich login --url "$IURL" --api-key-stdin >"$out/login.out" 2>&1
"$BIN" --root "$SYS" add photos "smb://$VM_NAS_IP/$VM_NAS_SHARE" >/dev/null
"$BIN" --root "$SYS" add archive "nfs://$VM_ADDR$VM_NFS4_SUBPATH" >/dev/null
X mount mount --all --wait 30s
declare -A LIB=() IPATH=() DIR=()
for s in photos archive; do
  X guard immich link "$s"
  LIB[$s]=$(state | jq -r --arg n "$s" '.libraries[] | select(.name == $n) | .id')
  IPATH[$s]=$(state | jq -r --arg n "$s" '.libraries[] | select(.name == $n) | .importPaths[0]')
  DIR[$s]=$SYS${IPATH[$s]}   # NFS goes under /var/snap (root squash), SMB under /root/snap
  api -X POST "$IURL/api/libraries/${LIB[$s]}/scan"
done
X guard immich link photos && X guard immich link archive   # the records now hold the imported photos
X guard immich guard enable --no-reload
guard=on
for s in photos archive; do
  held=$(state | jq --arg id "${LIB[$s]}" '[.assets[] | select(.libraryId == $id and (.isOffline | not))] | length')
  want=$([ "$s" = photos ] && echo 40 || echo 30)
  check "setup: $s's photos imported ($held of $want)" test "$held" = "$want"
  check "setup: $s on its placeholder ($(stack_types "${DIR[$s]}"))" test "$(stack_types "${DIR[$s]}")" = "${SHARE_TYPE[$s]} tmpfs ${SHARE_TYPE[$s]} "
done

# --- the stat loop: ENOENT is a miss (an empty folder); another error is a dead share itself
python3 - "$out" "${DIR[photos]}/${PROBE[photos]}" "${DIR[archive]}/${PROBE[archive]}" <<'PY' &
import os, sys, time
out, probes = sys.argv[1], sys.argv[2:]
looks = misses = errors = 0
while not os.path.exists(out + "/stop-loop"):
    if os.path.exists(out + "/pause-loop"):
        open(out + "/loop-paused", "w").close()
        time.sleep(0.05)
        continue
    for probe in probes:
        try:
            os.stat(probe)
        except FileNotFoundError:
            misses += 1
            with open(out + "/misses", "a") as f:
                f.write(f"{time.time():.3f} {probe}\n")
        except OSError:
            errors += 1
        looks += 1
    if looks % 200 == 0:
        time.sleep(0.001)
with open(out + "/loop", "w") as f:
    f.write(f"{looks} {misses} {errors}\n")
PY
looper=$!
pause_loop() { rm -f "$out/loop-paused"; touch "$out/pause-loop"; vm_wait_for 10 "the stat loop to pause" test -e "$out/loop-paused"; }
resume_loop() { rm -f "$out/pause-loop"; }

# --- the checks
: >"$out/deleted"
lost() { # assets offline or in the trash whose files were not deleted on the NAS
  state | jq --rawfile deleted "$out/deleted" \
    '($deleted | split("\n")) as $d | [.assets[] | select((.isOffline or .deletedAt != null) and (.originalPath as $p | $d | index($p) | not))] | length'
}
unreadable() { state | jq '[.assets[] | select(.unreadableAtImport)] | length'; }
shows_something() { local top; top=$(top_type "${DIR[$1]}"); [ "$top" = "${SHARE_TYPE[$1]}" ] || [ "$top" = tmpfs ]; }
heal_tick() { X heal heal --all --wait 2s || true; }
outages=0 scans_away=0 recoveries=0 worst_recovery=0 deletions=0 additions=0
declare -A UNIMPORTED=([photos]=0 [archive]=0)
# Put aside by hand (unmount --placeholder): heal leaves it so until a mount.
declare -A ASIDE=([photos]=0 [archive]=0)
# A NAS that answers again: the heal timer's run mounts its share back on top (timed; more runs while the
# server is still starting, as the timer would run them).
come_back() { # SHARE
  local s=$1 start took watcher
  nas_back "$s"
  start=$(vm_now)
  # The moment the share is on top, seen from outside (heal goes on to rescan and to take the record).
  rm -f "$out/on-top"
  ( while [ "$(top_type "${DIR[$s]}")" != "${SHARE_TYPE[$s]}" ]; do sleep 0.05; done; vm_since "$start" >"$out/on-top" ) &
  watcher=$!
  heal_tick
  if [ "${ASIDE[$s]}" = 1 ]; then
    kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null
    echo "    $s back, and left aside (unmount --placeholder) until a mount"
    return 0
  fi
  while [ ! -s "$out/on-top" ] && awk -v t="$(vm_since "$start")" -v m="$MAX_RECOVERY" 'BEGIN { exit !(t < m) }'; do
    sleep 1
    [ -s "$out/on-top" ] || heal_tick
  done
  kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null
  took=$(cat "$out/on-top" 2>/dev/null)
  recoveries=$((recoveries + 1))
  awk -v a="${took:-999}" -v b="$worst_recovery" 'BEGIN { exit !(a > b) }' && worst_recovery=${took:-999}
  check "$s back: the share on top within $MAX_RECOVERY s (${took:-not yet} s: $(stack_types "${DIR[$s]}"))" test -n "$took"
  n=$(lost); check "$s back: its library online ($n lost)" test "$n" = 0
  echo "    $s back on top after ${took:-more than $MAX_RECOVERY} s"
}
scan_event() { # what: counts a scan while a share is away
  local s
  for s in photos archive; do [ "$(top_type "${DIR[$s]}")" = "${SHARE_TYPE[$s]}" ] || scans_away=$((scans_away + 1)); done
}
scan_button() { api -X POST "$IURL/api/libraries/${LIB[$1]}/scan"; }
scan_all() { api -X PUT -d '{"command": "start"}' "$IURL/api/jobs/library" >/dev/null; }
reboot_host() {
  pause_loop
  X shutdown unmount --all --shutdown || true
  # What the shutdown left (a hung share's lazy detach, the staging tmpfs) goes with the reboot.
  local m
  for m in $(awk -v a="${BASES[0]}/" -v b="${BASES[1]}/" -v c="$SYS/var/lib/extlib-net/staging/" \
    'index($5, a) == 1 || index($5, b) == 1 || index($5, c) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  rm -rf "${SYS:?}/run"
  X boot-mount mount --all --wait 10s || true
  ASIDE=([photos]=0 [archive]=0)
  [ "$guard" = off ] || X recover immich recover --wait 10s || true
  resume_loop
}

event_names=(nas-hang nas-kill nas-link nas-back nas-back add-files delete-file heal mount placeholder
  swap-scan scan-button scan-all schedule guarded-scan guarded-scan guard reboot)
RANDOM=$SEED
for i in $(seq 1 "$EVENTS"); do
  event=${event_names[$((RANDOM % ${#event_names[@]}))]}
  event_started=$(vm_now)
  s=$([ $((RANDOM % 2)) = 0 ] && echo photos || echo archive)
  note=
  case $event in
    nas-hang) nas_away "$s" hang ;;
    nas-kill) nas_away "$s" kill ;;
    nas-link) nas_away "$s" link ;;
    nas-back)
      [ "${NAS[$s]}" != up ] || { [ "${NAS[photos]}" = up ] && s=archive || s=photos; }   # the one away, if any
      if [ "${NAS[$s]}" != up ]; then come_back "$s"; else note="(up already)"; fi ;;
    add-files)
      for _ in $(seq 1 $((RANDOM % 3 + 1))); do next_photo=$((next_photo + 1)); photo "$s" "$next_photo" >/dev/null; done
      additions=$((additions + 1)); UNIMPORTED[$s]=1 ;;
    delete-file)
      victim=$(cd "${SHARE_DIR[$s]}" && find . -name 'IMG_*.jpg' | sed 's|^\./||' | grep -vxF "${PROBE[$s]}" | sort | awk -v r=$RANDOM 'NR == 1 { first = $0 } { a[NR] = $0 } END { if (NR) print a[r % NR + 1] }')
      if [ -n "$victim" ]; then rm -f "${SHARE_DIR[$s]}/$victim"; echo "${IPATH[$s]}/$victim" >>"$out/deleted"; deletions=$((deletions + 1)); note="($victim)"; fi ;;
    heal) : ;;   # the heal tick below
    mount) X mount mount --all --wait 5s; ASIDE=([photos]=0 [archive]=0) ;;
    placeholder) if X unmount unmount --placeholder "$s"; then ASIDE[$s]=1; else note="(refused: $(tail -n 1 "$out/events.out" | cut -c1-60))"; fi ;;
    swap-scan)
      # A scan running while a share changes layers: back over its placeholder (NAS up, placeholder shown),
      # or put aside by hand (only when nothing new waits on it to be imported: an import in that moment
      # is outside the model).
      top=$(top_type "${DIR[$s]}")
      if [ "${NAS[$s]}" = up ] && { [ "$top" = tmpfs ] || [ "${UNIMPORTED[$s]}" = 0 ]; }; then
        scan_event
        if [ $((RANDOM % 2)) = 0 ]; then scan_all & else scan_button "$s" & fi
        scanner=$!
        sleep "0.0$((RANDOM % 10))"
        if [ "$top" = tmpfs ]; then
          X mount mount "$s" --wait 5s; ASIDE[$s]=0; note="(back over the placeholder)"
        else
          if X unmount unmount --placeholder "$s"; then ASIDE[$s]=1; note="(put aside)"; else note="(refused: busy while Immich reads it)"; fi
        fi
        wait "$scanner"
      else
        note="(no swap possible)"
      fi ;;
    scan-button) scan_event; scan_button "$s" ;;
    scan-all) scan_event; scan_all ;;
    schedule) scan_event; curl -sf --max-time 60 -X POST "$IURL/_standin/scheduled-scan" >/dev/null ;;
    guarded-scan)
      scan_event; X scan immich scan --all
      for g in photos archive; do [ "$(top_type "${DIR[$g]}")" = "${SHARE_TYPE[$g]}" ] && UNIMPORTED[$g]=0; done ;;
    guard)
      if [ "$guard" = on ]; then X guard immich guard disable --no-reload && guard=off; else X guard immich guard enable --no-reload && guard=on; fi
      note="(now $guard)" ;;
    reboot) reboot_host ;;
  esac
  heal_tick   # the heal timer, one interval later
  printf '%3d %5ss %-12s %-8s nas=%s/%s guard=%-3s top=%s/%s %s\n' "$i" "$(vm_since "$event_started")" "$event" "$s" "${NAS[photos]}" "${NAS[archive]}" "$guard" \
    "$(top_type "${DIR[photos]}")" "$(top_type "${DIR[archive]}")" "$note"
  for g in photos archive; do check "event $i ($event): $g shows the share or its placeholder ($(stack_types "${DIR[$g]}"))" shows_something "$g"; done
  n=$(lost); check "event $i ($event): no asset offline or in the trash but deleted ones ($n)" test "$n" = 0
  n=$(unreadable); check "event $i ($event): no asset imported unreadable ($n)" test "$n" = 0
done

# --- the NAS back for good: every share on top, a scan, and only the deleted photos offline
for s in photos archive; do [ "${NAS[$s]}" = up ] || come_back "$s"; done
X mount mount --all --wait 30s
for s in photos archive; do check "end: $s on top ($(stack_types "${DIR[$s]}"))" test "$(top_type "${DIR[$s]}")" = "${SHARE_TYPE[$s]}"; done
X scan immich scan --all
n=$(lost); check "end: no asset lost ($n)" test "$n" = 0
offline_deleted=$(state | jq '[.assets[] | select(.isOffline)] | length')
lost_at_end=$(lost)
touch "$out/stop-loop"; wait "$looper"
read -r looks misses errors <"$out/loop"
check "the stat loop never found a photo missing ($misses of $looks)" test "$misses" = 0 -a "$looks" -gt 1000
"$BIN" --root "$SYS" unmount --all >/dev/null 2>&1
kill "$standin" 2>/dev/null; wait "$standin" 2>/dev/null
for b in "${BASES[@]}"; do umount "$b" 2>/dev/null || umount -l "$b"; done

worst=$(for k in "${!WORST[@]}"; do printf '%s %s s, ' "$k" "${WORST[$k]}"; done)
echo "soak seed $SEED: $EVENTS events in $(vm_since "$soak_started") s; $outages outages, $scans_away scans while a share was away,"
echo "  $additions additions and $deletions deletions on the NAS ($offline_deleted assets offline, all of deleted files), assets lost: $lost_at_end,"
echo "  $recoveries recoveries, the worst ${worst_recovery} s; stat loop: $looks looks, $misses missing, $errors errors from a dead share;"
echo "  worst times: ${worst%, }"
echo "soak seed $SEED, $EVENTS events: $pass passed, $fail failed"
[ "$fail" = 0 ]
