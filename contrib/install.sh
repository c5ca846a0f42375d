#!/usr/bin/env bash
# Installs extlib-net from the folder this script is in (the release tarball, or the tree that
# scripts/build-release makes, which scripts/install hands to it):
#   ./install.sh [--prefix /usr/local] [--destdir DIR]
# PREFIX/sbin/extlib-net and PREFIX/sbin/extlib-net-boot, the man page PREFIX/share/man/man8/extlib-net.8,
# and bash/zsh/fish completions in their standard folders. What it installed (files, and the folders it had
# to create) is listed in PREFIX/share/extlib-net/installed-files, which scripts/uninstall (and
# ./uninstall.sh in the tarball) reads to remove exactly that. Running it again replaces the files.
# DESTDIR is prepended to every path (for packaging and tests); the manifest lists paths without it.
# Needs root for a real prefix (the files are root's, as boot enable requires). On a real install it
# checks that the binary starts here and names the packages of the runtime libraries and mount helpers
# that are missing (it never runs a package manager itself).
set -euo pipefail
stage=$(cd "$(dirname "$0")" && pwd -P)

usage() { echo "usage: install.sh [--prefix DIR] [--destdir DIR]" >&2; exit 2; }
prefix=/usr/local destdir=
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) [ $# -ge 2 ] || usage; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --destdir) [ $# -ge 2 ] || usage; destdir=$2; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
  esac
done
case $prefix in /*) ;; *) echo "install: --prefix must be an absolute path, not '$prefix'" >&2; exit 2 ;; esac
prefix=${prefix%/}
if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install: run as root: boot enable only runs a root-owned binary (or give --destdir DIR)" >&2
  exit 1
fi
[ -x "$stage/sbin/extlib-net" ] || { echo "install: $stage/sbin/extlib-net missing" >&2; exit 1; }
# Before anything is written: a binary that cannot start here (a glibc older than 2.35) is not installed.
if ! version=$("$stage/sbin/extlib-net" --version 2>&1); then
  echo "install: extlib-net does not start on this machine: $version" >&2
  echo "install: it needs glibc 2.35 or newer (Debian 12, Ubuntu 22.04 and later); nothing was installed" >&2
  exit 1
fi

[ -z "$destdir" ] || mkdir -p "$destdir"
root=$destdir$prefix
manifest_path=$prefix/share/extlib-net/installed-files
manifest=$destdir$manifest_path
owner=()
[ "$(id -u)" -eq 0 ] && owner=(-o root -g root)

# Entries of an earlier install stay listed, so uninstall still removes its folders.
declare -A listed=()
entries=()
note() { # KIND PATH
  if [ -z "${listed[$1 $2]:-}" ]; then listed[$1 $2]=1; entries+=("$1 $2"); fi
}
if [ -f "$manifest" ]; then
  while IFS= read -r line; do [ -n "$line" ] && note "${line%% *}" "${line#* }"; done <"$manifest"
fi

# mkdir -p, noting each folder it creates (top first).
make_dir() { # PATH (without DESTDIR)
  local path=$1 missing=()
  while [ "$path" != / ] && [ ! -d "$destdir$path" ]; do missing=("$path" "${missing[@]}"); path=$(dirname "$path"); done
  for path in "${missing[@]}"; do
    install -d -m 0755 "${owner[@]}" "$destdir$path"
    note d "$path"
  done
}

put() { # MODE RELATIVE-SOURCE
  local mode=$1 relative=$2 target=$prefix/$2
  make_dir "$(dirname "$target")"
  install -m "$mode" "${owner[@]}" "$stage/$relative" "$destdir$target"
  note f "$target"
  echo "installed $destdir$target"
}

put 0755 sbin/extlib-net
put 0755 sbin/extlib-net-boot
put 0644 share/man/man8/extlib-net.8
put 0644 share/bash-completion/completions/extlib-net
put 0644 share/zsh/site-functions/_extlib-net
put 0644 share/fish/vendor_completions.d/extlib-net.fish

make_dir "$(dirname "$manifest_path")"
note f "$manifest_path"
printf '%s\n' "${entries[@]}" >"$manifest.tmp"
chmod 0644 "$manifest.tmp"
mv "$manifest.tmp" "$manifest"
echo "installed $manifest (what uninstall removes)"
echo "extlib-net $version is in $root/sbin; try: man extlib-net, extlib-net setup"

# What extlib-net loads or runs at run time, and the packages that have it (Debian and Ubuntu names).
[ -z "$destdir" ] || exit 0
missing=()
has_library() { ldconfig -p 2>/dev/null | grep -q "^[[:space:]]*$1 "; }
has_library libsmbclient.so.0 || missing+=("libsmbclient.so.0 (SMB share listing): libsmbclient0 or libsmbclient")
has_library libnfs.so.14 || has_library libnfs.so.13 ||
  missing+=("libnfs.so.14 or .13 (NFS export listing): libnfs14 or libnfs13")
[ -x /sbin/mount.cifs ] || [ -x /usr/sbin/mount.cifs ] || missing+=("mount.cifs (SMB mounts): cifs-utils")
[ -x /sbin/mount.nfs ] || [ -x /usr/sbin/mount.nfs ] || missing+=("mount.nfs (NFS mounts): nfs-common (nfs-utils elsewhere)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "install: extlib-net is installed, but this machine lacks what some of its commands need:" >&2
  printf 'install:   %s\n' "${missing[@]}" >&2
  echo "install: install those packages with your package manager" >&2
fi
