/* fuzz_tbs: the three to-be-signed parsers (policy/tbs_*.c) and the pinned-profile checks (policy/check.c),
 * which the signer runs on every SIGN_* request before touching the HSM.
 *
 * Input: one selector byte, then the DER.
 *   bits 0-1: 0 TBSCertificate, 1 TBSCertList, 2 OCSP ResponseData, 3 all three parsers on the same bytes
 *   bits 2-3: the profile: 0 allows everything, 1 the same as a delegated OCSP responder (CertIDs name the
 *             parent key), 2 a strict leaf-issuing profile, 3 allows no operation at all
 *   bit 4:    that profile with URL pins (crl_url, ocsp_url: policy_check_urls)
 * The issuer below is fixed; the seeds in corpus/tbs (make_corpus.py) are built to match it, so they reach
 * the end of every check. A check may refuse; it must never crash. */
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include "der.h"
#include "fuzz_common.h"
#include "policy.h"
#include "tbs.h"

#define FUZZ_KEYID_BYTE 0x5a   /* issuer SKI, and the AKI keyid of the seeds */
#define FUZZ_KEY_HASH_BYTE 0x4b
#define FUZZ_PARENT_HASH_BYTE 0x50
#define FUZZ_KEYID_LEN 20

/* Name "CN=x" (UTF8String), the subject of the issuer and the issuer of every seed */
static const uint8_t fuzz_issuer_name[] = { 0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03,
					    0x55, 0x04, 0x03, 0x0c, 0x01, 0x78 };
