#!/usr/bin/env bash
# Make the TLS files of a catalyst NATS cluster with openssl: one private CA, a certificate per nats node
# (server + client use: it is presented on routes in both directions) and one per catalyst process that
# connects to NATS (client use only). Keys are EC P-256, unencrypted (nats-server and the catalyst process read
# them at start), written 0600. Run it on an admin machine, then copy each host ONLY its own key (docs/operations.md).
#
#   bash deploy/nats/make-certs.sh OUT_DIR nats-1=10.0.0.11 nats-2=10.0.0.12 nats-3=10.0.0.13 \
#        --clients ingest-1 gateway-1 gateway-2
#
# OUT_DIR gets ca.pem + ca.key (keep ca.key offline), NAME.pem + NAME.key per node and per client. A second run
# with the same OUT_DIR reuses the CA and skips names that already have a certificate, so a new gateway is:
#   bash deploy/nats/make-certs.sh OUT_DIR --clients gateway-3
set -euo pipefail
umask 077
if [ $# -lt 1 ]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
out=$1
shift
mkdir -p "$out"
cd "$out"
command -v openssl >/dev/null || { echo "openssl not found (apt-get install openssl)" >&2; exit 1; }

days_ca=3650
days_leaf=825 # the longest leaf lifetime common TLS stacks accept; renew before it runs out

if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days_ca" \
    -subj "/CN=catalyst NATS CA" -keyout ca.key -out ca.pem \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  echo "made ca.pem (keep ca.key offline)"
fi

# leaf NAME SAN EKU
leaf() {
  local name=$1 san=$2 eku=$3
  if [ -f "$name.pem" ]; then
    echo "kept $name.pem (exists)"
    return
  fi
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
    -keyout "$name.key" -out "$name.csr" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\n' \
    "$eku" "$san" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days_leaf" \
    -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
  echo "made $name.pem ($eku; $san)"
}

clients=0
for arg in "$@"; do
  if [ "$arg" = --clients ]; then
    clients=1
  elif [ $clients = 1 ]; then
    leaf "$arg" "DNS:$arg" clientAuth
  else
    case $arg in
      *=*) ;;
      *) echo "a node is NAME=IP (got '$arg')" >&2; exit 2 ;;
    esac
    leaf "${arg%%=*}" "DNS:${arg%%=*},IP:${arg#*=}" serverAuth,clientAuth
  fi
done
