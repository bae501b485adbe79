/* PKCS#10 requests from clients, parsed strictly.
 *
 * PEM: whitespace, explanatory text lines (RFC 7468 5.2, as `openssl req -text` writes; printable, no
 * "-----"), the BEGIN line, lines of base64 (LF or CRLF), the END line, whitespace; nothing else (no
 * headers, no second block). The base64 must be canonical (padding only at the end, zero pad bits) and is
 * then decoded with EVP_DecodeBlock.
 * DER: one SEQUENCE and nothing after it; every TLV header DER (common/der.c: definite, minimal lengths), no
 * constructed strings, BOOLEANs 00/FF; d2i must consume every byte; and the request must re-encode to the
 * same bytes. OpenSSL keeps the received encoding of some parts and would hand it back unchanged, so those
 * are re-encoded on their own: the CertificationRequestInfo (i2d_re_X509_REQ_tbs drops its cache), the
 * subject (rebuilt entry by entry), the extensionRequest (rebuilt extension by extension from what
 * X509_REQ_get_extensions decoded) and the subjectAltName inside it.
 * Then the key type (before the signature, so no large RSA key is ever used), the self-signature, the SANs.
 * Added beyond csr.h: an RSA public exponent must be odd and at least 3; SAN text is printable ASCII without
 * spaces; at most one extensionRequest attribute (one value) and one subjectAltName extension. */
#include "csr.h"

#include <arpa/inet.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "csr_priv.h"
#include "der.h"
#include "policy.h"

#define CSR_EC_GROUP_MAX 64
#define CSR_OID_TEXT_MAX 80
#define CSR_B64_QUANTUM 4
#define CSR_TAG_CLASS 0xc0 /* universal, application, context, private */

/* RFC 7468's label, and the "NEW CERTIFICATE REQUEST" that Java's keytool and Windows' certreq write; a
 * block ends with the label it began with */
static const char *const csr_pem_labels[] = { "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST" };
#define CSR_PEM_LABEL_MAX 64

