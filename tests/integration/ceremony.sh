#!/usr/bin/env bash
# The demo ceremony end to end on a fresh SoftHSM2 token: init (3-of-5), root, intermediate, OCSP
# responder, audit checkpoint key; transcripts verify; every refusal path of the ceremony tool.
source "$(dirname "$0")/lib.sh"
hsm_init_env
# refused_conf KIND NAME WANT WHAT LINE...: a KIND ceremony with the config LINEs exits 1 saying WANT and writes
# no NAME.pem
refused_conf() {
	local kind=$1 name=$2 want=$3 what=$4; shift 4
	printf '%s\n' "$@" "pin_verifier = $(cat "$T/shares/pin.verifier")" > "$T/bad.conf"
	# shellcheck disable=SC2046
	expect_rc 1 "$CEREMONY" "$kind" --module "$SOFTHSM_MODULE" --config "$T/bad.conf" --out "$T/ca/$name.pem" $(shares_args alice carol erin)
	grep -q -- "$want" <<<"$OUT" || fail "$what: $OUT"
	[ ! -e "$T/ca/$name.pem" ] || fail "$what: a refused ceremony wrote $name.pem"
}
ceremony_init
for n in $CUSTODIANS; do [ -s "$T/shares/$n.share" ] || fail "share of $n missing"; done
[ "$(stat -c %a "$T/shares/alice.share")" = 600 ] || fail "share file mode"
grep -qx '[0-9a-f]\{64\}' "$T/shares/pin.verifier" || fail "pin.verifier: $(cat "$T/shares/pin.verifier")"
grep -q "^pin_verifier: $(cat "$T/shares/pin.verifier")$" "$T/shares/ceremony.transcript" || fail "pin_verifier not on the transcript"
# every share was read back from disk and opened, not only the first m (which rebuild the PIN)
for n in $CUSTODIANS; do
	grep -q "^share_verified: $n (share [0-9]) read back from $T/shares/$n.share and opened$" "$T/shares/ceremony.transcript" \
		|| fail "the share of $n was not read back: $(grep share_ "$T/shares/ceremony.transcript")"
done
# the roster: each custodian with their share's index (the signer's `custodians`), on the transcript too
WANT_ROSTER=$(i=0; for n in $CUSTODIANS; do i=$((i + 1)); printf '%s%s:%d' "$([ $i = 1 ] || echo ', ')" "$n" "$i"; done)
[ "$(cat "$T/shares/custodians.roster")" = "$WANT_ROSTER" ] || fail "custodians.roster: $(cat "$T/shares/custodians.roster"), want $WANT_ROSTER"
grep -q "^custodians: $WANT_ROSTER$" "$T/shares/ceremony.transcript" || fail "the roster is not on the transcript"
pass "init wrote five sealed shares, read each back from disk and opened it, the PIN's verifier (pin.verifier) and the custodians' roster (custodians.roster), both on the transcript"

ceremony_ca root root p384 "" "policy_oids = 1.3.6.1.4.1.55555.1.1"
ceremony_ca intermediate int p256 root "permitted_dns = .example.com"
ceremony_ca ocsp ocsp p256 int
openssl verify -x509_strict -CAfile "$T/ca/root.pem" "$T/ca/int.pem" >/dev/null || fail "intermediate does not verify"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/ca/ocsp.pem" >/dev/null || fail "ocsp cert"
openssl x509 -in "$T/ca/int.pem" -noout -ext basicConstraints,nameConstraints,crlDistributionPoints,authorityInfoAccess \
	| grepq 'DNS:.example.com' || fail "name constraints missing"
serial=$(openssl x509 -in "$T/ca/int.pem" -noout -serial | cut -d= -f2)
[ ${#serial} -ge 30 ] || fail "serial $serial is not ~128 bits"
pass "root -> intermediate -> OCSP responder verify with openssl -x509_strict"

# validity counts both ends (RFC 5280 4.1.2.5): validity_days at the maximum (398 for an OCSP responder)
# gives exactly 398 days, notAfter - notBefore + 1 s; it gave a second more (and the signer's rule now
# refuses that)
CEREMONY_OCSP_DAYS=398 ceremony_ca ocsp ocsp398 p256 int
secs() { date -d "$(openssl x509 -in "$T/ca/ocsp398.pem" -noout "-$1" | cut -d= -f2)" +%s; }
[ $(( $(secs enddate) - $(secs startdate) + 1 )) = $((398 * 86400)) ] \
	|| fail "398 days: notAfter - notBefore + 1 = $(( $(secs enddate) - $(secs startdate) + 1 ))"
pass "validity_days at its maximum gives exactly that many days, both ends counted"

# the audit checkpoint key (the frontend's checkpoint_key): a leaf of the root, digitalSignature only, no EKU
ceremony_ca checkpoint ckpt p256 root
openssl verify -x509_strict -CAfile "$T/ca/root.pem" "$T/ca/ckpt.pem" >/dev/null || fail "checkpoint cert does not verify"
EXT=$(openssl x509 -in "$T/ca/ckpt.pem" -noout -ext basicConstraints,keyUsage,extendedKeyUsage,subjectKeyIdentifier,authorityKeyIdentifier)
grep -A1 'Basic Constraints: critical' <<<"$EXT" | grepq 'CA:FALSE' || fail "checkpoint cert basicConstraints: $EXT"
grep -A1 'Key Usage: critical' <<<"$EXT" | grepq -x ' *Digital Signature' || fail "checkpoint cert keyUsage: $EXT"
! grep -q 'Extended Key Usage' <<<"$EXT" || fail "checkpoint cert has an EKU: $EXT"
grep -q 'Subject Key Identifier' <<<"$EXT" && grep -q 'Authority Key Identifier' <<<"$EXT" || fail "checkpoint SKI/AKI: $EXT"
"$CEREMONY" verify --transcript "$T/ca/ckpt.pem.transcript" --pubkey "$T/shares/audit.pem" >/dev/null || fail "checkpoint transcript"
grep -q '^ceremony: checkpoint$' "$T/ca/ckpt.pem.transcript" || fail "the transcript does not name the checkpoint ceremony: $(head -5 "$T/ca/ckpt.pem.transcript")"
refused_conf checkpoint c2 'line 5: key path_length does not belong in this ceremony' "path_length in a checkpoint ceremony" \
	'key_label = c2' 'key_type = p256' 'subject = /CN=c2' 'validity_days = 30' 'path_length = 0' "issuer_cert = $T/ca/root.pem" 'issuer_key_label = root'
refused_conf checkpoint c2 'needs issuer_cert and issuer_key_label' "a checkpoint ceremony without an issuer" \
	'key_label = c2' 'key_type = p256' 'subject = /CN=c2' 'validity_days = 30'
refused_conf checkpoint c2 'over the limit of 2919 days' "a checkpoint certificate over 8 years" \
	'key_label = c2' 'key_type = p256' 'subject = /CN=c2' 'validity_days = 2950' "issuer_cert = $T/ca/root.pem" 'issuer_key_label = root'
pass "the checkpoint ceremony: a root-issued CA:FALSE digitalSignature key with no EKU, on a signed transcript; path_length, no issuer, over 8 years refused"

# an issuing key not protected as a CA key must be (made by another tool: able to decrypt, extractable, or usable
# without a login) signs nothing, as the signer would refuse it; the root's is never loaded by the signer, so the
# ceremony is the only check. Refused before a key is generated: the same label then works under the real root
for flaw in decrypt extractable public; do
	"$SGNTOOL" weakkey module="$SOFTHSM_MODULE" token=hsmca-test shares="$T/shares/alice.share,$T/shares/carol.share,$T/shares/erin.share" \
		passes="$T/pass/alice.pass,$T/pass/carol.pass,$T/pass/erin.pass" flaw="$flaw" label="weak-$flaw" > "$T/weakkey.log" 2>&1 \
		|| fail "weak key ($flaw): $(cat "$T/weakkey.log")"
	case $flaw in
	decrypt) want='key weak-decrypt refused: the key may decrypt (CKA_DECRYPT true)' ;;
	extractable) want='key weak-extractable refused: the key is extractable (CKA_EXTRACTABLE true)' ;;
	public) want='key weak-public refused: the key is not private (CKA_PRIVATE false)' ;;
	esac
	refused_conf intermediate "under-$flaw" "$want" "an issuing key with the flaw $flaw" 'key_label = under-weak' \
		'key_type = p256' 'subject = /CN=under weak' 'validity_days = 30' 'path_length = 0' "issuer_cert = $T/ca/root.pem" \
		"issuer_key_label = weak-$flaw"
