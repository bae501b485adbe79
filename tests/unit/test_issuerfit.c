/* frontend/issuerfit.c: a profile against the nameConstraints and extendedKeyUsage of the CAs above its
 * certificates. At start-up, suffixes and ranges outside a CA's permitted subtrees, or wholly inside an
 * excluded one, and EKUs a CA does not list stop the frontend; per request, each name is checked with
 * OpenSSL's own matching, and every verdict is compared with what OpenSSL's path validation says of a real
 * certificate with those names signed by the CA. */
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "conf.h"
#include "issuerfit.h"
#include "profile.h"

static EVP_PKEY *key_new(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	if (!k) {
		fprintf(stderr, "cannot make a key\n");
		exit(1);
	}
	return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!e || !X509_add_ext(x, e, -1)) {
		fprintf(stderr, "cannot add extension %d = %s\n", nid, value);
		exit(1);
	}
	X509_EXTENSION_free(e);
}

/* A certificate for key named CN=cn, signed by issuer_key (issuer NULL: self-signed), a CA if ca; extensions
 * nc (nameConstraints), eku and san as OpenSSL's config syntax, each NULL for none. */
static int next_pathlen = -1; /* the next CA certificate's pathLenConstraint (-1: none) */

static X509 *cert_new(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca, const char *nc,
		      const char *eku, const char *san)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	if (!x || !n || !X509_set_version(x, X509_VERSION_3) || !ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) ||
	    (cn && !X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0)) ||
	    !X509_set_subject_name(x, n) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) || !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    !X509_set_pubkey(x, key)) {
		fprintf(stderr, "cannot make a certificate\n");
		exit(1);
	}
	X509_NAME_free(n);
	char bc[48] = "critical,CA:TRUE";
	if (next_pathlen >= 0)
		snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", next_pathlen);
	add_ext(x, issuer, NID_basic_constraints, ca ? bc : "critical,CA:FALSE");
	next_pathlen = -1;
	add_ext(x, issuer, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (nc)
		add_ext(x, issuer, NID_name_constraints, nc);
	if (eku)
		add_ext(x, issuer, NID_ext_key_usage, eku);
	if (san)
		add_ext(x, issuer, NID_subject_alt_name, san);
	if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) {
		fprintf(stderr, "cannot sign a certificate\n");
		exit(1);
	}
	return x;
}

/* a leaf profile with these lines added (and eku = serverAuth unless they name EKUs) */
static struct profile prof(const char *lines)
{
	static struct profiles ps;
	char text[2048], err[CONF_ERR_MAX];
	snprintf(text, sizeof(text),
		 "[profile t]\nissuer = int\nissuer_cert = /dev/null\nkey_types = p256\nmax_sans = 8\n"
		 "max_validity_days = 90\nkey_usage = digitalSignature\naccounts = alice\n"
		 "crl_url = http://ca.example.com/int.crl\nocsp_url = http://ca.example.com/ocsp\n%s\n%s\n",
		 strstr(lines, "eku =") ? "" : "eku = serverAuth", lines);
	if (profiles_parse("test", text, strlen(text), &ps, err)) {
		fprintf(stderr, "profile does not load (%s): %s\n", err, text);
		exit(1);
	}
	return ps.p[0];
}

static struct issuerfit fit_of(X509 *a, X509 *b)
{
	struct issuerfit f;
	memset(&f, 0, sizeof(f));
	if (issuerfit_push(&f, a) || (b && issuerfit_push(&f, b))) {
		fprintf(stderr, "issuerfit_push failed\n");
		exit(1);
	}
	return f;
}

/* check_profile's verdict for lines; err has the message */
static int fits(const struct issuerfit *f, const char *lines, char *err)
{
	struct profile p = prof(lines);
	err[0] = 0;
	return issuerfit_check_profile(f, &p, err);
}

static EVP_PKEY *root_key;
static X509 *root; /* the trust anchor of the path validation checks */

/* What OpenSSL's path validation says of a leaf with these names (and subject CN cn, NULL for none) signed by
 * root: true if it verifies. */
