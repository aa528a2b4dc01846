#!/usr/bin/env bash
# Verify what deploy/ ships for systemd and NATS:
# - the units, with systemd-analyze. It exits 0 even when it only warns (unknown keys, unparsable values are
#   "ignored"), so any output at all counts as a failure here;
# - the drop-in for Debian's nats-server.service, verified together with the package's own unit;
# - the NATS node config template, rendered for each of 3 sample nodes with throwaway certificates made by
#   deploy/nats/make-certs.sh (nats-server -t opens the TLS files, so they must exist), then `nats-server -t`.
set -euo pipefail
deploy="$(cd "$(dirname "$0")" && pwd)"
status=0
fail() {
  printf '%s:\n%s\n' "$1" "$2" >&2
  status=1
}

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not found (Debian package: systemd)" >&2
  exit 1
fi
nats_server=$(command -v nats-server || true)
[ -n "$nats_server" ] || [ ! -x /usr/sbin/nats-server ] || nats_server=/usr/sbin/nats-server
if [ -z "$nats_server" ]; then
  echo "nats-server not found (Debian package: nats-server)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$deploy/systemd"
for unit in catalyst-server.service catalyst-client.service catalyst-ingest.service catalyst-gateway.service; do
  # The client unit is a user unit; --user needs a user manager, so it is checked as a system unit.
  out=$(systemd-analyze verify "$unit" 2>&1) || status=1
  if [ -n "$out" ]; then fail "$unit" "$out"; else echo "ok  $unit"; fi
done

# The drop-in extends the package's unit: verify the pair, with the drop-in found through SYSTEMD_UNIT_PATH
# (a copy of the unit in a temp dir, its .d/ beside it), as systemd would merge them.
vendor=/lib/systemd/system/nats-server.service
if [ ! -f "$vendor" ]; then
  fail "nats-server.service.d/catalyst.conf" "$vendor not found (Debian package: nats-server)"
else
  mkdir -p "$tmp/units/nats-server.service.d"
  cp "$vendor" "$tmp/units/"
  cp "$deploy/nats/nats-server.service.d/catalyst.conf" "$tmp/units/nats-server.service.d/"
  out=$(SYSTEMD_UNIT_PATH="$tmp/units:" systemd-analyze verify "$tmp/units/nats-server.service" 2>&1) || status=1
  if [ -n "$out" ]; then
    fail "nats-server.service + nats-server.service.d/catalyst.conf" "$out"
  else
    echo "ok  nats-server.service + nats-server.service.d/catalyst.conf"
  fi
fi

# Three sample nodes on documentation addresses (RFC 5737); -t parses and loads the TLS files, binds nothing.
bash "$deploy/nats/make-certs.sh" "$tmp/tls" n1=192.0.2.11 n2=192.0.2.12 n3=192.0.2.13 --clients gw1 >/dev/null
ips=(192.0.2.11 192.0.2.12 192.0.2.13)
for i in 0 1 2; do
  name="n$((i + 1))"
  others=()
  for j in 0 1 2; do [ "$j" = "$i" ] || others+=("${ips[$j]}"); done
  conf="$tmp/$name.conf"
  sed -e "s/@NODE_NAME@/$name/" -e "s/@NODE_IP@/${ips[$i]}/" -e "s/@PEER_A_IP@/${others[0]}/" \
    -e "s/@PEER_B_IP@/${others[1]}/" -e "s/@CLUSTER_NAME@/catalyst/" \
    -e "s#/etc/nats/tls/node\\.#$tmp/tls/$name.#" -e "s#/etc/nats/tls/ca\\.pem#$tmp/tls/ca.pem#" \
    "$deploy/nats/nats-node.conf" >"$conf"
  if grep -n '@[A-Z_]*@' "$conf" >"$tmp/left" 2>&1; then
    fail "nats-node.conf ($name)" "placeholders left after rendering: $(cat "$tmp/left")"
    continue
  fi
  out=$("$nats_server" -t -c "$conf" 2>&1) || { fail "nats-node.conf ($name)" "$out"; continue; }
  echo "ok  nats/nats-node.conf rendered for $name ($out)"
done
exit $status
