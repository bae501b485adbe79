/* fuzz_csrpolicy: a request's way from its bytes to the TBS the signer is asked to sign, and the rule that the
 * frontend's TBS is "linted with the same checks the signer runs" as an invariant. issue_check (frontend/issue.c,
 * the checks of every issuance path) runs csr_parse, a CFSSL hosts list (issue_hosts) or a stored SAN list
 * (issue_sans_text) in place of the request's names, profile_check_request (policy/profile.c: DNS, wildcard,
 * IP and email rules), issuerfit_check_names (the issuer's nameConstraints, fuzz_issuer_nc) and issue_build_tbs (tbsbuild_leaf and the frontend's own lint). The profiles and the
 * signer's pinned keys are parsed from the fixed texts below by the real parsers (profiles_parse,
 * sgn_config_parse), configured as an operator would: each signer key pins what its profile asks for.
 *
 * Input: one selector byte, the names (up to the first NUL; empty for the request's own), a NUL, the request.
 *   bits 0-1: the profile: 0 "web" (wildcards, email, IP ranges), 1 "tight" (one exact name, login),
 *             2 "sub" (a CA with IP ranges and dn_prefix), 3 "sub-noip" (a CA that excludes every address)
 *   bits 2-3: the names: 0 and 3 the request's own, 1 a CFSSL hosts list (the names as JSON; an array is
 *             passed as /sign passes one), 2 a stored SAN list (the names as text, as a renewal reads its row)
 *   bit 4:    the request: 0 the bytes as they are (PEM or DER), 1 a CertificationRequestInfo signed here with
 *             the fixed key (fuzz_csrsign.h), so that mutated names get past the signature
 *   bit 5:    the clock of the deterministic rebuild: 0 2026-01-01, 1 2049-12-01 (validity ends in 2052:
 *             GeneralizedTime)
 *
 * Invariants (a trap is a bug in the frontend or a disagreement between the frontend and the signer):
 *   - issue_check accepted: its TBS parses (tbs_cert_parse) and passes the signer's checks (policy_check_cert
 *     under the signer key pinned for the profile's issuer, policy_check_cert_clock now); the serial is 34
 *     lowercase hex digits and the validity the TBS's.
 *   - issue_check accepted: tbsbuild_leaf at a fixed serial and clock builds a TBS that parses, passes the
 *     signer's checks at that clock, and carries exactly the names the profile checked (subjectAltName in
 *     order and type, the CN tbsbuild_cn picks).
 *   - issue_check refused for policy (403) although profile_check_request accepts the names: the frontend
 *     could not build or lint a certificate for a request its profile allows, or the issuer's name
 *     constraints, which issuerfit_check_profile found to hold every name the profile allows, refused one.
 *   - a refusal has a status, a code and a reason. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <time.h>

#include "app.h"
#include "cfssl.h"
#include "conf.h"
#include "config.h"
#include "csr.h"
#include "fuzz_common.h"
#include "fuzz_csrsign.h"
#include "issue_priv.h"
#include "issuerfit.h"
#include "json.h"
#include "policy.h"
#include "profile.h"
#include "tbs.h"
#include "tbsbuild.h"

#define FUZZ_SEL_PROFILE(s) ((s) & 3u)
#define FUZZ_SEL_NAMES(s) (((s) >> 2) & 3u)
#define FUZZ_SEL_SIGN 0x10u
#define FUZZ_SEL_LATE 0x20u
#define FUZZ_NAMES_HOSTS 1u
#define FUZZ_NAMES_TEXT 2u
#define FUZZ_NOW ((time_t)1767225600)      /* 2026-01-01 */
#define FUZZ_NOW_LATE ((time_t)2521929600) /* 2049-12-01 */
#define FUZZ_DAY 86400
#define FUZZ_KEYID_BYTE 0x5a
#define FUZZ_KEYID_LEN 20
#define FUZZ_SERIAL_BYTE 0xa5
#define FUZZ_JSON_ERR_MAX 128