static bool openssl_accepts(const char *cn, const char *san)
{
	EVP_PKEY *k = key_new();
	X509 *leaf = cert_new(cn, k, root, root_key, false, NULL, NULL, san);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = st && ctx && X509_STORE_add_cert(st, root) && X509_STORE_CTX_init(ctx, st, leaf, NULL) &&
		  X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(leaf);
	EVP_PKEY_free(k);
	return ok;
}

/* issuerfit_check_names on the names (types 1 DNS, 2 IP, 3 email) of a leaf with cn, compared with OpenSSL's
 * verdict on the certificate tbsbuild would write: CN=cn, or no CN where drop_cn says so */
static int names(const struct issuerfit *f, const char *cn, const int *types, const char *const *sans, size_t n,
		 bool *drop_cn, char *why)
{
	char san[512] = "";
	static const char *const prefix[] = { "", "DNS:", "IP:", "email:" };
	for (size_t i = 0; i < n; i++)
		snprintf(san + strlen(san), sizeof(san) - strlen(san), "%s%s%s", i ? "," : "", prefix[types[i]], sans[i]);
	why[0] = 0;
	int rc = issuerfit_check_names(f, false, cn, types, sans, n, drop_cn, why);
	CHECKF(openssl_accepts(*drop_cn ? NULL : cn, san) == (rc == 0), "OpenSSL's verdict on CN=%s %s (drop_cn %d): rc %d (%s)",
	       cn, san, *drop_cn, rc, why);
	return rc;
}

