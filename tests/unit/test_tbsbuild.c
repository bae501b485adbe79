/* frontend/tbsbuild.c: the DER leaf TBS must be byte for byte what OpenSSL's X509 API and X509V3_EXT_conf
 * built before it (the reference below is that former code), for many random requests and profiles; it
 * must parse with the signer's TBS parser and, signed, with d2i_X509; tbsbuild_pem_cert must equal
 * PEM_write_bio_X509 and refuse what is not a certificate. */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "certbuild.h"
#include "check.h"
#include "db.h"
#include "issue.h"
#include "tbs.h"
#include "tbs_build.h"
#include "tbsbuild.h"

#define ROUNDS 600
#define TB_YEAR 31557600L

static const char *const ku_names[] = { "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
					"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly" };
static const char *const eku_names[] = { "serverAuth", "clientAuth", "codeSigning", "emailProtection",
					 "timeStamping", "OCSPSigning" };

static unsigned rnd(unsigned n)
{
	unsigned v = 0;
	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		abort();
	return v % n;
}

static void list_add(char *out, size_t max, const char *item)
{
	size_t n = strlen(out);
	snprintf(out + n, max - n, "%s%s", n ? "," : "", item);
}

/* The former issue_build_tbs body: X509 object, config-string extensions, certbuild_tbs. */
/* OpenSSL's extension text names a dirName by a config section, so the reference appends the profile's
 * dn_prefix to the permitted subtrees itself (after the IP ranges, where the builder writes it). */
static bool ref_add_dirname(X509 *x, const struct profile *p)
{
	int crit = 0;
	NAME_CONSTRAINTS *nc = X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL);
	const unsigned char *d = p->dn_prefix;
	X509_NAME *dn = d2i_X509_NAME(NULL, &d, (long)p->dn_prefix_len);
	GENERAL_SUBTREE *st = GENERAL_SUBTREE_new();
	bool ok = nc && dn && st && crit == 1 && nc->permittedSubtrees;
	if (ok) {
		GENERAL_NAME_set0_value(st->base, GEN_DIRNAME, dn);
		dn = NULL;
		ok = sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, st) > 0;
		if (ok)
			st = NULL;
	}
	ok = ok && X509_add1_ext_i2d(x, NID_name_constraints, nc, 1, X509V3_ADD_REPLACE) == 1;
	GENERAL_SUBTREE_free(st);
	X509_NAME_free(dn);
	NAME_CONSTRAINTS_free(nc);
	return ok;
}

static bool ref_tbs(const struct fx *f, const struct profile *p, const struct csr *csr, EVP_PKEY *key,
		    const uint8_t *serial, time_t nb, time_t na, struct dbuf *out)
{
	static const char *const san_prefix[] = { "", "DNS:", "IP:", "email:", "URI:" };
	char ku[256] = "critical", eku[256] = "", san[2048] = "", v[600];
	X509 *x = X509_new();
	X509_NAME *subj = X509_NAME_new();
	ASN1_INTEGER *ser = certbuild_serial(serial, TBSBUILD_SERIAL_RANDOM);
	const char *cn = NULL; /* the first SAN of at most 64 characters (all ASCII here); none: empty subject */
	for (size_t i = 0; !cn && i < csr->n_sans; i++)
		if (strlen(csr->sans[i].value) <= 64)
			cn = csr->sans[i].value;
	if (!cn && p->ca) { /* a CA's subject is never empty (RFC 5280 4.1.2.6): refused */
		X509_free(x);
		X509_NAME_free(subj);
		ASN1_INTEGER_free(ser);
		return false;
	}
	if (!cn)
		snprintf(san, sizeof(san), "critical"); /* RFC 5280 4.2.1.6 */
	bool ok = x && subj && ser &&
		  (!cn || X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0)) &&
		  X509_set_version(x, X509_VERSION_3) && X509_set_serialNumber(x, ser) && X509_set_subject_name(x, subj) &&
		  X509_set_issuer_name(x, X509_get_subject_name(f->ca)) && X509_set_pubkey(x, key) &&
		  X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) && X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na);
	/* the profile's key usages the key's type permits: RFC 5480 (EC), RFC 3279 (RSA) */
	unsigned forbidden = EVP_PKEY_is_a(key, "EC") ? (1u << 2 | 1u << 3) : (1u << 4 | 1u << 7 | 1u << 8), kus = 0;
	for (unsigned i = 0; i < 9; i++)
		if (p->key_usage & ~forbidden & (1u << i)) {
			list_add(ku, sizeof(ku), ku_names[i]);
			kus++;
		}
	ok = ok && (!p->key_usage || kus); /* none left: refused */
	if (!p->ca && p->n_eku == 1 && !strcmp(p->eku[0], "timeStamping")) /* RFC 3161 2.3: critical, the only one */
		list_add(eku, sizeof(eku), "critical");
	for (size_t i = 0; i < p->n_eku; i++)
		list_add(eku, sizeof(eku), p->eku[i]);
	for (size_t i = 0; i < csr->n_sans; i++) {
		snprintf(v, sizeof(v), "%s%s", san_prefix[csr->sans[i].type], csr->sans[i].value);
		list_add(san, sizeof(san), v);
	}
	char bc[64] = "critical,CA:FALSE", nc[PROF_LIST_MAX * 2 * 120] = "critical";
	if (p->ca)
		snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%u", p->path_length);
	for (unsigned i = 0; i < p->n_dns; i++) {
		snprintf(v, sizeof(v), "permitted;DNS:%s", p->dns_suffixes[i]);
		list_add(nc, sizeof(nc), v);
	}
	for (unsigned i = 0; i < p->n_dns; i++) {
		snprintf(v, sizeof(v), "permitted;email:%s", p->dns_suffixes[i]);
		list_add(nc, sizeof(nc), v);
	}
	for (unsigned i = 0; i < p->n_dns; i++) {
		snprintf(v, sizeof(v), "permitted;URI:%s", p->dns_suffixes[i]);
		list_add(nc, sizeof(nc), v);
	}
	for (unsigned i = 0; i < p->n_ip; i++) { /* the range's base address and its mask, as text */
		const struct prof_iprange *r = &p->ip_ranges[i];
		size_t n = r->family == AF_INET ? 4 : 16;
		uint8_t base[16], mask[16] = { 0 };
		char bt[64], mt[64];
		for (unsigned bit = 0; bit < r->prefix; bit++)
			mask[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
		for (size_t k = 0; k < n; k++)
			base[k] = r->addr[k] & mask[k];
		inet_ntop(r->family, base, bt, sizeof(bt));
		inet_ntop(r->family, mask, mt, sizeof(mt));
		snprintf(v, sizeof(v), "permitted;IP:%s/%s", bt, mt);
		list_add(nc, sizeof(nc), v);
	}
	bool v4 = false, v6 = false; /* each address family without a range is excluded whole */
	for (unsigned i = 0; i < p->n_ip; i++)
		*(p->ip_ranges[i].family == AF_INET ? &v4 : &v6) = true;
	if (!v4)
		list_add(nc, sizeof(nc), "excluded;IP:0.0.0.0/0.0.0.0");
	if (!v6)
		list_add(nc, sizeof(nc), "excluded;IP:::/::");
	for (unsigned i = 0; i < p->n_ip; i++)
		if (profile_range_meets_v4mapped(&p->ip_ranges[i])) {
			list_add(nc, sizeof(nc), "excluded;IP:::ffff:0:0/ffff:ffff:ffff:ffff:ffff:ffff::");
			break;
		}
	ok = ok && !certbuild_add_ext(x, f->ca, NID_basic_constraints, bc) &&
	     (!kus || !certbuild_add_ext(x, f->ca, NID_key_usage, ku)) &&
	     (!p->n_eku || !certbuild_add_ext(x, f->ca, NID_ext_key_usage, eku)) &&
	     !certbuild_add_ext(x, f->ca, NID_subject_alt_name, san) &&
	     !certbuild_add_ext(x, f->ca, NID_subject_key_identifier, "hash") &&
	     !certbuild_add_ext(x, f->ca, NID_authority_key_identifier, "keyid:always");
	if (ok && p->ca)
		ok = !certbuild_add_ext(x, f->ca, NID_name_constraints, nc) && (!p->dn_prefix_len || ref_add_dirname(x, p));
	if (ok) {
		snprintf(v, sizeof(v), "URI:%s", p->crl_url);
		ok = !certbuild_add_ext(x, f->ca, NID_crl_distribution_points, v);
	}
	if (ok) {
		snprintf(v, sizeof(v), "OCSP;URI:%s", p->ocsp_url);
		ok = !certbuild_add_ext(x, f->ca, NID_info_access, v);
	}
	ok = ok && !certbuild_tbs(x, f->sigalg, out);
	X509_free(x);
	X509_NAME_free(subj);
	ASN1_INTEGER_free(ser);
	return ok;
}