/* The frontend's profiles (their issuer_cert paths are never read here). */
static const char fuzz_profiles_text[] =
	"[profile web]\n"
	"issuer = fuzz-web\nissuer_cert = /nonexistent/web.pem\n"
	"key_types = p256, p384, rsa2048, rsa3072, rsa4096\n"
	"dns_suffixes = .example, .example.com, example.com, example.org, a.test\n"
	"ip_ranges = 192.0.2.0/24, 10.0.0.0/8, 2001:db8::/32, fd00::/8\n"
	"allow_wildcard = yes\nallow_email = yes\nmax_sans = 100\nmax_validity_days = 825\n"
	"key_usage = digitalSignature, keyEncipherment, keyAgreement\neku = serverAuth, clientAuth\n"
	"accounts = *\ncrl_url = http://crl.example/web.crl\nocsp_url = http://ocsp.example/\n"
	"[profile tight]\n"
	"issuer = fuzz-tight\nissuer_cert = /nonexistent/tight.pem\nkey_types = p256\n"
	"dns_suffixes = a.example\nmax_sans = 2\nmax_validity_days = 90\nkey_usage = digitalSignature\n"
	"eku = clientAuth\nlogin = yes\naccounts = fuzz\n"
	"crl_url = https://crl.example/tight.crl\nocsp_url = https://ocsp.example/tight\n"
	"[profile sub]\n"
	"issuer = fuzz-sub\nissuer_cert = /nonexistent/sub.pem\nkey_types = p256, p384, rsa2048\n"
	"ca = yes\npath_length = 1\nkey_usage = keyCertSign, cRLSign, digitalSignature\n"
	"eku = serverAuth, clientAuth\ndns_suffixes = .example, example.com\n"
	"ip_ranges = 192.0.2.0/24, 2001:db8::/32\ndn_prefix = /O=Example\nmax_sans = 10\n"
	"max_validity_days = 825\naccounts = *\n"
	"crl_url = http://crl.example/sub.crl\nocsp_url = http://ocsp.example/sub\n"
	"[profile sub-noip]\n"
	"issuer = fuzz-sub-noip\nissuer_cert = /nonexistent/sub-noip.pem\nkey_types = p256\n"
	"ca = yes\npath_length = 0\nkey_usage = keyCertSign\ndns_suffixes = example.org, .a.test\n"
	"max_sans = 10\nmax_validity_days = 400\naccounts = *\n"
	"crl_url = http://crl.example/n.crl\nocsp_url = http://ocsp.example/n\n";

/* The signer's keys, one per profile, each pinning what its profile asks for. */
static const char fuzz_signer_text[] =
	"[signer]\nmodule = /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so\ntoken_label = hsmca\n"
	"socket = /run/hsmca/signer.sock\ncontrol_socket = /run/hsmca/control.sock\n"
	"p11kit_server_address = unix:path=/run/p11-kit/fuzz\n"
	"[key web]\nlabel = fuzz-web\ncert = /nonexistent/web.pem\noperations = cert\n"
	"key_usage = digitalSignature, keyEncipherment, keyAgreement\neku = serverAuth, clientAuth\n"
	"max_validity_days = 825\n"
	"[key tight]\nlabel = fuzz-tight\ncert = /nonexistent/tight.pem\noperations = cert\n"
	"key_usage = digitalSignature\neku = clientAuth\nmax_validity_days = 90\n"
	"[key sub]\nlabel = fuzz-sub\ncert = /nonexistent/sub.pem\noperations = cert\nca = yes\nmax_pathlen = 1\n"
	"key_usage = keyCertSign, cRLSign, digitalSignature\neku = serverAuth, clientAuth\n"
	"max_validity_days = 825\n"
	"ca_permitted = DNS:example, DNS:example.com, IP:192.0.2.0/24, IP:2001:db8::/32\n"
	"ca_permitted_dn = /O=Example\n"
	"[key sub-noip]\nlabel = fuzz-sub-noip\ncert = /nonexistent/sub-noip.pem\noperations = cert\nca = yes\n"
	"max_pathlen = 0\nkey_usage = keyCertSign\nmax_validity_days = 400\n"
	"ca_permitted = DNS:example.org, DNS:a.test\n";