static void test_profile_names(void)
{
	char err[CONF_ERR_MAX];
	EVP_PKEY *k = key_new();
	X509 *ca = cert_new("nc", k, NULL, NULL, true,
			    "critical,permitted;DNS:.example.com,permitted;DNS:example.net,permitted;IP:10.0.0.0/255.0.0.0,"
			    "permitted;email:.example.com,excluded;DNS:.secret.example.com,excluded;IP:10.9.0.0/255.255.0.0",
			    NULL, NULL);
	struct issuerfit f = fit_of(ca, NULL);
	CHECK(f.has_nc);
	CHECK(fits(&f, "dns_suffixes = .example.com, www.example.com, .a.example.com, example.net, .example.net, "
		       "a.example.net", err) == 0);
	CHECK(fits(&f, "dns_suffixes = .example.com\nallow_email = yes", err) == 0);
	CHECK(fits(&f, "dns_suffixes = .a.example.com\nip_ranges = 10.1.0.0/16, 10.0.0.0/8", err) == 0);
	CHECK(fits(&f, "dns_suffixes = secret.example.com", err) == 0); /* ".secret..." excludes names below it */
	CHECK(fits(&f, "dns_suffixes = .example.com, example.com", err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "profile t: DNS names at example.com are not all inside the permitted subtrees") &&
		       strstr(err, "its issuer /CN=nc"),
	       "%s", err);
	CHECK(fits(&f, "dns_suffixes = .example.org", err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "DNS names below example.org"), "%s", err);
	CHECK(fits(&f, "dns_suffixes = .notexample.net", err) == HSMCA_ERR_CONFIG);
	CHECK(fits(&f, "dns_suffixes = .com", err) == HSMCA_ERR_CONFIG);
	CHECK(fits(&f, "dns_suffixes = .secret.example.com", err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "DNS names below secret.example.com are all inside an excluded subtree"), "%s", err);
	CHECK(fits(&f, "dns_suffixes = x.secret.example.com", err) == HSMCA_ERR_CONFIG);
	CHECK(fits(&f, "ip_ranges = 11.0.0.0/8", err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "IP addresses in 11.0.0.0/8 are not all inside"), "%s", err);
	CHECK(fits(&f, "ip_ranges = 10.0.0.0/7", err) == HSMCA_ERR_CONFIG);  /* wider than the subtree */
	CHECK(fits(&f, "ip_ranges = 2001:db8::/32", err) == HSMCA_ERR_CONFIG); /* no IPv6 subtree at all */
	CHECK(fits(&f, "ip_ranges = 10.9.8.0/24", err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "all inside an excluded subtree"), "%s", err);
	CHECK(fits(&f, "ip_ranges = 10.8.0.0/15", err) == 0); /* partly excluded: refused per request */
	issuerfit_clear(&f);
	X509_free(ca);

	/* email: exact domains and "local@domain" subtrees; a CA with no DNS subtree leaves DNS names alone */
	ca = cert_new("mail", k, NULL, NULL, true, "critical,permitted;email:example.com,permitted;email:bob@example.org",
		      NULL, NULL);
	f = fit_of(ca, NULL);
	CHECK(fits(&f, "dns_suffixes = example.com, .anything.org\nallow_email = yes", err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "email addresses below anything.org"), "%s", err);
	CHECK(fits(&f, "dns_suffixes = example.com, .anything.org", err) == 0);
	CHECK(fits(&f, "dns_suffixes = .example.com\nallow_email = yes", err) == HSMCA_ERR_CONFIG);
	CHECK(fits(&f, "dns_suffixes = example.org\nallow_email = yes", err) == HSMCA_ERR_CONFIG);
	issuerfit_clear(&f);
	X509_free(ca);

	/* a constraint on a CA above the issuer counts as much; an empty DNS base permits every name */
	X509 *top = cert_new("top", k, NULL, NULL, true, "critical,permitted;DNS:corp.example", NULL, NULL);
	X509 *mid = cert_new("mid", k, NULL, NULL, true, NULL, NULL, NULL);
	NAME_CONSTRAINTS *empty = NAME_CONSTRAINTS_new(); /* OpenSSL's config syntax cannot write an empty base */
	GENERAL_SUBTREE *st = GENERAL_SUBTREE_new();
	if (!empty || !st || !a2i_GENERAL_NAME(st->base, NULL, NULL, GEN_DNS, "", 0) ||
	    !(empty->permittedSubtrees = sk_GENERAL_SUBTREE_new_null()) || !sk_GENERAL_SUBTREE_push(empty->permittedSubtrees, st) ||
	    !X509_add1_ext_i2d(mid, NID_name_constraints, empty, 1, 0) || !X509_sign(mid, k, EVP_sha256())) {
		fprintf(stderr, "cannot make an empty DNS constraint\n");
		exit(1);
	}
	NAME_CONSTRAINTS_free(empty);
	f = fit_of(mid, top); /* GnuTLS skips an empty base: here it permits nothing */
	CHECK(fits(&f, "dns_suffixes = .corp.example", err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "its issuer /CN=mid"), "%s", err);
	issuerfit_clear(&f);
	X509 *plain_mid = cert_new("plain", k, NULL, NULL, true, NULL, NULL, NULL);
	f = fit_of(plain_mid, top);
	CHECK(fits(&f, "dns_suffixes = .corp.example, corp.example, a.b.corp.example", err) == 0);
	CHECK(fits(&f, "dns_suffixes = .corp.example, .other.example", err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "a CA above its issuer, /CN=top"), "%s", err);
	issuerfit_clear(&f);
	X509_free(plain_mid);
	/* GnuTLS compares bytes: a base in capitals holds no lower-case name */
	X509 *caps = cert_new("caps", k, NULL, NULL, true, "critical,permitted;DNS:.Example.com", NULL, NULL);
	f = fit_of(caps, NULL);
	CHECK(fits(&f, "dns_suffixes = .example.com", err) == HSMCA_ERR_CONFIG);
	issuerfit_clear(&f);
	X509_free(caps);
	/* constraints no verifier reads as hsmca would: minimum (OpenSSL refuses every name of its type), a mask
	 * that is not contiguous (GnuTLS and Go refuse the CA) */
	X509 *odd = cert_new("odd", k, NULL, NULL, true, "critical,permitted;IP:10.0.0.0/255.0.255.0", NULL, NULL);
	f = fit_of(odd, NULL);
	CHECK(fits(&f, "dns_suffixes = .example.com", err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "mask is not contiguous"), "%s", err);
	issuerfit_clear(&f);
	X509_free(odd);
	NAME_CONSTRAINTS *mm = NAME_CONSTRAINTS_new();
	GENERAL_SUBTREE *mst = GENERAL_SUBTREE_new();
	X509 *minmax = cert_new("minmax", k, NULL, NULL, true, NULL, NULL, NULL);
	if (!mm || !mst || !a2i_GENERAL_NAME(mst->base, NULL, NULL, GEN_DNS, ".example.com", 0) ||
	    !(mst->minimum = ASN1_INTEGER_new()) || !ASN1_INTEGER_set(mst->minimum, 1) ||
	    !(mm->permittedSubtrees = sk_GENERAL_SUBTREE_new_null()) || !sk_GENERAL_SUBTREE_push(mm->permittedSubtrees, mst) ||
	    !X509_add1_ext_i2d(minmax, NID_name_constraints, mm, 1, 0) || !X509_sign(minmax, k, EVP_sha256())) {
		fprintf(stderr, "cannot make a minimum constraint\n");
		exit(1);
	}
	NAME_CONSTRAINTS_free(mm);
	f = fit_of(minmax, NULL);
	CHECK(fits(&f, "dns_suffixes = .example.com", err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "minimum or maximum"), "%s", err);
	issuerfit_clear(&f);
	X509_free(minmax);
	/* an empty excluded email base excludes every address (GnuTLS, Go) */
	X509 *nomail = cert_new("nomail", k, NULL, NULL, true, "critical,permitted;DNS:.example.com", NULL, NULL);
	NAME_CONSTRAINTS *nm = X509_get_ext_d2i(nomail, NID_name_constraints, NULL, NULL);
	GENERAL_SUBTREE *nst = GENERAL_SUBTREE_new();
	if (!nm || !nst || !a2i_GENERAL_NAME(nst->base, NULL, NULL, GEN_EMAIL, "", 0) ||
	    !(nm->excludedSubtrees = sk_GENERAL_SUBTREE_new_null()) || !sk_GENERAL_SUBTREE_push(nm->excludedSubtrees, nst) ||
	    !X509_add1_ext_i2d(nomail, NID_name_constraints, nm, 1, X509V3_ADD_REPLACE) || !X509_sign(nomail, k, EVP_sha256())) {
		fprintf(stderr, "cannot make an empty email exclusion\n");
		exit(1);
	}
	NAME_CONSTRAINTS_free(nm);
	f = fit_of(nomail, NULL);
	CHECK(fits(&f, "dns_suffixes = .example.com", err) == 0);
	CHECK(fits(&f, "dns_suffixes = .example.com\nallow_email = yes", err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "email addresses below example.com are all inside an excluded subtree"), "%s", err);
	const int mail1[] = { 3 };
	const char *const addr1[] = { "bob@a.example.com" };
	bool drop = false;
	char why[PROF_WHY_MAX] = "";
	CHECK(issuerfit_check_names(&f, false, NULL, mail1, addr1, 1, &drop, why) == HSMCA_ERR_POLICY &&
	      strstr(why, "every email address is excluded by the issuer /CN=nomail"));
	issuerfit_clear(&f);
	X509_free(nomail);
	X509_free(top);
	X509_free(mid);
	EVP_PKEY_free(k);
}

