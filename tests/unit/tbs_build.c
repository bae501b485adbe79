#include "tbs_build.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certbuild.h"

const uint8_t ALG_ECDSA_SHA384[12] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 };
static const uint8_t ALG_SHA1[] = { 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00 };

/* Sections that extension values name, as "dirName:dn_team" in a name constraint (test_tbs). */
static CONF *fx_conf(void)
{
	static const char text[] = "[dn_team]\nC=US\nO=Example\nOU=Team\n"
				   "[dn_wide]\nC=US\nO=Example\n"
				   "[dn_deeper]\nC=US\nO=Example\nOU=Team\nCN=Sub\n"
				   "[dn_evil]\nC=US\nO=Evil\nOU=Team\n"
				   "[dn_reordered]\nO=Example\nC=US\nOU=Team\n";
	static CONF *conf;
	if (!conf) {
		BIO *b = BIO_new_mem_buf(text, -1);
		long line = 0;
		conf = NCONF_new(NULL);
		if (!b || !conf || NCONF_load_bio(conf, b, &line) <= 0)
			abort();
		BIO_free(b);
	}
	return conf;
}

static bool fx_add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509V3_set_nconf(&ctx, fx_conf());
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	bool ok = e && X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok;
}

static bool fx_add_raw_ext(X509 *x, const struct raw_ext *r)
{
	ASN1_OBJECT *o = OBJ_txt2obj(r->oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e = NULL;
	bool ok = o && os && ASN1_OCTET_STRING_set(os, r->der, (int)r->len) &&
		  (e = X509_EXTENSION_create_by_OBJ(NULL, o, r->critical, os)) && X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(o);
	return ok;
}

static bool fx_set_cn(X509_NAME *n, const char *cn)
{
	return X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) == 1;
}

X509 *fx_make_ca(EVP_PKEY *key, const char *cn, time_t now, bool with_ski)
{
	X509 *x = X509_new();
	ASN1_INTEGER *serial = NULL;
	uint8_t rnd[16];
	bool ok = x && RAND_bytes(rnd, sizeof(rnd)) == 1 && (serial = certbuild_serial(rnd, sizeof(rnd))) &&
		  X509_set_version(x, X509_VERSION_3) && X509_set_serialNumber(x, serial) &&
		  fx_set_cn(X509_get_subject_name(x), cn) && fx_set_cn(X509_get_issuer_name(x), cn) &&
		  X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &now) &&
		  X509_time_adj_ex(X509_getm_notAfter(x), 5 * 365, 0, &now) && X509_set_pubkey(x, key) &&
		  fx_add_conf_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
		  fx_add_conf_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (ok && with_ski)
		ok = fx_add_conf_ext(x, x, NID_subject_key_identifier, "hash") &&
		     fx_add_conf_ext(x, x, NID_authority_key_identifier, "keyid:always");
	ok = ok && X509_sign(x, key, EVP_sha256()) > 0;
	ASN1_INTEGER_free(serial);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static void fx_key_hash(X509 *x, uint8_t out[20])
{
	const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(x);
	SHA1(bits->data, (size_t)bits->length, out);
}

bool fx_init(struct fx *f)
{
	struct span oid;
	memset(f, 0, sizeof(*f));
	f->now = time(NULL);
	f->ca_key = EVP_EC_gen("P-256");
	f->leaf_key = EVP_EC_gen("P-256");
	f->root_key = EVP_EC_gen("P-256");
	if (!f->ca_key || !f->leaf_key || !f->root_key)
		return false;
	f->ca = fx_make_ca(f->ca_key, "Test Int", f->now, true);
	f->root = fx_make_ca(f->root_key, "Test Root", f->now, true);
	if (!f->ca || !f->root || policy_issuer_from_x509(f->ca, NULL, &f->iss) != 0 ||
	    policy_issuer_from_x509(f->ca, f->root, &f->iss_d) != 0 || !policy_sigalg_for_pkey(f->ca_key, &f->sigalg))
		return false;
	fx_key_hash(f->root, f->root_key_hash);

	f->prof.allow_cert = f->prof.allow_crl = f->prof.allow_ocsp = true;
	f->prof.ku_allowed = TBS_KU_DIGITAL_SIGNATURE | TBS_KU_KEY_ENCIPHERMENT;
	const char *ekus[] = { "serverAuth", "clientAuth" };
	for (size_t i = 0; i < 2; i++) {
		if (!policy_eku_oid(ekus[i], &oid) || oid.len > POLICY_OID_MAX)
			return false;
		memcpy(f->prof.eku[i], oid.data, oid.len);
		f->prof.eku_len[i] = oid.len;
	}
	f->prof.n_eku = 2;
	f->prof.max_validity_days = 397;
	f->prof.max_crl_days = 7;
	return true;
}