/* AlgorithmIdentifier ecdsa-with-SHA256 */
static const uint8_t fuzz_sigalg[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
/* EKU OIDs (contents): serverAuth, clientAuth, OCSPSigning, anyExtendedKeyUsage */
static const uint8_t fuzz_eku_server[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 };
static const uint8_t fuzz_eku_client[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02 };
static const uint8_t fuzz_eku_ocsp[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09 };

static struct policy_issuer fuzz_iss;
#define FUZZ_NOW ((time_t)1767225600) /* 2026-01-01: a fixed clock, so a run is reproducible */

static struct policy_profile fuzz_open, fuzz_open_delegated, fuzz_strict, fuzz_deny;

static void fuzz_add_eku(struct policy_profile *p, const uint8_t *oid, size_t len)
{
	memcpy(p->eku[p->n_eku], oid, len);
	p->eku_len[p->n_eku++] = len;
}

static void fuzz_setup(void)
{
	static bool done;
	if (done)
		return;
	done = true;

	memcpy(fuzz_iss.subject, fuzz_issuer_name, sizeof(fuzz_issuer_name));
	fuzz_iss.subject_len = sizeof(fuzz_issuer_name);
	memset(fuzz_iss.ski, FUZZ_KEYID_BYTE, FUZZ_KEYID_LEN);
	fuzz_iss.ski_len = FUZZ_KEYID_LEN;
	memset(fuzz_iss.key_hash, FUZZ_KEY_HASH_BYTE, POLICY_SHA1_LEN);
	memset(fuzz_iss.parent_key_hash, FUZZ_PARENT_HASH_BYTE, POLICY_SHA1_LEN);
	/* wide, but narrower than what DER can say, so "outside the issuer's validity" stays reachable */
	fuzz_iss.not_before = 631152000;   /* 1990-01-01 */
	fuzz_iss.not_after = 4102444800;   /* 2100-01-01 */
	memcpy(fuzz_iss.sigalg, fuzz_sigalg, sizeof(fuzz_sigalg));
	fuzz_iss.sigalg_len = sizeof(fuzz_sigalg);

	/* allows everything the profile can express */
	fuzz_open.allow_cert = fuzz_open.allow_crl = fuzz_open.allow_ocsp = true;
	fuzz_open.allow_ca = true;
	fuzz_open.max_pathlen = UINT64_MAX;
	fuzz_open.ku_allowed = 0xffff;
	fuzz_add_eku(&fuzz_open, fuzz_eku_server, sizeof(fuzz_eku_server));
	fuzz_add_eku(&fuzz_open, fuzz_eku_client, sizeof(fuzz_eku_client));
	fuzz_add_eku(&fuzz_open, fuzz_eku_ocsp, sizeof(fuzz_eku_ocsp));
	fuzz_add_eku(&fuzz_open, OID_ANY_EKU, sizeof(OID_ANY_EKU));
	fuzz_open.max_validity_days = UINT32_MAX;
	fuzz_open.max_crl_days = UINT32_MAX;
	fuzz_open.max_ocsp_days = UINT32_MAX;
	fuzz_open.allow_checkpoint = true;
	fuzz_open_delegated = fuzz_open;
	fuzz_open_delegated.ocsp_delegated = true;
	/* the same selector also pins CA name constraints (ca_permitted), so pol_check_nc is reached */
	fuzz_open_delegated.ca_pinned = true;
	fuzz_open_delegated.n_ca_dns = 2;
	memcpy(fuzz_open_delegated.ca_dns[0], ".example.com", sizeof(".example.com"));
	memcpy(fuzz_open_delegated.ca_dns[1], "example.org", sizeof("example.org"));
	fuzz_open_delegated.n_ca_ip = 2;
	fuzz_open_delegated.ca_ip[0] = (struct policy_iprange){ false, { 10 }, 8 };
	fuzz_open_delegated.ca_ip[1] = (struct policy_iprange){ true, { 0xfd }, 8 };
	char why[POLICY_DN_WHY_MAX];
	if (policy_dn_parse("/O=Example", fuzz_open_delegated.ca_dn, sizeof(fuzz_open_delegated.ca_dn),
			    &fuzz_open_delegated.ca_dn_len, why))
		abort();

	/* a typical leaf-issuing profile, to reach the refusals */
	fuzz_strict.allow_cert = fuzz_strict.allow_crl = fuzz_strict.allow_ocsp = true;
	fuzz_strict.max_pathlen = 0;
	fuzz_strict.ku_allowed = TBS_KU_DIGITAL_SIGNATURE | TBS_KU_KEY_ENCIPHERMENT;
	fuzz_add_eku(&fuzz_strict, fuzz_eku_server, sizeof(fuzz_eku_server));
	fuzz_strict.max_validity_days = 398;
	fuzz_strict.max_crl_days = 7;
	fuzz_strict.max_ocsp_days = 7;

	/* and its leaf names pinned (leaf_permitted), so policy_check_leaf_names is reached */
	fuzz_strict.leaf_pinned = true;
	fuzz_strict.n_leaf_dns = 2;
	memcpy(fuzz_strict.leaf_dns[0], ".example.com", sizeof(".example.com"));
	memcpy(fuzz_strict.leaf_dns[1], "example.org", sizeof("example.org"));
	fuzz_strict.n_leaf_ip = 2;
	fuzz_strict.leaf_ip[0] = (struct policy_iprange){ false, { 10 }, 8 };
	fuzz_strict.leaf_ip[1] = (struct policy_iprange){ true, { 0xfd }, 8 };

	/* all-zero: may sign nothing (the "operation" refusals) */
	memset(&fuzz_deny, 0, sizeof(fuzz_deny));
}

#define IN(s) fuzz_within(data, size, &(s))

static void fuzz_exts_within(const uint8_t *data, size_t size, const struct tbs_ext *ext, size_t n)
{
	FUZZ_CHECK(n <= TBS_MAX_EXT);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(IN(ext[i].oid) && ext[i].oid.len > 0 && IN(ext[i].value));
}

/* SEQUENCE { tbs, sigalg, BIT STRING of a dummy signature } into out (initialised here; the caller frees it). */
static void fuzz_wrap_signed(const uint8_t *tbs, size_t len, struct span sigalg, struct dbuf *out)
{
	static const uint8_t sig[8] = { 0 };
	dbuf_init(out);
	size_t top = dbuf_open(out, DER_SEQUENCE);
	dbuf_add(out, tbs, len);
	dbuf_add(out, sigalg.data, sigalg.len);
	dbuf_add_bitstring(out, sig, sizeof(sig));
	dbuf_close(out, top);
	FUZZ_CHECK(!out->failed);
}

/* A TBSCertificate the checks passed, as OpenSSL reads it once signed (here with a dummy signature): it must
 * parse and re-encode to the same bytes, be a CA only if the TBS says CA:TRUE in basicConstraints, and its
 * subject must not be the issuer's name (the fixed issuer's key is no TBS's, so none is self-signed here): what
 * the signer decided is what a verifier sees. */
static void fuzz_cert_openssl(const uint8_t *data, size_t size, const struct tbs_cert *t)
{
	static struct dbuf cert;
	fuzz_wrap_signed(data, size, t->sigalg, &cert);
	const unsigned char *q = cert.data;
	X509 *x = d2i_X509(NULL, &q, (long)cert.len);
	FUZZ_CHECK(x && q == cert.data + cert.len);
	unsigned char *back = NULL;
	int blen = i2d_X509(x, &back);
	FUZZ_CHECK(blen > 0 && (size_t)blen == cert.len && !memcmp(back, cert.data, cert.len));
	OPENSSL_free(back);
	FUZZ_CHECK(X509_check_ca(x) == 0 || (t->has_bc && t->ca));
	const unsigned char *n = fuzz_issuer_name;
	X509_NAME *iss = d2i_X509_NAME(NULL, &n, sizeof(fuzz_issuer_name));
	FUZZ_CHECK(iss && X509_NAME_cmp(X509_get_subject_name(x), iss) != 0);
	X509_NAME_free(iss);
	X509_free(x);
	dbuf_free(&cert);
	ERR_clear_error();
}

static void fuzz_cert(const uint8_t *data, size_t size, const struct policy_profile *p)
{
	static struct tbs_cert t; /* large: keep it off the stack */
	char why[TBS_WHY_MAX] = "";
	if (!tbs_cert_parse(span_make(data, size), &t, why)) {
		FUZZ_CHECK(fuzz_why_ok(why, TBS_WHY_MAX));
		return;
	}
	FUZZ_CHECK(IN(t.serial) && t.serial.len > 0 && IN(t.sigalg) && IN(t.issuer) && IN(t.subject) && IN(t.spki));
	fuzz_exts_within(data, size, t.ext, t.n_ext);
	FUZZ_CHECK(t.n_eku <= TBS_MAX_EKU);
	for (size_t i = 0; i < t.n_eku; i++)
		FUZZ_CHECK(IN(t.eku[i]));
	FUZZ_CHECK(!t.has_aki || (IN(t.aki_keyid) && t.aki_keyid.len > 0));
	FUZZ_CHECK(!t.has_ski || (IN(t.ski) && t.ski.len > 0));
	FUZZ_CHECK(!t.has_pathlen || (t.has_bc && t.ca));
	FUZZ_CHECK(!t.has_ku || (t.ku != 0 && t.ku < (1u << 9)));
	const struct tbs_ext *nce = tbs_ext_find(t.ext, t.n_ext, OID_NC, sizeof(OID_NC));
	static struct tbs_nc nc;
	if (nce && tbs_nc_parse(nce->value, &nc, why)) {
		FUZZ_CHECK(nc.n_permitted + nc.n_excluded > 0 && nc.n_permitted <= TBS_MAX_SUBTREES &&
			   nc.n_excluded <= TBS_MAX_SUBTREES);
		for (size_t i = 0; i < nc.n_permitted; i++)
			FUZZ_CHECK(IN(nc.permitted[i].value) && (nc.permitted[i].tag & 0xc0) == DER_CONTEXT);
		for (size_t i = 0; i < nc.n_excluded; i++)
			FUZZ_CHECK(IN(nc.excluded[i].value) && (nc.excluded[i].tag & 0xc0) == DER_CONTEXT);
	} else if (nce) {
		FUZZ_CHECK(fuzz_why_ok(why, TBS_WHY_MAX));
	}
	why[0] = 0;
	int rc = policy_check_cert(&t, &fuzz_iss, p, why);
	FUZZ_CHECK(rc == 0 || (rc == HSMCA_ERR_POLICY && fuzz_why_ok(why, TBS_WHY_MAX)));
	if (rc == 0)
		fuzz_cert_openssl(data, size, &t);
	why[0] = 0;
	rc = policy_check_cert_clock(&t, FUZZ_NOW, why);
	FUZZ_CHECK(rc == 0 || ((rc == HSMCA_ERR_POLICY || rc == HSMCA_ERR_EARLY) && fuzz_why_ok(why, TBS_WHY_MAX)));
}

/* A TBSCertList the checks passed, as OpenSSL reads it once signed (a dummy signature): it parses, with every
 * revoked entry, and re-encodes to the same bytes. */
static void fuzz_crl_openssl(const uint8_t *data, size_t size, const struct tbs_crl *t)
{
	static struct dbuf crl;
	fuzz_wrap_signed(data, size, t->sigalg, &crl);
	const unsigned char *q = crl.data;
	X509_CRL *x = d2i_X509_CRL(NULL, &q, (long)crl.len);
	FUZZ_CHECK(x && q == crl.data + crl.len);
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(x);
	FUZZ_CHECK((rev ? (size_t)sk_X509_REVOKED_num(rev) : 0) == t->n_revoked);
	unsigned char *back = NULL;
	int blen = i2d_X509_CRL(x, &back);
	FUZZ_CHECK(blen > 0 && (size_t)blen == crl.len && !memcmp(back, crl.data, crl.len));
	OPENSSL_free(back);
	X509_CRL_free(x);
	dbuf_free(&crl);
	ERR_clear_error();
}

static void fuzz_crl(const uint8_t *data, size_t size, const struct policy_profile *p)
{
	static struct tbs_crl t;
	char why[TBS_WHY_MAX] = "";
	if (!tbs_crl_parse(span_make(data, size), &t, why)) {
		FUZZ_CHECK(fuzz_why_ok(why, TBS_WHY_MAX));
		return;
	}
	FUZZ_CHECK(IN(t.sigalg) && IN(t.issuer));
	fuzz_exts_within(data, size, t.ext, t.n_ext);
	FUZZ_CHECK(!t.has_aki || (IN(t.aki_keyid) && t.aki_keyid.len > 0));
	why[0] = 0;
	int rc = policy_check_crl(&t, &fuzz_iss, p, why);
	FUZZ_CHECK(rc == 0 || (rc == HSMCA_ERR_POLICY && fuzz_why_ok(why, TBS_WHY_MAX)));
	if (rc == 0)
		fuzz_crl_openssl(data, size, &t);
	why[0] = 0;
	rc = policy_check_crl_clock(&t, FUZZ_NOW, why);
	FUZZ_CHECK(rc == 0 || ((rc == HSMCA_ERR_POLICY || rc == HSMCA_ERR_EARLY) && fuzz_why_ok(why, TBS_WHY_MAX)));
}

/* A ResponseData the checks passed, as OpenSSL reads it: it parses, with every SingleResponse, and re-encodes
 * to the same bytes. */
static void fuzz_ocsp_openssl(const uint8_t *data, size_t size, const struct tbs_ocsp *t)
{
	const unsigned char *q = data;
	OCSP_RESPDATA *rd = d2i_OCSP_RESPDATA(NULL, &q, (long)size);
	FUZZ_CHECK(rd && q == data + size);
	unsigned char *back = NULL;
	int blen = i2d_OCSP_RESPDATA(rd, &back);
	FUZZ_CHECK(blen > 0 && (size_t)blen == size && !memcmp(back, data, size));
	OPENSSL_free(back);
	OCSP_RESPDATA_free(rd);
	(void)t;
	ERR_clear_error();
}

static void fuzz_ocsp(const uint8_t *data, size_t size, const struct policy_profile *p)
{
	struct tbs_ocsp t;
	char why[TBS_WHY_MAX] = "";
	if (!tbs_ocsp_parse(span_make(data, size), &t, why)) {
		FUZZ_CHECK(fuzz_why_ok(why, TBS_WHY_MAX));
		return;
	}
	FUZZ_CHECK(IN(t.responder) && IN(t.issuer_key_hash) && t.n_responses > 0);
	FUZZ_CHECK(!t.by_key || t.responder.len == POLICY_SHA1_LEN);
	why[0] = 0;
	FUZZ_CHECK(t.this_update_min <= t.this_update_max);
	int rc = policy_check_ocsp(&t, &fuzz_iss, p, why);
	FUZZ_CHECK(rc == 0 || (rc == HSMCA_ERR_POLICY && fuzz_why_ok(why, TBS_WHY_MAX)));
	if (rc == 0)
		fuzz_ocsp_openssl(data, size, &t);
	why[0] = 0;
	rc = policy_check_ocsp_clock(&t, p, FUZZ_NOW, why);
	FUZZ_CHECK(rc == 0 || ((rc == HSMCA_ERR_POLICY || rc == HSMCA_ERR_EARLY) && fuzz_why_ok(why, TBS_WHY_MAX)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct policy_profile *profiles[4] = {
		&fuzz_open, &fuzz_open_delegated, &fuzz_strict, &fuzz_deny,
	};
	if (size < 1)
		return 0;
	fuzz_setup();
	static struct policy_profile pinned; /* large: not on the stack */
	uint8_t sel = data[0], kind = sel & 3;
	const struct policy_profile *p = profiles[(sel >> 2) & 3];
	if (sel & 0x10) { /* the same profile with URL pins (policy_check_urls): certificates carry these exactly */
		pinned = *p;
		strcpy(pinned.crl_url, "http://c.example/i.crl");
		strcpy(pinned.ocsp_url, "http://o.example/");
		p = &pinned;
	}
	data++;
	size--;
	if (kind == 0 || kind == 3)
		fuzz_cert(data, size, p);
	if (kind == 1 || kind == 3)
		fuzz_crl(data, size, p);
	if (kind == 2 || kind == 3)
		fuzz_ocsp(data, size, p);
	return 0;
}
