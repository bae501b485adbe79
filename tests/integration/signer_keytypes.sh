#!/usr/bin/env bash
# For every key type: root and intermediate generated in the token, a leaf signed through the sandboxed
# signer, and the chain accepted by `openssl verify -x509_strict` (and GnuTLS certtool when installed).
# Also: the token keys cannot be read, wrapped or used to decrypt/derive.
source "$(dirname "$0")/lib.sh"
ensure_users
hsm_init_env
ceremony_init
TYPES=${HSMCA_KEY_TYPES:-"p256 p384 rsa2048 rsa3072 rsa4096"}
signer_conf "$SOFTHSM_MODULE" "session_copy = yes"
for t in $TYPES; do
	ceremony_ca root "root-$t" "$t"
	ceremony_ca intermediate "int-$t" "$t" "root-$t"
	signer_key "int-$t" "root-$t" "cert, crl"
done
pass "roots and intermediates generated for: $TYPES"
signer_start
signer_unseal alice bob carol
for t in $TYPES; do
	"$SGNTOOL" leaf socket="$T/run/signer.sock" label="int-$t" issuer="$T/ca/int-$t.pem" keytype=p256 out="$T/leaf-$t.pem" \
		> "$T/sgntool.log" 2>&1 || fail "leaf under $t: $(cat "$T/sgntool.log")"
	openssl verify -x509_strict -CAfile "$T/ca/root-$t.pem" -untrusted "$T/ca/int-$t.pem" "$T/leaf-$t.pem" >/dev/null \
		|| fail "openssl verify of the $t chain"
	if command -v certtool >/dev/null; then
		cat "$T/leaf-$t.pem" "$T/ca/int-$t.pem" > "$T/chain-$t.pem"
		certtool --verify --verify-profile medium --load-ca-certificate "$T/ca/root-$t.pem" --infile "$T/chain-$t.pem" > "$T/certtool.log" 2>&1 \
			|| fail "certtool --verify of the $t chain: $(tail -3 "$T/certtool.log")"
		grep -q "Verified. The certificate is trusted" "$T/certtool.log" || fail "certtool did not trust the $t chain"
	fi
	"$SGNTOOL" crl socket="$T/run/signer.sock" label="int-$t" issuer="$T/ca/int-$t.pem" out="$T/int-$t.crl" >/dev/null \
		|| fail "CRL under $t"
	openssl crl -inform DER -in "$T/int-$t.crl" -CAfile "$T/ca/int-$t.pem" -noout 2>&1 | grep -q 'verify OK' \
		|| fail "CRL of $t does not verify"
	pass "$t: root -> intermediate -> leaf verifies (openssl -x509_strict$(command -v certtool >/dev/null && echo ', certtool')); CRL verifies"
done

shares="$T/shares/alice.share,$T/shares/bob.share,$T/shares/carol.share"
passes="$T/pass/alice.pass,$T/pass/bob.pass,$T/pass/carol.pass"
for t in p256 rsa2048; do
	case " $TYPES " in *" $t "*) ;; *) continue ;; esac
	"$SGNTOOL" keyprops module="$SOFTHSM_MODULE" token=hsmca-test shares="$shares" passes="$passes" label="int-$t" \
		> "$T/keyprops.log" 2>&1 || fail "key properties of int-$t: $(cat "$T/keyprops.log")"
	grep -q 'read private value: CKR_ATTRIBUTE_SENSITIVE' "$T/keyprops.log" || fail "keyprops output"
	pass "int-$t: value unreadable, SENSITIVE/EXTRACTABLE read-only, wrap refused, decrypt/derive refused"
done