void fx_free(struct fx *f)
{
	X509_free(f->ca);
	X509_free(f->root);
	EVP_PKEY_free(f->ca_key);
	EVP_PKEY_free(f->leaf_key);
	EVP_PKEY_free(f->root_key);
	memset(f, 0, sizeof(*f));
}

void leaf_defaults(const struct fx *f, struct leaf_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->version = X509_VERSION_3;
	o->aki = AKI_GOOD;
	o->sigalg = f->sigalg;
	o->not_before = f->now - 3600;
	o->not_after = f->now + 90 * DAY;
	o->ku = "critical,digitalSignature";
	o->eku = "serverAuth";
	o->san = "DNS:www.example.test";
	o->ski = true;
}

static bool leaf_set_time(ASN1_TIME *(*getm)(const X509 *), X509 *x, time_t t, bool gen)
{
	ASN1_TIME *at = gen ? ASN1_GENERALIZEDTIME_set(NULL, t) : ASN1_TIME_set(NULL, t);
	bool ok = at && ASN1_STRING_copy(getm(x), at);
	ASN1_STRING_free(at);
	return ok;
}

static ASN1_INTEGER *leaf_serial(const struct leaf_opts *o)
{
	uint8_t der[2 + 32], rnd[16];
	if (!o->serial) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return NULL;
		return certbuild_serial(rnd, sizeof(rnd));
	}
	if (o->serial_len > sizeof(der) - 2)
		return NULL;
	der[0] = DER_INTEGER;
	der[1] = (uint8_t)o->serial_len;
	memcpy(der + 2, o->serial, o->serial_len);
	const unsigned char *p = der;
	return d2i_ASN1_INTEGER(NULL, &p, (long)(o->serial_len + 2));
}

static bool leaf_exts(const struct fx *f, const struct leaf_opts *o, X509 *x)
{
	uint8_t aki[4 + POLICY_KEYID_MAX];
	bool ok = true;
	if (o->bc)
		ok = ok && fx_add_conf_ext(x, f->ca, NID_basic_constraints, o->bc);
	if (o->ku)
		ok = ok && fx_add_conf_ext(x, f->ca, NID_key_usage, o->ku);
	if (o->eku)
		ok = ok && fx_add_conf_ext(x, f->ca, NID_ext_key_usage, o->eku);
	if (o->san)
		ok = ok && fx_add_conf_ext(x, f->ca, NID_subject_alt_name, o->san);
	if (o->san && o->dup_san)
		ok = ok && fx_add_conf_ext(x, f->ca, NID_subject_alt_name, "DNS:other.example.test");
	if (o->ski)
		ok = ok && fx_add_conf_ext(x, f->ca, NID_subject_key_identifier, "hash");
	if (o->nc)
		ok = ok && fx_add_conf_ext(x, f->ca, NID_name_constraints, o->nc);
	if (o->aki != AKI_NONE) {
		/* SEQUENCE { [0] keyIdentifier } */
		size_t n = f->iss.ski_len;
		aki[0] = DER_SEQUENCE;
		aki[1] = (uint8_t)(2 + n);
		aki[2] = DER_CONTEXT | 0;
		aki[3] = (uint8_t)n;
		memcpy(aki + 4, f->iss.ski, n);
		if (o->aki == AKI_WRONG)
			aki[4 + n - 1] ^= 0x01;
		struct raw_ext r = { "2.5.29.35", false, aki, 4 + n };
		ok = ok && fx_add_raw_ext(x, &r);
	}
	for (size_t i = 0; i < o->n_raw; i++)
		ok = ok && fx_add_raw_ext(x, &o->raw[i]);
	return ok;
}

bool leaf_tbs(const struct fx *f, const struct leaf_opts *o, struct dbuf *out)
{
	X509 *x = X509_new();
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *serial = leaf_serial(o);
	bool ok = x && serial && X509_set_version(x, o->version) && X509_set_serialNumber(x, serial);
	if (ok && o->issuer_cn)
		ok = (issuer = X509_NAME_new()) && fx_set_cn(issuer, o->issuer_cn) && X509_set_issuer_name(x, issuer);
	else if (ok)
		ok = X509_set_issuer_name(x, X509_get_subject_name(f->ca));
	const char *cn = o->subject_cn ? o->subject_cn : "www.example.test";
	if (ok && o->raw_subject) {
		const unsigned char *p = o->raw_subject;
		X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)o->raw_subject_len);
		ok = n && p == o->raw_subject + o->raw_subject_len && X509_set_subject_name(x, n);
		X509_NAME_free(n);
	} else if (ok && *cn)
		ok = o->subject_type ? X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", o->subject_type,
								  (const unsigned char *)cn, -1, -1, 0) == 1
				     : fx_set_cn(X509_get_subject_name(x), cn);
	ok = ok &&
	     leaf_set_time(X509_getm_notBefore, x, o->not_before, o->gen_time) &&
	     leaf_set_time(X509_getm_notAfter, x, o->not_after, o->gen_time) &&
	     X509_set_pubkey(x, o->key ? o->key : f->leaf_key) &&
	     leaf_exts(f, o, x) && certbuild_tbs(x, o->sigalg, out) == 0;
	X509_NAME_free(issuer);
	ASN1_INTEGER_free(serial);
	X509_free(x);
	return ok && !out->failed;
}