static void random_san(struct csr_san *s)
{
	uint8_t ip[16];
	char label[80];
	unsigned len = 1 + rnd(rnd(4) == 0 ? 70 : 12);
	for (unsigned i = 0; i < len; i++)
		label[i] = "abcdefghijklmnopqrstuvwxyz0123456789-"[rnd(i == 0 ? 36 : 37)];
	label[len] = '\0';
	switch (rnd(5)) {
	case 0:
		s->type = CSR_SAN_IP;
		if (RAND_bytes(ip, sizeof(ip)) != 1)
			abort();
		inet_ntop(AF_INET, ip, s->value, sizeof(s->value));
		break;
	case 1:
		s->type = CSR_SAN_IP;
		if (RAND_bytes(ip, sizeof(ip)) != 1)
			abort();
		inet_ntop(AF_INET6, ip, s->value, sizeof(s->value));
		break;
	case 2:
		s->type = CSR_SAN_EMAIL;
		snprintf(s->value, sizeof(s->value), "%s@example.com", label);
		break;
	case 3:
		s->type = CSR_SAN_URI;
		snprintf(s->value, sizeof(s->value), "https://%s.example/path", label);
		break;
	default:
		s->type = CSR_SAN_DNS;
		snprintf(s->value, sizeof(s->value), "%s%s.example.com", rnd(5) ? "" : "*.", label);
	}
}

static void random_profile(struct profile *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "server");
	p->max_validity_days = 1 + rnd(3650);
	p->key_usage = (uint16_t)rnd(1u << 9);
	if (rnd(3) == 0)
		p->key_usage &= 0x1f; /* leaf bits only */
	if (p->key_usage & (TBS_KU_ENCIPHER_ONLY | TBS_KU_DECIPHER_ONLY)) /* as prof_validate admits them */
		p->key_usage = (uint16_t)((p->key_usage | TBS_KU_KEY_AGREEMENT) &
					  ~(rnd(2) ? TBS_KU_ENCIPHER_ONLY : TBS_KU_DECIPHER_ONLY));
	for (unsigned i = 0; i < 6; i++)
		if (rnd(3) == 0)
			snprintf(p->eku[p->n_eku++], sizeof(p->eku[0]), "%s", eku_names[i]);
	/* every profile has both (prof_check_urls) */
	snprintf(p->crl_url, sizeof(p->crl_url), "http://crl.example.com/%u.crl", rnd(100000));
	snprintf(p->ocsp_url, sizeof(p->ocsp_url), "http://ocsp.example.com/%u", rnd(100000));
	if (rnd(3) == 0) { /* a CA profile: its DNS suffixes and IP ranges become nameConstraints */
		p->ca = true;
		p->has_path_length = true;
		p->path_length = rnd(PROF_PATH_LENGTH_MAX + 1);
		p->key_usage |= TBS_KU_KEY_CERT_SIGN;
		for (unsigned n = 1 + rnd(3), i = 0; i < n; i++) /* a CA profile has at least one */
			snprintf(p->dns_suffixes[p->n_dns++], sizeof(p->dns_suffixes[0]), "%s%c%u.example.com",
				 rnd(2) ? "." : "", 'a' + (char)i, rnd(1000));
		char dn[128], why[POLICY_DN_WHY_MAX];
		snprintf(dn, sizeof(dn), "/C=US/O=Org %u%s", rnd(1000), rnd(2) ? "/OU=Team" : "");
		if (rnd(2) && policy_dn_parse(dn, p->dn_prefix, sizeof(p->dn_prefix), &p->dn_prefix_len, why))
			abort();
		for (unsigned n = rnd(4), i = 0; i < n; i++) {
			struct prof_iprange *r = &p->ip_ranges[p->n_ip++];
			r->family = rnd(2) ? AF_INET : AF_INET6;
			if (RAND_bytes(r->addr, sizeof(r->addr)) != 1)
				abort();
			r->prefix = rnd(r->family == AF_INET ? 33 : 129);
		}
	}
}

