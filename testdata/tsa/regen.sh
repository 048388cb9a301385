#!/usr/bin/env bash
# Regenerates every file in testdata/tsa/ with openssl (tested with OpenSSL 3.0.19):
# two test PKIs, a local RFC 3161 TSA (`openssl ts -reply`) and the tokens the API tests use.
# See README.md for what each file is. Run from anywhere: `bash testdata/tsa/regen.sh`.
# Certificates are valid for 10 years from the day this runs; tokens carry that day's genTime.
set -euo pipefail
cd "$(dirname "$0")"

rm -f ./*.key ./*.crt ./*.pem ./*.tsq ./*.tsr ./*.tst ./*.srl ./*.csr tsaserial data.txt tstinfo.der

cat > tsa.cnf <<'CNF'
# openssl configuration for the custody test TSA (ENVIRONMENT.md §3, extended).
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused

[v3_ca]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[v3_tsa]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

# The negative: id-kp-timeStamping in a NON-critical EKU (RFC 3161 §2.3 requires critical).
[v3_tsa_noncritical]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[tsa]
default_tsa = tsa_ec

# ECDSA P-256 TSA under the P-256 root; ESSCertIDv2 (SHA-256); SHA-1 imprints accepted.
[tsa_ec]
dir = .
serial = $dir/tsaserial
signer_cert = $dir/tsa-ec.crt
signer_key = $dir/tsa-ec.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1.1
digests = sha1,sha256,sha384,sha512
accuracy = secs:1, millisecs:500
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256

# RSA-3072 TSA under an RSA-4096 intermediate and root; embeds intermediate + root after the
# signer (leaf-first, not DER SET order); ESSCertID v1 (SHA-1); SHA-512 signer digest.
[tsa_rsa]
dir = .
serial = $dir/tsaserial
signer_cert = $dir/tsa-rsa.crt
certs = $dir/rsa-chain.pem
signer_key = $dir/tsa-rsa.key
signer_digest = sha512
default_policy = 1.3.6.1.4.1.99999.1.1
digests = sha256,sha384,sha512
accuracy = microsecs:250
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha1
CNF

subj() { echo "/C=ZZ/O=Custody Test/CN=$1"; }

# P-256 root and TSA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root-ec.key -out root-ec.crt \
  -days 3650 -subj "$(subj 'Custody Test Root (ECDSA P-256)')" -config tsa.cnf -extensions v3_ca
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tsa-ec.key -out tsa-ec.csr \
  -subj "$(subj 'Custody Test TSA (ECDSA P-256)')" -config tsa.cnf
openssl x509 -req -in tsa-ec.csr -CA root-ec.crt -CAkey root-ec.key -CAcreateserial -out tsa-ec.crt -days 3650 \
  -sha256 -extfile tsa.cnf -extensions v3_tsa

# Same root, a TSA certificate whose EKU is not critical.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tsa-ec-noncritical.key \
  -out tsa-ec-noncritical.csr -subj "$(subj 'Custody Test TSA (non-critical EKU)')" -config tsa.cnf
openssl x509 -req -in tsa-ec-noncritical.csr -CA root-ec.crt -CAkey root-ec.key -CAcreateserial \
  -out tsa-ec-noncritical.crt -days 3650 -sha256 -extfile tsa.cnf -extensions v3_tsa_noncritical

# RSA-4096 root -> RSA-4096 intermediate (sha384WithRSA) -> RSA-3072 TSA.
openssl req -x509 -newkey rsa:4096 -nodes -keyout root-rsa.key -out root-rsa.crt -days 3650 -sha256 \
  -subj "$(subj 'Custody Test Root (RSA 4096)')" -config tsa.cnf -extensions v3_ca
openssl req -new -newkey rsa:4096 -nodes -keyout ca-rsa.key -out ca-rsa.csr \
  -subj "$(subj 'Custody Test TSA CA (RSA 4096)')" -config tsa.cnf
openssl x509 -req -in ca-rsa.csr -CA root-rsa.crt -CAkey root-rsa.key -CAcreateserial -out ca-rsa.crt -days 3650 \
  -sha384 -extfile tsa.cnf -extensions v3_ca
openssl req -new -newkey rsa:3072 -nodes -keyout tsa-rsa.key -out tsa-rsa.csr \
  -subj "$(subj 'Custody Test TSA (RSA 3072)')" -config tsa.cnf
openssl x509 -req -in tsa-rsa.csr -CA ca-rsa.crt -CAkey ca-rsa.key -CAcreateserial -out tsa-rsa.crt -days 3650 \
  -sha256 -extfile tsa.cnf -extensions v3_tsa
cat ca-rsa.crt root-rsa.crt > rsa-chain.pem

# Trust anchors for tests and the sample bundle: both roots.
cat root-ec.crt root-rsa.crt > root-ca.pem

printf 'custody test document\n' > data.txt
echo 01 > tsaserial
# genTime minus the accuracy (1.5 s for the ECDSA TSA) must not precede the certificates' notBefore.
sleep 3

# token <name> <section> <query options...>: a query, a TimeStampResp and the bare token.
token() {
  local name=$1 section=$2
  shift 2
  openssl ts -query -data data.txt "$@" -out "$name.tsq"
  openssl ts -reply -config tsa.cnf -section "$section" -queryfile "$name.tsq" -out "$name.tsr"
  openssl ts -reply -in "$name.tsr" -token_out -out "$name.tst"
}
token ec tsa_ec -sha256 -cert
token ec-nocert tsa_ec -sha256
token ec-sha1 tsa_ec -sha1 -cert
token rsa-chain tsa_rsa -sha512 -cert

# A token signed with the non-critical-EKU certificate: `openssl ts -reply` refuses that
# certificate, so the TSTInfo of ec.tst is re-signed with `openssl cms -sign -cades`
# (signed attributes contentType, signingTime, messageDigest, signingCertificateV2).
openssl cms -verify -inform DER -in ec.tst -noverify -binary -out tstinfo.der
openssl cms -sign -binary -nodetach -in tstinfo.der -econtent_type 1.2.840.113549.1.9.16.1.4 \
  -signer tsa-ec-noncritical.crt -inkey tsa-ec-noncritical.key -md sha256 -cades -nosmimecap \
  -outform DER -out noncritical-eku.tst

# Every positive must verify with openssl too (at the current time).
openssl ts -verify -in ec.tsr -data data.txt -CAfile root-ec.crt
openssl ts -verify -in ec-nocert.tsr -data data.txt -CAfile root-ec.crt -untrusted tsa-ec.crt
openssl ts -verify -in ec-sha1.tsr -data data.txt -CAfile root-ec.crt
openssl ts -verify -in rsa-chain.tsr -data data.txt -CAfile root-rsa.crt

rm -f ./*.csr ./*.srl ./*.tsq tsaserial tstinfo.der