done
# an issuer that is no CA (the OCSP responder's certificate) is refused before a key is made or the token signs
refused_conf intermediate under-ocsp "issuer certificate $T/ca/ocsp.pem is not a CA that may sign certificates" \
	"an intermediate under the OCSP responder" 'key_label = under-weak' 'key_type = p256' 'subject = /CN=under ocsp' \
	'validity_days = 30' 'path_length = 0' "issuer_cert = $T/ca/ocsp.pem" 'issuer_key_label = ocsp'
ceremony_ca intermediate under-weak p256 root # no key under-weak was left by the refused runs
openssl verify -x509_strict -CAfile "$T/ca/root.pem" "$T/ca/under-weak.pem" >/dev/null || fail "under-weak does not verify"
pass "an issuing key that may decrypt, is extractable or is not private signs nothing (refused before a key is made)"
# the audit key signs transcripts only, and only one protected as a CA key is (before: a CA key signed the
# transcript of its own ceremony, and an extractable one's signature was taken)
refused_conf ocsp c3 'audit_key_label int is this ceremony.s key_label or issuer_key_label' "the issuing key as audit key" \
	'key_label = c3' 'key_type = p256' 'subject = /CN=c3' 'validity_days = 30' "issuer_cert = $T/ca/int.pem" \
	'issuer_key_label = int' 'audit_key_label = int'
refused_conf checkpoint c3 'key weak-extractable refused: the key is extractable (CKA_EXTRACTABLE true)' \
	"an extractable audit key" 'key_label = c3' 'key_type = p256' 'subject = /CN=c3' 'validity_days = 30' \
	"issuer_cert = $T/ca/root.pem" 'issuer_key_label = root' 'audit_key_label = weak-extractable'
pass "the audit key is no CA key of the ceremony and is protected as one (an extractable one refused)"

for t in "$T/shares/ceremony.transcript" "$T/ca/root.pem.transcript" "$T/ca/int.pem.transcript"; do
	"$CEREMONY" verify --transcript "$t" --pubkey "$T/shares/audit.pem" >/dev/null || fail "transcript $t"
	openssl dgst -sha256 -verify "$T/shares/audit.pem" -signature "$t.sig" "$t" >/dev/null || fail "openssl dgst $t"
done
# a share whose passphrase came from a file is presented, no one's presence proven (custodian_present is for a
# passphrase typed at the terminal); the init's shares, sealed with passphrases from --passphrase-dir, alike
grep -q '^share_presented: alice (share 1 of 3-of-5, passphrase from a file)$' "$T/ca/root.pem.transcript" || fail "custodians not recorded"
grep -q '^share_sealed_for: alice (passphrase from a file)$' "$T/shares/ceremony.transcript" || fail "init's custodians not recorded"
! grep -q '^custodian_present' "$T/ca/root.pem.transcript" "$T/shares/ceremony.transcript" || fail "presence claimed for passphrases read from files"
grep -q '^config_sha256: ' "$T/ca/root.pem.transcript" || fail "config hash not recorded"
grep -q "^certificate_sha256: $(openssl x509 -in "$T/ca/int.pem" -outform DER | sha256sum | cut -c1-64)" \
	"$T/ca/int.pem.transcript" || fail "certificate fingerprint not recorded"
sed 's/carol/mallory/' "$T/ca/root.pem.transcript" > "$T/tampered.transcript"
cp "$T/ca/root.pem.transcript.sig" "$T/tampered.transcript.sig"
expect_rc 1 "$CEREMONY" verify --transcript "$T/tampered.transcript" --pubkey "$T/shares/audit.pem"
pass "transcripts are signed by the audit key; a tampered one fails"

# sign-csr: a subordinate CA whose key is elsewhere (another HSM) gets its certificate at a quorum ceremony from
# its PKCS#10 request: the request's key, the config's subject and constraints, linted and on a signed transcript
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ext.key" \
	-subj "/CN=what the requester wrote" -out "$T/ext.csr" 2>/dev/null
cat > "$T/ext.conf" <<EOC
subject = /C=US/O=hsmca test/CN=External Issuing CA
validity_days = 1000
path_length = 0
issuer_cert = $T/ca/root.pem
issuer_key_label = root
permitted_dns = .ext.example.com
crl_url = http://127.0.0.1:8080/crl/root.crl
pin_verifier = $(cat "$T/shares/pin.verifier")
EOC
# shellcheck disable=SC2046
"$CEREMONY" sign-csr --module "$SOFTHSM_MODULE" --config "$T/ext.conf" --csr "$T/ext.csr" --out "$T/ca/ext.pem" \
	$(shares_args alice carol erin) > "$T/ext.log" 2>&1 || fail "sign-csr: $(cat "$T/ext.log")"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" "$T/ca/ext.pem" >/dev/null || fail "the signed CSR does not verify"
[ "$(openssl x509 -in "$T/ca/ext.pem" -noout -pubkey)" = "$(openssl req -in "$T/ext.csr" -noout -pubkey)" ] \
	|| fail "the certificate's key is not the request's"
[ "$(openssl x509 -in "$T/ca/ext.pem" -noout -subject -nameopt compat)" = "subject=/C=US/O=hsmca test/CN=External Issuing CA" ] \
	|| fail "subject: $(openssl x509 -in "$T/ca/ext.pem" -noout -subject -nameopt compat)"