static void set_spki(struct csr *c, EVP_PKEY *key)
{
	unsigned char *p = c->spki;
	int n = i2d_PUBKEY(key, NULL);
	if (n <= 0 || (size_t)n > sizeof(c->spki) || i2d_PUBKEY(key, &p) != n)
		abort();
	c->spki_len = (size_t)n;
}

/* Signs tbs with the CA key into a whole certificate (as the signer assembles it). */
static void sign_cert(const struct fx *f, const struct dbuf *tbs, struct dbuf *cert)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[256];
	size_t sig_len = sizeof(sig);
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, f->ca_key) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, tbs->data, tbs->len) != 1)
		abort();
	EVP_MD_CTX_free(md);
	certbuild_assemble(cert, span_make(tbs->data, tbs->len), f->sigalg, sig, sig_len, NULL, 0);
}

static void check_pem(const struct dbuf *cert)
{
	const unsigned char *p = cert->data;
	X509 *x = d2i_X509(NULL, &p, (long)cert->len);
	BIO *b = BIO_new(BIO_s_mem());
	char *want = NULL, *got = tbsbuild_pem_cert(cert->data, cert->len);
	long wl = 0;
	CHECK(x && b && PEM_write_bio_X509(b, x) && (wl = BIO_get_mem_data(b, &want)) > 0);
	CHECKF(got && want && strlen(got) == (size_t)wl && memcmp(got, want, (size_t)wl) == 0, "PEM differs:\n%s", got);
	free(got);
	X509_free(x);
	BIO_free(b);
}

static void test_random(struct fx *f)
{
	EVP_PKEY *keys[3] = { f->leaf_key, EVP_EC_gen("P-384"), EVP_RSA_gen(2048) };
	struct csr *c = calloc(1, sizeof(*c));
	struct profile *p = calloc(1, sizeof(*p));
	unsigned same = 0, refused = 0;
	CHECK(keys[1] && keys[2] && c && p);
	for (unsigned round = 0; round < ROUNDS && c && p && keys[1] && keys[2]; round++) {
		EVP_PKEY *key = keys[rnd(3)];
		uint8_t serial[TBSBUILD_SERIAL_RANDOM];
		time_t nb = f->now - 3600 + (time_t)rnd(40) * TB_YEAR, na = nb + 1 + (time_t)rnd(3650) * DAY;
		struct dbuf mine, ref;
		dbuf_init(&mine);
		dbuf_init(&ref);
		random_profile(p);
		memset(c, 0, sizeof(*c));
		c->n_sans = 1 + rnd(5);
		for (size_t i = 0; i < c->n_sans; i++)
			random_san(&c->sans[i]);
		set_spki(c, key);
		if (RAND_bytes(serial, sizeof(serial)) != 1)
			abort();
		int rc = tbsbuild_leaf(p, &f->iss, c, serial, nb, na, &mine, NULL);
		bool ref_ok = ref_tbs(f, p, c, key, serial, nb, na, &ref);
		ERR_clear_error();
		CHECKF((rc == 0) == ref_ok, "round %u: mine rc=%d, OpenSSL %s (first SAN %s)", round, rc,
		       ref_ok ? "built it" : "refused", c->sans[0].value);
		if (rc == 0 && ref_ok) {
			struct tbs_cert t;
			char why[TBS_WHY_MAX];
			struct dbuf cert;
			CHECKF(mine.len == ref.len && memcmp(mine.data, ref.data, mine.len) == 0, "round %u: bytes differ",
			       round);
			CHECKF(tbs_cert_parse(span_make(mine.data, mine.len), &t, why), "round %u: %s", round, why);
			dbuf_init(&cert);
			sign_cert(f, &mine, &cert);
			const unsigned char *q = cert.data;
			X509 *x = d2i_X509(NULL, &q, (long)cert.len);
			CHECKF(x && q == cert.data + cert.len && X509_verify(x, f->ca_key) == 1, "round %u: d2i/verify", round);
			X509_free(x);
			if (round % 50 == 0)
				check_pem(&cert);
			dbuf_free(&cert);
			same++;
		} else {
			refused++;
		}
		dbuf_free(&mine);
		dbuf_free(&ref);
	}
	CHECKF(same > ROUNDS / 2 && refused > 0, "same=%u refused=%u: the inputs should cover both", same, refused);
	EVP_PKEY_free(keys[1]);
	EVP_PKEY_free(keys[2]);
	free(c);
	free(p);
}

