#!/usr/bin/env bash
# Verify the systemd units with systemd-analyze. It exits 0 even when it only warns (unknown keys,
# unparsable values are "ignored"), so any output at all counts as a failure here.
set -euo pipefail
cd "$(dirname "$0")/systemd"
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not found (Debian package: systemd)" >&2
  exit 1
fi
status=0
for unit in catalyst-server.service catalyst-client.service; do
  # The client unit is a user unit; --user needs a user manager, so it is checked as a system unit.
  out=$(systemd-analyze verify "$unit" 2>&1) || status=1
  if [ -n "$out" ]; then
    printf '%s:\n%s\n' "$unit" "$out" >&2
    status=1
  else
    echo "ok  $unit"
  fi
done
exit $status