openssl x509 -in "$T/ca/ext.pem" -noout -ext basicConstraints,nameConstraints | tr -d '\n ' \
	| grepq 'critical.*CA:TRUE,pathlen:0.*critical.*Permitted:DNS:.ext.example.com' \
	|| fail "constraints: $(openssl x509 -in "$T/ca/ext.pem" -noout -ext basicConstraints,nameConstraints)"
# the external CA's key issues under it, and the chain verifies
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/extleaf.key" -subj "/CN=www.ext.example.com" \
	-addext "subjectAltName=DNS:www.ext.example.com" -out "$T/extleaf.csr" 2>/dev/null
openssl x509 -req -in "$T/extleaf.csr" -CA "$T/ca/ext.pem" -CAkey "$T/ext.key" -set_serial 7 -days 30 -copy_extensions copy \
	-out "$T/extleaf.pem" 2>/dev/null || fail "the external CA cannot issue"
openssl verify -CAfile "$T/ca/root.pem" -untrusted "$T/ca/ext.pem" "$T/extleaf.pem" >/dev/null || fail "root -> ext -> leaf"
"$CEREMONY" verify --transcript "$T/ca/ext.pem.transcript" --pubkey "$T/shares/audit.pem" >/dev/null || fail "sign-csr transcript"
grep -q '^ceremony: sign-csr$' "$T/ca/ext.pem.transcript" && grep -q "^csr_sha256: $(sha256sum "$T/ext.csr" | cut -c1-64)$" "$T/ca/ext.pem.transcript" \
	&& ! grep -q '^key_label:' "$T/ca/ext.pem.transcript" || fail "sign-csr transcript: $(cat "$T/ca/ext.pem.transcript")"
# refused before any login: a request whose signature does not verify, a key type the appliance does not take,
# a config naming a key of its own, no --csr
python3 - "$T/ext.csr" "$T/bad.csr" <<'PY'
import base64, sys
lines = open(sys.argv[1]).read().split("\n")
der = bytearray(base64.b64decode("".join(l for l in lines if l and not l.startswith("-----"))))
der[-3] ^= 1  # a byte of the signature
b = base64.b64encode(bytes(der)).decode()
open(sys.argv[2], "w").write("-----BEGIN CERTIFICATE REQUEST-----\n" + "\n".join(b[i:i + 64] for i in range(0, len(b), 64)) + "\n-----END CERTIFICATE REQUEST-----\n")
PY
openssl req -new -newkey rsa:1024 -nodes -keyout "$T/weak.key" -subj "/CN=weak" -out "$T/weak.csr" 2>/dev/null
for r in "bad:signature" "weak:key"; do
	# a share that does not exist: had it been read (the login), its refusal would be said
	expect_rc 1 "$CEREMONY" sign-csr --module "$SOFTHSM_MODULE" --config "$T/ext.conf" --csr "$T/${r%%:*}.csr" \
		--out "$T/ca/ext-${r%%:*}.pem" --share "$T/no-such.share" --passphrase-file "$T/pass/alice.pass"
	grep -q "request $T/${r%%:*}.csr refused: .*${r#*:}" <<<"$OUT" && ! grep -q 'no-such.share' <<<"$OUT" \
		|| fail "sign-csr of the ${r%%:*} request: $OUT"
	[ ! -e "$T/ca/ext-${r%%:*}.pem" ] || fail "a certificate for the ${r%%:*} request"
done
{ cat "$T/ext.conf"; echo "key_label = extra"; } > "$T/ext-key.conf"
# shellcheck disable=SC2046
expect_rc 1 "$CEREMONY" sign-csr --module "$SOFTHSM_MODULE" --config "$T/ext-key.conf" --csr "$T/ext.csr" \
	--out "$T/ca/ext2.pem" $(shares_args alice carol erin)
grep -q 'key key_label does not belong in this ceremony' <<<"$OUT" || fail "sign-csr with a key_label: $OUT"
expect_rc 2 "$CEREMONY" sign-csr --module "$SOFTHSM_MODULE" --config "$T/ext.conf" --out "$T/ca/ext2.pem" $(shares_args alice carol erin)
expect_rc 2 "$CEREMONY" intermediate --module "$SOFTHSM_MODULE" --config "$T/int.conf" --csr "$T/ext.csr" --out "$T/ca/ext2.pem" $(shares_args alice carol erin)
pass "sign-csr: a subordinate CA for an outside key from its request, at a quorum ceremony (the config's subject and constraints, on a signed transcript; its key issues a verifying chain); a bad signature, a weak key, a key_label or a missing --csr refused"

# never overwrite; nothing changes (a fresh key label and transcript: only the existing --out stands in the way)
sum=$(sha256sum < "$T/ca/root.pem")
sed 's/^key_label = .*/key_label = root-again/' "$T/root.conf" > "$T/root-again.conf"
grepq '^key_label = root-again$' "$T/root-again.conf" || fail "root-again.conf: $(cat "$T/root-again.conf")"
expect_rc 1 "$CEREMONY" root --module "$SOFTHSM_MODULE" --config "$T/root-again.conf" --out "$T/ca/root.pem" \
	--transcript "$T/root-again.transcript" $(shares_args alice carol erin)
grepq "certificate $T/ca/root.pem exists" <<<"$OUT" || fail "an existing --out refused for another reason: $OUT"
[ "$(sha256sum < "$T/ca/root.pem")" = "$sum" ] || fail "root.pem was overwritten"
[ ! -e "$T/root-again.transcript" ] || fail "a refused ceremony wrote its transcript"
pass "an existing output is never overwritten"

# config errors
refused_conf root x 'line 6: unknown key colour' "unknown key not reported with its line" \
	'key_label = x' 'key_type = p256' 'subject = /CN=x' 'validity_days = 10' 'path_length = 0' 'colour = blue'
refused_conf root x 'over the limit' "25-year limit" \
	'key_label = x' 'key_type = p256' 'subject = /CN=x' 'validity_days = 9200' 'path_length = 0'
refused_conf intermediate y 'over the limit' "8-year limit" \
	'key_label = y' 'key_type = p256' 'subject = /CN=y' 'validity_days = 2950' 'path_length = 0' "issuer_cert = $T/ca/root.pem" 'issuer_key_label = root'
# --scrypt-log-n is two digits within 14..18: "15x" (atoi's 15) and "+15" are refused with the usage, as 13 is
for v in 15x +15 13 ""; do
	expect_rc 2 "$CEREMONY" init --module "$SOFTHSM_MODULE" --config "$T/init.conf" --out "$T/logn" --scrypt-log-n "$v"
	grep -q '^usage: hsmca-ceremony' <<<"$OUT" || fail "--scrypt-log-n '$v': $OUT"
done
[ ! -e "$T/logn" ] || fail "a refused --scrypt-log-n wrote $T/logn"
pass "unknown keys (with line numbers) and validity limits are refused"
# empty parts are typos, refused (a trailing '/' or "//" in a subject, ",," in a list were skipped; a '#' cut the
# value there: "/O=Acme #2/CN=x" became "/O=Acme")
for subj in '/CN=x/' '/CN=x//O=y' '/O=Acme/'; do
	refused_conf root x 'subject must look like' "subject $subj" \
		'key_label = x' 'key_type = p256' "subject = $subj" 'validity_days = 10' 'path_length = 0'
