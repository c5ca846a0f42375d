# Sourced by the project's scripts: finds the Swift toolchain when it is not on PATH
# (a fresh machine of this kind ships it in /opt/swift).
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi
