#!/usr/bin/env bash
# Makes a private CA and a serving certificate for the webhook Service with openssl.
# Usage: deploy/gen-certs.sh [out-dir] [service] [namespace] [days]
# Writes ca.crt, ca.key, tls.crt, tls.key (mode 0600) into out-dir. See docs/admission.md.
set -euo pipefail
out="${1:-./ocitrust-webhook-certs}"
svc="${2:-ocitrust-webhook}"
ns="${3:-ocitrust-system}"
days="${4:-365}"

umask 077
mkdir -p "$out"
cd "$out"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout ca.key -out ca.crt -days "$days" -subj "/CN=${svc}-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout tls.key -out tls.csr -subj "/CN=${svc}.${ns}.svc"

cat > tls.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:${svc},DNS:${svc}.${ns},DNS:${svc}.${ns}.svc,DNS:${svc}.${ns}.svc.cluster.local
EXT

openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
  -out tls.crt -days "$days" -extfile tls.ext

rm -f tls.csr tls.ext ca.srl
echo "wrote $(pwd)/{ca.crt,ca.key,tls.crt,tls.key} for ${svc}.${ns}.svc"