done
refused_conf root x "line 3: '#' after the start of the line" "a '#' in the subject" \
	'key_label = x' 'key_type = p256' 'subject = /O=Acme #2/CN=x' 'validity_days = 10' 'path_length = 0'
refused_conf intermediate y 'permitted_dns: an empty item' "permitted_dns with an empty name" \
	'key_label = y' 'key_type = p256' 'subject = /CN=y' 'validity_days = 100' 'path_length = 0' "issuer_cert = $T/ca/root.pem" \
	'issuer_key_label = root' 'permitted_dns = a.example.com,,b.example.com'
refused_conf root x 'policy_oids: not-an-oid is not a dotted OID' "policy_oids with a word" \
	'key_label = x' 'key_type = p256' 'subject = /CN=x' 'validity_days = 10' 'path_length = 0' 'policy_oids = 1.2.3, not-an-oid'
refused_conf root x 'policy_oids: an empty item' "policy_oids with an empty item" \
	'key_label = x' 'key_type = p256' 'subject = /CN=x' 'validity_days = 10' 'path_length = 0' 'policy_oids = 1.2.3,,1.2.4'
printf 'token_label = t5\ncustodians = alice,,bob, carol\nthreshold = 2\n' > "$T/init5.conf"
mkdir -p "$T/fifth"
expect_rc 1 "$CEREMONY" init --module "$SOFTHSM_MODULE" --config "$T/init5.conf" --out "$T/fifth" --passphrase-dir "$T/pass" \
	--scrypt-log-n $LOGN
grep -q 'custodians: an empty name' <<<"$OUT" || fail "custodians with an empty name: $OUT"
pass "a subject with an empty part, a list with an empty item and a '#' in a value are refused"
# a custodian's passphrase file with a note on a second line: sealing a share under it is refused (it became
# part of the passphrase); opening, it is read as shares were sealed before, and said so
printf '%s\nkept in the blue safe\n' "$(cat "$T/pass/carol.pass")" > "$T/carol-note.pass"
mkdir -p "$T/notepass" "$T/notes"
for n in alice bob carol; do cp "$T/pass/$n.pass" "$T/notepass/"; done
cp "$T/carol-note.pass" "$T/notepass/carol.pass"
printf 'token_label = notes\ncustodians = alice, bob, carol\nthreshold = 2\n' > "$T/notes.conf"
expect_rc 1 "$CEREMONY" init --module "$SOFTHSM_MODULE" --config "$T/notes.conf" --out "$T/notes" --passphrase-dir "$T/notepass" \
	--scrypt-log-n $LOGN
grep -q 'the passphrase for carol is not one line' <<<"$OUT" || fail "sealing under a passphrase file of two lines: $OUT"
[ ! -e "$T/notes/alice.share" ] || fail "shares written under a refused passphrase"
expect_rc 1 "$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp.conf" --out "$T/ca/onote.pem" \
	--share "$T/shares/alice.share" --passphrase-file "$T/pass/alice.pass" \
	--share "$T/shares/carol.share" --passphrase-file "$T/carol-note.pass" \
	--share "$T/shares/erin.share" --passphrase-file "$T/pass/erin.pass"
grep -q 'warning: the passphrase for .*carol.share is not one line' <<<"$OUT" && grep -q 'carol.share refused' <<<"$OUT" \
	|| fail "opening with a passphrase file of two lines: $OUT"
pass "a passphrase file of two lines seals no share; opening one, it is read as before and said so"
# name constraints longer than the extension's 1,536-byte buffer were cut in the middle (a permitted name
# became another domain, the excluded ones after it were dropped) and the certificate was made anyway; a URL
# with a comma added a name of its own to the extension
long_list() { local i out=""; for i in $(seq 30); do out+="${out:+, }$1$i.example.com"; done; echo "$out"; }
ceremony_ca intermediate nclong p256 root "permitted_dns = $(long_list p)"$'\n'"excluded_dns = $(long_list x)"
openssl x509 -in "$T/ca/nclong.pem" -noout -text > "$T/nclong.txt"
[ "$(grep -o 'DNS:p[0-9]*\.example\.com' "$T/nclong.txt" | sort -u | wc -l)" = 30 ] \
	&& [ "$(grep -o 'DNS:x[0-9]*\.example\.com' "$T/nclong.txt" | sort -u | wc -l)" = 30 ] \
	|| fail "name constraints cut: $(grep -c DNS: "$T/nclong.txt") names: $(grep -A3 'Name Constraints' "$T/nclong.txt")"
# names and URLs as the signer's pins take them (upper case, an ldap: URL were certified as written)
refused_conf intermediate y 'permitted_dns: Example.COM is not a DNS name of lower case letters' "an upper-case permitted name" \
	'key_label = y' 'key_type = p256' 'subject = /CN=y' 'validity_days = 100' 'path_length = 0' "issuer_cert = $T/ca/root.pem" \
	'issuer_key_label = root' 'permitted_dns = Example.COM'
refused_conf intermediate y 'excluded_dns: x.example.com. is not a DNS name' "an excluded name with a trailing dot" \
	'key_label = y' 'key_type = p256' 'subject = /CN=y' 'validity_days = 100' 'path_length = 0' "issuer_cert = $T/ca/root.pem" \
	'issuer_key_label = root' 'excluded_dns = x.example.com.'
refused_conf intermediate y 'ocsp_url must be an http:// or https:// URL' "an ldap: OCSP URL" \
	'key_label = y' 'key_type = p256' 'subject = /CN=y' 'validity_days = 100' 'path_length = 0' "issuer_cert = $T/ca/root.pem" \
	'issuer_key_label = root' 'ocsp_url = ldap://ocsp.example.com/'
refused_conf intermediate y 'a URL with a comma' "a CRL URL with a comma" \
	'key_label = y' 'key_type = p256' 'subject = /CN=y' 'validity_days = 100' 'path_length = 0' "issuer_cert = $T/ca/root.pem" \
	'issuer_key_label = root' 'crl_url = http://crl.example.com/a.crl,URI:http://evil.example/'
pass "30 permitted and 30 excluded names all in the certificate (they were cut at 1,536 bytes); a URL with a comma refused"

# ca_issuers_url: authorityInfoAccess carries caIssuers beside OCSP, or alone (the list is joined by commas:
# one entry each, no empty one)
ceremony_ca intermediate aiaboth p256 root "ca_issuers_url = http://ca.example.com/root.crt"
openssl x509 -in "$T/ca/aiaboth.pem" -noout -ext authorityInfoAccess > "$T/aia.txt" 2>&1 || fail "aiaboth: $(cat "$T/aia.txt")"
[ "$(grep -c 'URI:' "$T/aia.txt")" = 2 ] && grepq 'OCSP - URI:http://127.0.0.1:8080/ocsp' "$T/aia.txt" \
	&& grepq 'CA Issuers - URI:http://ca.example.com/root.crt' "$T/aia.txt" || fail "OCSP and caIssuers: $(cat "$T/aia.txt")"
sed -e '/^ocsp_url = /d' -e 's/^key_label = aiaboth$/key_label = aiaonly/' "$T/aiaboth.conf" > "$T/aiaonly.conf"
# shellcheck disable=SC2046
"$CEREMONY" intermediate --module "$SOFTHSM_MODULE" --config "$T/aiaonly.conf" --out "$T/ca/aiaonly.pem" \
	$(shares_args alice carol erin) >> "$T/ceremony.log" 2>&1 || fail "caIssuers alone: $(tail -3 "$T/ceremony.log")"
openssl x509 -in "$T/ca/aiaonly.pem" -noout -ext authorityInfoAccess > "$T/aia.txt" 2>&1 || fail "aiaonly: $(cat "$T/aia.txt")"
[ "$(grep -c 'URI:' "$T/aia.txt")" = 1 ] && grepq 'CA Issuers - URI:http://ca.example.com/root.crt' "$T/aia.txt" \
	|| fail "caIssuers alone: $(cat "$T/aia.txt")"
pass "ca_issuers_url: caIssuers in authorityInfoAccess beside OCSP, and alone"

# quorum failures name the share
expect_rc 1 "$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp.conf" --out "$T/ca/o2.pem" $(shares_args alice carol)
grep -q '2 share(s) presented, the split needs 3' <<<"$OUT" || fail "fewer than m: $OUT"
expect_rc 1 "$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp.conf" --out "$T/ca/o2.pem" \
	--share "$T/shares/alice.share" --passphrase-file "$T/pass/bob.pass" $(shares_args carol erin)
grep -q 'share of alice (index 1): wrong passphrase or tampered file' <<<"$OUT" || fail "wrong passphrase: $OUT"
cp "$T/shares/dave.share" "$T/dave-tampered.share"
# byte 100 (in the ciphertext) flipped, not overwritten: a fixed value was the byte already once in 256 tokens
python3 -c 'import sys; p = sys.argv[1]; d = bytearray(open(p, "rb").read()); d[100] ^= 1; open(p, "wb").write(d)' "$T/dave-tampered.share"
cmp -s "$T/shares/dave.share" "$T/dave-tampered.share" && fail "the tampered share is the share"
expect_rc 1 "$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp.conf" --out "$T/ca/o2.pem" \
	--share "$T/dave-tampered.share" --passphrase-file "$T/pass/dave.pass" $(shares_args carol erin)
grep -q 'share of dave (index 4): wrong passphrase or tampered file' <<<"$OUT" || fail "tampered share: $OUT"
[ ! -e "$T/ca/o2.pem" ] || fail "a refused ceremony wrote output"
pass "fewer than m, wrong passphrase and tampered share are refused, naming the share"

# at a terminal (a pty here): a passphrase longer than 1,024 bytes is refused as such; before, its first 1,024
# bytes were taken as the passphrase and the rest was left for the next prompt
tty_ceremony() { # LENGTH [eof]: runs the ocsp ceremony with two shares, types LENGTH bytes at the first prompt and
	# Enter (or, with eof, ctrl-D); a ceremony still running after 60 s is killed (exit 99)
	python3 "$(dirname "$0")/ptytype.py" "passphrase for" "$1" "${2:-enter}" "$CEREMONY" ocsp --module "$SOFTHSM_MODULE" \
		--config "$T/ocsp.conf" --out "$T/ca/o9.pem" --share "$T/shares/alice.share" --share "$T/shares/carol.share"
}
set +e; OUT=$(tty_ceremony 1100 2>&1); rc=$?; set -e
[ "$rc" = 1 ] && grep -q "the passphrase for $T/shares/alice.share is longer than 1024 bytes" <<<"$OUT" \
	&& ! grep -q "carol.share" <<<"$OUT" || fail "a 1,100-byte passphrase at the terminal (rc $rc): $OUT"
# exactly 1,024 bytes is a passphrase like any other (here a wrong one)
set +e; OUT=$(tty_ceremony 1024 2>&1); rc=$?; set -e
[ "$rc" = 1 ] && grep -q "share $T/shares/alice.share refused" <<<"$OUT" && ! grep -q "longer than" <<<"$OUT" \
	|| fail "a 1,024-byte passphrase at the terminal (rc $rc): $OUT"
# ended by ctrl-D instead of Enter: the same answers, and no wait for more input
set +e; OUT=$(tty_ceremony 1100 eof 2>&1); rc=$?; set -e
[ "$rc" = 1 ] && grep -q "the passphrase for $T/shares/alice.share is longer than 1024 bytes" <<<"$OUT" \
	|| fail "1,100 bytes and ctrl-D at the terminal (rc $rc): $OUT"
set +e; OUT=$(tty_ceremony 1024 eof 2>&1); rc=$?; set -e
[ "$rc" = 1 ] && grep -q "share $T/shares/alice.share refused" <<<"$OUT" && ! grep -q "longer than" <<<"$OUT" \
	|| fail "1,024 bytes and ctrl-D at the terminal (rc $rc): $OUT"
[ ! -e "$T/ca/o9.pem" ] || fail "a certificate was written"
pass "at a terminal, a passphrase over 1,024 bytes is refused as too long (none of it taken, the rest not left for the next prompt), ended by Enter or ctrl-D; 1,024 bytes are read whole"

# a passphrase handed over through a pipe in two pieces (a FIFO, a process substitution), the pipe then left
# open (ssh without a terminal): read to its first line end, at once (one read took the first piece for the whole
# passphrase, and the share was refused; reading to the pipe's end waited for it)
PW=$(cat "$T/pass/alice.pass")
sed 's/^key_label = .*/key_label = ocsp10/' "$T/ocsp.conf" > "$T/ocsp10.conf"
timeout 20 "$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp10.conf" --out "$T/ca/o10.pem" \
	--share "$T/shares/alice.share" \
	--passphrase-file <(printf '%s' "${PW:0:5}"; sleep 0.5; printf '%s\n' "${PW:5}"; exec sleep 30 2>/dev/null) \
	$(shares_args carol erin) > "$T/o10.log" 2>&1 || fail "a passphrase piped in two pieces: $(cat "$T/o10.log")"
pass "a passphrase file handed over in pieces through a pipe left open is read to its first line end"

# a share of another token
mkdir -p "$T/other"
cp -r "$T/shares" "$T/shares.first"
cat > "$T/init2.conf" <<EOC
token_label = other-token
custodians = alice, bob, carol, dave, erin
threshold = 3
EOC
"$CEREMONY" init --module "$SOFTHSM_MODULE" --config "$T/init2.conf" --out "$T/other" --passphrase-dir "$T/pass" \
	--scrypt-log-n $LOGN >/dev/null 2>&1 || fail "second token init"
expect_rc 1 "$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp.conf" --out "$T/ca/o2.pem" \
	--share "$T/other/alice.share" --passphrase-file "$T/pass/alice.pass" $(shares_args carol erin)
grep -q 'share of carol (index 3) belongs to token serial' <<<"$OUT" || fail "mixed tokens: $OUT"
pass "a share of another token is refused"

# init refuses, before the token is touched, what made it fail after C_InitToken, which cannot be undone (the
# SO PIN is discarded: the label stayed taken, the token unusable): a custodian's short passphrase, an --out
# that is not a directory or already holds a share, a label a share file cannot carry, an --out the
# transcript would quote with a newline; then the same init succeeds
mkdir -p "$T/third" "$T/pass3"
for n in alice bob carol; do echo "correct horse $n battery" > "$T/pass3/$n.pass"; done
echo "too short" > "$T/pass3/carol.pass"
printf 'token_label = third-token\ncustodians = alice, bob, carol\nthreshold = 2\n' > "$T/init3.conf"
init3() { expect_rc 1 "$CEREMONY" init --module "$SOFTHSM_MODULE" --config "$T/init3.conf" --passphrase-dir "$T/pass3" \
	--scrypt-log-n $LOGN "$@"; }
init3 --out "$T/third"
grep -q 'passphrase for carol is shorter than 12 characters' <<<"$OUT" || fail "a short passphrase at init: $OUT"
echo "correct horse carol battery" > "$T/pass3/carol.pass"
init3 --out "$T/no-such-dir"
grep -q "out $T/no-such-dir is not a directory" <<<"$OUT" || fail "init into a missing directory: $OUT"
touch "$T/third/bob.share"
init3 --out "$T/third"
grep -q "$T/third/bob.share exists" <<<"$OUT" || fail "init over a share: $OUT"
rm "$T/third/bob.share"
expect_rc 2 "$CEREMONY" init --module "$SOFTHSM_MODULE" --config "$T/init3.conf" --passphrase-dir "$T/pass3" \
	--scrypt-log-n $LOGN --out "$(printf '%s/x\ncustodian_present: mallory' "$T")"
grep -q 'an argument holds a control character' <<<"$OUT" || fail "init with a newline in --out: $OUT"
printf 'token_label = third\ttoken\ncustodians = alice, bob, carol\nthreshold = 2\n' > "$T/init3tab.conf"
expect_rc 1 "$CEREMONY" init --module "$SOFTHSM_MODULE" --config "$T/init3tab.conf" --passphrase-dir "$T/pass3" \
	--scrypt-log-n $LOGN --out "$T/third"
grep -q 'token_label' <<<"$OUT" || fail "a label with a tab: $OUT"
[ -z "$(ls -A "$T/third")" ] || fail "a refused init wrote $(ls "$T/third")"
"$CEREMONY" init --module "$SOFTHSM_MODULE" --config "$T/init3.conf" --out "$T/third" --passphrase-dir "$T/pass3" \
	--scrypt-log-n $LOGN > "$T/init3.log" 2>&1 || fail "init after the refusals (the token was spent by one): $(cat "$T/init3.log")"
pass "init refuses a short passphrase, a missing or used --out, a label with a tab and a newline in --out before it touches the token; the same init then succeeds"

# what fails after C_InitToken (here pin.verifier, made by someone else while the shares were written: the last
# output) leaves the token initialised for good: the shares written are kept and the message says so. Before,
# they were removed (the PIN, wiped, was then in no share: the token was lost) and only "failed" was said
mkdir -p "$T/fourth"
printf 'token_label = fourth-token\ncustodians = alice, bob, carol\nthreshold = 2\n' > "$T/init4.conf"
"$CEREMONY" init --module "$SOFTHSM_MODULE" --config "$T/init4.conf" --out "$T/fourth" --passphrase-dir "$T/pass3" \
	--scrypt-log-n 16 > "$T/init4.log" 2>&1 & INIT4=$!
for _ in $(seq 2000); do [ -e "$T/fourth/alice.share" ] && break; sleep 0.005; done
touch "$T/fourth/pin.verifier"
rc=0; wait "$INIT4" || rc=$?
[ "$rc" = 1 ] || fail "init whose pin.verifier was taken: exit $rc: $(cat "$T/init4.log")"
grep -q 'token fourth-token is initialised all the same, and its PIN is gone but for the 3 share file(s) written to' "$T/init4.log" \
	|| fail "the failed init does not say the token is initialised: $(cat "$T/init4.log")"
for n in alice bob carol; do [ -s "$T/fourth/$n.share" ] || fail "the failed init removed $n's share"; done
# its verifier was said before the file was tried: the one copy, which every later ceremony needs
V4=$(sed -n 's/^pin_verifier = \([0-9a-f]\{64\}\) .*/\1/p' "$T/init4.log")
[ -n "$V4" ] || fail "the failed init did not print its pin_verifier: $(cat "$T/init4.log")"
printf 'key_label = r4\nkey_type = p256\nsubject = /CN=fourth root\nvalidity_days = 30\npath_length = 0\npin_verifier = %s\n' "$V4" > "$T/r4.conf"
"$CEREMONY" root --module "$SOFTHSM_MODULE" --config "$T/r4.conf" --out "$T/r4.pem" --share "$T/fourth/alice.share" \
	--passphrase-file "$T/pass3/alice.pass" --share "$T/fourth/carol.share" --passphrase-file "$T/pass3/carol.pass" \
	> "$T/r4.log" 2>&1 || fail "the kept shares do not open the token: $(cat "$T/r4.log")"
pass "a failure after C_InitToken keeps the shares written and says the token is initialised; they open it"
# a token with no pin.verifier (made before verifiers): a resplit with pin_verifier = none logs in once and
# writes its first; no other ceremony takes none
mkdir -p "$T/fourth-new"
printf 'custodians = alice, bob, carol\nthreshold = 2\npin_verifier = none\n' > "$T/resplit4.conf"
"$CEREMONY" resplit --module "$SOFTHSM_MODULE" --config "$T/resplit4.conf" --out "$T/fourth-new" --passphrase-dir "$T/pass3" \
	--scrypt-log-n $LOGN --share "$T/fourth/alice.share" --passphrase-file "$T/pass3/alice.pass" \
	--share "$T/fourth/carol.share" --passphrase-file "$T/pass3/carol.pass" > "$T/resplit4.log" 2>&1 \
	|| fail "resplit with pin_verifier = none: $(cat "$T/resplit4.log")"
grep -qx '[0-9a-f]\{64\}' "$T/fourth-new/pin.verifier" || fail "no verifier after resplit with none"
sed -i 's/^pin_verifier = .*/pin_verifier = none/' "$T/r4.conf"
expect_rc 1 "$CEREMONY" root --module "$SOFTHSM_MODULE" --config "$T/r4.conf" --out "$T/r4b.pem" --share "$T/fourth-new/alice.share" \
	--passphrase-file "$T/pass3/alice.pass" --share "$T/fourth-new/carol.share" --passphrase-file "$T/pass3/carol.pass"
grep -q 'bad value for pin_verifier' <<<"$OUT" || fail "pin_verifier = none in a certificate ceremony: $OUT"
pass "pin_verifier = none: a resplit gives a token without a verifier its first; a certificate ceremony refuses none"