static void test_profile_ekus(void)
{
	char err[CONF_ERR_MAX];
	EVP_PKEY *k = key_new();
	X509 *server = cert_new("server-only", k, NULL, NULL, true, NULL, "serverAuth", NULL);
	X509 *any = cert_new("any", k, NULL, NULL, true, NULL, "anyExtendedKeyUsage", NULL);
	X509 *none = cert_new("none", k, NULL, NULL, true, NULL, NULL, NULL);
	struct issuerfit f = fit_of(server, NULL);
	CHECK(!f.has_nc);
	CHECK(fits(&f, "dns_suffixes = .example.com\neku = serverAuth", err) == 0);
	CHECK(fits(&f, "dns_suffixes = .example.com\neku = serverAuth, clientAuth", err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "profile t: extended key usage clientAuth is not among those of its issuer /CN=server-only"),
	       "%s", err);
	issuerfit_clear(&f);
	f = fit_of(none, server); /* the issuer lists none, the CA above it does */
	CHECK(fits(&f, "dns_suffixes = .example.com\neku = codeSigning", err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "a CA above its issuer, /CN=server-only"), "%s", err);
	issuerfit_clear(&f);
	f = fit_of(any, none); /* anyExtendedKeyUsage: not for OpenSSL's TLS and S/MIME purposes */
	CHECK(fits(&f, "dns_suffixes = .example.com\neku = codeSigning", err) == 0);
	CHECK(fits(&f, "dns_suffixes = .example.com\neku = clientAuth", err) == HSMCA_ERR_CONFIG);
	CHECK(fits(&f, "dns_suffixes = .example.com\neku = serverAuth", err) == HSMCA_ERR_CONFIG);
	issuerfit_clear(&f);
	X509_free(server);
	X509_free(any);
	X509_free(none);
	EVP_PKEY_free(k);
}