static void test_pem_refusals(void)
{
	static const uint8_t not_cert[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	static const uint8_t trailing[] = { 0x30, 0x08, 0x30, 0x00, 0x30, 0x00, 0x03, 0x02, 0x00, 0x00, 0x00 };
	static const uint8_t shaped[] = { 0x30, 0x08, 0x30, 0x00, 0x30, 0x00, 0x03, 0x02, 0x00, 0x00 };
	char *s;
	CHECK(tbsbuild_pem_cert(not_cert, sizeof(not_cert)) == NULL);
	CHECK(tbsbuild_pem_cert(trailing, sizeof(trailing)) == NULL);
	CHECK(tbsbuild_pem_cert(shaped, 0) == NULL);
	CHECK((s = tbsbuild_pem_cert(shaped, sizeof(shaped))) != NULL &&
	      strcmp(s, "-----BEGIN CERTIFICATE-----\nMAgwADAAAwIAAA==\n-----END CERTIFICATE-----\n") == 0);
	free(s);
}

/* The largest CA profile (PROF_LIST_MAX DNS suffixes of the longest length, PROF_LIST_MAX IP ranges): its TBS
 * parses, its name constraints fit the signer's parser, and a signer pinned to exactly those names signs it. */
static void test_largest_ca(struct fx *f)
{
	struct profile *p = calloc(1, sizeof(*p));
	struct csr *c = calloc(1, sizeof(*c));
	struct policy_profile *pin = calloc(1, sizeof(*pin));
	uint8_t serial[TBSBUILD_SERIAL_RANDOM] = { 1 };
	struct dbuf tbs;
	dbuf_init(&tbs);
	CHECK(p && c && pin);
	if (!p || !c || !pin)
		goto out;
	snprintf(p->name, sizeof(p->name), "big-ca");
	p->ca = p->has_path_length = true;
	p->key_usage = TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN;
	p->max_validity_days = 365;
	snprintf(p->eku[p->n_eku++], sizeof(p->eku[0]), "serverAuth"); /* the pin restricts EKUs, CAs' too */
	*pin = f->prof;
	pin->allow_ca = pin->ca_pinned = true;
	char dnwhy[POLICY_DN_WHY_MAX];
	CHECKF(policy_dn_parse("/C=US/O=Example/OU=A team with a long name/OU=And a unit", p->dn_prefix,
			       sizeof(p->dn_prefix), &p->dn_prefix_len, dnwhy) == 0 &&
		       policy_dn_parse("/C=US/O=Example", pin->ca_dn, sizeof(pin->ca_dn), &pin->ca_dn_len, dnwhy) == 0,
	       "%s", dnwhy);
	pin->ku_allowed |= p->key_usage;
	for (unsigned i = 0; i < PROF_LIST_MAX; i++) {
		char *d = p->dns_suffixes[p->n_dns++];
		int n = snprintf(d, PROF_NAME_MAX, ".%02u", i);
		memset(d + n, 'a', PROF_NAME_MAX - 1 - (size_t)n - 4);
		memcpy(d + PROF_NAME_MAX - 5, ".com", 5);
		memcpy(pin->ca_dns[pin->n_ca_dns++], d + 1, strlen(d)); /* the pin without the dot: wider */
		p->ip_ranges[p->n_ip] = (struct prof_iprange){ AF_INET6, { 0xfd, (uint8_t)i }, 16 };
		pin->ca_ip[pin->n_ca_ip++] = (struct policy_iprange){ true, { 0xfd, (uint8_t)i }, 16 };
		p->n_ip++;
	}
	c->n_sans = 1;
	c->sans[0].type = CSR_SAN_DNS;
	snprintf(c->sans[0].value, sizeof(c->sans[0].value), "ca.example.com"); /* the builder checks no names */
	set_spki(c, f->leaf_key);
	CHECK(tbsbuild_leaf(p, &f->iss, c, serial, f->now, f->now + 30 * DAY, &tbs, NULL) == 0);
	struct tbs_cert t;
	struct tbs_nc nc;
	char why[TBS_WHY_MAX] = "";
	CHECKF(tbs_cert_parse(span_make(tbs.data, tbs.len), &t, why), "%s", why);
	const struct tbs_ext *e = tbs_ext_find(t.ext, t.n_ext, OID_NC, sizeof(OID_NC));
	CHECKF(e && tbs_nc_parse(e->value, &nc, why) && nc.n_permitted == 4 * PROF_LIST_MAX + 1 && nc.n_excluded == 1,
	       "largest CA: %s", why); /* the IPv6 ranges, and every IPv4 address excluded */
	CHECKF(policy_check_cert(&t, &f->iss, pin, why) == 0, "largest CA under its pin: %s", why);
out:
	dbuf_free(&tbs);
	free(p);
	free(c);
	free(pin);
}

/* A plain leaf profile (digitalSignature, serverAuth, 90 days) and a request for www.example.com with key. */
static void plain_leaf(struct profile *p, struct csr *c, EVP_PKEY *key)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "server");
	snprintf(p->crl_url, sizeof(p->crl_url), "http://crl.example.com/int.crl");
	snprintf(p->ocsp_url, sizeof(p->ocsp_url), "http://ocsp.example.com/");
	snprintf(p->eku[p->n_eku++], sizeof(p->eku[0]), "serverAuth");
	p->max_validity_days = 90;
	p->key_usage = TBS_KU_DIGITAL_SIGNATURE;
	memset(c, 0, sizeof(*c));
	c->n_sans = 1;
	c->sans[0].type = CSR_SAN_DNS;
	snprintf(c->sans[0].value, sizeof(c->sans[0].value), "www.example.com");
	set_spki(c, key);
}

/* The subject is CN=<the first SAN of at most 64 characters>; with none that short an empty subject and a
 * critical subjectAltName (RFC 5280 4.2.1.6), which the signer's rules accept. */
static void test_subject(struct fx *f)
{
	static const uint8_t cn_short[] = { 0x30, 0x1a, 0x31, 0x18, 0x30, 0x16, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c,
					    0x0f, 'w', 'w', 'w', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o',
					    'm' };
	struct profile *p = calloc(1, sizeof(*p));
	struct csr *c = calloc(1, sizeof(*c));
	uint8_t serial[TBSBUILD_SERIAL_RANDOM] = { 1 };
	char longname[80];
	CHECK(p && c);
	if (!p || !c)
		goto out;
	memset(longname, 'a', 61);
	memcpy(longname + 61, ".example.com", 13); /* 73 characters */
	for (int only_long = 0; only_long < 2; only_long++) {
		struct dbuf tbs, cert;
		struct tbs_cert t;
		char why[TBS_WHY_MAX] = "";
		dbuf_init(&tbs);
		plain_leaf(p, c, f->leaf_key);
		c->n_sans = only_long ? 1 : 2;
		memcpy(c->sans[1].value, c->sans[0].value, sizeof(c->sans[0].value));
		c->sans[1].type = CSR_SAN_DNS;
		snprintf(c->sans[0].value, sizeof(c->sans[0].value), "%s", longname);
		int rc = tbsbuild_leaf(p, &f->iss, c, serial, f->now, f->now + 30 * DAY, &tbs, why);
		bool parsed = rc == 0 && tbs_cert_parse(span_make(tbs.data, tbs.len), &t, why);
		CHECKF(parsed, "long first SAN (only_long %d): rc %d why %s", only_long, rc, why);
		if (parsed) {
			const struct tbs_ext *san = tbs_ext_find(t.ext, t.n_ext, OID_SAN, sizeof(OID_SAN));
			if (only_long)
				CHECK(t.subject.len == 2 && san && san->critical);
			else
				CHECK(t.subject.len == sizeof(cn_short) && !memcmp(t.subject.data, cn_short, sizeof(cn_short)) &&
				      san && !san->critical);
			CHECKF(policy_check_cert(&t, &f->iss, &f->prof, why) == 0, "signer rules: %s", why);
			dbuf_init(&cert);
			sign_cert(f, &tbs, &cert);
			const unsigned char *q = cert.data;
			X509 *x = d2i_X509(NULL, &q, (long)cert.len);
			CHECK(x && X509_verify(x, f->ca_key) == 1 &&
			      X509_NAME_entry_count(X509_get_subject_name(x)) == (only_long ? 0 : 1));
			X509_free(x);
			dbuf_free(&cert);
		}
		dbuf_free(&tbs);
	}
out:
	free(p);
	free(c);
}