int csr_fail(char *err, int rc, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, CSR_ERR_MAX, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* --- PEM --------------------------------------------------------------------------------------------------- */

static bool csr_is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool csr_span_starts(const struct span *s, const char *lit)
{
	size_t n = strlen(lit);
	return s->len >= n && memcmp(s->data, lit, n) == 0;
}

/* A line ending: LF or CRLF. */
static bool csr_get_eol(struct span *s)
{
	if (s->len >= 2 && s->data[0] == '\r' && s->data[1] == '\n')
		return span_skip(s, 2);
	return s->len >= 1 && s->data[0] == '\n' && span_skip(s, 1);
}

/* Copies the base64 lines up to the END line into b64 (the newlines dropped); in is left at the END line. */
static bool csr_pem_body(struct span *in, char *b64, size_t *b64_len)
{
	size_t n = 0;
	while (in->len > 0 && in->data[0] != '-') {
		size_t k = 0;
		while (k < in->len && (b64_value((char)in->data[k]) >= 0 || in->data[k] == '='))
			k++;
		if (k == 0)
			return false; /* empty line or a byte outside the alphabet */
		memcpy(b64 + n, in->data, k);
		n += k;
		if (!span_skip(in, k) || !csr_get_eol(in))
			return false;
	}
	*b64_len = n;
	return true;
}

/* Canonical base64: whole quanta, '=' only as the last one or two characters, pad bits zero. */
static bool csr_b64_canonical(const char *b64, size_t n, size_t *out_pad)
{
	size_t pad = 0;
	if (n == 0 || n % CSR_B64_QUANTUM)
		return false;
	while (pad < 2 && b64[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++)
		if (b64[i] == '=')
			return false;
	if (pad == 1 && (b64_value((char)b64[n - 2]) & 0x03))
		return false;
	if (pad == 2 && (b64_value((char)b64[n - 3]) & 0x0f))
		return false;
	*out_pad = pad;
	return true;
}

/* Canonical base64 b64[0..n) into der (n / 4 * 3 bytes of room): 0 with *out_len, -1 not canonical, -2 it
 * does not decode. */
static int csr_b64_to_der(const char *b64, size_t n, unsigned char *der, size_t *out_len)
{
	size_t pad = 0;
	if (!csr_b64_canonical(b64, n, &pad))
		return -1;
	int got = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n); /* 3 bytes per quantum, pad included */
	if (got < 0 || (size_t)got != n / CSR_B64_QUANTUM * 3)
		return -2;
	*out_len = (size_t)got - pad;
	return 0;
}

/* Explanatory text before the BEGIN line (RFC 7468 section 5.2; `openssl req -text` writes the request out
 * so, and cfssl's client sends the file as it is): whole lines of printable ASCII, tab or bytes of 0x80 and up,
 * none holding "-----" (no other block before ours). s is left at the first line that starts with "-----". */
static bool csr_pem_preamble(struct span *s)
{
	while (s->len > 0 && !csr_span_starts(s, "-----")) {
		size_t k = 0;
		while (k < s->len && (s->data[k] == '\t' || (s->data[k] >= 0x20 && s->data[k] != 0x7f)))
			k++;
		struct span line = span_make(s->data, k);
		for (size_t i = 0; i + 5 <= line.len; i++)
			if (!memcmp(line.data + i, "-----", 5))
				return false;
		if (!span_skip(s, k) || !csr_get_eol(s))
			return false;
	}
	return true;
}

/* PEM text to DER; *out_der is malloc'd on success. */
static int csr_pem_decode(const unsigned char *in, size_t len, unsigned char **out_der, size_t *out_len, char *err)
{
	struct span s = span_make(in, len);
	char *b64 = NULL;
	unsigned char *der = NULL;
	size_t b64_len = 0;
	const char *why = "PEM: not a single CERTIFICATE REQUEST block with only whitespace after it (and text "
			  "lines before it)";
	char begin[CSR_PEM_LABEL_MAX], end[CSR_PEM_LABEL_MAX];
	int rc = HSMCA_ERR_PARSE, n;
	size_t i;
	while (s.len > 0 && csr_is_space(s.data[0]))
		span_skip(&s, 1);
	if (!csr_pem_preamble(&s))
		goto out;
	for (i = 0; i < sizeof(csr_pem_labels) / sizeof(csr_pem_labels[0]); i++) {
		snprintf(begin, sizeof(begin), "-----BEGIN %s-----", csr_pem_labels[i]);
		if (csr_span_starts(&s, begin))
			break;
	}
	if (i == sizeof(csr_pem_labels) / sizeof(csr_pem_labels[0]) || !span_skip(&s, strlen(begin)) ||
	    !csr_get_eol(&s))
		goto out;
	snprintf(end, sizeof(end), "-----END %s-----", csr_pem_labels[i]);
	if (!(b64 = malloc(len)) || !(der = malloc(len))) {
		rc = HSMCA_ERR_NOMEM, why = "out of memory";
		goto out;
	}
	if (!csr_pem_body(&s, b64, &b64_len)) {
		why = "PEM: a line that is not base64";
		goto out;
	}
	if (!csr_span_starts(&s, end) || !span_skip(&s, strlen(end)))
		goto out;
	while (s.len > 0 && csr_is_space(s.data[0]))
		span_skip(&s, 1);
	if (s.len != 0)
		goto out; /* trailing bytes, or a second block */
	if ((n = csr_b64_to_der(b64, b64_len, der, out_len)) != 0) {
		why = n == -1 ? "PEM: base64 is not canonical (padding)" : "PEM: base64 does not decode";
		goto out;
	}
	*out_der = der;
	der = NULL;
	rc = 0;
out:
	free(b64);
	free(der);
	return rc ? csr_fail(err, rc, "%s", why) : 0;
}

/* The DER as bare base64 text, for JSON fields (a JSON string cannot carry the bytes): the standard alphabet
 * padded, or base64url without padding as ACME's finalize sends it (RFC 8555 7.4); one line, no whitespace,
 * canonical. *out_der is malloc'd on success. */
static int csr_b64_decode(const unsigned char *in, size_t len, unsigned char **out_der, size_t *out_len, char *err)
{
	static const char why[] = "neither PEM nor DER, nor the DER in base64 (padded) or base64url (unpadded)";
	bool url = false, std = false;
	for (size_t i = 0; i < len; i++) {
		url = url || in[i] == '-' || in[i] == '_';
		std = std || in[i] == '+' || in[i] == '/' || in[i] == '=';
	}
	if ((url && std) || (!std && len % CSR_B64_QUANTUM == 1))
		return csr_fail(err, HSMCA_ERR_PARSE, "%s", why);
	char *b64 = malloc(len + 3);
	unsigned char *der = malloc(len + 3);
	size_t n = len;
	int rc = HSMCA_ERR_NOMEM;
	if (!b64 || !der)
		goto out;
	for (size_t i = 0; i < len; i++)
		b64[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : (char)in[i];
	while (!std && n % CSR_B64_QUANTUM) /* base64url leaves the padding out */
		b64[n++] = '=';
	rc = HSMCA_ERR_PARSE;
	for (size_t i = 0; i < n; i++)
		if (b64[i] != '=' && b64_value((char)b64[i]) < 0)
			goto out;
	if (csr_b64_to_der(b64, n, der, out_len) != 0)
		goto out;
	*out_der = der;
	der = NULL;
	rc = 0;
out:
	free(b64);
	free(der);
	return rc ? csr_fail(err, rc, "%s", rc == HSMCA_ERR_NOMEM ? "out of memory" : why) : 0;
}

/* --- DER ---------------------------------------------------------------------------------------------------- */

/* Every header DER; universal types other than SEQUENCE and SET primitive (DER has no constructed strings);
 * BOOLEAN 00 or FF (OpenSSL would re-encode any other byte as it came). */
bool csr_der_walk(struct span in, unsigned depth)
{
	while (span_len(&in) > 0) {
		struct span c;
		uint8_t tag;
		if (!der_get_any(&in, &tag, &c, NULL))
			return false;
		if ((tag & CSR_TAG_CLASS) == 0 && (tag & DER_CONSTRUCTED) && tag != DER_SEQUENCE && tag != DER_SET)
			return false;
		if (tag == DER_BOOLEAN && (c.len != 1 || (c.data[0] != 0x00 && c.data[0] != 0xff)))
			return false;
		if ((tag & DER_CONSTRUCTED) && (depth >= CSR_DER_DEPTH_MAX || !csr_der_walk(c, depth + 1)))
			return false;
	}
	return true;
}

/* True if v (an `it`) encodes to exactly want. */
bool csr_same_der(const void *v, const ASN1_ITEM *it, const unsigned char *want, size_t want_len)
{
	unsigned char *der = NULL;
	int n = ASN1_item_i2d((const ASN1_VALUE *)v, &der, it);
	bool same = n >= 0 && der && (size_t)n == want_len && memcmp(der, want, want_len) == 0;
	OPENSSL_free(der);
	return same;
}

/* The subject as OpenSSL re-encodes it from its entries (it otherwise returns the received bytes). */
bool csr_name_is_der(const X509_NAME *name)
{
	const unsigned char *orig;
	size_t orig_len;
	bool ok = false;
	X509_NAME *n2 = X509_NAME_new();
	if (!n2 || !X509_NAME_get0_der(name, &orig, &orig_len))
		goto out;
	for (int i = 0; i < X509_NAME_entry_count(name); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		int same_rdn = i > 0 && X509_NAME_ENTRY_set(e) == X509_NAME_ENTRY_set(X509_NAME_get_entry(name, i - 1));
		if (!X509_NAME_add_entry(n2, e, -1, same_rdn ? -1 : 0))
			goto out;
	}
	ok = csr_same_der(n2, ASN1_ITEM_rptr(X509_NAME), orig, orig_len);
out:
	X509_NAME_free(n2);
	return ok;
}

/* d2i over all of der, then the re-encodings described at the top. */
static int csr_der_decode(const unsigned char *der, size_t len, X509_REQ **out, char *err)
{
	struct span in = span_make(der, len), whole;
	const unsigned char *p = der;
	X509_REQ *req = NULL;
	int rc = HSMCA_ERR_PARSE;
	if (!der_get_element(&in, &whole, DER_SEQUENCE))
		return csr_fail(err, rc, "DER: not a SEQUENCE (or not DER, or truncated)");
	if (in.len != 0)
		return csr_fail(err, rc, "DER: %zu trailing bytes", in.len);
	if (!csr_der_walk(whole, 0))
		return csr_fail(err, rc, "DER: not DER (length, constructed string, BOOLEAN) or nested too deep");
	if (!(req = d2i_X509_REQ(NULL, &p, (long)len)) || p != der + len) {
		rc = csr_fail(err, rc, "DER: not a certification request");
		goto out;
	}
	if (X509_REQ_get_version(req) != X509_REQ_VERSION_1) {
		rc = csr_fail(err, rc, "DER: version is not 1");
		goto out;
	}
	if (i2d_re_X509_REQ_tbs(req, NULL) < 0 || !csr_same_der(req, ASN1_ITEM_rptr(X509_REQ), der, len) ||
	    !csr_name_is_der(X509_REQ_get_subject_name(req))) {
		rc = csr_fail(err, rc, "DER: does not re-encode to the same bytes (BER?)");
		goto out;
	}
	*out = req;
	req = NULL;
	rc = 0;
out:
	X509_REQ_free(req);
	return rc;
}

/* --- key ---------------------------------------------------------------------------------------------------- */

static int csr_key_ec(EVP_PKEY *k, char *err)
{
	char group[CSR_EC_GROUP_MAX];
	size_t glen = 0;
	if (EVP_PKEY_get_group_name(k, group, sizeof(group), &glen) != 1)
		return csr_fail(err, HSMCA_ERR_POLICY, "key: EC key without a named curve");
	int nid = OBJ_sn2nid(group);
	if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1)
		return csr_fail(err, HSMCA_ERR_POLICY, "key: EC curve %s not accepted (P-256 or P-384)", group);
	return 0;
}

/* Size 2048..4096 bits; public exponent odd, at least 3 and below 2^31 (policy.h: what clients take; BR 6.1.6's
 * bound is 2^256 - 1, and every signature check with the key, this CSR's on the event loop included, costs a
 * modular exponentiation as long as the exponent). */
static int csr_key_rsa(EVP_PKEY *k, char *err)
{
	BIGNUM *e = NULL;
	int bits = EVP_PKEY_get_bits(k), rc = 0;
	if (bits < CSR_RSA_BITS_MIN || bits > CSR_RSA_BITS_MAX)
		return csr_fail(err, HSMCA_ERR_POLICY, "key: RSA-%d not accepted (2048 to 4096 bits)", bits);
	if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) != 1 || !BN_is_odd(e) || BN_is_one(e) ||
	    BN_num_bits(e) > CSR_RSA_E_BITS_MAX)
		rc = csr_fail(err, HSMCA_ERR_POLICY, "key: RSA public exponent must be odd, at least 3 and below 2^%d",
			      CSR_RSA_E_BITS_MAX);
	BN_free(e);
	return rc;
}