static void test_request_names(void)
{
	char why[PROF_WHY_MAX];
	bool drop = true;
	root_key = key_new();
	root = cert_new("root", root_key, NULL, NULL, true,
			"critical,permitted;DNS:.example.com,permitted;IP:10.0.0.0/255.0.0.0,permitted;IP:fd00::/ff00::,"
			"permitted;email:.example.com,excluded;DNS:.secret.example.com,excluded;DNS:db.example.com",
			NULL, NULL);
	struct issuerfit f = fit_of(root, NULL);
	CHECK(f.has_nc);
	const int dns[] = { 1, 1 }, dns_ip[] = { 1, 2 }, ip[] = { 2 }, mail[] = { 3 }, dns_mail[] = { 1, 3 };
	const char *const ok[] = { "a.example.com", "b.example.com" };
	CHECK(names(&f, "a.example.com", dns, ok, 2, &drop, why) == 0 && !drop);
	const char *const secret[] = { "a.example.com", "b.secret.example.com" };
	CHECK(names(&f, "a.example.com", dns, secret, 2, &drop, why) == HSMCA_ERR_POLICY);
	CHECKF(!strcmp(why, "issuer-name-constraints: b.secret.example.com is outside the nameConstraints of the "
			    "issuer /CN=root"),
	       "%s", why);
	const char *const outside[] = { "x.example.org" };
	CHECK(names(&f, "x.example.org", dns, outside, 1, &drop, why) == HSMCA_ERR_POLICY);
	const char *const with_ip[] = { "a.example.com", "10.1.2.3" };
	CHECK(names(&f, "a.example.com", dns_ip, with_ip, 2, &drop, why) == 0 && !drop);
	/* addresses alone: their CN would be checked as a DNS name (OpenSSL for IPv4 text, GnuTLS for any): the
	 * leaf gets no CN */
	const char *const addr[] = { "10.1.2.3" }, *const addr6[] = { "fd00::1" };
	CHECK(names(&f, "10.1.2.3", ip, addr, 1, &drop, why) == 0 && drop);
	CHECK(names(&f, "fd00::1", ip, addr6, 1, &drop, why) == 0 && drop);
	const char *const addr_out[] = { "11.1.2.3" };
	CHECK(names(&f, "11.1.2.3", ip, addr_out, 1, &drop, why) == HSMCA_ERR_POLICY);
	const char *const mail_ok[] = { "bob@mail.example.com" }, *const mail_out[] = { "bob@example.org" };
	CHECK(names(&f, "bob@mail.example.com", mail, mail_ok, 1, &drop, why) == 0 && drop);
	CHECK(names(&f, "bob@example.org", mail, mail_out, 1, &drop, why) == HSMCA_ERR_POLICY);
	const char *const both[] = { "a.example.com", "bob@example.com" }; /* example.com itself is not below it */
	CHECK(names(&f, "a.example.com", dns_mail, both, 2, &drop, why) == HSMCA_ERR_POLICY);
	CHECKF(strstr(why, "bob@example.com is outside"), "%s", why);
	/* a wildcard that could stand for an excluded name (db.example.com): OpenSSL matches it as text and would
	 * take it for db.example.com; Go, BoringSSL and rustls refuse it */
	const int one[] = { 1 };
	const char *const wild[] = { "*.example.com" }, *const wild_ok[] = { "*.a.example.com" };
	why[0] = 0;
	CHECK(issuerfit_check_names(&f, false, "*.example.com", one, wild, 1, &drop, why) == HSMCA_ERR_POLICY);
	CHECKF(strstr(why, "*.example.com could stand for a name excluded by the issuer /CN=root"), "%s", why);
	CHECK(issuerfit_check_names(&f, false, "*.a.example.com", one, wild_ok, 1, &drop, why) == 0);
	/* capitals: GnuTLS compares names byte for byte */
	const char *const caps[] = { "WWW.example.com" };
	CHECK(issuerfit_check_names(&f, false, "WWW.example.com", one, caps, 1, &drop, why) == HSMCA_ERR_POLICY);
	CHECKF(strstr(why, "has upper-case letters"), "%s", why);
	const char *const local_caps[] = { "Alice@mail.example.com" }; /* a local part is compared only with a mailbox */
	CHECK(names(&f, "Alice@mail.example.com", mail, local_caps, 1, &drop, why) == 0);
	/* a CA certificate: its CN is never left out nor checked as a DNS name */
	CHECK(issuerfit_check_names(&f, true, "10.1.2.3", ip, addr, 1, &drop, why) == 0 && !drop);
	issuerfit_clear(&f);

	/* an excluded directory name that the subject CN=... falls under: a leaf's CN is left out, a CA's refused */
	EVP_PKEY *k = key_new();
	X509 *dn = cert_new("dn", k, NULL, NULL, true, NULL, NULL, NULL);
	NAME_CONSTRAINTS *dnc = NAME_CONSTRAINTS_new();
	GENERAL_SUBTREE *dst = GENERAL_SUBTREE_new();
	X509_NAME *blocked = X509_NAME_new();
	if (!dnc || !dst || !blocked ||
	    !X509_NAME_add_entry_by_NID(blocked, NID_commonName, MBSTRING_UTF8, (const unsigned char *)"blocked.example.com",
					-1, -1, 0) ||
	    (GENERAL_NAME_set0_value(dst->base, GEN_DIRNAME, X509_NAME_dup(blocked)), !dst->base->d.directoryName) ||
	    !(dnc->excludedSubtrees = sk_GENERAL_SUBTREE_new_null()) ||
	    !sk_GENERAL_SUBTREE_push(dnc->excludedSubtrees, dst) || !X509_add1_ext_i2d(dn, NID_name_constraints, dnc, 1, 0) ||
	    !X509_sign(dn, k, EVP_sha256())) {
		fprintf(stderr, "cannot make a directoryName exclusion\n");
		exit(1);
	}
	NAME_CONSTRAINTS_free(dnc);
	X509_NAME_free(blocked);
	f = fit_of(dn, NULL);
	const char *const blocked_name[] = { "blocked.example.com" };
	CHECK(issuerfit_check_names(&f, false, "blocked.example.com", one, blocked_name, 1, &drop, why) == 0 && drop);
	CHECK(issuerfit_check_names(&f, true, "blocked.example.com", one, blocked_name, 1, &drop, why) == HSMCA_ERR_POLICY &&
	      !drop);
	CHECKF(strstr(why, "the subject CN=blocked.example.com is outside the nameConstraints of the issuer /CN=dn"), "%s",
	       why);
	CHECK(issuerfit_check_names(&f, false, "a.example.com", one, ok, 1, &drop, why) == 0 && !drop);
	issuerfit_clear(&f);
	X509_free(dn);

	/* constraints on addresses alone: DNS names in capitals are nobody's business */
	X509 *iponly = cert_new("iponly", k, NULL, NULL, true, "critical,permitted;IP:10.0.0.0/255.0.0.0", NULL, NULL);
	f = fit_of(iponly, NULL);
	CHECK(issuerfit_check_names(&f, false, "WWW.example.com", one, caps, 1, &drop, why) == 0 && !drop);
	issuerfit_clear(&f);
	X509_free(iponly);

	/* no nameConstraints anywhere: nothing to check, nothing refused */
	X509 *plain = cert_new("plain", k, NULL, NULL, true, NULL, NULL, NULL);
	f = fit_of(plain, NULL);
	CHECK(issuerfit_check_names(&f, false, "x.example.org", dns, outside, 1, &drop, why) == 0 && !drop);
	CHECK(issuerfit_check_names(&f, false, "10.1.2.3", ip, addr, 1, &drop, why) == 0 && !drop);
	issuerfit_clear(&f);
	X509_free(plain);
	EVP_PKEY_free(k);
	X509_free(root);
	EVP_PKEY_free(root_key);
}