/* p: a CA profile (keyCertSign, cRLSign, .example.com) and c: a request for ca.example.com */
static void plain_ca(struct profile *p, struct csr *c, EVP_PKEY *key)
{
	plain_leaf(p, c, key);
	snprintf(c->sans[0].value, sizeof(c->sans[0].value), "ca.example.com");
	p->ca = p->has_path_length = true;
	p->key_usage = TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN;
	snprintf(p->dns_suffixes[p->n_dns++], sizeof(p->dns_suffixes[0]), ".example.com");
}

/* A CA profile's IP ranges: each address family with a range is permitted only within its ranges, and each
 * without one is excluded whole (0.0.0.0/0, ::/0), so no verifier leaves it open (GnuTLS constrains only the
 * families the permitted subtrees name); a signer pinned to those ranges signs each. */
static void test_ca_ip_families(struct fx *f)
{
	static const struct {
		const char *what;
		unsigned n_ip; /* ranges: 10.0.0.0/8 first, fd00::/8 second */
		bool v6_only;
		size_t want_excluded;
		uint8_t excluded_len; /* the one excluded subtree's iPAddress length, if one */
	} cases[] = {
		{ "no ranges", 0, false, 2, 0 },
		{ "IPv4 only", 1, false, 1, 32 },
		{ "IPv6 only", 1, true, 1, 8 },
		{ "both", 2, false, 0, 0 },
	};
	struct profile *p = calloc(1, sizeof(*p));
	struct csr *c = calloc(1, sizeof(*c));
	struct policy_profile *pin = calloc(1, sizeof(*pin));
	uint8_t serial[TBSBUILD_SERIAL_RANDOM] = { 1 };
	const struct prof_iprange v4 = { AF_INET, { 10 }, 8 }, v6 = { AF_INET6, { 0xfd }, 8 };
	CHECK(p && c && pin);
	for (size_t i = 0; p && c && pin && i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dbuf tbs;
		struct tbs_cert t;
		struct tbs_nc nc;
		char why[TBS_WHY_MAX] = "";
		plain_ca(p, c, f->leaf_key);
		*pin = f->prof;
		pin->allow_ca = pin->ca_pinned = true;
		pin->ku_allowed |= p->key_usage;
		snprintf(pin->ca_dns[pin->n_ca_dns++], sizeof(pin->ca_dns[0]), ".example.com");
		for (unsigned k = 0; k < cases[i].n_ip; k++) {
			bool six = cases[i].v6_only || k == 1;
			p->ip_ranges[p->n_ip++] = six ? v6 : v4;
			pin->ca_ip[pin->n_ca_ip++] = (struct policy_iprange){ six, { six ? 0xfd : 10 }, 8 };
		}
		dbuf_init(&tbs);
		CHECKF(tbsbuild_leaf(p, &f->iss, c, serial, f->now, f->now + 30 * DAY, &tbs, why) == 0 &&
			       tbs_cert_parse(span_make(tbs.data, tbs.len), &t, why),
		       "%s: %s", cases[i].what, why);
		const struct tbs_ext *e = tbs_ext_find(t.ext, t.n_ext, OID_NC, sizeof(OID_NC));
		bool parsed = e && tbs_nc_parse(e->value, &nc, why);
		CHECKF(parsed && nc.n_excluded == cases[i].want_excluded &&
			       (cases[i].want_excluded != 1 || nc.excluded[0].value.len == cases[i].excluded_len),
		       "%s: %zu excluded subtrees (%s)", cases[i].what, parsed ? nc.n_excluded : 0, why);
		for (size_t k = 0; parsed && k < nc.n_excluded; k++) { /* address and mask all zero: the whole family */
			bool zero = nc.excluded[k].tag == (DER_CONTEXT | 7);
			for (size_t b = 0; b < nc.excluded[k].value.len; b++)
				zero = zero && nc.excluded[k].value.data[b] == 0;
			CHECKF(zero, "%s: excluded subtree %zu is not a whole family", cases[i].what, k);
		}
		CHECKF(policy_check_cert(&t, &f->iss, pin, why) == 0, "%s: under a pin of its ranges: %s", cases[i].what, why);
		dbuf_free(&tbs);
	}
	free(p);
	free(c);
	free(pin);
}

/* A CA profile's IPv6 range over ::ffff:0:0/96 (::/0 here, with 10.0.0.0/8), or inside it (::ffff:8.8.8.0/120):
 * the mapped block is excluded, so Go, which takes ::ffff:8.8.8.8 as 8.8.8.8 and matches it against IPv6
 * subtrees only, cannot be given an IPv4 address outside 10/8 that way (the signer refuses either range
 * without it); a range beside the block (fd00::/8) excludes nothing. */
