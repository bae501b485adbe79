#!/usr/bin/env bash
# For every key type: root and intermediate generated in the token, a leaf signed through the sandboxed
# signer, and the chain accepted by `openssl verify -x509_strict` and GnuTLS certtool.
# Also: the token keys cannot be read, wrapped or used to decrypt/derive.
source "$(dirname "$0")/lib.sh"
ensure_users
command -v certtool >/dev/null || fail "certtool (gnutls-bin) not installed"
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
	cat "$T/leaf-$t.pem" "$T/ca/int-$t.pem" > "$T/chain-$t.pem"
	certtool --verify --verify-profile medium --load-ca-certificate "$T/ca/root-$t.pem" --infile "$T/chain-$t.pem" > "$T/certtool.log" 2>&1 \
		|| fail "certtool --verify of the $t chain: $(tail -3 "$T/certtool.log")"
	grep -q "Verified. The certificate is trusted" "$T/certtool.log" || fail "certtool did not trust the $t chain"
	"$SGNTOOL" crl socket="$T/run/signer.sock" label="int-$t" issuer="$T/ca/int-$t.pem" out="$T/int-$t.crl" >/dev/null \
		|| fail "CRL under $t"
	openssl crl -inform DER -in "$T/int-$t.crl" -CAfile "$T/ca/int-$t.pem" -noout 2>&1 | grepq 'verify OK' \
		|| fail "CRL of $t does not verify"
	pass "$t: root -> intermediate -> leaf verifies (openssl -x509_strict, certtool); CRL verifies"
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

# The signer checks the token key's protection before it signs anything with it: a key that is extractable,
# not sensitive, or able to decrypt or unwrap is refused at start, before its self-test against the
# certificate (so these keys, which match no certificate, are refused for their flaw, not for the mismatch).
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
for flaw in extractable unsensitive decrypt unwrap public; do
	"$SGNTOOL" weakkey module="$SOFTHSM_MODULE" token=hsmca-test shares="$shares" passes="$passes" flaw="$flaw" \
		label="weak-$flaw" > "$T/weakkey.log" 2>&1 || fail "weak key ($flaw): $(cat "$T/weakkey.log")"
	signer_conf "$SOFTHSM_MODULE" "session_copy = yes"
	signer_key int-p256 root-p256 "cert, crl"
	signer_key "weak-$flaw" root-p256 "cert, crl"
	sed -i "s|^cert = $T/ca/weak-$flaw.pem|cert = $T/ca/int-p256.pem|" "$T/signer.conf"
	: > "$T/signer.log"
	signer_start
	for n in alice bob carol; do
		"$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares/$n.share" \
			--passphrase-file "$T/pass/$n.pass" >> "$T/unseal.log" 2>&1 || true
	done
	for _ in $(seq 200); do kill -0 "$SIGNER_PID" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$SIGNER_PID" 2>/dev/null || fail "the signer started with the $flaw key: $(tail -3 "$T/signer.log")"
	wait "$SIGNER_PID" 2>/dev/null || true
	case $flaw in
	extractable) want='the key is extractable (CKA_EXTRACTABLE true)' ;;
	unsensitive) want='the key is not sensitive (CKA_SENSITIVE false)' ;;
	decrypt) want='the key may decrypt (CKA_DECRYPT true)' ;;
	unwrap) want='the key may unwrap other keys (CKA_UNWRAP true)' ;;
	public) want='the key is not private (CKA_PRIVATE false)' ;;
	esac
	grep "event=startup_failed step=keys" "$T/signer.log" | grepq -F "key weak-$flaw: refused: $want" \
		|| fail "the $flaw key: not refused as such: $(grep startup_failed "$T/signer.log")"
	! grep -q "event=ready\|event=signed" "$T/signer.log" || fail "the signer signed with the $flaw key around"
	pass "a token key with one flaw ($flaw) is refused before the signer signs anything"
done