/* EC P-256/P-384 or RSA 2048..4096; anything else is refused by policy, an undecodable key is malformed. */
static int csr_key_check(X509_REQ *req, EVP_PKEY **out, char *err)
{
	EVP_PKEY *k = X509_REQ_get0_pubkey(req);
	if (!k) {
		ASN1_OBJECT *alg = NULL;
		char oid[CSR_OID_TEXT_MAX] = "?";
		if (X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, X509_REQ_get_X509_PUBKEY(req)) && alg)
			OBJ_obj2txt(oid, sizeof(oid), alg, 1);
		int nid = alg ? OBJ_obj2nid(alg) : NID_undef;
		if (nid == NID_rsaEncryption || nid == NID_X9_62_id_ecPublicKey)
			return csr_fail(err, HSMCA_ERR_PARSE, "key: malformed public key");
		return csr_fail(err, HSMCA_ERR_POLICY, "key: algorithm %s not accepted (EC P-256/P-384, RSA)", oid);
	}
	*out = k;
	if (EVP_PKEY_is_a(k, "EC"))
		return csr_key_ec(k, err);
	if (EVP_PKEY_is_a(k, "RSA"))
		return csr_key_rsa(k, err);
	return csr_fail(err, HSMCA_ERR_POLICY, "key: type %s not accepted (EC P-256/P-384 or RSA 2048..4096)",
			EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "?");
}

