#!/usr/bin/env bash
# Make TLS material for a test broker with Java's keytool (idempotent per directory).
#   infra/kafka/certs.sh DIR            a CA and a broker certificate signed by it
#   infra/kafka/certs.sh --ca-only DIR  just a CA (e.g. one the broker does not know)
# Writes into DIR (mode 0700):
#   ca.p12 / ca.pem        the CA's key store (PKCS12) and its certificate as PEM (for kafkajs)
#   broker.p12             the broker's key and certificate chain (SAN: localhost, 127.0.0.1)
#   truststore.p12         the CA, for the broker's own TLS connections to itself
#   store.password         the password of the three stores (random, mode 0600)
set -euo pipefail
ca_only=false
if [ "${1:-}" = "--ca-only" ]; then ca_only=true; shift; fi
dir="${1:?usage: certs.sh [--ca-only] DIR}"
command -v keytool >/dev/null || { echo "certs: keytool not found; install Java 17 (Debian: openjdk-17-jdk-headless)" >&2; exit 1; }
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"

if [ ! -s store.password ]; then
  (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >store.password)
fi
# -storepass:file keeps the password out of the process list; keytool's chatter goes to a log,
# shown only when a step fails
kt() { keytool "$@" -storepass:file store.password -noprompt >>keytool.log 2>&1 || { cat keytool.log >&2; echo "certs: keytool $1 failed in $dir" >&2; exit 1; }; }

if [ ! -f ca.pem ]; then
  rm -f ca.p12
  kt -genkeypair -alias ca -keyalg RSA -keysize 2048 -validity 3650 -dname "CN=sessionizer test CA $(date +%s%N)" \
    -ext bc:c -keystore ca.p12 -storetype PKCS12
  kt -exportcert -rfc -alias ca -keystore ca.p12 -file ca.pem
  [ -s ca.pem ] || { echo "certs: could not make the CA in $dir" >&2; exit 1; }
fi
$ca_only && exit 0

if [ ! -f broker.p12 ] || [ ! -f truststore.p12 ]; then
  rm -f broker.p12 broker.csr broker.crt truststore.p12
  san="SAN=dns:localhost,ip:127.0.0.1"
  kt -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 3650 -dname "CN=localhost" -ext "$san" \
    -keystore broker.p12 -storetype PKCS12
  kt -certreq -alias broker -keystore broker.p12 -file broker.csr
  kt -gencert -alias ca -keystore ca.p12 -infile broker.csr -outfile broker.crt -rfc -validity 3650 \
    -ext "$san" -ext ku:c=digitalSignature,keyEncipherment -ext eku=serverAuth
  # the chain: the CA first, then the signed certificate replaces the self-signed one
  kt -importcert -alias ca -file ca.pem -keystore broker.p12
  kt -importcert -alias broker -file broker.crt -keystore broker.p12
  kt -importcert -alias ca -file ca.pem -keystore truststore.p12 -storetype PKCS12
  rm -f broker.csr broker.crt
  [ -s broker.p12 ] && [ -s truststore.p12 ] || { echo "certs: could not make the broker stores in $dir" >&2; exit 1; }
fi