static void test_ca_v4mapped(struct fx *f)
{
	static const uint8_t mapped96[32] = { 0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0xff,
					      0xff, 0,    0,    0,    0,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,    0,    0,    0 };
	struct profile *p = calloc(1, sizeof(*p));
	struct csr *c = calloc(1, sizeof(*c));
	uint8_t serial[TBSBUILD_SERIAL_RANDOM] = { 1 };
	CHECK(p && c);
	static const struct prof_iprange inside = { AF_INET6, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 8, 8, 8 }, 120 };
	for (int k = 0; p && c && k < 3; k++) {
		struct dbuf tbs;
		struct tbs_cert t;
		struct tbs_nc nc;
		char why[TBS_WHY_MAX] = "";
		plain_ca(p, c, f->leaf_key);
		p->ip_ranges[p->n_ip++] = (struct prof_iprange){ AF_INET, { 10 }, 8 };
		p->ip_ranges[p->n_ip++] = k == 2 ? inside
					  : k ? (struct prof_iprange){ AF_INET6, { 0xfd }, 8 }
					      : (struct prof_iprange){ AF_INET6, { 0 }, 0 };
		const char *what = k == 2 ? "::ffff:8.8.8.0/120" : k ? "fd00::/8" : "::/0";
		dbuf_init(&tbs);
		CHECKF(tbsbuild_leaf(p, &f->iss, c, serial, f->now, f->now + 30 * DAY, &tbs, why) == 0 &&
			       tbs_cert_parse(span_make(tbs.data, tbs.len), &t, why),
		       "%s: %s", what, why);
		const struct tbs_ext *e = tbs_ext_find(t.ext, t.n_ext, OID_NC, sizeof(OID_NC));
		bool parsed = e && tbs_nc_parse(e->value, &nc, why);
		if (k == 1)
			CHECKF(parsed && nc.n_excluded == 0, "fd00::/8 beside 10/8: %zu excluded", parsed ? nc.n_excluded : 0);
		else
			CHECKF(parsed && nc.n_excluded == 1 && nc.excluded[0].tag == (DER_CONTEXT | 7) &&
				       nc.excluded[0].value.len == 32 && !memcmp(nc.excluded[0].value.data, mapped96, 32),
			       "%s beside 10/8: %zu excluded, want ::ffff:0:0/96", what, parsed ? nc.n_excluded : 0);
		dbuf_free(&tbs);
	}
	free(p);
	free(c);
}

/* A CA's subject is never empty (RFC 5280 4.1.2.6): under a CA profile the CN is the first SAN of 1..64
 * characters as for a leaf, and a request without one is refused, where a leaf gets an empty subject. */
static void test_ca_subject(struct fx *f)
{
	struct profile *p = calloc(1, sizeof(*p));
	struct csr *c = calloc(1, sizeof(*c));
	uint8_t serial[TBSBUILD_SERIAL_RANDOM] = { 1 };
	char why[TBS_WHY_MAX], longname[80];
	struct dbuf tbs;
	int rc;
	CHECK(p && c);
	if (!p || !c)
		goto out;
	memset(longname, 'a', 61);
	memcpy(longname + 61, ".example.com", 13); /* 73 characters */
	for (int ca = 0; ca < 2; ca++) {
		plain_leaf(p, c, f->leaf_key);
		if (ca) {
			p->ca = p->has_path_length = true;
			p->key_usage = TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN;
			snprintf(p->dns_suffixes[p->n_dns++], sizeof(p->dns_suffixes[0]), ".example.com");
		}
		snprintf(c->sans[0].value, sizeof(c->sans[0].value), "%s", longname);
		dbuf_init(&tbs);
		why[0] = 0;
		rc = tbsbuild_leaf(p, &f->iss, c, serial, f->now, f->now + 30 * DAY, &tbs, why);
		if (ca)
			CHECKF(rc == HSMCA_ERR_POLICY && check_prefix(why, "subject: a CA certificate needs a subject"),
			       "CA, only a long SAN: rc %d why \"%s\"", rc, why);
		else
			CHECKF(rc == 0, "leaf, only a long SAN: rc %d why \"%s\"", rc, why);
		dbuf_free(&tbs);
		c->n_sans = 2; /* and a short second one: the CN */
		c->sans[1].type = CSR_SAN_DNS;
		snprintf(c->sans[1].value, sizeof(c->sans[1].value), "ca2.example.com");
		dbuf_init(&tbs);
		rc = tbsbuild_leaf(p, &f->iss, c, serial, f->now, f->now + 30 * DAY, &tbs, why);
		CHECKF(rc == 0, "%s, a long SAN then a short one: rc %d why \"%s\"", ca ? "CA" : "leaf", rc, why);
		dbuf_free(&tbs);
	}
out:
	free(p);
	free(c);
}

/* No subject equals the issuer's name (as verifiers compare names): such a certificate is self-issued, and
 * RFC 5280 6.1 exempts a self-issued CA from its issuer's name constraints and path length. An hsmca sub-CA's
 * name is CN=<its first SAN>, so a request for that name under it would be one. */
static void test_self_issued(struct fx *f)
{
	struct profile *p = calloc(1, sizeof(*p));
	struct csr *c = calloc(1, sizeof(*c));
	struct policy_issuer *iss = calloc(1, sizeof(*iss));
	X509 *sub = fx_make_ca(f->ca_key, "ca.example.com", f->now, true);
	uint8_t serial[TBSBUILD_SERIAL_RANDOM] = { 1 };
	char why[TBS_WHY_MAX];
	struct dbuf tbs;
	int rc;
	CHECK(p && c && iss && sub && policy_issuer_from_x509(sub, NULL, iss) == 0);
	if (!p || !c || !iss || !sub)
		goto out;
	for (int ca = 0; ca < 2; ca++) {
		plain_leaf(p, c, f->leaf_key);
		if (ca) {
			p->ca = p->has_path_length = true;
			p->key_usage = TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN;
			snprintf(p->dns_suffixes[p->n_dns++], sizeof(p->dns_suffixes[0]), ".example.com");
		}
		/* under the issuer CN=ca.example.com: a first SAN of that name (in any case) is refused */
		snprintf(c->sans[0].value, sizeof(c->sans[0].value), "CA.example.COM");
		dbuf_init(&tbs);
		why[0] = 0;
		rc = tbsbuild_leaf(p, iss, c, serial, f->now, f->now + 30 * DAY, &tbs, why);
		CHECKF(rc == HSMCA_ERR_POLICY && check_prefix(why, "subject:") && strstr(why, "issuer's name"),
		       "%s named as its issuer: rc %d why \"%s\"", ca ? "CA" : "leaf", rc, why);
		dbuf_free(&tbs);
		snprintf(c->sans[0].value, sizeof(c->sans[0].value), "www.example.com");
		dbuf_init(&tbs);
		rc = tbsbuild_leaf(p, iss, c, serial, f->now, f->now + 30 * DAY, &tbs, why);
		CHECKF(rc == 0, "%s named otherwise under that issuer: rc %d why \"%s\"", ca ? "CA" : "leaf", rc, why);
		dbuf_free(&tbs);
	}
out:
	X509_free(sub);
	free(p);
	free(c);
	free(iss);
}