/* Name "CN=x" and ecdsa-with-SHA256: the fixed issuer of every profile, as in fuzz_tbs.c */
static const uint8_t fuzz_issuer_name[] = { 0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03,
					    0x55, 0x04, 0x03, 0x0c, 0x01, 0x78 };
static const uint8_t fuzz_sigalg[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };

/* The nameConstraints of the issuer of profiles web and sub: exactly the names web allows (sub's are among
 * them), so issuerfit_check_profile passes both, and issuerfit_check_names may refuse no name they accept
 * (an IP-only leaf loses its CN instead: csr.no_cn). */
static const char fuzz_issuer_nc[] =
	"critical,permitted;DNS:.example,permitted;DNS:example.com,permitted;DNS:example.org,permitted;DNS:a.test,"
	"permitted;IP:192.0.2.0/255.255.255.0,permitted;IP:10.0.0.0/255.0.0.0,permitted;IP:2001:db8::/ffff:ffff::,"
	"permitted;IP:fd00::/ff00::,permitted;email:.example,permitted;email:example.com,"
	"permitted;email:.example.com,permitted;email:example.org,permitted;email:a.test,excluded;DNS:zz.example";

/* A DNS name fuzz_issuer_nc's exclusion refuses: zz.example and below it, and *.example, which could stand for
 * zz.example (issuerfit.c) */
static bool fuzz_excluded(const struct csr *c)
{
	for (size_t i = 0; i < c->n_sans; i++) {
		char low[CSR_SAN_MAX + 1];
		size_t n = strlen(c->sans[i].value);
		if (c->sans[i].type != CSR_SAN_DNS || n >= sizeof(low))
			continue;
		for (size_t k = 0; k <= n; k++)
			low[k] = (char)tolower((unsigned char)c->sans[i].value[k]);
		if (!strcmp(low, "zz.example") || !strcmp(low, "*.example") ||
		    (n > 11 && !strcmp(low + n - 11, ".zz.example")))
			return true;
	}
	return false;
}

static struct app fuzz_app;
static struct sgn_config fuzz_sgn;
static const struct policy_profile *fuzz_pins[PROF_MAX]; /* the signer key of each profile's issuer */