/* issuerfit_push: at most ISSUERFIT_DEPTH_MAX CAs; an extension that does not decode is refused */
static void test_push_errors(void)
{
	EVP_PKEY *k = key_new();
	X509 *ca = cert_new("ca", k, NULL, NULL, true, "critical,permitted;DNS:.example.com", NULL, NULL);
	struct issuerfit f;
	memset(&f, 0, sizeof(f));
	for (size_t i = 0; i < ISSUERFIT_DEPTH_MAX; i++)
		CHECK(issuerfit_push(&f, ca) == 0);
	CHECK(issuerfit_push(&f, ca) == HSMCA_ERR_LIMIT && f.n == ISSUERFIT_DEPTH_MAX);
	issuerfit_clear(&f);
	CHECK(f.n == 0 && !f.has_nc);
	/* a nameConstraints extension whose value is not a NameConstraints, and an extendedKeyUsage alike */
	static const int nids[] = { NID_name_constraints, NID_ext_key_usage };
	for (size_t i = 0; i < sizeof(nids) / sizeof(nids[0]); i++) {
		X509 *bad = cert_new("bad", k, NULL, NULL, true, NULL, NULL, NULL);
		ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
		X509_EXTENSION *e = NULL;
		if (!v || !ASN1_OCTET_STRING_set(v, (const unsigned char *)"\x04\x01\x00", 3) ||
		    !(e = X509_EXTENSION_create_by_NID(NULL, nids[i], 1, v)) || !X509_add_ext(bad, e, -1)) {
			fprintf(stderr, "cannot add a bad extension\n");
			exit(1);
		}
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(v);
		CHECKF(issuerfit_push(&f, bad) == HSMCA_ERR_PARSE && f.n == 0, "nid %d", nids[i]);
		X509_free(bad);
	}
	X509_free(ca);
	EVP_PKEY_free(k);
}