void der_add_time(struct dbuf *b, time_t t, bool generalized)
{
	struct tm tm;
	char s[32];
	gmtime_r(&t, &tm);
	size_t n = strftime(s, sizeof(s), generalized ? "%Y%m%d%H%M%SZ" : "%y%m%d%H%M%SZ", &tm);
	dbuf_add_tlv(b, generalized ? DER_GENERALIZEDTIME : DER_UTCTIME, s, n);
}

/* Extension { extnID, critical (only if TRUE), extnValue } */
static void der_add_ext(struct dbuf *b, const uint8_t *oid, size_t oid_len, bool critical, const uint8_t *val,
			size_t len)
{
	size_t m = dbuf_open(b, DER_SEQUENCE);
	dbuf_add_tlv(b, DER_OID, oid, oid_len);
	if (critical)
		dbuf_add_tlv(b, DER_BOOLEAN, "\xff", 1);
	dbuf_add_tlv(b, DER_OCTET_STRING, val, len);
	dbuf_close(b, m);
}

void crl_defaults(const struct fx *f, struct crl_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->issuer = span_make(f->iss.subject, f->iss.subject_len);
	o->sigalg = f->sigalg;
	o->this_update = f->now;
	o->next_update = f->now + DAY;
	o->aki = AKI_GOOD;
	o->number = true;
	o->revoked = true;
}

void crl_tbs(const struct fx *f, const struct crl_opts *o, struct dbuf *out)
{
	static const uint8_t serial[] = { 0x41, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09 };
	static const uint8_t unknown_oid[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x15, 0x01 };
	size_t top = dbuf_open(out, DER_SEQUENCE);
	dbuf_add_tlv(out, DER_INTEGER, "\x01", 1);
	dbuf_add(out, o->sigalg.data, o->sigalg.len);
	dbuf_add(out, o->issuer.data, o->issuer.len);
	der_add_time(out, o->this_update, false);
	der_add_time(out, o->next_update, false);
	if (o->revoked || o->empty_revoked) {
		size_t list = dbuf_open(out, DER_SEQUENCE);
		if (o->revoked) {
			size_t e = dbuf_open(out, DER_SEQUENCE);
			if (o->entry_serial.len)
				dbuf_add_tlv(out, DER_INTEGER, o->entry_serial.data, o->entry_serial.len);
			else
				dbuf_add_uint_bytes(out, serial, sizeof(serial));
			der_add_time(out, o->this_update - 3600, false);
			if (o->entry_exts.len)
				dbuf_add_tlv(out, DER_SEQUENCE, o->entry_exts.data, o->entry_exts.len);
			dbuf_close(out, e);
		}
		dbuf_close(out, list);
	}
	if (!o->no_exts) {
		size_t wrap = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 0);
		size_t exts = dbuf_open(out, DER_SEQUENCE);
		if (o->aki != AKI_NONE) {
			struct dbuf v;
			dbuf_init(&v);
			size_t s = dbuf_open(&v, DER_SEQUENCE);
			dbuf_add_tlv(&v, DER_CONTEXT | 0, f->iss.ski, f->iss.ski_len);
			dbuf_close(&v, s);
			if (o->aki == AKI_WRONG)
				v.data[v.len - 1] ^= 0x01;
			der_add_ext(out, OID_AKI, sizeof(OID_AKI), false, v.data, v.len);
			dbuf_free(&v);
		}
		if (o->number)
			der_add_ext(out, OID_CRL_NUMBER, sizeof(OID_CRL_NUMBER), false, (const uint8_t *)"\x02\x01\x2a", 3);
		if (o->crit_unknown)
			der_add_ext(out, unknown_oid, sizeof(unknown_oid), true, (const uint8_t *)"\x05\x00", 2);
		dbuf_add(out, o->crl_ext.data, o->crl_ext.len);
		dbuf_close(out, exts);
		dbuf_close(out, wrap);
	}
	dbuf_close(out, top);
}