/* Each refusal names its rule. */
static void test_reasons(struct fx *f)
{
	struct profile *p = calloc(1, sizeof(*p));
	struct csr *c = calloc(1, sizeof(*c));
	uint8_t serial[TBSBUILD_SERIAL_RANDOM] = { 1 };
	char why[TBS_WHY_MAX];
	struct dbuf tbs;
	int rc;
	CHECK(p && c);
	if (!p || !c)
		goto out;
#define REASON(what, nb, na, want_rc, want)                                                                     \
	do {                                                                                                   \
		dbuf_init(&tbs);                                                                               \
		why[0] = 0;                                                                                    \
		rc = tbsbuild_leaf(p, &f->iss, c, serial, nb, na, &tbs, why);                                  \
		CHECKF(rc == (want_rc) && check_prefix(why, want), "%s: rc %d why \"%s\"", what, rc, why);     \
		dbuf_free(&tbs);                                                                               \
	} while (0)
	plain_leaf(p, c, f->leaf_key);
	c->n_sans = 0;
	REASON("no SAN", f->now, f->now + DAY, HSMCA_ERR_POLICY, "san: at least one");
	plain_leaf(p, c, f->leaf_key);
	snprintf(c->sans[0].value, sizeof(c->sans[0].value), "a,b.example.com");
	REASON("comma", f->now, f->now + DAY, HSMCA_ERR_POLICY, "san: name 0");
	plain_leaf(p, c, f->leaf_key);
	c->sans[0].type = CSR_SAN_IP;
	REASON("IP not an address", f->now, f->now + DAY, HSMCA_ERR_POLICY, "san: name 0 is not an IP address");
	plain_leaf(p, c, f->leaf_key);
	snprintf(p->eku[0], sizeof(p->eku[0]), "sorcery");
	REASON("unknown EKU", f->now, f->now + DAY, HSMCA_ERR_POLICY, "eku:");
	plain_leaf(p, c, f->leaf_key);
	p->key_usage = TBS_KU_KEY_ENCIPHERMENT;
	REASON("no key usage left", f->now, f->now + DAY, HSMCA_ERR_POLICY, "key-usage:");
	plain_leaf(p, c, f->leaf_key);
	c->spki_len -= 3; /* cut short: the SEQUENCE overruns it */
	REASON("malformed SPKI", f->now, f->now + DAY, HSMCA_ERR_PARSE, "key:");
	plain_leaf(p, c, f->leaf_key);
	REASON("year 10000", f->now, (time_t)253402300800LL, HSMCA_ERR_PARSE, "time:");
#undef REASON
out:
	free(p);
	free(c);
}

/* keyUsage is the profile's usages the key's type permits: an EC key drops keyEncipherment and
 * dataEncipherment, an RSA key keyAgreement, encipherOnly and decipherOnly; nothing left: refused. */
static void test_ku_by_key(struct fx *f)
{
	static const struct {
		const char *what;
		int rsa;
		uint16_t profile, want; /* want 0: refused */
	} cases[] = {
		{ "EC: digitalSignature, keyEncipherment", 0, TBS_KU_DIGITAL_SIGNATURE | TBS_KU_KEY_ENCIPHERMENT,
		  TBS_KU_DIGITAL_SIGNATURE },
		{ "EC: keyAgreement, dataEncipherment", 0, TBS_KU_KEY_AGREEMENT | TBS_KU_DATA_ENCIPHERMENT,
		  TBS_KU_KEY_AGREEMENT },
		{ "EC: keyEncipherment alone", 0, TBS_KU_KEY_ENCIPHERMENT, 0 },
		{ "RSA: digitalSignature, keyEncipherment", 1, TBS_KU_DIGITAL_SIGNATURE | TBS_KU_KEY_ENCIPHERMENT,
		  TBS_KU_DIGITAL_SIGNATURE | TBS_KU_KEY_ENCIPHERMENT },
		{ "RSA: digitalSignature, keyAgreement, decipherOnly", 1,
		  TBS_KU_DIGITAL_SIGNATURE | TBS_KU_KEY_AGREEMENT | TBS_KU_DECIPHER_ONLY, TBS_KU_DIGITAL_SIGNATURE },
		{ "RSA: keyAgreement, encipherOnly", 1, TBS_KU_KEY_AGREEMENT | TBS_KU_ENCIPHER_ONLY, 0 },
	};
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	struct profile *p = calloc(1, sizeof(*p));
	struct csr *c = calloc(1, sizeof(*c));
	uint8_t serial[TBSBUILD_SERIAL_RANDOM] = { 1 };
	CHECK(rsa && p && c);
	for (size_t i = 0; rsa && p && c && i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dbuf tbs;
		struct tbs_cert t;
		char why[TBS_WHY_MAX] = "";
		dbuf_init(&tbs);
		memset(p, 0, sizeof(*p));
		snprintf(p->name, sizeof(p->name), "server");
		snprintf(p->crl_url, sizeof(p->crl_url), "http://crl.example.com/int.crl");
		snprintf(p->ocsp_url, sizeof(p->ocsp_url), "http://ocsp.example.com/");
		p->max_validity_days = 90;
		p->key_usage = cases[i].profile;
		memset(c, 0, sizeof(*c));
		c->n_sans = 1;
		c->sans[0].type = CSR_SAN_DNS;
		snprintf(c->sans[0].value, sizeof(c->sans[0].value), "www.example.com");
		set_spki(c, cases[i].rsa ? rsa : f->leaf_key);
		int rc = tbsbuild_leaf(p, &f->iss, c, serial, f->now, f->now + 30 * DAY, &tbs, NULL);
		if (!cases[i].want)
			CHECKF(rc == HSMCA_ERR_POLICY, "%s: rc %d, want refused", cases[i].what, rc);
		else
			CHECKF(rc == 0 && tbs_cert_parse(span_make(tbs.data, tbs.len), &t, why) && t.has_ku &&
				       t.ku == cases[i].want,
			       "%s: rc %d why \"%s\" ku %#x, want %#x", cases[i].what, rc, why, rc ? 0 : t.ku,
			       cases[i].want);
		dbuf_free(&tbs);
	}
	EVP_PKEY_free(rsa);
	free(p);
	free(c);
}