/* A self-signed CA certificate with fuzz_issuer_nc, in the issuer_fit of profiles web (0) and sub (2). */
static void fuzz_setup_fit(void)
{
	char err[CONF_ERR_MAX];
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e = NULL;
	FUZZ_CHECK(k && x && X509_set_version(x, X509_VERSION_3) && X509_set_pubkey(x, k));
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	FUZZ_CHECK((e = X509V3_EXT_conf_nid(NULL, &ctx, NID_name_constraints, fuzz_issuer_nc)) && X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
	FUZZ_CHECK(X509_sign(x, k, EVP_sha256()));
	for (unsigned i = 0; i < 3; i += 2) {
		FUZZ_CHECK(issuerfit_push(&fuzz_app.issuer_fit[i], x) == 0);
		FUZZ_CHECK(issuerfit_check_profile(&fuzz_app.issuer_fit[i], &fuzz_app.profiles.p[i], err) == 0);
	}
	X509_free(x); /* the fits hold their own references */
	EVP_PKEY_free(k);
}

static void fuzz_setup(void)
{
	static bool done;
	char err[CONF_ERR_MAX];
	if (done)
		return;
	done = true;
	if (profiles_parse("fuzz-profiles", fuzz_profiles_text, sizeof(fuzz_profiles_text) - 1, &fuzz_app.profiles,
			   err) ||
	    sgn_config_parse("fuzz-signer", fuzz_signer_text, sizeof(fuzz_signer_text) - 1, &fuzz_sgn, err)) {
		fprintf(stderr, "fuzz_csrpolicy: %s\n", err);
		abort();
	}
	FUZZ_CHECK(fuzz_app.profiles.n == 4);
	for (unsigned i = 0; i < fuzz_app.profiles.n; i++) {
		struct policy_issuer *f = &fuzz_app.issuers[i].facts;
		memcpy(f->subject, fuzz_issuer_name, sizeof(fuzz_issuer_name));
		f->subject_len = sizeof(fuzz_issuer_name);
		memset(f->ski, FUZZ_KEYID_BYTE, FUZZ_KEYID_LEN);
		f->ski_len = FUZZ_KEYID_LEN;
		f->not_before = 631152000; /* 1990-01-01 */
		f->not_after = 4102444800; /* 2100-01-01 */
		memcpy(f->sigalg, fuzz_sigalg, sizeof(fuzz_sigalg));
		f->sigalg_len = sizeof(fuzz_sigalg);
		for (unsigned k = 0; k < fuzz_sgn.n_keys; k++)
			if (!strcmp(fuzz_sgn.keys[k].label, fuzz_app.profiles.p[i].issuer))
				fuzz_pins[i] = &fuzz_sgn.keys[k].profile;
		FUZZ_CHECK(fuzz_pins[i] != NULL);
	}
	fuzz_setup_fit();
}

/* What the signer runs on a SIGN_CERT (signer/dispatch.c): parse, the pinned profile, the clock. */
static void fuzz_signer_accepts(const uint8_t *tbs, size_t len, unsigned pi, time_t now, struct tbs_cert *t)
{
	char why[TBS_WHY_MAX] = "";
	FUZZ_CHECK(tbs_cert_parse(span_make(tbs, len), t, why));
	FUZZ_CHECK(policy_check_cert(t, &fuzz_app.issuers[pi].facts, fuzz_pins[pi], why) == 0);
	FUZZ_CHECK(policy_check_cert_clock(t, now, why) == 0);
}

/* The certificate names exactly what the profile checked: subjectAltName in order and type, and the CN. */
static void fuzz_names_carried(const struct tbs_cert *t, const struct csr *c)
{
	const struct tbs_ext *e = tbs_ext_find(t->ext, t->n_ext, OID_SAN, sizeof(OID_SAN));
	struct span in, seq, v;
	uint8_t tag, ip[16];
	FUZZ_CHECK(e != NULL);
	in = e->value;
	FUZZ_CHECK(der_get(&in, &seq, DER_SEQUENCE) && span_len(&in) == 0);
	for (size_t i = 0; i < c->n_sans; i++) {
		const struct csr_san *s = &c->sans[i];
		FUZZ_CHECK(der_get_any(&seq, &tag, &v, NULL));
		if (s->type == CSR_SAN_IP) {
			size_t n = inet_pton(AF_INET, s->value, ip) == 1 ? 4 : 16;
			FUZZ_CHECK(n == 4 || inet_pton(AF_INET6, s->value, ip) == 1);
			FUZZ_CHECK(tag == (DER_CONTEXT | 7) && v.len == n && memcmp(v.data, ip, n) == 0);
		} else {
			FUZZ_CHECK(tag == (DER_CONTEXT | (s->type == CSR_SAN_DNS ? 2 : 1)) && s->type != CSR_SAN_URI);
			FUZZ_CHECK(v.len == strlen(s->value) && memcmp(v.data, s->value, v.len) == 0);
		}
	}
	FUZZ_CHECK(span_len(&seq) == 0);
	/* Name: SEQUENCE { SET { SEQUENCE { OID CN, UTF8String cn } } }, or empty with a critical SAN */
	const char *cn = tbsbuild_cn(c);
	in = t->subject;
	FUZZ_CHECK(der_get(&in, &seq, DER_SEQUENCE) && span_len(&in) == 0);
	if (!cn) {
		FUZZ_CHECK(span_len(&seq) == 0 && e->critical);
		return;
	}
	struct span rdn, atv, oid;
	FUZZ_CHECK(der_get(&seq, &rdn, DER_SET) && span_len(&seq) == 0 && der_get(&rdn, &atv, DER_SEQUENCE) &&
		   span_len(&rdn) == 0 && der_get_oid(&atv, &oid) && der_get(&atv, &v, DER_UTF8STRING) &&
		   span_len(&atv) == 0 && v.len == strlen(cn) && memcmp(v.data, cn, v.len) == 0);
}

/* tbsbuild_leaf at a fixed serial and clock, then the signer's checks at that clock. */
static void fuzz_rebuild(unsigned pi, const struct csr *c, time_t now)
{
	static struct tbs_cert t;
	const struct profile *p = &fuzz_app.profiles.p[pi];
	const struct policy_issuer *iss = &fuzz_app.issuers[pi].facts;
	uint8_t serial[TBSBUILD_SERIAL_RANDOM];
	char why[TBS_WHY_MAX] = "";
	struct dbuf b;
	time_t nb = now - 60, na = nb + (time_t)p->max_validity_days * FUZZ_DAY - 1;
	if (na > iss->not_after)
		na = iss->not_after;
	memset(serial, FUZZ_SERIAL_BYTE, sizeof(serial));
	dbuf_init(&b);
	int rc = tbsbuild_leaf(p, iss, c, serial, nb, na, &b, why);
	FUZZ_CHECK(rc == 0 || rc == HSMCA_ERR_NOMEM);
	if (rc == 0) {
		fuzz_signer_accepts(b.data, b.len, pi, now, &t);
		FUZZ_CHECK(t.not_before == nb && t.not_after == na);
		fuzz_names_carried(&t, c);
	}
	dbuf_free(&b);
}

/* issue_check accepted: the TBS it built is one the signer signs. */
static void fuzz_accepted(unsigned pi, const struct issue_outcome *o, const struct csr *c, const struct dbuf *tbs,
			  const time_t validity[2], uint8_t sel)
{
	static struct tbs_cert t;
	size_t n = strlen(o->serial);
	FUZZ_CHECK(n == 2 * TBSBUILD_SERIAL_LEN);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((o->serial[i] >= '0' && o->serial[i] <= '9') || (o->serial[i] >= 'a' && o->serial[i] <= 'f'));
	fuzz_signer_accepts(tbs->data, tbs->len, pi, time(NULL), &t);
	FUZZ_CHECK(t.not_before == validity[0] && t.not_after == validity[1]);
	/* under the issuer's dNSName subtrees (profiles web and sub) a leaf without a DNS name has no CN, which
	 * verifiers would check as a DNS name; a CA keeps its CN */
	bool has_dns = false;
	for (size_t i = 0; i < c->n_sans; i++)
		has_dns = has_dns || c->sans[i].type == CSR_SAN_DNS;
	FUZZ_CHECK(c->no_cn == (pi == 0 && !has_dns));
	FUZZ_CHECK(!((pi == 0 || pi == 2) && fuzz_excluded(c))); /* never a certificate for an excluded name */
	fuzz_names_carried(&t, c);
	fuzz_rebuild(pi, c, (sel & FUZZ_SEL_LATE) ? FUZZ_NOW_LATE : FUZZ_NOW);
}

/* issue_check refused: never for policy when the profile accepts the names it was left with. */
static void fuzz_refused(const struct profile *p, const struct issue_outcome *o, const struct csr *c)
{
	int types[CSR_MAX_SANS];
	const char *names[CSR_MAX_SANS];
	char why[PROF_WHY_MAX];
	FUZZ_CHECK(o->status >= 400 && o->status < 500 && o->code && fuzz_why_ok(o->why, sizeof(o->why)));
	/* the subject rules are the TBS builder's, not the profile's: a CA needs a CN (a SAN of at most 64
	 * characters), and no CN may be the issuer's name */
	if (o->status != 403 || strcmp(o->code, "policy") != 0 || !c->pubkey || !strncmp(o->why, "subject: ", 9))
		return;
	/* the issuer's constraints hold every name the profile allows but those under its exclusion, so they
	 * refuse only those and a name in capitals (GnuTLS compares them case-sensitively) */
	if (!strncmp(o->why, "issuer-name-constraints: ", 25)) {
		bool upper = false;
		for (size_t i = 0; i < c->n_sans; i++)
			for (const char *ch = c->sans[i].value; c->sans[i].type != CSR_SAN_IP && *ch; ch++)
				upper = upper || (*ch >= 'A' && *ch <= 'Z');
		FUZZ_CHECK((upper && strstr(o->why, "upper-case")) || fuzz_excluded(c));
		return;
	}
	for (size_t i = 0; i < c->n_sans; i++) {
		types[i] = (int)c->sans[i].type;
		names[i] = c->sans[i].value;
	}
	FUZZ_CHECK(profile_check_request(p, c->pubkey, types, names, c->n_sans, why) != 0);
}

static void fuzz_issue(uint8_t sel, const char *names, size_t names_len, const uint8_t *req, size_t req_len)
{
	unsigned pi = FUZZ_SEL_PROFILE(sel);
	const struct profile *p = &fuzz_app.profiles.p[pi];
	struct issue_extra x;
	struct issue_hostlist hosts;
	struct issue_outcome o;
	struct json_doc *doc = NULL;
	struct csr c;
	struct dbuf tbs;
	time_t validity[2] = { 0, 0 };
	char jerr[FUZZ_JSON_ERR_MAX];
	memset(&x, 0, sizeof(x));
	if (FUZZ_SEL_NAMES(sel) == FUZZ_NAMES_HOSTS) {
		bool has = false;
		if (json_parse(names, names_len, &doc, jerr, sizeof(jerr)) != 0 ||
		    cfssl_hosts_parse(json_root(doc), NULL, &hosts, &has, o.why) != 0 || !has)
			goto out; /* cfssl_sign_parse passes nothing else */
		x.hosts = &hosts;
	} else if (FUZZ_SEL_NAMES(sel) == FUZZ_NAMES_TEXT) {
		x.sans = names; /* NUL-terminated where the input's names end */
	}
	memset(&o, 0, sizeof(o));
	memset(&c, 0, sizeof(c));
	dbuf_init(&o.der);
	dbuf_init(&tbs);
	if (issue_check(&fuzz_app, "fuzz", p, (const char *)req, req_len, &x, &o, &c, &tbs, validity) == 0)
		fuzz_accepted(pi, &o, &c, &tbs, validity, sel);
	else
		fuzz_refused(p, &o, &c);
	csr_free(&c);
	dbuf_free(&tbs);
	dbuf_free(&o.der);
out:
	json_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fuzz_setup();
	uint8_t sel = data[0];
	const uint8_t *rest = data + 1, *nul = memchr(rest, 0, size - 1);
	size_t names_len = nul ? (size_t)(nul - rest) : size - 1;
	const uint8_t *req = nul ? nul + 1 : rest + names_len;
	size_t req_len = size - 1 - names_len - (nul ? 1 : 0);
	char *names = malloc(names_len + 1);
	struct dbuf b;
	FUZZ_CHECK(names != NULL);
	memcpy(names, rest, names_len);
	names[names_len] = 0;
	dbuf_init(&b);
	if (!(sel & FUZZ_SEL_SIGN))
		fuzz_issue(sel, names, names_len, req, req_len);
	else if (fuzz_csr_sign(req, req_len, &b))
		fuzz_issue(sel, names, names_len, b.data, b.len);
	dbuf_free(&b);
	free(names);
	return 0;
}
