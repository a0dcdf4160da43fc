#!/bin/sh
# gen_certs.sh DIR: a throwaway test CA, a server certificate for localhost,
# 127.0.0.1 and ::1, and a client certificate, all signed by the CA, written
# to DIR with OpenSSL. Used by the TLS interop and robustness tests only.
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
# shellcheck disable=SC2086
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 \
	-subj "/CN=carebank test CA" 2>/dev/null
cat > server.ext <<EXT
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
extendedKeyUsage=serverAuth
EXT
cat > client.ext <<EXT
extendedKeyUsage=clientAuth
EXT
for who in server client; do
	# shellcheck disable=SC2086
	openssl req $ec -keyout $who.key -out $who.csr \
		-subj "/CN=carebank test $who" 2>/dev/null
	openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key \
		-CAcreateserial -days 2 -extfile $who.ext -out $who.pem \
		2>/dev/null
done
rm -f ./*.csr ./*.ext ca.srl