/* A time-stamping authority's profile (timeStamping alone, digitalSignature): OpenSSL's timestamp purpose,
 * which `openssl ts -verify` checks, takes the certificate (before, its EKU was not critical: refused). */
static void test_tsa(struct fx *f)
{
	struct profile *p = calloc(1, sizeof(*p));
	struct csr *c = calloc(1, sizeof(*c));
	uint8_t serial[TBSBUILD_SERIAL_RANDOM] = { 7 };
	struct dbuf tbs, cert;
	CHECK(p && c);
	if (!p || !c)
		goto out;
	dbuf_init(&tbs);
	dbuf_init(&cert);
	snprintf(p->name, sizeof(p->name), "tsa");
	snprintf(p->crl_url, sizeof(p->crl_url), "http://crl.example.com/int.crl");
	snprintf(p->ocsp_url, sizeof(p->ocsp_url), "http://ocsp.example.com/");
	p->max_validity_days = 90;
	p->key_usage = TBS_KU_DIGITAL_SIGNATURE;
	snprintf(p->eku[p->n_eku++], sizeof(p->eku[0]), "timeStamping");
	c->n_sans = 1;
	c->sans[0].type = CSR_SAN_DNS;
	snprintf(c->sans[0].value, sizeof(c->sans[0].value), "tsa.example.com");
	set_spki(c, f->leaf_key);
	CHECK(tbsbuild_leaf(p, &f->iss, c, serial, f->now, f->now + 30 * DAY, &tbs, NULL) == 0);
	sign_cert(f, &tbs, &cert);
	const unsigned char *q = cert.data;
	X509 *x = d2i_X509(NULL, &q, (long)cert.len);
	CHECK(x != NULL);
	CHECKF(x && X509_check_purpose(x, X509_PURPOSE_TIMESTAMP_SIGN, 0) == 1, "the TSA certificate is no timestamp signer");
	X509_free(x);
	dbuf_free(&tbs);
	dbuf_free(&cert);
out:
	free(p);
	free(c);
}

/* The serial is 0x01 || the 16 random bytes: 17 octets, positive and minimal for any random bytes, all 128
 * random bits kept. */
static void test_serial(struct fx *f)
{
	static const uint8_t fills[] = { 0x00, 0x7f, 0x80, 0xff };
	struct profile *p = calloc(1, sizeof(*p));
	struct csr *c = calloc(1, sizeof(*c));
	CHECK(p && c);
	for (size_t i = 0; p && c && i < sizeof(fills) + 1; i++) {
		uint8_t serial[TBSBUILD_SERIAL_RANDOM];
		struct dbuf tbs;
		struct tbs_cert t;
		char why[TBS_WHY_MAX] = "";
		if (i < sizeof(fills))
			memset(serial, fills[i], sizeof(serial));
		else if (RAND_bytes(serial, sizeof(serial)) != 1)
			abort();
		dbuf_init(&tbs);
		plain_leaf(p, c, f->leaf_key);
		p->n_eku = 0;
		CHECKF(tbsbuild_leaf(p, &f->iss, c, serial, f->now, f->now + 30 * DAY, &tbs, NULL) == 0 &&
			       tbs_cert_parse(span_make(tbs.data, tbs.len), &t, why),
		       "serial case %zu: %s", i, why);
		CHECKF(t.serial.len == 17 && t.serial.data[0] == 0x01 && !memcmp(t.serial.data + 1, serial, sizeof(serial)),
		       "serial case %zu: %zu octets, first %#x", i, t.serial.len, t.serial.len ? t.serial.data[0] : 0);
		dbuf_free(&tbs);
	}
	free(p);
	free(c);
}

/* An issuer whose certificate has expired (or is not valid yet) is the appliance's state, not a fault of the
 * request: HSMCA_ERR_STATE naming the CA (503 issuer-unusable), not HSMCA_ERR_POLICY (it was 403 policy,
 * "validity: notBefore is not before notAfter") */
static void test_issuer_unusable(struct fx *f)
{
	static struct app a;
	struct csr *c = calloc(1, sizeof(*c));
	char serial[DB_SERIAL_HEX_MAX], why[TBS_WHY_MAX];
	time_t validity[2];
	struct dbuf tbs;
	CHECK(c != NULL);
	if (!c)
		return;
	memset(&a, 0, sizeof(a));
	a.profiles.n = 1;
	plain_leaf(&a.profiles.p[0], c, f->leaf_key);
	snprintf(a.profiles.p[0].issuer, sizeof(a.profiles.p[0].issuer), "int");
	a.issuers[0].facts = f->iss;
	time_t now = time(NULL);
	for (int k = 0; k < 2; k++) {
		a.issuers[0].facts.not_before = k ? now + 3600 : now - 400 * DAY;
		a.issuers[0].facts.not_after = k ? now + 400 * DAY : now - 10;
		dbuf_init(&tbs);
		int rc = issue_build_tbs(&a, 0, c, &tbs, serial, validity, why);
		CHECKF(rc == HSMCA_ERR_STATE && strstr(why, k ? "not valid yet" : "expired") && strstr(why, "int"),
		       "issuer %s: rc %d why %s", k ? "not yet valid" : "expired", rc, why);
		dbuf_free(&tbs);
	}
	free(c);
}

int main(void)
{
	struct fx f;
	CHECK(fx_init(&f));
	test_random(&f);
	test_largest_ca(&f);
	test_ca_ip_families(&f);
	test_ca_v4mapped(&f);
	test_ku_by_key(&f);
	test_tsa(&f);
	test_serial(&f);
	test_subject(&f);
	test_ca_subject(&f);
	test_self_issued(&f);
	test_reasons(&f);
	test_pem_refusals();
	test_issuer_unusable(&f);
	fx_free(&f);
	return check_done("unit_tbsbuild");
}