/* --- SANs --------------------------------------------------------------------------------------------------- */

/* IA5 text: 1..CSR_SAN_MAX-1 printable ASCII bytes, no space (none of DNS, email, URI has one). */
static int csr_san_text(const ASN1_IA5STRING *s, struct csr_san *out, const char *what, char *err)
{
	int n = ASN1_STRING_length(s);
	const unsigned char *d = ASN1_STRING_get0_data(s);
	if (n <= 0)
		return csr_fail(err, HSMCA_ERR_PARSE, "SAN: empty %s", what);
	if (n >= CSR_SAN_MAX)
		return csr_fail(err, HSMCA_ERR_POLICY, "SAN: %s longer than %d bytes", what, CSR_SAN_MAX - 1);
	for (int i = 0; i < n; i++)
		if (d[i] <= 0x20 || d[i] >= 0x7f)
			return csr_fail(err, HSMCA_ERR_PARSE, "SAN: %s with a byte 0x%02x", what, d[i]);
	memcpy(out->value, d, (size_t)n);
	out->value[n] = '\0';
	return 0;
}

static int csr_san_one(const GENERAL_NAME *g, struct csr_san *out, char *err)
{
	static const char *const names[] = { "otherName", "email", "DNS", "x400Address", "directoryName",
					     "ediPartyName", "URI", "IP", "registeredID" };
	int n;
	switch (g->type) {
	case GEN_DNS:
		out->type = CSR_SAN_DNS;
		return csr_san_text(g->d.dNSName, out, "DNS name", err);
	case GEN_EMAIL:
		out->type = CSR_SAN_EMAIL;
		return csr_san_text(g->d.rfc822Name, out, "email", err);
	case GEN_URI:
		out->type = CSR_SAN_URI;
		return csr_san_text(g->d.uniformResourceIdentifier, out, "URI", err);
	case GEN_IPADD:
		out->type = CSR_SAN_IP;
		n = ASN1_STRING_length(g->d.iPAddress);
		if ((n != 4 && n != 16) || !inet_ntop(n == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress),
						    out->value, sizeof(out->value)))
			return csr_fail(err, HSMCA_ERR_PARSE, "SAN: IP address of %d bytes", n);
		return 0;
	default:
		return csr_fail(err, HSMCA_ERR_POLICY, "SAN: type %s not accepted (DNS, IP, email, URI)",
				g->type >= 0 && g->type <= GEN_RID ? names[g->type] : "?");
	}
}