void ocsp_defaults(const struct fx *f, struct ocsp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->responder = span_make(f->iss.subject, f->iss.subject_len);
	o->produced = f->now;
	o->ikh = span_make(f->iss.key_hash, POLICY_SHA1_LEN);
	o->inh = span_make(f->iss.name_hash, POLICY_SHA1_LEN);
}

static void ocsp_single(struct dbuf *out, const struct ocsp_opts *o, struct span ikh, time_t this_update)
{
	static const uint8_t serial[] = { 0x41, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09 };
	size_t sr = dbuf_open(out, DER_SEQUENCE);
	size_t cid = dbuf_open(out, DER_SEQUENCE);
	dbuf_add(out, ALG_SHA1, sizeof(ALG_SHA1));
	dbuf_add_tlv(out, DER_OCTET_STRING, o->inh.data, o->inh.len);
	dbuf_add_tlv(out, DER_OCTET_STRING, ikh.data, ikh.len);
	dbuf_add_uint_bytes(out, serial, sizeof(serial));
	dbuf_close(out, cid);
	if (o->status == 1) { /* revoked [1] IMPLICIT RevokedInfo { revocationTime, [0] EXPLICIT CRLReason } */
		size_t r = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 1);
		der_add_time(out, o->produced - DAY, true);
		size_t reason = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 0);
		uint8_t why = o->reason_set ? o->reason : 1;
		dbuf_add_tlv(out, DER_ENUMERATED, &why, 1);
		dbuf_close(out, reason);
		dbuf_close(out, r);
	} else {
		dbuf_add_tlv(out, DER_CONTEXT | (o->status == 2 ? 2 : 0), NULL, 0); /* IMPLICIT NULL */
	}
	der_add_time(out, this_update, true);
	if (!o->no_next) {
		size_t nu = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 0);
		der_add_time(out, this_update + (o->validity ? o->validity : DAY), true);
		dbuf_close(out, nu);
	}
	if (o->single_ext_der.len) {
		size_t w = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 1), s = dbuf_open(out, DER_SEQUENCE);
		dbuf_add(out, o->single_ext_der.data, o->single_ext_der.len);
		dbuf_close(out, s);
		dbuf_close(out, w);
	}
	dbuf_close(out, sr);
}

void ocsp_tbs(const struct ocsp_opts *o, struct dbuf *out)
{
	size_t top = dbuf_open(out, DER_SEQUENCE);
	if (o->version) {
		size_t v = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 0);
		dbuf_add_tlv(out, DER_INTEGER, "\x00", 1);
		dbuf_close(out, v);
	}
	size_t rid = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | (o->by_key ? 2 : 1));
	if (o->by_key)
		dbuf_add_tlv(out, DER_OCTET_STRING, o->responder.data, o->responder.len);
	else
		dbuf_add(out, o->responder.data, o->responder.len);
	dbuf_close(out, rid);
	der_add_time(out, o->produced, true);
	size_t list = dbuf_open(out, DER_SEQUENCE);
	ocsp_single(out, o, o->ikh, o->produced);
	if (o->ikh2.len)
		ocsp_single(out, o, o->ikh2, o->produced + o->shift2);
	dbuf_close(out, list);
	if (o->resp_ext || o->resp_ext_der.len) {
		static const uint8_t nonce_oid[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02 };
		size_t w = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 1);
		size_t s = dbuf_open(out, DER_SEQUENCE);
		if (o->resp_ext_der.len)
			dbuf_add(out, o->resp_ext_der.data, o->resp_ext_der.len);
		else
			der_add_ext(out, nonce_oid, sizeof(nonce_oid), false, (const uint8_t *)"\x04\x02\xab\xcd", 4);
		dbuf_close(out, s);
		dbuf_close(out, w);
	}
	dbuf_close(out, top);
}

size_t der_split(struct span der, struct span *el, size_t max)
{
	struct span seq, c;
	uint8_t tag;
	size_t n = 0;
	if (!der_get(&der, &seq, DER_SEQUENCE) || der.len != 0)
		return 0;
	while (seq.len > 0 && n < max)
		if (!der_get_any(&seq, &tag, &c, &el[n++]))
			return 0;
	return seq.len == 0 ? n : 0;
}

void der_join(struct dbuf *out, const struct span *el, size_t n)
{
	size_t m = dbuf_open(out, DER_SEQUENCE);
	for (size_t i = 0; i < n; i++)
		dbuf_add(out, el[i].data, el[i].len);
	dbuf_close(out, m);
}