/* Every CA's pathLenConstraint along the chain, not only the issuer's: root R (pathLen 1) over I (none) */
static void test_path_length(void)
{
	char err[CONF_ERR_MAX];
	EVP_PKEY *rk = key_new(), *ik = key_new();
	next_pathlen = 1;
	X509 *r = cert_new("pl-root", rk, NULL, NULL, true, NULL, NULL, NULL);
	X509 *i = cert_new("pl-int", ik, r, rk, true, NULL, NULL, NULL);
	struct issuerfit f = fit_of(i, r);
	struct profile leaf = prof("dns_suffixes = .example.com"), ca = leaf;
	ca.ca = true;
	ca.path_length = 0;
	CHECKF(issuerfit_check_profile(&f, &leaf, err) == 0, "a leaf under I: %s", err);
	/* a CA under I would be the second CA below R (before: taken, and its certificates failed to verify) */
	CHECK(issuerfit_check_profile(&f, &ca, err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "a CA above its issuer, /CN=pl-root has pathLenConstraint 1, and 2 CA certificates"), "%s", err);
	issuerfit_clear(&f);
	X509_free(r);
	X509_free(i);
	/* R with pathLen 0: I itself is one too many, so a leaf under I is refused as well */
	next_pathlen = 0;
	r = cert_new("pl-root0", rk, NULL, NULL, true, NULL, NULL, NULL);
	i = cert_new("pl-int0", ik, r, rk, true, NULL, NULL, NULL);
	f = fit_of(i, r);
	CHECK(issuerfit_check_profile(&f, &leaf, err) == HSMCA_ERR_CONFIG);
	CHECKF(strstr(err, "pathLenConstraint 0, and 1 CA certificate would follow"), "%s", err);
	issuerfit_clear(&f);
	X509_free(r);
	X509_free(i);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
}

int main(void)
{
	test_path_length();
	test_push_errors();
	test_profile_names();
	test_profile_ekus();
	test_request_names();
	return check_done("unit_issuerfit");
}