# re-split: 2-of-3 among new custodians; the old shares stop working
mkdir -p "$T/new" "$T/newpass"
for n in frank grace heidi; do echo "new passphrase of $n" > "$T/newpass/$n.pass"; done
printf 'custodians = frank, grace, heidi\nthreshold = 2\npin_verifier = %s\n' "$(cat "$T/shares/pin.verifier")" > "$T/resplit.conf"
# a re-split into the directory of the current split is refused (its pin.verifier is there already) before it
# writes anything; the current split's pin.verifier stays (a failed re-split once removed it as well)
cp "$T/shares/pin.verifier" "$T/pin.verifier.before"
expect_rc 1 "$CEREMONY" resplit --module "$SOFTHSM_MODULE" --config "$T/resplit.conf" --out "$T/shares" \
	--transcript "$T/resplit-fail.transcript" --passphrase-dir "$T/newpass" --scrypt-log-n $LOGN $(shares_args bob dave erin)
cmp -s "$T/shares/pin.verifier" "$T/pin.verifier.before" || fail "a failed re-split removed or changed the current pin.verifier: $OUT"
for n in frank grace heidi; do [ ! -e "$T/shares/$n.share" ] || fail "the failed re-split left $n.share"; done
pass "a re-split that fails takes back what it wrote, and only that (the current split's pin.verifier stays)"
"$CEREMONY" resplit --module "$SOFTHSM_MODULE" --config "$T/resplit.conf" --out "$T/new" --passphrase-dir "$T/newpass" \
	--scrypt-log-n $LOGN $(shares_args bob dave erin) > "$T/resplit.log" 2>&1 || fail "resplit"
"$CEREMONY" verify --transcript "$T/new/ceremony.transcript" --pubkey "$T/shares/audit.pem" >/dev/null || fail "resplit transcript"
# the new shares under the old split's pin_verifier: refused before any login (a fresh key label, so that only
# the verifier stands in the way)
sed -i 's/key_label = ocsp/key_label = ocsp2/' "$T/ocsp.conf"
expect_rc 1 "$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp.conf" --out "$T/ca/o3.pem" \
	--share "$T/new/grace.share" --passphrase-file "$T/newpass/grace.pass" \
	--share "$T/new/heidi.share" --passphrase-file "$T/newpass/heidi.pass"
grepq 'no login was attempted' <<<"$OUT" || fail "the new shares under the old pin_verifier: $OUT"
sed -i "s/^pin_verifier = .*/pin_verifier = $(cat "$T/new/pin.verifier")/" "$T/ocsp.conf"
"$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp.conf" --out "$T/ca/o3.pem" \
	--share "$T/new/grace.share" --passphrase-file "$T/newpass/grace.pass" \
	--share "$T/new/heidi.share" --passphrase-file "$T/newpass/heidi.pass" >> "$T/resplit.log" 2>&1 || fail "new shares do not log in"
sed -i 's/key_label = ocsp2/key_label = ocsp3/' "$T/ocsp.conf"
expect_rc 1 "$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp.conf" --out "$T/ca/o4.pem" $(shares_args alice carol erin)
grep -q 'no login was attempted' <<<"$OUT" || fail "old shares were tried on the token: $OUT"
# a certificate ceremony without pin_verifier is refused before any share is read or the token opened (old
# shares, which agree with each other, were each tried on the token: a failed login a real HSM counts towards
# locking its PIN for good)
grep -v '^pin_verifier' "$T/ocsp.conf" > "$T/ocsp-nov.conf"
expect_rc 1 "$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp-nov.conf" --out "$T/ca/o4.pem" $(shares_args alice carol erin)
grep -q 'needs pin_verifier' <<<"$OUT" && ! grep -q 'CKR_\|login failed' <<<"$OUT" || fail "a ceremony without pin_verifier: $OUT"
grep -v '^pin_verifier' "$T/resplit.conf" > "$T/resplit-nov.conf"
expect_rc 1 "$CEREMONY" resplit --module "$SOFTHSM_MODULE" --config "$T/resplit-nov.conf" --out "$T/new-nov" \
	--passphrase-dir "$T/newpass" --scrypt-log-n $LOGN $(shares_args alice carol erin)
grep -q 'needs pin_verifier' <<<"$OUT" || fail "a resplit without pin_verifier: $OUT"
pass "resplit: the new 2-of-3 shares log in, the old 3-of-5 shares are refused before the token sees them, and no ceremony runs without pin_verifier"

# the ceremony holds the token's key and new keys in the module's memory: no core file, not dumpable. Seen
# from outside while it waits for a passphrase (a FIFO nobody writes yet): its core size limit is 0.
mkfifo "$T/slow.pass"
# a limit of 0 inherited would pass the check below whatever the ceremony does: the soft one raised first (as
# signer_restart.sh; with a hard limit of 0 here the ceremony's own cannot be told apart: said, not checked)
core_hard=$(ulimit -H -c) core_soft=$(ulimit -S -c)
ulimit -S -c "$core_hard"
"$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp.conf" --out "$T/ca/o5.pem" \
	--share "$T/new/grace.share" --passphrase-file "$T/slow.pass" \
	--share "$T/new/heidi.share" --passphrase-file "$T/newpass/heidi.pass" > "$T/slow.log" 2>&1 &
SLOW=$!
for _ in $(seq 100); do grep -q 'Max core file size' "/proc/$SLOW/limits" 2>/dev/null && [ "$(readlink "/proc/$SLOW/exe")" = "$(readlink -f "$CEREMONY_BIN")" ] && break; sleep 0.05; done
# its limit is set before it opens the passphrase FIFO (where it then waits): polled, not a fixed sleep
for _ in $(seq 100); do [ "$(awk '/Max core file size/ {print $5, $6}' "/proc/$SLOW/limits")" = "0 0" ] && break; sleep 0.05; done
core=$(awk '/Max core file size/ {print $5, $6}' "/proc/$SLOW/limits")
kill "$SLOW" 2>/dev/null || true; wait "$SLOW" 2>/dev/null || true
ulimit -S -c "$core_soft"
if [ "$core_hard" = 0 ]; then
	pass "the ceremony's core limit not checked: the hard limit is 0 here, so its own cannot be told apart"
else
	[ "$core" = "0 0" ] || fail "the ceremony may dump core: limit '$core'"
	pass "the ceremony runs with no core file (RLIMIT_CORE 0, set by itself)"
fi