/* The subjectAltName extension's value: DER GENERAL_NAMES, 1..CSR_MAX_SANS of the four accepted types. */
static int csr_san_list(const X509_EXTENSION *ext, struct csr *out, char *err)
{
	const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data((X509_EXTENSION *)ext);
	const unsigned char *d = ASN1_STRING_get0_data(os), *p = d;
	int len = ASN1_STRING_length(os), rc = 0;
	GENERAL_NAMES *gens = d2i_GENERAL_NAMES(NULL, &p, len);
	if (!gens || p != d + len || !csr_same_der(gens, ASN1_ITEM_rptr(GENERAL_NAMES), d, (size_t)len)) {
		rc = csr_fail(err, HSMCA_ERR_PARSE, "SAN: subjectAltName is not DER GeneralNames");
		goto out;
	}
	int n = sk_GENERAL_NAME_num(gens);
	if (n <= 0) {
		rc = csr_fail(err, HSMCA_ERR_PARSE, "SAN: subjectAltName is empty");
		goto out;
	}
	if (n > CSR_MAX_SANS) {
		rc = csr_fail(err, HSMCA_ERR_POLICY, "SAN: %d names, at most %d", n, CSR_MAX_SANS);
		goto out;
	}
	for (int i = 0; i < n && rc == 0; i++)
		rc = csr_san_one(sk_GENERAL_NAME_value(gens, i), &out->sans[i], err);
	if (rc == 0)
		out->n_sans = (size_t)n;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* The extensions rebuilt from their parts: OpenSSL keeps an explicit critical FALSE (a DEFAULT value, so
 * not DER) and would encode it again; a rebuilt extension leaves it out. */
static bool csr_exts_are_der(const STACK_OF(X509_EXTENSION) *exts, const ASN1_STRING *raw)
{
	STACK_OF(X509_EXTENSION) *re = sk_X509_EXTENSION_new_null();
	bool ok = re != NULL;
	for (int i = 0; ok && i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
		X509_EXTENSION *r = X509_EXTENSION_create_by_OBJ(NULL, X509_EXTENSION_get_object(e),
								 X509_EXTENSION_get_critical(e), X509_EXTENSION_get_data(e));
		if (!r || !sk_X509_EXTENSION_push(re, r)) {
			X509_EXTENSION_free(r);
			ok = false;
		}
	}
	ok = ok && csr_same_der(re, ASN1_ITEM_rptr(X509_EXTENSIONS), ASN1_STRING_get0_data(raw),
				(size_t)ASN1_STRING_length(raw));
	sk_X509_EXTENSION_pop_free(re, X509_EXTENSION_free);
	return ok;
}

/* X509_REQ_get_extensions on an attribute list: the first extensionRequest (PKCS#9, then Microsoft's) attribute's
 * first value decoded, an empty list without one, NULL if it does not decode. */
static STACK_OF(X509_EXTENSION) *csr_exts_get(const STACK_OF(X509_ATTRIBUTE) *attrs)
{
	static const int nids[] = { NID_ext_req, NID_ms_ext_req };
	ASN1_TYPE *t = NULL;
	for (size_t i = 0; i < sizeof(nids) / sizeof(nids[0]) && !t; i++) {
		int loc = X509at_get_attr_by_NID(attrs, nids[i], -1);
		if (loc >= 0) {
			t = X509_ATTRIBUTE_get0_type(X509at_get_attr(attrs, loc), 0);
			break;
		}
	}
	if (!t)
		return sk_X509_EXTENSION_new_null();
	if (t->type != V_ASN1_SEQUENCE)
		return NULL;
	const unsigned char *p = t->value.sequence->data;
	return (STACK_OF(X509_EXTENSION) *)ASN1_item_d2i(NULL, &p, t->value.sequence->length,
							  ASN1_ITEM_rptr(X509_EXTENSIONS));
}

/* The one extensionRequest attribute (if any) with one value, whose re-encoding must equal what was sent. */
static int csr_ext_check(const STACK_OF(X509_ATTRIBUTE) *attrs, const STACK_OF(X509_EXTENSION) *exts, char *err)
{
	int loc = X509at_get_attr_by_NID(attrs, NID_ext_req, -1);
	int ms = X509at_get_attr_by_NID(attrs, NID_ms_ext_req, -1);
	if (loc < 0 && ms < 0)
		return sk_X509_EXTENSION_num(exts) == 0 ? 0 : csr_fail(err, HSMCA_ERR_PARSE, "extensions: no attribute");
	if ((loc >= 0 && ms >= 0) || (loc >= 0 && X509at_get_attr_by_NID(attrs, NID_ext_req, loc) >= 0) ||
	    (ms >= 0 && X509at_get_attr_by_NID(attrs, NID_ms_ext_req, ms) >= 0))
		return csr_fail(err, HSMCA_ERR_PARSE, "extensions: more than one extensionRequest attribute");
	X509_ATTRIBUTE *attr = X509at_get_attr(attrs, loc >= 0 ? loc : ms);
	ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(attr, 0);
	if (X509_ATTRIBUTE_count(attr) != 1 || !t || t->type != V_ASN1_SEQUENCE)
		return csr_fail(err, HSMCA_ERR_PARSE, "extensions: extensionRequest must have one value");
	const ASN1_STRING *raw = t->value.sequence;
	if (!csr_exts_are_der(exts, raw))
		return csr_fail(err, HSMCA_ERR_PARSE, "extensions: not DER");
	return 0;
}

int csr_sans_get(const STACK_OF(X509_ATTRIBUTE) *attrs, struct csr *out, char *err)
{
	STACK_OF(X509_EXTENSION) *exts = csr_exts_get(attrs);
	const X509_EXTENSION *san = NULL;
	int rc;
	if (!exts)
		return csr_fail(err, HSMCA_ERR_PARSE, "extensions: extensionRequest does not parse");
	if ((rc = csr_ext_check(attrs, exts, err)))
		goto out;
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		const X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
		if (OBJ_obj2nid(X509_EXTENSION_get_object((X509_EXTENSION *)e)) != NID_subject_alt_name)
			continue;
		if (san) {
			rc = csr_fail(err, HSMCA_ERR_PARSE, "extensions: subjectAltName twice");
			goto out;
		}
		san = e;
	}
	if (san)
		rc = csr_san_list(san, out, err);
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* --- key bytes ---------------------------------------------------------------------------------------------- */

/* The SubjectPublicKeyInfo as received: CertificationRequest { CertificationRequestInfo { version, subject,
 * spki, ... } ... }. The request is known to be DER by now, so these are the key's DER bytes. */
static int csr_spki_find(const unsigned char *der, size_t len, struct span *spki, char *err)
{
	struct span in = span_make(der, len), cr, cri, skip;
	if (!der_get(&in, &cr, DER_SEQUENCE) || !der_get(&cr, &cri, DER_SEQUENCE) || !der_get_integer(&cri, &skip) ||
	    !der_get_element(&cri, &skip, DER_SEQUENCE) || !der_get_element(&cri, spki, DER_SEQUENCE))
		return csr_fail(err, HSMCA_ERR_PARSE, "DER: no SubjectPublicKeyInfo");
	return 0;
}

/* The whole key in the form the certificate will carry it (policy_spki_form: the signer refuses anything
 * else), whatever OpenSSL's lenient decoders made of it. */
static int csr_spki_der(struct span spki, char *err)
{
	const char *why = policy_spki_form(spki);
	return why ? csr_fail(err, HSMCA_ERR_PARSE, "key: the public key is not DER: %s", why) : 0;
}

/* An id-ecPublicKey SPKI names its curve (RFC 5480 2.1.1: namedCurve, not explicit parameters) and carries an
 * uncompressed point (04 || x || y), the form the certificate passes on. Other algorithms are the key
 * check's business. */
int csr_spki_form(const unsigned char *der, size_t len, char *err)
{
	static const uint8_t ec_public_key[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 }; /* 1.2.840.10045.2.1 */
	struct span spki, in, alg, oid, params, whole, key;
	uint8_t tag = 0;
	int rc = csr_spki_find(der, len, &spki, err);
	if (rc)
		return rc;
	const struct span tlv = spki;
	in = spki;
	if (!der_get(&in, &spki, DER_SEQUENCE) || !der_get(&spki, &alg, DER_SEQUENCE) ||
	    !der_get(&alg, &oid, DER_OID) || oid.len != sizeof(ec_public_key) ||
	    memcmp(oid.data, ec_public_key, sizeof(ec_public_key)) != 0)
		return csr_spki_der(tlv, err);
	if (!der_get_any(&alg, &tag, &params, &whole) || tag != DER_OID || alg.len != 0 ||
	    !der_get(&spki, &key, DER_BIT_STRING) || key.len < 2 || key.data[0] != 0 || key.data[1] != CSR_EC_UNCOMPRESSED)
		return csr_fail(err, HSMCA_ERR_POLICY,
				"csr: the EC key must name its curve (namedCurve) and use an uncompressed point");
	return csr_spki_der(tlv, err);
}

int csr_spki_copy(const unsigned char *der, size_t len, struct csr *out, char *err)
{
	struct span spki;
	int rc = csr_spki_find(der, len, &spki, err);
	if (rc || (rc = csr_spki_form(der, len, err)))
		return rc;
	if (spki.len > CSR_SPKI_MAX)
		return csr_fail(err, HSMCA_ERR_POLICY, "key: SubjectPublicKeyInfo longer than %u bytes", CSR_SPKI_MAX);
	memcpy(out->spki, spki.data, spki.len);
	out->spki_len = spki.len;
	return 0;
}

/* The request's attributes as a list of borrowed entries (sk_X509_ATTRIBUTE_free only). */
static int csr_req_attrs(const X509_REQ *req, STACK_OF(X509_ATTRIBUTE) **out, char *err)
{
	STACK_OF(X509_ATTRIBUTE) *sk = sk_X509_ATTRIBUTE_new_null();
	for (int i = 0; sk && i < X509_REQ_get_attr_count(req); i++)
		if (!sk_X509_ATTRIBUTE_push(sk, X509_REQ_get_attr(req, i))) {
			sk_X509_ATTRIBUTE_free(sk);
			sk = NULL;
		}
	*out = sk;
	return sk ? 0 : csr_fail(err, HSMCA_ERR_NOMEM, "out of memory");
}

/* The request's signature algorithm: ECDSA (parameters absent, RFC 5758) or RSA PKCS#1 v1.5 (parameters NULL
 * or absent, RFC 4055) with SHA-256, SHA-384 or SHA-512; the fast path takes a subset of these. Anything else
 * (MD5, SHA-1, SHA-224, RSASSA-PSS, ...) is refused before the signature is checked: proof of possession must
 * not rest on a broken hash, and the CA's records say which algorithms it took. */
static int csr_sigalg_check(const X509_REQ *req, char *err)
{
	const ASN1_BIT_STRING *sig = NULL;
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj = NULL;
	const void *pval = NULL;
	char name[CSR_OID_TEXT_MAX];
	int ptype = V_ASN1_UNDEF;
	X509_REQ_get0_signature(req, &sig, &alg);
	if (!alg)
		return csr_fail(err, HSMCA_ERR_PARSE, "signature algorithm missing");
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	switch (OBJ_obj2nid(obj)) {
	case NID_ecdsa_with_SHA256:
	case NID_ecdsa_with_SHA384:
	case NID_ecdsa_with_SHA512:
		if (ptype == V_ASN1_UNDEF)
			return 0;
		return csr_fail(err, HSMCA_ERR_PARSE, "signature algorithm: ECDSA takes no parameters (RFC 5758)");
	case NID_sha256WithRSAEncryption:
	case NID_sha384WithRSAEncryption:
	case NID_sha512WithRSAEncryption:
		if (ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL)
			return 0;
		return csr_fail(err, HSMCA_ERR_PARSE, "signature algorithm: RSA PKCS#1 v1.5 parameters must be NULL");
	default:
		if (!obj || OBJ_obj2txt(name, sizeof(name), obj, 0) <= 0)
			snprintf(name, sizeof(name), "?");
		return csr_fail(err, HSMCA_ERR_PARSE,
				"signature algorithm %s is not accepted: sign the request with ECDSA or RSA PKCS#1 v1.5 "
				"and SHA-256, SHA-384 or SHA-512",
				name);
	}
}

/* --- entry points ------------------------------------------------------------------------------------------ */

/* PEM: "-----" after whitespace, or a line that starts with "-----BEGIN " after text, unless the input is one
 * DER SEQUENCE whose length covers it exactly (text may begin with '0', DER_SEQUENCE's byte, and DER may hold
 * those bytes inside); base64 text has no line breaks. */
static bool csr_looks_pem(const unsigned char *in, size_t len)
{
	static const char begin[] = "\n-----BEGIN ";
	size_t i = 0;
	while (i < len && csr_is_space(in[i]))
		i++;
	if (len - i >= 5 && memcmp(in + i, "-----", 5) == 0)
		return true;
	if (len == 0 || !memmem(in, len, begin, sizeof(begin) - 1))
		return false;
	struct span all = span_make(in, len), seq;
	return !(der_get(&all, &seq, DER_SEQUENCE) && span_len(&all) == 0);
}

static int csr_parse_mode(const unsigned char *in, size_t len, struct csr *out, char *err, bool fast)
{
	unsigned char *pem_der = NULL;
	const unsigned char *der = in;
	size_t der_len = len;
	X509_REQ *req = NULL;
	EVP_PKEY *key = NULL;
	STACK_OF(X509_ATTRIBUTE) *attrs = NULL;
	int rc = 0;
	memset(out, 0, sizeof(*out));
	if (err)
		err[0] = '\0';
	if (len > CSR_MAX_INPUT)
		return csr_fail(err, HSMCA_ERR_LIMIT, "request larger than %u bytes", CSR_MAX_INPUT);
	if (len == 0 || !in)
		return csr_fail(err, HSMCA_ERR_PARSE, "empty request");
	if (csr_looks_pem(in, len)) {
		if ((rc = csr_pem_decode(in, len, &pem_der, &der_len, err)))
			goto out;
		der = pem_der;
	} else if (in[0] != DER_SEQUENCE) { /* DER starts with its SEQUENCE; its base64 text with 'M' */
		if ((rc = csr_b64_decode(in, len, &pem_der, &der_len, err)))
			goto out;
		der = pem_der;
	}
	if (fast && csr_fast_parse(der, der_len, out) == 0)
		goto out; /* the common case, without OpenSSL's per-request key decoder (csr_fast.c) */
	memset(out, 0, sizeof(*out));
	if ((rc = csr_der_decode(der, der_len, &req, err)) || (rc = csr_spki_form(der, der_len, err)) ||
	    (rc = csr_key_check(req, &key, err)) || (rc = csr_sigalg_check(req, err)))
		goto out;
	if (X509_REQ_verify(req, key) != 1) {
		rc = csr_fail(err, HSMCA_ERR_AUTH, "signature: the request is not signed by its key");
		goto out;
	}
	if ((rc = csr_req_attrs(req, &attrs, err)) || (rc = csr_sans_get(attrs, out, err)) ||
	    (rc = csr_spki_copy(der, der_len, out, err)))
		goto out;
	out->req = req;
	out->pubkey = key;
	req = NULL;
out:
	sk_X509_ATTRIBUTE_free(attrs); /* borrowed entries */
	if (rc)
		memset(out, 0, sizeof(*out));
	X509_REQ_free(req);
	free(pem_der);
	ERR_clear_error(); /* nothing of this request stays in the thread's error queue */
	return rc;
}

int csr_parse(const unsigned char *in, size_t len, struct csr *out, char *err)
{
	return csr_parse_mode(in, len, out, err, true);
}

int csr_parse_full(const unsigned char *in, size_t len, struct csr *out, char *err)
{
	return csr_parse_mode(in, len, out, err, false);
}

bool csr_cheap_key(const unsigned char *in, size_t len)
{
	static const uint8_t oid_ec[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
	static const uint8_t oid_rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
	static const uint8_t e65537[] = { 0x01, 0x00, 0x01 };
	unsigned char *buf = NULL;
	const unsigned char *der = in;
	size_t der_len = len;
	struct span spki, spki_in, alg, oid, bits, key, rsa, n, e;
	bool cheap = false;
	if (!in || len == 0 || len > CSR_MAX_INPUT)
		return false;
	if (csr_looks_pem(in, len) ? csr_pem_decode(in, len, &buf, &der_len, NULL) != 0
				  : in[0] != DER_SEQUENCE && csr_b64_decode(in, len, &buf, &der_len, NULL) != 0)
		goto out;
	der = buf ? buf : in;
	if (csr_spki_find(der, der_len, &spki, NULL) != 0)
		goto out;
	spki_in = spki;
	if (!der_get(&spki_in, &key, DER_SEQUENCE) || !der_get(&key, &alg, DER_SEQUENCE) || !der_get_oid(&alg, &oid))
		goto out;
	if (oid.len == sizeof(oid_ec) && !memcmp(oid.data, oid_ec, sizeof(oid_ec))) {
		cheap = true;
	} else if (oid.len == sizeof(oid_rsa) && !memcmp(oid.data, oid_rsa, sizeof(oid_rsa)) &&
		   der_get_bitstring_bytes(&key, &bits) && der_get(&bits, &rsa, DER_SEQUENCE) &&
		   der_get(&rsa, &n, DER_INTEGER) && der_get(&rsa, &e, DER_INTEGER)) {
		cheap = n.len <= CSR_CHEAP_RSA_BITS / 8 + 1 && e.len == sizeof(e65537) && !memcmp(e.data, e65537, sizeof(e65537));
	}
out:
	free(buf);
	return cheap;
}

int csr_refusal(int rc, const char **code)
{
	switch (rc) {
	case HSMCA_ERR_POLICY:
		*code = "policy";
		return 403;
	case HSMCA_ERR_AUTH:
		*code = "csr-signature";
		return 400;
	case HSMCA_ERR_LIMIT:
		*code = "too-large";
		return 413;
	case HSMCA_ERR_NOMEM:
		*code = "unavailable";
		return 503;
	default:
		*code = "bad-csr";
		return 400;
	}
}

void csr_free(struct csr *c)
{
	if (!c)
		return;
	X509_REQ_free(c->req);
	EVP_PKEY_free(c->own_key);
	memset(c, 0, sizeof(*c));
}