# ocsp_new ARGS...: an OCSP ceremony of $T/ocsp.conf with the resplit's shares of grace and heidi
ocsp_new() {
	"$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp.conf" \
		--share "$T/new/grace.share" --passphrase-file "$T/newpass/grace.pass" \
		--share "$T/new/heidi.share" --passphrase-file "$T/newpass/heidi.pass" "$@"
}
# a transcript that cannot be written is found before anything is generated: no certificate, no key left
# behind, and the same ceremony runs once the path is free (it used to write the certificate, fail on the
# transcript and destroy the key: a signed CA certificate with no record)
sed -i 's/key_label = ocsp3/key_label = ocsp6/' "$T/ocsp.conf"
touch "$T/ca/o6.pem.transcript"
expect_rc 1 ocsp_new --out "$T/ca/o6.pem"
grep -q 'transcripts are never overwritten' <<<"$OUT" || fail "refusal does not name the transcript: $OUT"
[ ! -e "$T/ca/o6.pem" ] || fail "a certificate was written although its transcript could not be"
rm "$T/ca/o6.pem.transcript"
ocsp_new --out "$T/ca/o6.pem" > /dev/null 2>&1 || fail "the same ceremony once the transcript path is free (a key left behind?)"
"$CEREMONY" verify --transcript "$T/ca/o6.pem.transcript" --pubkey "$T/shares/audit.pem" >/dev/null || fail "o6 transcript"
pass "an existing transcript stops a ceremony before any key or certificate; with the path free it runs"

# the same for paths O_EXCL refuses or cannot create though nothing "exists" there: a dangling symlink at
# the transcript's .sig or at --out, a transcript or certificate in a directory that does not exist (each
# used to pass the check, sign the certificate, write it, fail at the end and destroy the key: a CA
# certificate of a destroyed key left at --out, with no transcript)
sed -i 's/key_label = ocsp6/key_label = ocsp8/' "$T/ocsp.conf"
o8_refused() { # o8_refused WANT WHAT EXTRA-ARGS...: exit 1 saying WANT, no certificate, no key ocsp8
	local want=$1 what=$2; shift 2
	expect_rc 1 ocsp_new "$@"
	grep -q -- "$want" <<<"$OUT" || fail "$what: $OUT"
	[ ! -e "$T/ca/o8.pem" ] || fail "$what: a certificate was left at --out"
}
ln -s "$T/nowhere/o8.sig" "$T/ca/o8.pem.transcript.sig"
o8_refused 'transcript .*o8.pem.transcript.sig exists' "dangling .sig" --out "$T/ca/o8.pem"
rm "$T/ca/o8.pem.transcript.sig"
o8_refused 'nowhere is not a writable directory' "transcript in a missing directory" --out "$T/ca/o8.pem" \
	--transcript "$T/nowhere/o8.transcript"
o8_refused 'nowhere is not a writable directory' "certificate in a missing directory" --out "$T/nowhere/o8.pem"
[ ! -e "$T/nowhere/o8.pem" ] || fail "o8 written under a missing directory"
ln -s "$T/nowhere/o8.pem" "$T/ca/o8.pem"
o8_refused 'certificate .*o8.pem exists' "dangling --out" --out "$T/ca/o8.pem"
rm "$T/ca/o8.pem"
ocsp_new --out "$T/ca/o8.pem" > /dev/null 2>&1 || fail "o8 once its paths are free (a key left behind?)"
"$CEREMONY" verify --transcript "$T/ca/o8.pem.transcript" --pubkey "$T/shares/audit.pem" >/dev/null || fail "o8 transcript"
pass "a dangling symlink or a missing directory at an output stops a ceremony before any key or certificate"

# the ceremony's own login checks the PIN's verifier too (pin_verifier in its config, the init's or a
# resplit's pin.verifier): shares that rebuild another PIN are refused before the token sees one
sed -i 's/key_label = ocsp8/key_label = ocsp7/' "$T/ocsp.conf"
grep -v '^pin_verifier' "$T/ocsp.conf" > "$T/ocsp7.conf"
echo "pin_verifier = $(cat "$T/shares/pin.verifier")" >> "$T/ocsp7.conf" # the old split's: not these shares'
expect_rc 1 "$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp7.conf" --out "$T/ca/o7.pem" \
	--share "$T/new/grace.share" --passphrase-file "$T/newpass/grace.pass" \
	--share "$T/new/heidi.share" --passphrase-file "$T/newpass/heidi.pass"
grep -q 'no login was attempted' <<<"$OUT" || fail "a wrong pin_verifier: $OUT"
grep -v '^pin_verifier' "$T/ocsp.conf" > "$T/ocsp7.conf"
echo "pin_verifier = $(cat "$T/new/pin.verifier")" >> "$T/ocsp7.conf"
"$CEREMONY" ocsp --module "$SOFTHSM_MODULE" --config "$T/ocsp7.conf" --out "$T/ca/o7.pem" \
	--share "$T/new/grace.share" --passphrase-file "$T/newpass/grace.pass" \
	--share "$T/new/heidi.share" --passphrase-file "$T/newpass/heidi.pass" > /dev/null 2>&1 || fail "the right pin_verifier"
pass "a ceremony's pin_verifier: another split's refuses the shares before any login, the resplit's lets them in"

# a resplit whose transcript cannot be written once the PIN has changed says so (it said only "failed", and an
# operator who then removed the new shares lost the token): the transcript's path is taken while the ceremony
# waits for the last custodian's passphrase (a FIFO), after its checks; the new shares then open the token
mkdir -p "$T/late" "$T/latepass"
for n in frank grace; do echo "late passphrase of $n" > "$T/latepass/$n.pass"; done
mkfifo "$T/latepass/heidi.pass"
( exec 3> "$T/latepass/heidi.pass"; : > "$T/late/ceremony.transcript"; echo "late passphrase of heidi" >&3 ) \
	> /dev/null 2>&1 &
WRITER=$!
grep -v '^pin_verifier' "$T/resplit.conf" > "$T/resplit3.conf"
echo "pin_verifier = $(cat "$T/third/pin.verifier")" >> "$T/resplit3.conf"
expect_rc 1 "$CEREMONY" resplit --module "$SOFTHSM_MODULE" --config "$T/resplit3.conf" --out "$T/late" \
	--passphrase-dir "$T/latepass" --scrypt-log-n $LOGN --share "$T/third/alice.share" --passphrase-file "$T/pass3/alice.pass" \
	--share "$T/third/bob.share" --passphrase-file "$T/pass3/bob.pass"
kill "$WRITER" 2>/dev/null || true
grep -q "the PIN has changed, but the transcript was not written: the new shares in $T/late are the only ones" <<<"$OUT" \
	|| fail "a resplit without its transcript: $OUT"
rm "$T/latepass/heidi.pass"; echo "late passphrase of heidi" > "$T/latepass/heidi.pass"
mkdir -p "$T/late2"
grep -v '^pin_verifier' "$T/resplit.conf" > "$T/resplit-late.conf"
echo "pin_verifier = $(cat "$T/late/pin.verifier")" >> "$T/resplit-late.conf"
"$CEREMONY" resplit --module "$SOFTHSM_MODULE" --config "$T/resplit-late.conf" --out "$T/late2" --passphrase-dir "$T/latepass" \
	--scrypt-log-n $LOGN --share "$T/late/grace.share" --passphrase-file "$T/latepass/grace.pass" \
	--share "$T/late/heidi.share" --passphrase-file "$T/latepass/heidi.pass" > "$T/late2.log" 2>&1 \
	|| fail "the shares of the resplit without a transcript do not open the token: $(cat "$T/late2.log")"
pass "a resplit that changed the PIN but could not write its transcript says the new shares are the only way in (and they are)"
