/* policy/tbs_*.c and policy/check.c: the TBS parsers and the pinned-profile rules the signer applies before it
 * signs. One negative test per rule of policy_check_cert / _crl / _ocsp (asserting the "rule:" prefix of why),
 * parser rejections, and a good case for each structure. Builders live in tbs_build.c. */
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "certbuild.h"
#include "check.h"
#include "tbs_build.h"

static struct fx fx;

/* Builds the leaf, parses it, applies the profile: want_prefix NULL means it must pass; otherwise it must be
 * refused with why starting with want_prefix and containing want_sub (if not NULL). */
static void cert_case(const char *name, const struct leaf_opts *o, const struct policy_profile *p,
		      const char *want_prefix, const char *want_sub)
{
	struct dbuf der;
	struct tbs_cert t;
	char why[TBS_WHY_MAX] = "";
	dbuf_init(&der);
	if (!leaf_tbs(&fx, o, &der)) {
		CHECKF(0, "%s: could not build the TBS", name);
		goto out;
	}
	if (!tbs_cert_parse(span_make(der.data, der.len), &t, why)) {
		CHECKF(0, "%s: parse failed: %s", name, why);
		goto out;
	}
	why[0] = 0;
	int rc = policy_check_cert(&t, &fx.iss, p, why);
	if (!want_prefix)
		CHECKF(rc == 0, "%s: refused: rc %d why \"%s\"", name, rc, why);
	else
		CHECKF(rc == HSMCA_ERR_POLICY && check_prefix(why, want_prefix) && (!want_sub || strstr(why, want_sub)),
		       "%s: rc %d why \"%s\", want \"%s...%s\"", name, rc, why, want_prefix, want_sub ? want_sub : "");
out:
	dbuf_free(&der);
}

/* The TBS must be refused by the parser itself, with why containing want_sub. */
static void parse_reject(const char *name, struct span der, const char *want_sub)
{
	struct tbs_cert t;
	char why[TBS_WHY_MAX] = "";
	bool ok = tbs_cert_parse(der, &t, why);
	CHECKF(!ok && strstr(why, want_sub), "%s: parsed=%d why \"%s\", want \"%s\"", name, ok, why, want_sub);
}

static void leaf_reject(const char *name, const struct leaf_opts *o, const char *want_sub)
{
	struct dbuf der;
	dbuf_init(&der);
	CHECKF(leaf_tbs(&fx, o, &der), "%s: could not build the TBS", name);
	parse_reject(name, span_make(der.data, der.len), want_sub);
	dbuf_free(&der);
}

static void test_cert_good(void)
{
	struct leaf_opts o;
	struct dbuf der;
	struct tbs_cert t;
	char why[TBS_WHY_MAX] = "";
	leaf_defaults(&fx, &o);
	dbuf_init(&der);
	CHECK(leaf_tbs(&fx, &o, &der));
	CHECKF(tbs_cert_parse(span_make(der.data, der.len), &t, why), "good leaf: %s", why);
	CHECK(policy_check_cert(&t, &fx.iss, &fx.prof, why) == 0);
	/* what the parser decoded */
	CHECK(t.serial.len == 17 && t.serial.data[0] == 0x01);
	CHECK(t.not_before == o.not_before && t.not_after == o.not_after);
	CHECK(t.has_ku && t.ku == TBS_KU_DIGITAL_SIGNATURE && !t.has_bc && t.n_eku == 1 && t.has_ski);
	CHECK(t.has_aki && t.aki_keyid.len == fx.iss.ski_len && !memcmp(t.aki_keyid.data, fx.iss.ski, fx.iss.ski_len));
	CHECK(t.issuer.len == fx.iss.subject_len && t.sigalg.len == fx.iss.sigalg_len);
	CHECK(t.n_ext == 5 && tbs_ext_find(t.ext, t.n_ext, OID_KU, sizeof(OID_KU))->critical);

	/* the TBS is signable: assemble a certificate with a real signature and let OpenSSL verify it */
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[128];
	size_t sig_len = sizeof(sig);
	CHECK(md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, fx.ca_key) == 1 &&
	      EVP_DigestSign(md, sig, &sig_len, der.data, der.len) == 1);
	struct dbuf cert;
	dbuf_init(&cert);
	certbuild_assemble(&cert, span_make(der.data, der.len), fx.sigalg, sig, sig_len, NULL, 0);
	const unsigned char *p = cert.data;
	X509 *x = d2i_X509(NULL, &p, (long)cert.len);
	CHECK(x && p == cert.data + cert.len && X509_verify(x, fx.ca_key) == 1 && X509_check_issued(fx.ca, x) == 0);
	X509_free(x);
	EVP_MD_CTX_free(md);
	dbuf_free(&cert);
	dbuf_free(&der);
}

static void test_cert_rules(void)
{
	struct leaf_opts o, base;
	struct policy_profile p;
	leaf_defaults(&fx, &base);

	p = fx.prof;
	p.allow_cert = false;
	cert_case("operation not allowed", &base, &p, "operation:", NULL);

	o = base;
	o.issuer_cn = "Test Int 2";
	cert_case("issuer name mismatch", &o, &fx.prof, "issuer:", NULL);
	o = base;
	o.aki = AKI_NONE;
	cert_case("AKI missing", &o, &fx.prof, "aki:", NULL);
	o = base;
	o.aki = AKI_WRONG;
	cert_case("AKI wrong", &o, &fx.prof, "aki:", NULL);
	o = base;
	o.sigalg = span_make(ALG_ECDSA_SHA384, sizeof(ALG_ECDSA_SHA384));
	cert_case("sigalg mismatch", &o, &fx.prof, "sigalg:", NULL);

	/* validity */
	o = base;
	o.not_before = o.not_after = fx.now + 10 * DAY;
	cert_case("notBefore == notAfter", &o, &fx.prof, "validity:", "not before");
	o.not_before = fx.now + 11 * DAY;
	cert_case("notBefore > notAfter", &o, &fx.prof, "validity:", "not before");
	o = base;
	o.not_before = fx.iss.not_before - 1;
	cert_case("notBefore before the issuer's", &o, &fx.prof, "validity:", "outside");
	o.not_before = fx.iss.not_before;
	cert_case("notBefore at the issuer's", &o, &fx.prof, NULL, NULL);
	o = base;
	o.not_before = fx.iss.not_after - 30 * DAY;
	o.not_after = fx.iss.not_after + 1;
	cert_case("notAfter after the issuer's", &o, &fx.prof, "validity:", "outside");
	o = base;
	o.not_before = fx.now;
	o.not_after = fx.now + 397 * DAY; /* both ends count: 397 days and a second */
	cert_case("validity longer than max", &o, &fx.prof, "validity:", "longer");
	o.not_after = fx.now + 397 * DAY - 1;
	cert_case("validity exactly max", &o, &fx.prof, NULL, NULL);

	/* serial */
	static const uint8_t neg[16] = { 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	static const uint8_t s21[21] = { 0x00, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19 };
	static const uint8_t s20[20] = { 0x7f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19 };
	static const uint8_t one[1] = { 1 };
	static const uint8_t below[9] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }; /* 2^64 - 1 */
	static const uint8_t at[9] = { 0x01, 0, 0, 0, 0, 0, 0, 0, 0 };                           /* 2^64 */
	o = base;
	o.serial = neg, o.serial_len = sizeof(neg);
	cert_case("serial negative", &o, &fx.prof, "serial:", "positive");
	o.serial = s21, o.serial_len = sizeof(s21);
	cert_case("serial of 21 octets", &o, &fx.prof, "serial:", "longer than 20");
	o.serial = s20, o.serial_len = sizeof(s20);
	cert_case("serial of 20 octets", &o, &fx.prof, NULL, NULL);
	o.serial = one, o.serial_len = sizeof(one);
	cert_case("serial 1", &o, &fx.prof, "serial:", "fewer than 64");
	o.serial = below, o.serial_len = sizeof(below);
	cert_case("serial 2^64-1", &o, &fx.prof, "serial:", "fewer than 64");
	o.serial = at, o.serial_len = sizeof(at);
	cert_case("serial 2^64", &o, &fx.prof, NULL, NULL);

	/* CA bit and CA-only key usages under the leaf-only profile */
	o = base;
	o.bc = "critical,CA:TRUE,pathlen:0";
	o.ku = "critical,keyCertSign,cRLSign";
	o.eku = NULL;
	cert_case("CA bit when not allowed", &o, &fx.prof, "ca:", "does not allow");
	o = base;
	o.ku = "critical,digitalSignature,keyCertSign";
	cert_case("keyCertSign on a non-CA", &o, &fx.prof, "key-usage:", "non-CA");
	o.ku = "critical,digitalSignature,cRLSign";
	cert_case("cRLSign on a non-CA", &o, &fx.prof, "key-usage:", "non-CA");
	o.bc = "critical,CA:FALSE"; /* basicConstraints present, cA absent: still a non-CA */
	cert_case("keyCertSign with CA:FALSE", &o, &fx.prof, "key-usage:", "non-CA");

	o = base;
	o.ku = "critical,digitalSignature,dataEncipherment";
	cert_case("KU not allowed", &o, &fx.prof, "key-usage:", "not allowed");
	o.ku = "critical,digitalSignature";
	cert_case("KU allowed", &o, &fx.prof, NULL, NULL);
	o.ku = NULL;
	cert_case("no KU", &o, &fx.prof, "key-usage:", "missing");

	/* key usages the key's type cannot carry out, though the pinned profile allows them */
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	CHECK(rsa != NULL);
	p = fx.prof;
	p.ku_allowed = 0x1ff & ~(TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN);
	o = base;
	o.ku = "critical,digitalSignature,keyEncipherment";
	cert_case("keyEncipherment on an EC key", &o, &p, "key-usage:", "EC key");
	o.ku = "critical,digitalSignature,dataEncipherment";
	cert_case("dataEncipherment on an EC key", &o, &p, "key-usage:", "EC key");
	o.ku = "critical,digitalSignature,keyAgreement";
	cert_case("keyAgreement on an EC key", &o, &p, NULL, NULL);
	/* encipherOnly and decipherOnly qualify keyAgreement: one of them, with it (RFC 5280 4.2.1.3, RFC 5480 3) */
	o.ku = "critical,keyAgreement,encipherOnly";
	cert_case("keyAgreement and encipherOnly on an EC key", &o, &p, NULL, NULL);
	o.ku = "critical,digitalSignature,encipherOnly";
	cert_case("encipherOnly without keyAgreement", &o, &p, "key-usage:", "without keyAgreement");
	o.ku = "critical,digitalSignature,decipherOnly";
	cert_case("decipherOnly without keyAgreement", &o, &p, "key-usage:", "without keyAgreement");
	o.ku = "critical,keyAgreement,encipherOnly,decipherOnly";
	cert_case("encipherOnly and decipherOnly", &o, &p, "key-usage:", "or both");
	o.ku = "critical,digitalSignature,keyAgreement";
	o.key = rsa;
	cert_case("keyAgreement on an RSA key", &o, &p, "key-usage:", "RSA key");
	o.ku = "critical,keyAgreement,encipherOnly";
	cert_case("encipherOnly on an RSA key", &o, &p, "key-usage:", "RSA key");
	o.ku = "critical,keyAgreement,decipherOnly";
	cert_case("decipherOnly on an RSA key", &o, &p, "key-usage:", "RSA key");
	o.ku = "critical,digitalSignature,keyEncipherment,dataEncipherment";
	cert_case("keyEncipherment on an RSA key", &o, &p, NULL, NULL);
	EVP_PKEY_free(rsa);

	/* key types and sizes: what the frontend's profiles take and nothing else, whatever the frontend sent */
	EVP_PKEY *small = EVP_RSA_gen(1024), *p384 = EVP_EC_gen("P-384"), *p521 = EVP_EC_gen("P-521"),
		 *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), *k1 = EVP_EC_gen("secp256k1");
	CHECK(small && p384 && p521 && ed && k1);
	o = base;
	o.key = p384;
	cert_case("a P-384 key", &o, &fx.prof, NULL, NULL);
	o.key = small;
	cert_case("an RSA-1024 key", &o, &fx.prof, "key:", "2048-, 3072- or 4096-bit");
	o.key = p521;
	cert_case("a P-521 key", &o, &fx.prof, "key:", "P-256 and P-384 only");
	o.key = k1;
	cert_case("a secp256k1 key", &o, &fx.prof, "key:", "P-256 and P-384 only");
	o.key = ed;
	cert_case("an Ed25519 key", &o, &fx.prof, "key:", "only EC P-256");
	EVP_PKEY_free(small);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(k1);

	o = base;
	o.eku = "codeSigning";
	cert_case("EKU not allowed", &o, &fx.prof, "eku:", "0");
	o.eku = "serverAuth,clientAuth,codeSigning";
	cert_case("third EKU not allowed", &o, &fx.prof, "eku:", "2");
	o.eku = "anyExtendedKeyUsage";
	cert_case("anyExtendedKeyUsage", &o, &fx.prof, "eku:", NULL);
	o.eku = "serverAuth,clientAuth";
	cert_case("both EKUs allowed", &o, &fx.prof, NULL, NULL);

	o = base;
	o.raw[o.n_raw++] = (struct raw_ext){ "1.3.6.1.4.1.55555.1", true, (const uint8_t *)"\x05\x00", 2 };
	cert_case("unknown critical extension", &o, &fx.prof, "critical-extension:", NULL);
	o.raw[0].critical = false;
	cert_case("unknown non-critical extension", &o, &fx.prof, "extension:", "none of those hsmca writes");
	/* the allowlist: what the frontend and the ceremony write passes, whatever else does not */
	static const struct {
		const char *oid, *name;
		const uint8_t *der;
		size_t len;
		bool ok;
	} allow[] = {
		{ "1.3.6.1.5.5.7.1.1", "authorityInfoAccess", (const uint8_t *)"\x30\x00", 2, true },
		{ "2.5.29.31", "cRLDistributionPoints", (const uint8_t *)"\x30\x00", 2, true },
		{ "2.5.29.36", "policyConstraints", (const uint8_t *)"\x30\x03\x80\x01\x00", 5, true },
		{ "1.3.6.1.5.5.7.48.1.5", "OCSP no-check", (const uint8_t *)"\x05\x00", 2, true },
		{ "1.3.6.1.5.5.7.1.24", "TLS feature", (const uint8_t *)"\x30\x03\x02\x01\x05", 5, false },
		{ "1.3.6.1.5.5.7.1.11", "subjectInfoAccess", (const uint8_t *)"\x30\x00", 2, false },
		{ "2.5.29.9", "subjectDirectoryAttributes", (const uint8_t *)"\x30\x00", 2, false },
		{ "2.5.29.46", "freshestCRL", (const uint8_t *)"\x30\x00", 2, false },
	};
	struct policy_profile ceremony = fx.prof; /* a ceremony's lint: certificatePolicies, policyConstraints too */
	ceremony.allow_policies = true;
	ceremony.allow_nocheck = true; /* (its OCSP responder's lint) */
	for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++) {
		o = base;
		o.raw[o.n_raw++] = (struct raw_ext){ allow[i].oid, false, allow[i].der, allow[i].len };
		cert_case(allow[i].name, &o, &ceremony, allow[i].ok ? NULL : "extension:", NULL);
	}
	o = base;
	o.san = "critical,DNS:www.example.test";
	o.raw[o.n_raw++] = (struct raw_ext){ "2.5.29.32", true, (const uint8_t *)"\x30\x06\x30\x04\x06\x02\x2a\x03", 8 };
	cert_case("known critical extensions (SAN, CP)", &o, &ceremony, NULL, NULL);
	/* the signer's profile (allow_policies false): neither is signed (they were: an issuance policy OID is group
	 * membership to Windows AMA, which no profile looked at) */
	cert_case("certificatePolicies, the signer", &o, &fx.prof, "extension:", "only a key ceremony writes");
	o = base;
	o.raw[o.n_raw++] = (struct raw_ext){ "2.5.29.36", false, (const uint8_t *)"\x30\x03\x80\x01\x00", 5 };
	cert_case("policyConstraints, the signer", &o, &fx.prof, "extension:", "only a key ceremony writes");
	/* OCSP no-check (do not check this certificate's revocation): a ceremony's, on a responder's certificate;
	 * the signer signed it on any leaf */
	o = base;
	o.raw[o.n_raw++] = (struct raw_ext){ "1.3.6.1.5.5.7.48.1.5", false, (const uint8_t *)"\x05\x00", 2 };
	cert_case("OCSP no-check, the signer", &o, &fx.prof, "extension:", "OCSP no-check, which only a key ceremony");
}

/* The CA branch: a profile that allows CA certificates with pathLen 0. */
static void test_cert_ca_rules(void)
{
	struct leaf_opts o, base;
	struct policy_profile p = fx.prof;
	p.allow_ca = true;
	p.max_pathlen = 0;
	p.ku_allowed |= TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN;
	leaf_defaults(&fx, &base);
	base.bc = "critical,CA:TRUE,pathlen:0";
	base.ku = "critical,keyCertSign,cRLSign";

	cert_case("good CA", &base, &p, NULL, NULL);
	/* an absent EKU means any purpose, for every certificate below the CA too (PROTOCOL.md: EKU present and
	 * within the pin): refused where the key's profile pins EKUs, accepted where it does not */
	o = base;
	o.eku = NULL;
	cert_case("CA without EKU under an EKU pin", &o, &p, "eku:", "missing");
	struct policy_profile any_eku = p;
	any_eku.n_eku = 0;
	cert_case("CA without EKU, no EKU pinned", &o, &any_eku, NULL, NULL);
	o = base;
	o.bc = "CA:TRUE,pathlen:0";
	cert_case("CA basicConstraints not critical", &o, &p, "ca:", "critical");
	o = base;
	o.bc = "critical,CA:TRUE";
	cert_case("CA without pathLen", &o, &p, "pathlen:", NULL);
	o.bc = "critical,CA:TRUE,pathlen:1";
	cert_case("CA pathLen above max", &o, &p, "pathlen:", NULL);
	o = base;
	o.ku = "critical,cRLSign,digitalSignature";
	cert_case("CA without keyCertSign", &o, &p, "key-usage:", "needs keyCertSign");
	o.ku = NULL;
	cert_case("CA without keyUsage", &o, &p, "key-usage:", "needs keyCertSign");
	o = base;
	o.ski = false;
	cert_case("CA without SKI", &o, &p, "ski:", NULL);
	/* the leaf-only rules still apply to CA certificates */
	o = base;
	o.ku = "critical,keyCertSign,cRLSign,keyAgreement";
	cert_case("CA with KU not allowed", &o, &p, "key-usage:", "not allowed");
}

/* A key pinned with ca_permitted: the CA certificate's nameConstraints must stay within the pins. */
static void test_cert_ca_pinned(void)
{
	static const char good[] = "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
				   "permitted;URI:.team.example.com,permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::";
	static const char no_ip[] = "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
				    "permitted;URI:.team.example.com,permitted;dirName:dn_team,excluded;IP:0.0.0.0/0.0.0.0,excluded;IP:::/::";
	static const struct {
		const char *what, *nc, *rule, *detail; /* rule NULL: accepted */
	} cases[] = {
		{ "within the pins", good, NULL, NULL },
		{ "narrower names", "critical,permitted;DNS:a.team.example.com,permitted;email:x@b.team.example.com,"
				    "permitted;URI:.c.team.example.com,permitted;dirName:dn_team,permitted;IP:10.20.5.0/255.255.255.0,excluded;IP:::/::", NULL, NULL },
		{ "no IP subtree, every address excluded", no_ip, NULL, NULL },
		{ "the pinned IP range with upper-case names", "critical,permitted;DNS:.TEAM.example.com,"
		  "permitted;email:.team.EXAMPLE.com,permitted;URI:.team.example.com,permitted;dirName:dn_team,"
		  "permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::", NULL, NULL },
		{ "no nameConstraints", NULL, "name-constraints:", "needs critical" },
		{ "not critical", "permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
				  "permitted;URI:.team.example.com,permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::",
		  "name-constraints:", "needs critical" },
		{ "a wider domain", "critical,permitted;DNS:.example.com,permitted;email:.team.example.com,"
				    "permitted;URI:.team.example.com,permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::",
		  "name-constraints:", "subtree 0 is outside" },
		{ "the pinned domain's own name", "critical,permitted;DNS:team.example.com,permitted;email:.team.example.com,"
						  "permitted;URI:.team.example.com,permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::",
		  "name-constraints:", "subtree 0 is outside" },
		{ "a look-alike suffix", "critical,permitted;DNS:.evilteam.example.com,permitted;email:.team.example.com,"
					 "permitted;URI:.team.example.com,permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::",
		  "name-constraints:", "subtree 0 is outside" },
		{ "email elsewhere", "critical,permitted;DNS:.team.example.com,permitted;email:x@example.org,"
				     "permitted;URI:.team.example.com,permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::",
		  "name-constraints:", "subtree 1 is outside" },
		{ "no URI subtree", "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
				    "permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::",
		  "name-constraints:", "must each have" },
		{ "a wider IP range", "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
				      "permitted;URI:.team.example.com,permitted;dirName:dn_team,permitted;IP:10.0.0.0/255.0.0.0",
		  "name-constraints:", "subtree 4 is outside" },
		{ "an unpinned IPv6 range", "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
					    "permitted;URI:.team.example.com,permitted;dirName:dn_team,permitted;IP:fd00::/ff00::",
		  "name-constraints:", "subtree 4 is outside" },
		{ "IP addresses left open", "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
					    "permitted;URI:.team.example.com,permitted;dirName:dn_team",
		  "name-constraints:", "IPv4 addresses" },
		{ "only IPv4 excluded", "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
					"permitted;URI:.team.example.com,permitted;dirName:dn_team,excluded;IP:0.0.0.0/0.0.0.0",
		  "name-constraints:", "IPv6 addresses" },
		/* one family permitted and the other neither permitted nor excluded: unconstrained for verifiers that
		 * constrain only the families the permitted subtrees name (GnuTLS) */
		{ "IPv4 permitted, IPv6 left open", "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
						    "permitted;URI:.team.example.com,permitted;dirName:dn_team,"
						    "permitted;IP:10.20.0.0/255.255.0.0",
		  "name-constraints:", "IPv6 addresses" },
		{ "IPv4 permitted, IPv6 partly excluded", "critical,permitted;DNS:.team.example.com,"
							  "permitted;email:.team.example.com,permitted;URI:.team.example.com,"
							  "permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,"
							  "excluded;IP:2001:db8::/ffff:ffff::",
		  "name-constraints:", "IPv6 addresses" },
		{ "IPv4 permitted, every IPv4 address excluded too", "critical,permitted;DNS:.team.example.com,"
								     "permitted;email:.team.example.com,"
								     "permitted;URI:.team.example.com,permitted;dirName:dn_team,"
								     "permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:0.0.0.0/0.0.0.0,"
								     "excluded;IP:::/::", NULL, NULL },
		{ "a longer directory name", "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
					    "permitted;URI:.team.example.com,permitted;dirName:dn_deeper,"
					    "permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::", NULL, NULL },
		{ "no directoryName subtree", "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
					      "permitted;URI:.team.example.com,permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::",
		  "name-constraints:", "directory names must have a permitted subtree" },
		{ "a directory name only excluded", "critical,permitted;DNS:.team.example.com,"
						    "permitted;email:.team.example.com,permitted;URI:.team.example.com,"
						    "permitted;IP:10.20.0.0/255.255.0.0,excluded;dirName:dn_team",
		  "name-constraints:", "directory names must have a permitted subtree" },
		{ "a wider directory name", "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
					    "permitted;URI:.team.example.com,permitted;dirName:dn_wide,"
					    "permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::",
		  "name-constraints:", "subtree 3 is outside" },
		{ "another organization", "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
					  "permitted;URI:.team.example.com,permitted;dirName:dn_evil,"
					  "permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::",
		  "name-constraints:", "subtree 3 is outside" },
		{ "the pin's attributes reordered", "critical,permitted;DNS:.team.example.com,"
						    "permitted;email:.team.example.com,permitted;URI:.team.example.com,"
						    "permitted;dirName:dn_reordered,permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::",
		  "name-constraints:", "subtree 3 is outside" },
		{ "a second directory name elsewhere", "critical,permitted;DNS:.team.example.com,"
						       "permitted;email:.team.example.com,permitted;URI:.team.example.com,"
						       "permitted;dirName:dn_team,permitted;dirName:dn_evil,"
						       "permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::",
		  "name-constraints:", "subtree 4 is outside" },
		{ "a registeredID subtree", "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
					     "permitted;URI:.team.example.com,permitted;dirName:dn_team,permitted;RID:1.2.3.4,"
					     "permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::",
		  "name-constraints:", "not a DNS name" },
		/* the excluded side in the permitted side's kinds and forms (it took any context tag: a verifier
		 * that drops a nameConstraints it cannot read takes such a CA for an unconstrained one) */
		{ "an excluded registeredID", "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
					      "permitted;URI:.team.example.com,permitted;dirName:dn_team,"
					      "permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::,excluded;RID:1.2.3.4",
		  "name-constraints:", "excluded subtree 1 is not" },
		{ "an excluded IP range with a mask not contiguous", "critical,permitted;DNS:.team.example.com,"
								     "permitted;email:.team.example.com,permitted;URI:.team.example.com,"
								     "permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,"
								     "excluded;IP:::/::,excluded;IP:10.20.0.0/255.255.0.255",
		  "name-constraints:", "excluded subtree 1 is not" },
		{ "an excluded DNS name and email", "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,"
						    "permitted;URI:.team.example.com,permitted;dirName:dn_team,"
						    "permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::,"
						    "excluded;DNS:x.team.example.com,excluded;email:.x.team.example.com",
		  NULL, NULL },
	};
	struct leaf_opts o, base;
	struct policy_profile p = fx.prof;
	p.allow_ca = true;
	p.max_pathlen = 0;
	p.ku_allowed |= TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN;
	p.ca_pinned = true;
	p.n_ca_dns = 1;
	snprintf(p.ca_dns[0], sizeof(p.ca_dns[0]), ".team.example.com");
	p.n_ca_ip = 1;
	p.ca_ip[0] = (struct policy_iprange){ false, { 10, 20 }, 16 };
	char why[POLICY_DN_WHY_MAX];
	CHECKF(policy_dn_parse("/C=US/O=Example/OU=Team", p.ca_dn, sizeof(p.ca_dn), &p.ca_dn_len, why) == 0, "%s", why);
	leaf_defaults(&fx, &base);
	base.bc = "critical,CA:TRUE,pathlen:0";
	base.ku = "critical,keyCertSign,cRLSign";
	base.san = "DNS:ca.team.example.com";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = base;
		o.nc = cases[i].nc;
		cert_case(cases[i].what, &o, &p, cases[i].rule, cases[i].detail);
	}
	/* a pin that takes every IPv6 address: a permitted IPv6 range over ::ffff:0:0/96 needs that block
	 * excluded (Go reads ::ffff:a.b.c.d as a.b.c.d, past the IPv4 ranges), one beside it does not */
	static const struct {
		const char *what, *nc, *rule, *detail;
	} mapped_cases[] = {
		{ "IPv6 ::/0 permitted, the mapped block not excluded",
		  "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,permitted;URI:.team.example.com,"
		  "permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,permitted;IP:::/::",
		  "name-constraints:", "IPv4-mapped" },
		{ "IPv6 ::/0 permitted, the mapped block excluded",
		  "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,permitted;URI:.team.example.com,"
		  "permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,permitted;IP:::/::,"
		  "excluded;IP:::ffff:0:0/ffff:ffff:ffff:ffff:ffff:ffff::",
		  NULL, NULL },
		/* a range inside the mapped block, or one that holds part of it, is as open (before, only a range
		 * over the whole block counted: ::ffff:8.8.8.0/120 passed, and Go let its CA name 8.8.8.8) */
		{ "IPv6 ::ffff:8.8.8.0/120 permitted, inside the mapped block",
		  "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,permitted;URI:.team.example.com,"
		  "permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,"
		  "permitted;IP:::ffff:808:800/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00",
		  "name-constraints:", "IPv4-mapped" },
		{ "IPv6 ::ffff:8.8.8.0/120 permitted, the mapped block excluded",
		  "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,permitted;URI:.team.example.com,"
		  "permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,"
		  "permitted;IP:::ffff:808:800/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00,"
		  "excluded;IP:::ffff:0:0/ffff:ffff:ffff:ffff:ffff:ffff::",
		  NULL, NULL },
		{ "IPv6 ::ffff:8.0.0.0/104 permitted, only ::ffff:8.8.8.0/120 excluded",
		  "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,permitted;URI:.team.example.com,"
		  "permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,"
		  "permitted;IP:::ffff:800:0/ffff:ffff:ffff:ffff:ffff:ffff:ff00:0,"
		  "excluded;IP:::ffff:808:800/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00",
		  "name-constraints:", "IPv4-mapped" },
		{ "IPv6 2001:db8::/32 permitted (beside the mapped block)",
		  "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,permitted;URI:.team.example.com,"
		  "permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,permitted;IP:2001:db8::/ffff:ffff::",
		  NULL, NULL },
	};
	struct policy_profile p6 = p;
	p6.ca_ip[p6.n_ca_ip++] = (struct policy_iprange){ true, { 0 }, 0 };
	for (size_t i = 0; i < sizeof(mapped_cases) / sizeof(mapped_cases[0]); i++) {
		o = base;
		o.nc = mapped_cases[i].nc;
		cert_case(mapped_cases[i].what, &o, &p6, mapped_cases[i].rule, mapped_cases[i].detail);
	}
	/* an empty dNSName permits every name (OpenSSL will not write one: raw DER) */
	static const uint8_t empty_dns[] =
		"\x30\x3c\xa0\x3a\x30\x02\x82\x00\x30\x13\x81\x11.team.example.com\x30\x13\x86\x11.team.example.com"
		"\x30\x0a\x87\x08\x0a\x14\x00\x00\xff\xff\x00\x00";
	o = base;
	o.raw[o.n_raw++] = (struct raw_ext){ "2.5.29.30", true, empty_dns, sizeof(empty_dns) - 1 };
	cert_case("an empty DNS name (every name)", &o, &p, "name-constraints:", "subtree 0 is outside");
	/* the pin "team.example.com" (no dot) holds that name too; leaves need no constraints */
	snprintf(p.ca_dns[0], sizeof(p.ca_dns[0]), "team.example.com");
	o = base;
	o.nc = "critical,permitted;DNS:team.example.com,permitted;email:team.example.com,permitted;URI:.team.example.com,"
	       "permitted;dirName:dn_team,permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::";
	cert_case("the pin's own name, pinned without a dot", &o, &p, NULL, NULL);
	/* pinned without ca_permitted_dn (Go clients refuse directoryName constraints): none needed, and any
	 * well-formed one only narrows */
	p.ca_dn_len = 0;
	o = base;
	o.nc = "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,permitted;URI:.team.example.com,"
	       "permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::";
	cert_case("no directory name, none pinned", &o, &p, NULL, NULL);
	o.nc = "critical,permitted;DNS:.team.example.com,permitted;email:.team.example.com,permitted;URI:.team.example.com,"
	       "permitted;dirName:dn_evil,permitted;IP:10.20.0.0/255.255.0.0,excluded;IP:::/::";
	cert_case("a directory name, none pinned", &o, &p, NULL, NULL);
	leaf_defaults(&fx, &o);
	cert_case("a leaf under a pinned key", &o, &p, NULL, NULL);
}

/* An empty subject: never a CA's (RFC 5280 4.1.2.6), and only with a critical subjectAltName (4.2.1.6). */
static void test_cert_empty_subject(void)
{
	struct leaf_opts o, base;
	struct policy_profile ca = fx.prof;
	ca.allow_ca = true;
	ca.max_pathlen = 0;
	ca.ku_allowed |= TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN;
	leaf_defaults(&fx, &base);

	o = base;
	o.subject_cn = "";
	o.san = "critical,DNS:www.example.test";
	cert_case("leaf: empty subject, critical SAN", &o, &fx.prof, NULL, NULL);
	o.san = "DNS:www.example.test";
	cert_case("leaf: empty subject, SAN not critical", &o, &fx.prof, "subject:", "critical subjectAltName");
	o.san = NULL;
	cert_case("leaf: empty subject, no SAN", &o, &fx.prof, "subject:", "critical subjectAltName");
	o = base;
	o.bc = "critical,CA:TRUE,pathlen:0";
	o.ku = "critical,keyCertSign,cRLSign";
	cert_case("CA with a subject", &o, &ca, NULL, NULL);
	o.subject_cn = "";
	o.san = "critical,DNS:ca.example.test";
	cert_case("CA: empty subject, critical SAN", &o, &ca, "subject:", "a CA certificate");
}

/* C=US, CN=www.example.test: a subject of two RDNs */
static const uint8_t leaf_two_rdns[] = { 0x30, 0x28, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02,
					 'U',  'S',  0x31, 0x19, 0x30, 0x17, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x10,
					 'w',  'w',  'w',  '.',  'e',  'x',  'a',  'm',  'p',  'l',  'e',  '.',  't',
					 'e',  's',  't' };

/* leaf_permitted: a certificate's names inside the key's leaf pin (".d" the names below d, "d" d and those
 * below it; email domains alike; IP ranges, none IPv4-mapped; no URI), its subject empty or one CN
 * (UTF8String) that is one of them; a CA certificate's own names too. */
static void test_cert_leaf_pinned(void)
{
	struct leaf_opts o, base;
	struct policy_profile p = fx.prof, ca;
	p.leaf_pinned = true;
	strcpy(p.leaf_dns[p.n_leaf_dns++], ".example.test");
	strcpy(p.leaf_dns[p.n_leaf_dns++], "example.org");
	p.leaf_ip[p.n_leaf_ip++] = (struct policy_iprange){ false, { 10 }, 8 };
	p.leaf_ip[p.n_leaf_ip++] = (struct policy_iprange){ true, { 0xfd }, 8 };
	leaf_defaults(&fx, &base);
	cert_case("leaf pin: the default leaf (CN and DNS www.example.test)", &base, &p, NULL, NULL);
	/* subjectAltNames against the pin: NULL rule, signed; else refused naming "leaf-names:" and the name */
	static const struct {
		const char *what, *san, *rule, *sub;
	} sans[] = {
		{ "leaf pin: every kind inside",
		  "DNS:www.example.test,DNS:example.org,DNS:a.b.example.org,IP:10.1.2.3,"
		  "IP:fd00::1,email:bob@mail.example.test,email:ann@example.org",
		  NULL, NULL },
		{ "leaf pin: a DNS name outside", "DNS:www.example.test,DNS:evil.test", "leaf-names:",
		  "subjectAltName 1 is outside" },
		{ "leaf pin: the domain of a below-only entry", "DNS:www.example.test,DNS:example.test", "leaf-names:",
		  "subjectAltName 1" },
		{ "leaf pin: a suffix that is not a label", "DNS:www.example.test,DNS:wwwexample.org", "leaf-names:",
		  "subjectAltName 1" },
		{ "leaf pin: case does not matter", "DNS:www.example.test,DNS:www.EXAMPLE.org", NULL, NULL },
		{ "leaf pin: an IPv4 address outside", "DNS:www.example.test,IP:11.0.0.1", "leaf-names:",
		  "subjectAltName 1" },
		{ "leaf pin: an IPv6 address outside", "DNS:www.example.test,IP:fe00::1", "leaf-names:",
		  "subjectAltName 1" },
		{ "leaf pin: an email domain outside", "DNS:www.example.test,email:bob@evil.test", "leaf-names:",
		  "subjectAltName 1" },
		{ "leaf pin: a URI", "DNS:www.example.test,URI:https://www.example.test/", "leaf-names:",
		  "subjectAltName 1" },
	};
	for (size_t i = 0; i < sizeof(sans) / sizeof(sans[0]); i++) {
		o = base;
		o.san = sans[i].san;
		cert_case(sans[i].what, &o, &p, sans[i].rule, sans[i].sub);
	}
	/* a wildcard only with leaf_wildcard: without, "*.x.example.test" is refused though .example.test holds
	 * x.example.test's every name */
	struct policy_profile wild = p;
	wild.leaf_wildcard = true;
	o = base;
	o.san = "DNS:www.example.test,DNS:*.x.example.test";
	cert_case("leaf pin: a wildcard without leaf_wildcard", &o, &p, "leaf-names:",
		  "subjectAltName 1 is a wildcard, which the key's leaf pin refuses (leaf_wildcard = no)");
	cert_case("leaf pin: a wildcard with leaf_wildcard", &o, &wild, NULL, NULL);
	o.san = "DNS:www.example.test,DNS:*.evil.test";
	cert_case("leaf pin: a wildcard outside, with leaf_wildcard", &o, &wild, "leaf-names:",
		  "subjectAltName 1 is outside");
	o.san = "DNS:*.x.example.test";
	o.subject_cn = "*.x.example.test";
	cert_case("leaf pin: a wildcard CN and name without leaf_wildcard", &o, &p, "leaf-names:",
		  "subjectAltName 0 is a wildcard");
	cert_case("leaf pin: a wildcard CN and name with leaf_wildcard", &o, &wild, NULL, NULL);
	o = base;
	o.san = NULL;
	cert_case("leaf pin: no subjectAltName", &o, &p, "leaf-names:", "needs a subjectAltName");
	o = base;
	o.subject_cn = "other.example.test";
	cert_case("leaf pin: a CN that is not one of the names", &o, &p, "leaf-names:", "CN is none of");
	o.subject_cn = "10.1.2.3";
	o.san = "IP:10.1.2.3";
	cert_case("leaf pin: a CN that is the text of an IP address", &o, &p, NULL, NULL);
	o.san = "IP:10.1.2.4";
	cert_case("leaf pin: a CN that is another address", &o, &p, "leaf-names:", "CN is none of");
	o = base;
	o.subject_type = V_ASN1_PRINTABLESTRING;
	cert_case("leaf pin: a CN that is not a UTF8String", &o, &p, "leaf-names:", "one CN (UTF8String)");
	o = base;
	o.subject_cn = "";
	o.san = "critical,DNS:www.example.test";
	cert_case("leaf pin: an empty subject", &o, &p, NULL, NULL);
	o.san = "critical,DNS:www.example.test,DNS:evil.test";
	cert_case("leaf pin: an empty subject, a name outside", &o, &p, "leaf-names:", "subjectAltName 1");
	cert_case("no leaf pin: the same names", &o, &fx.prof, NULL, NULL);
	ca = p;
	ca.allow_ca = true;
	ca.max_pathlen = 0;
	ca.ku_allowed |= TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN;
	o = base;
	o.bc = "critical,CA:TRUE,pathlen:0";
	o.ku = "critical,keyCertSign,cRLSign";
	o.subject_cn = "ca.elsewhere.test";
	o.san = "DNS:ca.elsewhere.test";
	cert_case("leaf pin: a CA certificate's own names too", &o, &ca, "leaf-names:", "subjectAltName 0");
	o.subject_cn = "ca.example.test";
	o.san = "DNS:ca.example.test";
	cert_case("leaf pin: a CA certificate with its names inside", &o, &ca, NULL, NULL);
	/* forms a verifier might read otherwise: empty labels, a trailing dot, a '*' past the first label, an
	 * IPv4-mapped address (Go takes ::ffff:10.1.2.3 for 10.1.2.3) */
	static const char *const odd[] = { "DNS:a..example.test", "DNS:www.example.test.", "DNS:a.*.example.test",
					   "DNS:*x.example.test", "email:bob@.example.test", "IP:::ffff:10.1.2.3" };
	char san[96];
	o = base;
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		snprintf(san, sizeof(san), "DNS:www.example.test,%s", odd[i]);
		o.san = san;
		cert_case(odd[i], &o, &wild, "leaf-names:", "subjectAltName 1 is outside");
	}
	/* a subject of more than one attribute */
	o = base;
	o.raw_subject = leaf_two_rdns;
	o.raw_subject_len = sizeof(leaf_two_rdns);
	cert_case("leaf pin: C=US, CN=www.example.test", &o, &p, "leaf-names:", "one CN");
}

/* No subject equals its issuer's name, as verifiers compare names, unless the certificate is self-signed: a
 * self-issued CA is exempt from its issuer's name constraints and path length (RFC 5280 6.1). */
static void test_cert_self_issued(void)
{
	struct leaf_opts o, base;
	struct policy_profile ca = fx.prof;
	ca.allow_ca = true;
	ca.max_pathlen = 0;
	ca.ku_allowed |= TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN;
	leaf_defaults(&fx, &base);

	o = base;
	o.subject_cn = "Test Int";
	cert_case("subject = issuer, byte for byte", &o, &fx.prof, "subject:", "issuer's name");
	o.subject_cn = "  test   INT ";
	cert_case("subject = issuer but for case and spaces", &o, &fx.prof, "subject:", "issuer's name");
	o.subject_cn = "Test Int";
	o.subject_type = V_ASN1_PRINTABLESTRING;
	cert_case("subject = issuer as a PrintableString", &o, &fx.prof, "subject:", "issuer's name");
	o.bc = "critical,CA:TRUE,pathlen:0";
	o.ku = "critical,keyCertSign,cRLSign";
	cert_case("CA: subject = issuer", &o, &ca, "subject:", "issuer's name");
	o = base;
	o.subject_cn = "Test Int 2";
	cert_case("subject another name", &o, &fx.prof, NULL, NULL);
	/* self-signed: the subject key is the issuer's own (a root, re-linted by the ceremony) */
	o.subject_cn = "Test Int";
	o.key = fx.ca_key;
	o.bc = "critical,CA:TRUE,pathlen:0";
	o.ku = "critical,keyCertSign,cRLSign";
	cert_case("self-signed: subject = issuer", &o, &ca, NULL, NULL);

	/* names that verifiers read as the issuer's, or as empty, but policy_dn_equal could not read: refused as
	 * not well-formed (they passed as "another name" and as "not empty") */
	uint8_t raw[POLICY_DN_MAX + 4];
	size_t n = fx.iss.subject_len;
	CHECKF(n + 2 <= sizeof(raw) && fx.iss.subject[1] < 0x7e, "the fixture's issuer name is short-form");
	memcpy(raw, fx.iss.subject, n); /* the issuer's name and an empty RDN: OpenSSL's canonical form drops it */
	raw[1] = (uint8_t)(raw[1] + 2);
	raw[n] = DER_SET;
	raw[n + 1] = 0;
	o = base;
	o.raw_subject = raw;
	o.raw_subject_len = n + 2;
	cert_case("subject = issuer and an empty RDN", &o, &fx.prof, "subject:", "well-formed");
	o.bc = "critical,CA:TRUE,pathlen:0";
	o.ku = "critical,keyCertSign,cRLSign";
	cert_case("CA: subject = issuer and an empty RDN", &o, &ca, "subject:", "well-formed");
	/* CN=Test Int with its value's length in long form (81 08) */
	static const uint8_t long_len[] = { 0x30, 0x14, 0x31, 0x12, 0x30, 0x10, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x81, 0x08,
					    'T', 'e', 's', 't', ' ', 'I', 'n', 't' };
	o = base;
	o.raw_subject = long_len;
	o.raw_subject_len = sizeof(long_len);
	cert_case("subject = issuer with a long-form length", &o, &fx.prof, "subject:", "well-formed");
	/* one empty RDN: empty to verifiers, not by its length */
	static const uint8_t empty_rdn[] = { 0x30, 0x02, 0x31, 0x00 };
	o = base;
	o.raw_subject = empty_rdn;
	o.raw_subject_len = sizeof(empty_rdn);
	cert_case("subject: one empty RDN, SAN not critical", &o, &fx.prof, "subject:", "well-formed");
	/* CN=Test Int as a constructed UTF8String (BER: 2c holding one 0c segment): OpenSSL reads it and finds the
	 * issuer's name (so the certificate is self-issued to it: exempt from the issuer's path length); before,
	 * it passed as another name, a CA certificate too */
	static const uint8_t constructed[] = { 0x30, 0x15, 0x31, 0x13, 0x30, 0x11, 0x06, 0x03, 0x55, 0x04, 0x03, 0x2c,
					       0x0a, 0x0c, 0x08, 'T',  'e',  's',  't',  ' ',  'I',  'n',  't' };
	const unsigned char *cp = constructed;
	X509_NAME *seen = d2i_X509_NAME(NULL, &cp, (long)sizeof(constructed));
	CHECKF(seen && X509_NAME_cmp(seen, X509_get_subject_name(fx.ca)) == 0,
	       "OpenSSL reads the constructed CN as the issuer's name (else the case below proves nothing)");
	X509_NAME_free(seen);
	o = base;
	o.raw_subject = constructed;
	o.raw_subject_len = sizeof(constructed);
	cert_case("subject = issuer as a constructed string", &o, &fx.prof, "subject:", "well-formed");
	o.bc = "critical,CA:TRUE,pathlen:0";
	o.ku = "critical,keyCertSign,cRLSign";
	cert_case("CA: subject = issuer as a constructed string", &o, &ca, "subject:", "well-formed");
	/* a multi-valued RDN: O=Acme + CN=Test Int 2 in DER's order (the shorter encoding first), then reversed */
	static const uint8_t rdn_sorted[] = { 0x30, 0x22, 0x31, 0x20, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c,
					      0x04, 'A',  'c',  'm',  'e',  0x30, 0x11, 0x06, 0x03, 0x55, 0x04, 0x03,
					      0x0c, 0x0a, 'T',  'e',  's',  't',  ' ',  'I',  'n',  't',  ' ',  '2' };
	uint8_t rdn_reversed[sizeof(rdn_sorted)];
	memcpy(rdn_reversed, rdn_sorted, 4);
	memcpy(rdn_reversed + 4, rdn_sorted + 17, sizeof(rdn_sorted) - 17);
	memcpy(rdn_reversed + 4 + sizeof(rdn_sorted) - 17, rdn_sorted + 4, 13);
	CHECK(policy_dn_well_formed(span_make(rdn_sorted, sizeof(rdn_sorted))));
	CHECK(!policy_dn_well_formed(span_make(rdn_reversed, sizeof(rdn_reversed))));
	o = base;
	o.raw_subject = rdn_reversed;
	o.raw_subject_len = sizeof(rdn_reversed);
	cert_case("subject: a multi-valued RDN out of DER's order", &o, &fx.prof, "subject:", "well-formed");
}

/* Extension values are one strict-DER element with nothing after it, also those the checks do not decode. */
static void test_cert_ext_der(void)
{
	static const uint8_t san_ok[] = { 0x30, 0x0d, 0x82, 0x0b, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm' };
	static const uint8_t san_long[] = { 0x30, 0x81, 0x0d, 0x82, 0x0b, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm' };
	static const uint8_t san_inner_long[] = { 0x30, 0x0e, 0x82, 0x81, 0x0b, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm' };
	static const uint8_t san_trailing[] = { 0x30, 0x0d, 0x82, 0x0b, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
						0x05, 0x00 };
	static const uint8_t null_der[] = { 0x05, 0x00 }, null_other[] = { 0x04, 0x00 };
	/* a dNSName in constructed form (BER: an OCTET STRING inside [2]), an empty GeneralNames, an iPAddress
	 * and a directoryName in their DER forms */
	static const uint8_t san_dns_cons[] = { 0x30, 0x0f, 0xa2, 0x0d, 0x04, 0x0b, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.',
						'c', 'o', 'm' };
	static const uint8_t san_empty[] = { 0x30, 0x00 };
	static const uint8_t san_ip_dir[] = { 0x30, 0x15, 0x87, 0x04, 10, 0, 0, 1, 0xa4, 0x0d, 0x30, 0x0b, 0x31, 0x09,
					      0x30, 0x07, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x00 };
	/* the names the frontend writes (email, DNS, URI, IP); then an otherName (a UPN) and a URI in Windows'
	 * AD SID form (KB5014754), which a compromised frontend could use to log in to AD */
	static const uint8_t san_four[] = { 0x30, 0x19, 0x81, 0x03, 'a', '@', 'b', 0x82, 0x03, 'a', '.', 'b', 0x86, 0x07,
					    'h', 't', 't', 'p', ':', '/', '/', 0x87, 0x04, 10, 0, 0, 1 };
	static const uint8_t san_upn[] = { 0x30, 0x14, 0xa0, 0x12, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37,
					   0x14, 0x02, 0x03, 0xa0, 0x04, 0x0c, 0x02, 'a', 'b' };
	static const uint8_t san_sid[] = { 0x30, 0x26, 0x86, 0x24, 'T', 'A', 'G', ':', 'm', 'i', 'c', 'r', 'o', 's', 'o',
					   'f', 't', '.', 'c', 'o', 'm', ',', '2', '0', '2', '2', '-', '0', '9', '-', '1',
					   '4', ':', 's', 'i', 'd', ':', 'S', '-', '1' };
	/* policyConstraints: DER, then universal types in forms or with contents DER does not allow */
	static const uint8_t pc_ok[] = { 0x30, 0x03, 0x80, 0x01, 0x00 };
	static const uint8_t pc_bool[] = { 0x30, 0x03, 0x01, 0x01, 0x01 };
	static const uint8_t pc_cons_str[] = { 0x30, 0x06, 0x2c, 0x04, 0x0c, 0x02, 'a', 'b' };
	static const uint8_t pc_cons_octets[] = { 0x30, 0x06, 0x24, 0x04, 0x04, 0x02, 0x01, 0x02 };
	static const uint8_t pc_int[] = { 0x30, 0x04, 0x02, 0x02, 0x00, 0x01 };
	static const uint8_t pc_null[] = { 0x30, 0x03, 0x05, 0x01, 0x00 };
	static const uint8_t pc_bits[] = { 0x30, 0x04, 0x03, 0x02, 0x01, 0x01 };
	static const uint8_t pc_bits_ok[] = { 0x30, 0x04, 0x03, 0x02, 0x01, 0x02 };
	static const uint8_t pc_prim_seq[] = { 0x30, 0x02, 0x10, 0x00 };
	static const uint8_t pc_eoc[] = { 0x30, 0x02, 0x00, 0x00 };
	static const struct {
		const char *name, *oid;
		const uint8_t *der;
		size_t len;
		bool ok;
	} cases[] = {
		{ "SAN, DER", "2.5.29.17", san_ok, sizeof(san_ok), true },
		{ "SAN, a long-form length", "2.5.29.17", san_long, sizeof(san_long), false },
		{ "SAN, a long-form length inside", "2.5.29.17", san_inner_long, sizeof(san_inner_long), false },
		{ "SAN, bytes after it", "2.5.29.17", san_trailing, sizeof(san_trailing), false },
		{ "OCSP no-check, NULL", "1.3.6.1.5.5.7.48.1.5", null_der, sizeof(null_der), true },
		{ "OCSP no-check, not NULL", "1.3.6.1.5.5.7.48.1.5", null_other, sizeof(null_other), false },
		{ "SAN, a constructed dNSName", "2.5.29.17", san_dns_cons, sizeof(san_dns_cons), false },
		{ "SAN, no names", "2.5.29.17", san_empty, sizeof(san_empty), false },
		{ "SAN, an iPAddress and a directoryName", "2.5.29.17", san_ip_dir, sizeof(san_ip_dir), false },
		{ "SAN, an email, a DNS name, a URI and an IP address", "2.5.29.17", san_four, sizeof(san_four), true },
		{ "SAN, an otherName (UPN)", "2.5.29.17", san_upn, sizeof(san_upn), false },
		{ "SAN, a URI in Windows' AD SID form", "2.5.29.17", san_sid, sizeof(san_sid), false },
		{ "policyConstraints, DER", "2.5.29.36", pc_ok, sizeof(pc_ok), true },
		{ "policyConstraints, a BOOLEAN 01", "2.5.29.36", pc_bool, sizeof(pc_bool), false },
		{ "policyConstraints, a constructed UTF8String", "2.5.29.36", pc_cons_str, sizeof(pc_cons_str), false },
		{ "policyConstraints, a constructed OCTET STRING", "2.5.29.36", pc_cons_octets, sizeof(pc_cons_octets),
		  false },
		{ "policyConstraints, an INTEGER padded", "2.5.29.36", pc_int, sizeof(pc_int), false },
		{ "policyConstraints, a NULL with contents", "2.5.29.36", pc_null, sizeof(pc_null), false },
		{ "policyConstraints, a BIT STRING's unused bit set", "2.5.29.36", pc_bits, sizeof(pc_bits), false },
		{ "policyConstraints, a BIT STRING, DER", "2.5.29.36", pc_bits_ok, sizeof(pc_bits_ok), true },
		{ "policyConstraints, a primitive SEQUENCE", "2.5.29.36", pc_prim_seq, sizeof(pc_prim_seq), false },
		{ "policyConstraints, end-of-contents", "2.5.29.36", pc_eoc, sizeof(pc_eoc), false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct leaf_opts o;
		leaf_defaults(&fx, &o);
		if (!strcmp(cases[i].oid, "2.5.29.17"))
			o.san = NULL;
		o.raw[o.n_raw++] = (struct raw_ext){ cases[i].oid, false, cases[i].der, cases[i].len };
		const char *why = cases[i].der == san_dns_cons || cases[i].der == san_empty || cases[i].der == san_ip_dir ||
					  cases[i].der == san_upn || cases[i].der == san_sid
					  ? "GeneralNames"
					  : "strict-DER";
		struct policy_profile ceremony = fx.prof; /* policyConstraints: a ceremony's */
		ceremony.allow_policies = true;
		ceremony.allow_nocheck = true;
		cert_case(cases[i].name, &o, &ceremony, cases[i].ok ? NULL : "extension:", cases[i].ok ? NULL : why);
	}
}

/* CN=value as a Name's DER, the value with string tag tag */
static size_t dn_cn(uint8_t *out, uint8_t tag, const void *v, size_t len)
{
	static const uint8_t head[] = { 0x06, 0x03, 0x55, 0x04, 0x03 };
	size_t n = 0;
	out[n++] = DER_SEQUENCE;
	out[n++] = (uint8_t)(len + 11);
	out[n++] = DER_SET;
	out[n++] = (uint8_t)(len + 9);
	out[n++] = DER_SEQUENCE;
	out[n++] = (uint8_t)(len + 7);
	memcpy(out + n, head, sizeof(head));
	n += sizeof(head);
	out[n++] = tag;
	out[n++] = (uint8_t)len;
	memcpy(out + n, v, len);
	return n + len;
}

/* policy_dn_equal: names as verifiers compare them (RFC 5280 7.1, OpenSSL's X509_NAME_cmp): each value's string
 * type, ASCII case and runs of white space aside, RDN by RDN. */
static void test_dn_equal(void)
{
	uint8_t a[64], b[64], c[POLICY_DN_MAX];
	size_t al = dn_cn(a, DER_UTF8STRING, "Test Int", 8), bl, cl;
	char why[POLICY_DN_WHY_MAX];
	static const uint8_t bmp[] = { 0, 't', 0, 'E', 0, 's', 0, 'T', 0, ' ', 0, 'i', 0, 'n', 0, 't' };
	static const uint8_t bmp_other[] = { 0, 't', 0, 'E', 0, 's', 0, 'T', 0, ' ', 0, 'i', 0, 'n', 0x01, 't' };
	CHECK(policy_dn_equal(span_make(a, al), span_make(a, al)));
	bl = dn_cn(b, DER_PRINTABLESTRING, "test int", 8);
	CHECK(policy_dn_equal(span_make(a, al), span_make(b, bl)));
	bl = dn_cn(b, DER_IA5STRING, " \tTest\n\n Int  ", 14);
	CHECK(policy_dn_equal(span_make(a, al), span_make(b, bl)));
	bl = dn_cn(b, 0x1e, bmp, sizeof(bmp)); /* BMPString */
	CHECK(policy_dn_equal(span_make(a, al), span_make(b, bl)));
	bl = dn_cn(b, 0x1e, bmp_other, sizeof(bmp_other));
	CHECK(!policy_dn_equal(span_make(a, al), span_make(b, bl)));
	bl = dn_cn(b, 0x1e, bmp, sizeof(bmp) - 1); /* half a character: malformed, compared as bytes */
	CHECK(!policy_dn_equal(span_make(a, al), span_make(b, bl)));
	bl = dn_cn(b, DER_UTF8STRING, "Test In", 7);
	CHECK(!policy_dn_equal(span_make(a, al), span_make(b, bl)));
	bl = dn_cn(b, DER_UTF8STRING, "TestInt ", 8);
	CHECK(!policy_dn_equal(span_make(a, al), span_make(b, bl)));
	bl = dn_cn(b, DER_UTF8STRING, "T\xc3\xa9st Int", 9); /* no folding beyond ASCII: e-acute is not e */
	CHECK(!policy_dn_equal(span_make(a, al), span_make(b, bl)));
	bl = dn_cn(b, 0x12, "Test Int", 8); /* NumericString, which is not read as characters: compared as bytes */
	CHECK(!policy_dn_equal(span_make(a, al), span_make(b, bl)));
	memcpy(b, a, al);
	b[10] = 0x0a; /* O= instead of CN= */
	CHECK(!policy_dn_equal(span_make(a, al), span_make(b, al)));
	CHECK(policy_dn_parse("/CN=Test Int/OU=x", c, sizeof(c), &cl, why) == 0 &&
	      !policy_dn_equal(span_make(a, al), span_make(c, cl)));
	CHECK(policy_dn_parse("/C=US/O=Example/CN=Test Int", c, sizeof(c), &cl, why) == 0 &&
	      policy_dn_equal(span_make(c, cl), span_make(c, cl)) && !policy_dn_equal(span_make(a, al), span_make(c, cl)));
	CHECK(!policy_dn_equal(span_make(a, al), span_make(a, al - 1))); /* malformed */
	/* string values well formed for their type, or the Name is not (no verifier reads them as the signer
	 * would have: "C1 A1" was 'a' to policy_dn_equal, which made CN=<C1 A1> the issuer CN=a) */
	static const struct {
		uint8_t tag;
		const char *v;
		size_t len;
		bool ok;
	} vals[] = {
		{ DER_UTF8STRING, "\xc3\xa9", 2, true },		  /* e-acute */
		{ DER_UTF8STRING, "\xf4\x8f\xbf\xbf", 4, true },	  /* U+10FFFF */
		{ DER_UTF8STRING, "\xc1\xa1", 2, false },		  /* 'a' in two bytes */
		{ DER_UTF8STRING, "\xe0\x80\x80", 3, false },	  /* NUL in three */
		{ DER_UTF8STRING, "\xf0\x80\x80\xa1", 4, false },	  /* 'a' in four */
		{ DER_UTF8STRING, "\xed\xa0\x80", 3, false },	  /* a surrogate */
		{ DER_UTF8STRING, "\xf4\x90\x80\x80", 4, false },	  /* past U+10FFFF */
		{ DER_UTF8STRING, "\xc3", 1, false },			  /* cut short */
		{ 0x1e, "\xd8\x00", 2, false },			  /* BMPString: a surrogate */
		{ 0x1c, "\x00\x11\x00\x00", 4, false },		  /* UniversalString: past U+10FFFF */
		{ 0x1c, "\x00\x00\x00\x61\x00", 5, false },	  /* not whole characters */
		{ 0x41, "8", 1, false },				  /* [APPLICATION 1]: OpenSSL reads no such value */
		{ 0x80, "8", 1, false },				  /* [0] */
		{ 0x1a, "8", 1, false },				  /* VisibleString: OpenSSL's Name takes none */
		{ 0x04, "8", 1, false },				  /* OCTET STRING */
		{ 0x12, "8", 1, true },				  /* NumericString */
	};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		bl = dn_cn(b, vals[i].tag, vals[i].v, vals[i].len);
		CHECKF(policy_dn_well_formed(span_make(b, bl)) == vals[i].ok, "string value %zu", i);
	}
	al = dn_cn(a, DER_UTF8STRING, "a", 1);
	bl = dn_cn(b, DER_UTF8STRING, "\xc1\xa1", 2);
	CHECK(!policy_dn_equal(span_make(a, al), span_make(b, bl)));
	/* a multi-valued RDN: its attributes compared in any order, as OpenSSL does (it sorts their canonical
	 * forms). {CN=ab (UTF8String), O=Xyz} and {O=Xyz, CN=ab (BMPString)}, each in DER's order, are one name to
	 * OpenSSL; paired in DER's order they were two, and a subject naming its issuer passed as another name */
	static const uint8_t mv_a[] = { 0x30, 0x19, 0x31, 0x17, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x02, 'a',
					'b', 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x03, 'X', 'y', 'z' };
	static const uint8_t mv_b[] = { 0x30, 0x1b, 0x31, 0x19, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x03,
					'X', 'y', 'z', 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x1e, 0x04, 0x00,
					'a', 0x00, 'b' };
	static const uint8_t mv_c[] = { 0x30, 0x1b, 0x31, 0x19, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x03,
					'X', 'y', 'z', 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x1e, 0x04, 0x00,
					'a', 0x00, 'c' };
	CHECK(policy_dn_well_formed(span_make(mv_a, sizeof(mv_a))) && policy_dn_well_formed(span_make(mv_b, sizeof(mv_b))));
	CHECK(policy_dn_equal(span_make(mv_a, sizeof(mv_a)), span_make(mv_b, sizeof(mv_b))));
	CHECK(policy_dn_equal(span_make(mv_b, sizeof(mv_b)), span_make(mv_a, sizeof(mv_a))));
	CHECK(!policy_dn_equal(span_make(mv_a, sizeof(mv_a)), span_make(mv_c, sizeof(mv_c))));
	/* OpenSSL agrees: the same name to X509_NAME_cmp */
	const unsigned char *pa = mv_a, *pb = mv_b;
	X509_NAME *xa = d2i_X509_NAME(NULL, &pa, sizeof(mv_a)), *xb = d2i_X509_NAME(NULL, &pb, sizeof(mv_b));
	CHECK(xa && xb && X509_NAME_cmp(xa, xb) == 0);
	X509_NAME_free(xa);
	X509_NAME_free(xb);
	/* an RDN of 17 attributes (OU="") is not a well-formed Name; of 16 it is (dn_rdn_equal holds 16) */
	static const uint8_t ou[] = { 0x30, 0x07, 0x06, 0x03, 0x55, 0x04, 0x0b, 0x0c, 0x00 };
	uint8_t big[6 + 17 * sizeof(ou)];
	for (size_t i = 0; i < 17; i++)
		memcpy(big + 6 + i * sizeof(ou), ou, sizeof(ou));
	for (size_t n = 16; n <= 17; n++) {
		size_t set_len = n * sizeof(ou);
		big[0] = 0x30, big[1] = 0x81, big[2] = (uint8_t)(set_len + 3);
		big[3] = 0x31, big[4] = 0x81, big[5] = (uint8_t)set_len;
		CHECKF(policy_dn_well_formed(span_make(big, 6 + set_len)) == (n == 16), "an RDN of %zu attributes", n);
	}
}

/* policy_dn_within on names a pinned CA's directoryName subtree may hold, and policy_dn_parse's length cap */
static void test_dn_within(void)
{
	uint8_t pin[POLICY_DN_MAX], name[POLICY_DN_MAX + 8];
	size_t pin_len, name_len;
	char why[POLICY_DN_WHY_MAX], big[700] = "";
	CHECKF(policy_dn_parse("/O=Example/OU=Team", pin, sizeof(pin), &pin_len, why) == 0, "%s", why);
	CHECK(policy_dn_within(span_make(pin, pin_len), pin, pin_len));
	CHECK(policy_dn_parse("/O=Example/OU=Team/CN=Sub", name, sizeof(name), &name_len, why) == 0 &&
	      policy_dn_within(span_make(name, name_len), pin, pin_len));
	CHECK(policy_dn_parse("/O=Example", name, sizeof(name), &name_len, why) == 0 &&
	      !policy_dn_within(span_make(name, name_len), pin, pin_len));
	CHECK(policy_dn_parse("/O=Example/OU=Teamwork", name, sizeof(name), &name_len, why) == 0 &&
	      !policy_dn_within(span_make(name, name_len), pin, pin_len));
	/* the pin's RDNs, then an empty RDN, or a byte after the Name: malformed, refused */
	CHECK(policy_dn_parse("/O=Example/OU=Team", name, sizeof(name), &name_len, why) == 0);
	name[1] += 2;
	name[name_len++] = DER_SET;
	name[name_len++] = 0;
	CHECK(!policy_dn_within(span_make(name, name_len), pin, pin_len));
	name[1] -= 2;
	name_len -= 1;
	CHECK(!policy_dn_within(span_make(name, name_len), pin, pin_len));
	/* the pin's attribute in another string type (PrintableString), or in a multi-valued RDN: not byte for
	 * byte the pin's RDN, refused (verifiers may fold them together; the signer does not guess) */
	static const uint8_t printable[] = { 0x30, 0x12, 0x31, 0x10, 0x30, 0x0e, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x13,
					     0x07, 'E',  'x',  'a',  'm',  'p',  'l',  'e' };
	static const uint8_t multi[] = { 0x30, 0x1f, 0x31, 0x1d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x0b, 0x0c, 0x04,
					 'T',  'e',  'a',  'm',  0x30, 0x0e, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x07,
					 'E',  'x',  'a',  'm',  'p',  'l',  'e' }; /* (in DER's order: OU's is shorter) */
	uint8_t org[POLICY_DN_MAX];
	size_t org_len;
	CHECK(policy_dn_parse("/O=Example", org, sizeof(org), &org_len, why) == 0 && org[11] == 0x0c);
	CHECK(policy_dn_well_formed(span_make(printable, sizeof(printable))) &&
	      !policy_dn_within(span_make(printable, sizeof(printable)), org, org_len));
	CHECK(policy_dn_well_formed(span_make(multi, sizeof(multi))) &&
	      !policy_dn_within(span_make(multi, sizeof(multi)), org, org_len));
	/* an empty pin would hold every name: never */
	static const uint8_t empty[] = { DER_SEQUENCE, 0 };
	CHECK(!policy_dn_within(span_make(pin, pin_len), empty, sizeof(empty)));
	/* eight attributes of 64 characters encode to more than POLICY_DN_MAX */
	for (int i = 0; i < POLICY_DN_RDNS_MAX; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "/OU=%064d", i);
	CHECKF(policy_dn_parse(big, pin, sizeof(pin), &pin_len, why) == HSMCA_ERR_PARSE && strstr(why, "longer than 512"),
	       "%s", why);
}

/* CN=<len bytes of v> of string type tag: policy_dn_check takes it (want NULL) or refuses it with why holding want,
 * short enough to follow "subject: not a well-formed Name: " in a refusal (TBS_WHY_MAX); policy_dn_well_formed
 * agrees either way. */
static void dn_value_case(uint8_t tag, const void *v, size_t len, const char *want)
{
	uint8_t name[128];
	char why[POLICY_DN_WHY_MAX] = "";
	size_t n = dn_cn(name, tag, v, len);
	int rc = policy_dn_check(span_make(name, n), why);
	bool wf = policy_dn_well_formed(span_make(name, n));
	uint8_t first = len ? *(const uint8_t *)v : 0;
	if (!want)
		CHECKF(rc == 0 && wf, "tag 0x%02x, %zu bytes from 0x%02x: refused (%s)", tag, len, first, why);
	else
		CHECKF(rc == HSMCA_ERR_PARSE && !wf && strstr(why, want) &&
			       strlen("subject: not a well-formed Name: ") + strlen(why) < TBS_WHY_MAX,
		       "tag 0x%02x, %zu bytes from 0x%02x: rc %d why \"%s\", want \"%s\"", tag, len, first, rc, why,
		       want);
}

#define DN_NUMERIC 0x12
#define DN_T61 0x14
#define DN_UNIVERSAL 0x1c
#define DN_BMP 0x1e
/* X.680 41.4's PrintableString repertoire, and its punctuation alone */
static const char dn_printable_all[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?";
static const char dn_printable_punct[] = " '()+,-./:=?";

/* One byte c of a single-byte string type, alone and between two digits (of every such type): ok, or refused as
 * a character outside its type's */
static void dn_byte_case(uint8_t tag, unsigned c, bool ok, const char *type)
{
	uint8_t one = (uint8_t)c, three[3] = { '1', (uint8_t)c, '1' };
	char want[64];
	if (c == 0)
		snprintf(want, sizeof(want), "%s holds byte 0x00", type);
	else if (c > 0x20 && c < 0x7f)
		snprintf(want, sizeof(want), "%s holds '%c': ", type, (char)c);
	else
		snprintf(want, sizeof(want), "%s holds byte 0x%02x: ", type, c);
	dn_value_case(tag, &one, 1, ok ? NULL : want);
	dn_value_case(tag, three, 3, ok ? NULL : want);
}

/* The characters of the restricted string types (policy_dn_check, policy_dn_well_formed): every byte of
 * PrintableString, NumericString, IA5String and T61String, and the boundaries of the other types' forms; each
 * refusal says which type and which character. Before, a value outside its type's repertoire, or with a NUL, was
 * signed: only the form of UTF8String, BMPString and UniversalString values was checked. */
static void test_dn_charset(void)
{
	dn_value_case(DER_PRINTABLESTRING, dn_printable_all, strlen(dn_printable_all), NULL);
	for (const char *c = dn_printable_punct; *c; c++)
		dn_value_case(DER_PRINTABLESTRING, c, 1, NULL);
	dn_value_case(DN_NUMERIC, "0123456789 ", 11, NULL);
	for (unsigned c = 0; c < 256; c++) {
		bool printable = c != 0 && memchr(dn_printable_all, (int)c, strlen(dn_printable_all)) != NULL;
		dn_byte_case(DER_PRINTABLESTRING, c, printable, "PrintableString");
		dn_byte_case(DN_NUMERIC, c, (c >= '0' && c <= '9') || c == ' ', "NumericString");
		if (c == 0)
			continue; /* a NUL: below */
		dn_byte_case(DER_IA5STRING, c, c < 0x80, "IA5String");
		dn_value_case(DN_T61, &(uint8_t){ (uint8_t)c }, 1, NULL); /* T61String is left as it is */
	}
	/* the neighbours of the ranges and the usual offenders, spelt out */
	static const char *const refused = "@&*_!\"#$%;<>[\\]^`{|}~";
	for (const char *c = refused; *c; c++) {
		char want[POLICY_DN_WHY_MAX];
		snprintf(want, sizeof(want),
			 "RDN 0 attribute 0: PrintableString holds '%c': only A-Z a-z 0-9 space ' ( ) + , - . / : = ? "
			 "(X.680 41.4)", *c);
		dn_value_case(DER_PRINTABLESTRING, c, 1, want);
	}
	dn_value_case(DER_PRINTABLESTRING, "AT&T", 4, "PrintableString holds '&'");
	dn_value_case(DER_PRINTABLESTRING, "*.example.com", 13, "PrintableString holds '*'");
	dn_value_case(DER_PRINTABLESTRING, "caf\xe9", 4, "PrintableString holds byte 0xe9");
	dn_value_case(DER_PRINTABLESTRING, "a\x7f", 2, "PrintableString holds byte 0x7f");
	dn_value_case(DN_NUMERIC, "12a", 3, "NumericString holds 'a': only digits and space");
	dn_value_case(DN_NUMERIC, "1-2", 3, "NumericString holds '-'");
	dn_value_case(DER_IA5STRING, "\x01 ~\x7f", 4, NULL);
	dn_value_case(DER_IA5STRING, "caf\xc3\xa9", 5, "IA5String holds byte 0xc3: only ASCII");
	dn_value_case(DER_IA5STRING, "a\x80", 2, "IA5String holds byte 0x80");
	/* NUL: in no string type (but T61String, left as it is) */
	dn_value_case(DER_IA5STRING, "a\0b", 3, "IA5String holds byte 0x00: no NUL");
	dn_value_case(DER_UTF8STRING, "www.example.com\0.evil", 21, "UTF8String holds U+0000: no NUL");
	/* U+0001, U+007F, U+0080, U+FFFF, U+10FFFF */
	dn_value_case(DER_UTF8STRING, "\x01\x7f\xc2\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf", 11, NULL);
	dn_value_case(DER_UTF8STRING, "\xc0\x80", 2, "not a well-formed UTF8String"); /* NUL in two bytes */
	dn_value_case(DN_BMP, "\x00\x00", 2, "BMPString holds U+0000: no NUL");
	dn_value_case(DN_BMP, "\x00\x01\xd7\xff\xe0\x00\xff\xff", 8, NULL);
	dn_value_case(DN_BMP, "\x00\x41\x00", 3, "not a well-formed BMPString (whole 2-byte characters");
	dn_value_case(DN_BMP, "\xd8\x00", 2, "not a well-formed BMPString");
	dn_value_case(DN_BMP, "\xdf\xff", 2, "not a well-formed BMPString");
	dn_value_case(DN_UNIVERSAL, "\x00\x00\x00\x00", 4, "UniversalString holds U+0000: no NUL");
	dn_value_case(DN_UNIVERSAL, "\x00\x00\x00\x41\x00\x00\xd7\xff\x00\x00\xe0\x00\x00\x10\xff\xff", 16, NULL);
	dn_value_case(DN_UNIVERSAL, "\x00\x00\x00\x41\x00\x00", 6, "not a well-formed UniversalString (whole 4-byte");
	dn_value_case(DN_UNIVERSAL, "\x00\x00\xd8\x00", 4, "not a well-formed UniversalString");
	dn_value_case(DN_UNIVERSAL, "\x00\x00\xdf\xff", 4, "not a well-formed UniversalString");
	dn_value_case(DN_UNIVERSAL, "\x00\x11\x00\x00", 4, "not a well-formed UniversalString");
	/* where: the second RDN; the second attribute of a multi-valued RDN (in DER's order) */
	static const uint8_t two_rdns[] = { 0x30, 0x1b, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x0a,
					    0x0c, 0x04, 'A',  'c',  'm',  'e',  0x31, 0x0a, 0x30, 0x08, 0x06,
					    0x03, 0x55, 0x04, 0x03, 0x13, 0x01, '@' };
	static const uint8_t mv[] = { 0x30, 0x19, 0x31, 0x17, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x02, 'a',
				      'b',  0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x13, 0x03, 'X',  '@',  'z' };
	char why[POLICY_DN_WHY_MAX] = "";
	CHECKF(policy_dn_check(span_make(two_rdns, sizeof(two_rdns)), why) == HSMCA_ERR_PARSE &&
		       check_prefix(why, "RDN 1 attribute 0: PrintableString holds '@'"), "%s", why);
	CHECKF(policy_dn_check(span_make(mv, sizeof(mv)), why) == HSMCA_ERR_PARSE &&
		       check_prefix(why, "RDN 0 attribute 1: PrintableString holds '@'"), "%s", why);
	/* what policy_dn_parse writes (C PrintableString, DC IA5String, others UTF8String) always passes */
	uint8_t der[POLICY_DN_MAX];
	size_t der_len;
	CHECKF(policy_dn_parse("/C=US/ST=!#$%&'()*+,-.:;<=>?@[]^_`{|}~/O=AT&T Labs/DC=a-b-9/CN=*.example.com", der,
			       sizeof(der), &der_len, why) == 0 && policy_dn_check(span_make(der, der_len), why) == 0,
	       "%s", why);
	/* names are compared as verifiers read them, their characters aside: a PrintableString "AT&T" (a CA's own
	 * name may be one) is OpenSSL's UTF8String "at&t", so a subject so named is the issuer's name, though the
	 * signer would not sign the PrintableString */
	uint8_t a[64], b[64];
	size_t al = dn_cn(a, DER_PRINTABLESTRING, "AT&T", 4), bl = dn_cn(b, DER_UTF8STRING, "at&t", 4);
	const unsigned char *pa = a, *pb = b;
	X509_NAME *xa = d2i_X509_NAME(NULL, &pa, (long)al), *xb = d2i_X509_NAME(NULL, &pb, (long)bl);
	CHECK(xa && xb && X509_NAME_cmp(xa, xb) == 0);
	X509_NAME_free(xa);
	X509_NAME_free(xb);
	CHECK(!policy_dn_well_formed(span_make(a, al)) && policy_dn_well_formed(span_make(b, bl)));
	CHECK(policy_dn_equal(span_make(a, al), span_make(b, bl)) &&
	      policy_dn_equal(span_make(b, bl), span_make(a, al)));
	/* a directoryName subtree under the pin with an '@' in a PrintableString: not well-formed, refused */
	uint8_t pin[POLICY_DN_MAX], sub[POLICY_DN_MAX];
	size_t pin_len, sub_len;
	CHECK(policy_dn_parse("/O=Example", pin, sizeof(pin), &pin_len, why) == 0 && pin_len + 12 <= sizeof(sub));
	memcpy(sub, pin, pin_len);
	memcpy(sub + pin_len, "\x31\x0a\x30\x08\x06\x03\x55\x04\x03\x13\x01@", 12);
	sub[1] = (uint8_t)(sub[1] + 12);
	sub_len = pin_len + 12;
	CHECK(!policy_dn_within(span_make(sub, sub_len), pin, pin_len));
	sub[sub_len - 1] = 'a';
	CHECK(policy_dn_within(span_make(sub, sub_len), pin, pin_len));
}

/* The signer's re-check (policy_check_cert, which the frontend's lint runs too) refuses a subject whose value's
 * characters are not its type's ("subject:"), as it was given the bytes. */
static void test_cert_subject_chars(void)
{
	struct leaf_opts o, base;
	leaf_defaults(&fx, &base);
	static const struct {
		const char *name, *cn;
		int type;
		bool ok;
	} cases[] = {
		{ "a PrintableString CN of its characters", "www.example.test", V_ASN1_PRINTABLESTRING, true },
		{ "a PrintableString CN with '@'", "www@example.test", V_ASN1_PRINTABLESTRING, false },
		{ "a PrintableString CN with '*'", "*.example.test", V_ASN1_PRINTABLESTRING, false },
		{ "a PrintableString CN with '_'", "w_w.example.test", V_ASN1_PRINTABLESTRING, false },
		{ "a PrintableString CN with byte 0xe9", "caf\xe9.example.test", V_ASN1_PRINTABLESTRING, false },
		{ "an IA5String CN of ASCII", "www.example.test", V_ASN1_IA5STRING, true },
		{ "an IA5String CN with a byte above 0x7f", "caf\xc3\xa9.example.test", V_ASN1_IA5STRING, false },
		{ "a NumericString CN of digits and spaces", "0123 456", V_ASN1_NUMERICSTRING, true },
		{ "a NumericString CN with letters", "www.example.test", V_ASN1_NUMERICSTRING, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = base;
		o.subject_cn = cases[i].cn;
		o.subject_type = cases[i].type;
		cert_case(cases[i].name, &o, &fx.prof, cases[i].ok ? NULL : "subject:", NULL);
	}
	/* a NUL in a UTF8String or a BMPString CN */
	uint8_t raw[64];
	o = base;
	o.raw_subject = raw;
	o.raw_subject_len = dn_cn(raw, DER_UTF8STRING, "www.example.test\0.evil", 22);
	cert_case("a UTF8String CN with a NUL", &o, &fx.prof, "subject:", NULL);
	o.raw_subject_len = dn_cn(raw, DN_BMP, "\x00w\x00\x00", 4);
	cert_case("a BMPString CN with a NUL", &o, &fx.prof, "subject:", NULL);
	o.raw_subject_len = dn_cn(raw, DN_BMP, "\x00w\x00w", 4);
	cert_case("a BMPString CN", &o, &fx.prof, NULL, NULL);
}

static void der_of(const struct leaf_opts *o, struct dbuf *der)
{
	dbuf_init(der);
	CHECK(leaf_tbs(&fx, o, der));
}

/* Rebuilds der's TBS SEQUENCE with element idx replaced by repl (repl.len 0: removed); idx == n appends. */
static void tbs_replace(const struct dbuf *der, size_t idx, struct span repl, struct dbuf *out)
{
	struct span el[12];
	size_t n = der_split(span_make(der->data, der->len), el, 11);
	CHECK(n == 8 && idx <= n);
	if (idx == n)
		el[n++] = repl;
	else
		el[idx] = repl;
	dbuf_init(out);
	der_join(out, el, n);
}

/* The extensions element [3] { SEQUENCE { der's extensions, extra } }. */
static void exts_with(const struct dbuf *der, const uint8_t *extra, size_t extra_len, struct dbuf *out)
{
	struct span el[8], wrap, inner, seq;
	size_t n = der_split(span_make(der->data, der->len), el, 8);
	wrap = el[n - 1];
	CHECK(der_get(&wrap, &inner, 0xa3) && der_get(&inner, &seq, DER_SEQUENCE) && inner.len == 0);
	dbuf_init(out);
	size_t w = dbuf_open(out, 0xa3), s = dbuf_open(out, DER_SEQUENCE);
	dbuf_add(out, seq.data, seq.len);
	dbuf_add(out, extra, extra_len);
	dbuf_close(out, s);
	dbuf_close(out, w);
}

static void test_cert_parser(void)
{
	struct leaf_opts o, base;
	struct dbuf good, bad, ext;
	leaf_defaults(&fx, &base);
	der_of(&base, &good);

	o = base;
	o.version = X509_VERSION_1;
	leaf_reject("v1 certificate", &o, "version missing");
	o.version = X509_VERSION_2;
	leaf_reject("v2 certificate", &o, "not v3");
	o = base;
	o.dup_san = true;
	leaf_reject("duplicate extension", &o, "duplicate extension");
	o = base;
	o.gen_time = true;
	leaf_reject("GeneralizedTime before 2050", &o, "malformed validity");
	o = base;
	o.raw[o.n_raw++] = (struct raw_ext){ "2.5.29.19", true, (const uint8_t *)"\x30\x03\x01\x01\x00", 5 };
	leaf_reject("basicConstraints with cA FALSE encoded", &o, "malformed basicConstraints");
	o.raw[0].der = (const uint8_t *)"\x30\x03\x02\x01\x00";
	leaf_reject("pathLen without cA", &o, "pathLenConstraint without cA");
	o = base;
	o.ku = NULL;
	o.raw[o.n_raw++] = (struct raw_ext){ "2.5.29.15", true, (const uint8_t *)"\x03\x02\x00\x80", 4 };
	leaf_reject("keyUsage with non-DER unused bits", &o, "malformed keyUsage");
	o.raw[0].der = (const uint8_t *)"\x03\x01\x00";
	o.raw[0].len = 3;
	leaf_reject("empty keyUsage", &o, "malformed keyUsage");
	o = base;
	o.eku = NULL;
	o.raw[o.n_raw++] = (struct raw_ext){ "2.5.29.37", false, (const uint8_t *)"\x30\x00", 2 };
	leaf_reject("empty extKeyUsage", &o, "malformed extKeyUsage");
	o = base;
	o.aki = AKI_NONE;
	o.raw[o.n_raw++] = (struct raw_ext){ "2.5.29.35", true, NULL, 0 };
	uint8_t aki[4 + POLICY_KEYID_MAX] = { 0x30, (uint8_t)(2 + fx.iss.ski_len), 0x80, (uint8_t)fx.iss.ski_len };
	memcpy(aki + 4, fx.iss.ski, fx.iss.ski_len);
	o.raw[0].der = aki;
	o.raw[0].len = 4 + fx.iss.ski_len;
	leaf_reject("critical AKI", &o, "authorityKeyIdentifier");
	/* the keyIdentifier and an authorityCertIssuer [1] and authorityCertSerialNumber [2] (which nothing checked:
	 * OpenSSL then matches the issuer by them, and no path took the certificate) */
	uint8_t aki_full[4 + POLICY_KEYID_MAX + 9];
	memcpy(aki_full, aki, 4 + fx.iss.ski_len);
	memcpy(aki_full + 4 + fx.iss.ski_len, "\xa1\x04\xa4\x02\x30\x00\x82\x01\x05", 9);
	aki_full[1] = (uint8_t)(2 + fx.iss.ski_len + 9);
	o.raw[0] = (struct raw_ext){ "2.5.29.35", false, aki_full, 4 + fx.iss.ski_len + 9 };
	leaf_reject("AKI with issuer and serial", &o, "authorityKeyIdentifier");
	o = base;
	for (o.n_raw = 0; o.n_raw < TBS_MAX_EXT; o.n_raw++) {
		static char oids[TBS_MAX_EXT][32];
		snprintf(oids[o.n_raw], sizeof(oids[0]), "1.3.6.1.4.1.55555.%zu", o.n_raw);
		o.raw[o.n_raw] = (struct raw_ext){ oids[o.n_raw], false, (const uint8_t *)"\x05\x00", 2 };
	}
	leaf_reject("more than 32 extensions", &o, "more than 32 extensions");

	/* DER surgery on the good TBS (elements: version serial sigalg issuer validity subject spki [3]) */
	dbuf_init(&bad);
	dbuf_add(&bad, good.data, good.len);
	dbuf_add_u8(&bad, 0);
	parse_reject("trailing byte after the SEQUENCE", span_make(bad.data, bad.len), "not a single DER SEQUENCE");
	dbuf_free(&bad);
	tbs_replace(&good, 8, span_make("\x05\x00", 2), &bad);
	parse_reject("element after the extensions", span_make(bad.data, bad.len), "trailing bytes");
	dbuf_free(&bad);
	tbs_replace(&good, 1, span_make("\x02\x02\x00\x01", 4), &bad);
	parse_reject("non-minimal serial", span_make(bad.data, bad.len), "malformed serialNumber");
	dbuf_free(&bad);
	tbs_replace(&good, 7, span_make("\x81\x01\x00", 3), &bad);
	parse_reject("issuerUniqueID", span_make(bad.data, bad.len), "unique identifiers");
	dbuf_free(&bad);
	tbs_replace(&good, 7, span_make("\x05\x00", 2), &bad);
	parse_reject("extensions missing", span_make(bad.data, bad.len), "extensions missing");
	dbuf_free(&bad);
	tbs_replace(&good, 7, span_make("\xa3\x02\x30\x00", 4), &bad);
	parse_reject("empty extensions", span_make(bad.data, bad.len), "empty extensions");
	dbuf_free(&bad);
	/* critical FALSE explicitly encoded */
	static const uint8_t false_ext[] = { 0x30, 0x0c, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x01,
					     0x01, 0x00, 0x04, 0x02, 0x05, 0x00 };
	exts_with(&good, false_ext, sizeof(false_ext), &ext);
	tbs_replace(&good, 7, span_make(ext.data, ext.len), &bad);
	parse_reject("critical FALSE encoded", span_make(bad.data, bad.len), "DEFAULT FALSE");
	dbuf_free(&bad);
	dbuf_free(&ext);
	/* the same extension with TRUE is fine for the parser (and refused by policy as unknown critical) */
	static const uint8_t true_ext[] = { 0x30, 0x0c, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x01,
					    0x01, 0xff, 0x04, 0x02, 0x05, 0x00 };
	exts_with(&good, true_ext, sizeof(true_ext), &ext);
	tbs_replace(&good, 7, span_make(ext.data, ext.len), &bad);
	struct tbs_cert t;
	char why[TBS_WHY_MAX] = "";
	CHECKF(tbs_cert_parse(span_make(bad.data, bad.len), &t, why), "critical TRUE: %s", why);
	int rc = policy_check_cert(&t, &fx.iss, &fx.prof, why);
	CHECKF(rc == HSMCA_ERR_POLICY && check_prefix(why, "critical-extension:"), "rc %d why \"%s\"", rc, why);
	dbuf_free(&bad);
	dbuf_free(&ext);

	/* the subject key as the CSR path takes it, checked by the signer too (before, it checked the form alone):
	 * a P-256 point off its curve (the good key's last byte changed), an RSA exponent of 2^31 or more */
	struct tbs_cert kt;
	CHECK(tbs_cert_parse(span_make(good.data, good.len), &kt, why));
	uint8_t off[128];
	CHECK(kt.spki.len == 91 && kt.spki.len <= sizeof(off));
	memcpy(off, kt.spki.data, kt.spki.len);
	off[kt.spki.len - 1] ^= 1;
	tbs_replace(&good, 6, span_make(off, kt.spki.len), &bad);
	CHECK(tbs_cert_parse(span_make(bad.data, bad.len), &t, why));
	rc = policy_check_cert(&t, &fx.iss, &fx.prof, why);
	CHECKF(rc == HSMCA_ERR_POLICY && strstr(why, "key: the EC public key is not a point of its curve"),
	       "an off-curve P-256 point: rc %d why \"%s\"", rc, why);
	dbuf_free(&bad);
	/* SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING { SEQUENCE { n (2048 bits), e } } } */
	for (int big = 0; big <= 1; big++) { /* e: 2^31 - 1 (accepted), then 2^31 + 1 */
		struct dbuf key, rsa, bits, spki;
		uint8_t n[257], e[5];
		dbuf_init(&key);
		dbuf_init(&rsa);
		dbuf_init(&bits);
		dbuf_init(&spki);
		n[0] = 0;
		memset(n + 1, 0xc5, 256);
		memset(e, 0, sizeof(e));
		if (!big) {
			memcpy(e, "\x7f\xff\xff\xff", 4); /* 2^31 - 1 */
		} else {
			memcpy(e, "\x00\x80\x00\x00\x01", 5); /* 2^31 + 1 */
		}
		dbuf_add_tlv(&key, DER_INTEGER, n, sizeof(n));
		dbuf_add_tlv(&key, DER_INTEGER, e, big ? 5 : 4);
		dbuf_add_tlv(&rsa, DER_SEQUENCE, key.data, key.len);
		dbuf_add_u8(&bits, 0);
		dbuf_add(&bits, rsa.data, rsa.len);
		dbuf_free(&key);
		dbuf_init(&key);
		dbuf_add(&key, "\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00", 15);
		dbuf_add_tlv(&key, DER_BIT_STRING, bits.data, bits.len);
		dbuf_add_tlv(&spki, DER_SEQUENCE, key.data, key.len);
		tbs_replace(&good, 6, span_make(spki.data, spki.len), &bad);
		CHECK(tbs_cert_parse(span_make(bad.data, bad.len), &t, why));
		why[0] = '\0';
		rc = policy_check_cert(&t, &fx.iss, &fx.prof, why);
		if (!big) /* the same key with an exponent below the bound passes the key check */
			CHECKF(!strstr(why, "key:"), "an RSA exponent of 31 bits: rc %d why \"%s\"", rc, why);
		else
			CHECKF(rc == HSMCA_ERR_POLICY && strstr(why, "key: an RSA public exponent must be below 2^31"),
			       "an RSA exponent of 32 bits: rc %d why \"%s\"", rc, why);
		dbuf_free(&bad);
		dbuf_free(&key);
		dbuf_free(&rsa);
		dbuf_free(&bits);
		dbuf_free(&spki);
	}

	/* truncated at every length */
	for (size_t len = 0; len < good.len; len++)
		CHECKF(!tbs_cert_parse(span_make(good.data, len), &t, why), "truncated to %zu parsed", len);
	/* every proper prefix of the contents, re-wrapped in a correct SEQUENCE header */
	struct span in = span_make(good.data, good.len), contents;
	CHECK(der_get(&in, &contents, DER_SEQUENCE));
	for (size_t len = 0; len < contents.len; len++) {
		dbuf_init(&bad);
		dbuf_add_tlv(&bad, DER_SEQUENCE, contents.data, len);
		CHECKF(!tbs_cert_parse(span_make(bad.data, bad.len), &t, why), "contents cut to %zu parsed", len);
		dbuf_free(&bad);
	}
	/* every single-byte change: whatever the verdict, no crash or overread (run under ASan) */
	uint8_t *mut = malloc(good.len);
	unsigned accepted = 0;
	for (size_t i = 0; i < good.len; i++) {
		memcpy(mut, good.data, good.len);
		mut[i] ^= 0xff;
		if (tbs_cert_parse(span_make(mut, good.len), &t, why) && policy_check_cert(&t, &fx.iss, &fx.prof, why) == 0)
			accepted++;
	}
	free(mut);
	/* bytes no rule looks at (subject, key, SAN, SKI, most of the serial) may change and still pass; the
	 * ones every rule depends on may not */
	CHECKF(accepted < good.len, "%u of %zu single-byte changes still accepted", accepted, good.len);
	dbuf_free(&good);
}

/* ---- CRL ---- */

static void crl_case(const char *name, const struct crl_opts *o, const struct policy_issuer *iss,
		     const struct policy_profile *p, const char *want_prefix, const char *want_sub)
{
	struct dbuf der;
	struct tbs_crl t;
	char why[TBS_WHY_MAX] = "";
	dbuf_init(&der);
	crl_tbs(&fx, o, &der);
	if (!tbs_crl_parse(span_make(der.data, der.len), &t, why)) {
		CHECKF(0, "%s: parse failed: %s", name, why);
	} else {
		int rc = policy_check_crl(&t, iss, p, why);
		if (!want_prefix)
			CHECKF(rc == 0, "%s: refused: rc %d why \"%s\"", name, rc, why);
		else
			CHECKF(rc == HSMCA_ERR_POLICY && check_prefix(why, want_prefix) && (!want_sub || strstr(why, want_sub)),
			       "%s: rc %d why \"%s\", want \"%s\"", name, rc, why, want_prefix);
	}
	dbuf_free(&der);
}

static void crl_reject(const char *name, const struct crl_opts *o, const char *want_sub)
{
	struct dbuf der;
	struct tbs_crl t;
	char why[TBS_WHY_MAX] = "";
	dbuf_init(&der);
	crl_tbs(&fx, o, &der);
	bool ok = tbs_crl_parse(span_make(der.data, der.len), &t, why);
	CHECKF(!ok && strstr(why, want_sub), "%s: parsed=%d why \"%s\", want \"%s\"", name, ok, why, want_sub);
	dbuf_free(&der);
}

static void test_crl(void)
{
	struct crl_opts o, base;
	struct policy_profile p;
	struct tbs_crl t;
	struct dbuf der;
	char why[TBS_WHY_MAX] = "";
	uint8_t other_name[] = { 0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04,
				 0x03, 0x0c, 0x04, 'N', 'o', 'p', 'e' };
	crl_defaults(&fx, &base);

	dbuf_init(&der);
	crl_tbs(&fx, &base, &der);
	CHECKF(tbs_crl_parse(span_make(der.data, der.len), &t, why), "good CRL: %s", why);
	CHECK(t.n_revoked == 1 && t.has_aki && t.has_number && t.this_update == fx.now);
	CHECK(policy_check_crl(&t, &fx.iss, &fx.prof, why) == 0);
	for (size_t len = 0; len < der.len; len++)
		CHECKF(!tbs_crl_parse(span_make(der.data, len), &t, why), "CRL truncated to %zu parsed", len);
	dbuf_add_u8(&der, 0);
	CHECK(!tbs_crl_parse(span_make(der.data, der.len), &t, why));
	dbuf_free(&der);
	o = base;
	o.revoked = false;
	crl_case("good CRL without entries", &o, &fx.iss, &fx.prof, NULL, NULL);

	p = fx.prof;
	p.allow_crl = false;
	crl_case("CRL operation not allowed", &base, &fx.iss, &p, "operation:", NULL);
	o = base;
	o.issuer = span_make(other_name, sizeof(other_name));
	crl_case("CRL issuer mismatch", &o, &fx.iss, &fx.prof, "issuer:", NULL);
	o = base;
	o.aki = AKI_NONE;
	crl_case("CRL AKI missing", &o, &fx.iss, &fx.prof, "aki:", NULL);
	o.aki = AKI_WRONG;
	crl_case("CRL AKI wrong", &o, &fx.iss, &fx.prof, "aki:", NULL);
	o = base;
	o.sigalg = span_make(ALG_ECDSA_SHA384, sizeof(ALG_ECDSA_SHA384));
	crl_case("CRL sigalg mismatch", &o, &fx.iss, &fx.prof, "sigalg:", NULL);
	o = base;
	o.number = false;
	crl_case("CRL cRLNumber missing", &o, &fx.iss, &fx.prof, "crl-number:", NULL);
	o = base;
	o.next_update = o.this_update + 7 * DAY + 1;
	crl_case("CRL nextUpdate too far", &o, &fx.iss, &fx.prof, "validity:", NULL);
	o.next_update = o.this_update + 7 * DAY;
	crl_case("CRL nextUpdate at max", &o, &fx.iss, &fx.prof, NULL, NULL);
	o.next_update = o.this_update;
	crl_case("CRL nextUpdate == thisUpdate", &o, &fx.iss, &fx.prof, "validity:", NULL);
	o = base;
	o.this_update = fx.iss.not_before - 60;
	o.next_update = o.this_update + DAY;
	crl_case("CRL thisUpdate before the issuer", &o, &fx.iss, &fx.prof, "validity:", "outside");
	o.this_update = fx.iss.not_after + 60;
	o.next_update = o.this_update + DAY;
	crl_case("CRL thisUpdate after the issuer", &o, &fx.iss, &fx.prof, "validity:", "outside");
	o = base;
	o.crit_unknown = true;
	crl_case("CRL unknown critical extension", &o, &fx.iss, &fx.prof, "critical-extension:", NULL);

	/* revoked entries: reasonCode (not removeFromCRL, not the unassigned 7 or past aACompromise 10) and an
	 * invalidityDate in GeneralizedTime, neither critical; nothing else */
	static const struct {
		const char *name;
		const uint8_t *der; /* crlEntryExtensions contents */
		size_t len;
		const char *want; /* NULL: accepted */
	} entry[] = {
		{ "keyCompromise", (const uint8_t *)"\x30\x0a\x06\x03\x55\x1d\x15\x04\x03\x0a\x01\x01", 12, NULL },
		{ "aACompromise (10)", (const uint8_t *)"\x30\x0a\x06\x03\x55\x1d\x15\x04\x03\x0a\x01\x0a", 12, NULL },
		{ "reason 7 (unassigned)", (const uint8_t *)"\x30\x0a\x06\x03\x55\x1d\x15\x04\x03\x0a\x01\x07", 12, "unassigned" },
		{ "removeFromCRL", (const uint8_t *)"\x30\x0a\x06\x03\x55\x1d\x15\x04\x03\x0a\x01\x08", 12, "removeFromCRL" },
		{ "reason 11", (const uint8_t *)"\x30\x0a\x06\x03\x55\x1d\x15\x04\x03\x0a\x01\x0b", 12, "unassigned" },
		{ "reason as INTEGER", (const uint8_t *)"\x30\x0a\x06\x03\x55\x1d\x15\x04\x03\x02\x01\x01", 12, "malformed" },
		{ "reason of two bytes", (const uint8_t *)"\x30\x0b\x06\x03\x55\x1d\x15\x04\x04\x0a\x02\x00\x01", 13, "malformed" },
		{ "critical reasonCode", (const uint8_t *)"\x30\x0d\x06\x03\x55\x1d\x15\x01\x01\xff\x04\x03\x0a\x01\x01", 15,
		  "critical" },
		{ "invalidityDate", (const uint8_t *)"\x30\x18\x06\x03\x55\x1d\x18\x04\x11\x18\x0f" "20260101000000Z", 26, NULL },
		{ "invalidityDate in UTCTime", (const uint8_t *)"\x30\x16\x06\x03\x55\x1d\x18\x04\x0f\x17\x0d" "260101000000Z", 24,
		  "invalidityDate" },
		{ "certificateIssuer", (const uint8_t *)"\x30\x0a\x06\x03\x55\x1d\x1d\x04\x03\x30\x01\x00", 12, "other than" },
	};
	for (size_t i = 0; i < sizeof(entry) / sizeof(entry[0]); i++) {
		char name[96];
		snprintf(name, sizeof name, "CRL entry: %s", entry[i].name);
		o = base;
		o.entry_exts = span_make(entry[i].der, entry[i].len);
		crl_case(name, &o, &fx.iss, &fx.prof, entry[i].want ? "crl-entry:" : NULL, entry[i].want);
	}
	/* revoked entries' serials: positive, at most 20 octets, as a certificate's (strict clients refuse a CRL
	 * with one that is not; a minimal INTEGER of any sign and length was signed) */
	static const struct {
		const char *name;
		const uint8_t *v;
		size_t len;
		bool ok;
	} eser[] = {
		{ "1", (const uint8_t *)"\x01", 1, true },
		{ "20 octets", (const uint8_t *)"\x7f\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13", 20, true },
		{ "0", (const uint8_t *)"\x00", 1, false },
		{ "-1", (const uint8_t *)"\xff", 1, false },
		{ "21 octets", (const uint8_t *)"\x00\x80\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13", 21, false },
	};
	for (size_t i = 0; i < sizeof(eser) / sizeof(eser[0]); i++) {
		char name[96];
		snprintf(name, sizeof name, "CRL entry serial %s", eser[i].name);
		o = base;
		o.entry_serial = span_make(eser[i].v, eser[i].len);
		crl_case(name, &o, &fx.iss, &fx.prof, eser[i].ok ? NULL : "crl-entry:", eser[i].ok ? NULL : "serial");
	}
	/* the CRL's own: authorityInfoAccess passes, a private one does not */
	o = base;
	o.crl_ext = span_make((const uint8_t *)"\x30\x0e\x06\x08\x2b\x06\x01\x05\x05\x07\x01\x01\x04\x02\x30\x00", 16);
	crl_case("CRL authorityInfoAccess", &o, &fx.iss, &fx.prof, NULL, NULL);
	/* its value one strict-DER element, as a certificate's extensions' are: an indefinite length, a long-form
	 * length for a short value, bytes after it (before, each was signed) */
	o.crl_ext = span_make((const uint8_t *)"\x30\x10\x06\x08\x2b\x06\x01\x05\x05\x07\x01\x01\x04\x04\x30\x80\x00\x00", 18);
	crl_case("CRL authorityInfoAccess, indefinite length", &o, &fx.iss, &fx.prof, "extension:", "strict-DER");
	o.crl_ext = span_make((const uint8_t *)"\x30\x0f\x06\x08\x2b\x06\x01\x05\x05\x07\x01\x01\x04\x03\x30\x81\x00", 17);
	crl_case("CRL authorityInfoAccess, long-form length", &o, &fx.iss, &fx.prof, "extension:", "strict-DER");
	o.crl_ext = span_make((const uint8_t *)"\x30\x10\x06\x08\x2b\x06\x01\x05\x05\x07\x01\x01\x04\x04\x30\x00\x05\x00", 18);
	crl_case("CRL authorityInfoAccess, trailing bytes", &o, &fx.iss, &fx.prof, "extension:", "strict-DER");
	o.crl_ext = span_make((const uint8_t *)"\x30\x0b\x06\x05\x2b\x06\x01\x04\x01\x04\x02\x05\x00", 13);
	crl_case("CRL private extension", &o, &fx.iss, &fx.prof, "extension:", "none of those hsmca writes");

	o = base;
	o.no_exts = true;
	crl_reject("CRL without crlExtensions", &o, "crlExtensions missing");
	o = base;
	o.revoked = false;
	o.empty_revoked = true;
	crl_reject("CRL with empty revokedCertificates", &o, "empty revokedCertificates");
}

/* ---- OCSP ---- */

static void ocsp_case(const char *name, const struct ocsp_opts *o, const struct policy_issuer *iss,
		      const struct policy_profile *p, const char *want_prefix, const char *want_sub)
{
	struct dbuf der;
	struct tbs_ocsp t;
	char why[TBS_WHY_MAX] = "";
	dbuf_init(&der);
	ocsp_tbs(o, &der);
	if (!tbs_ocsp_parse(span_make(der.data, der.len), &t, why)) {
		CHECKF(0, "%s: parse failed: %s", name, why);
	} else {
		int rc = policy_check_ocsp(&t, iss, p, why);
		if (!want_prefix)
			CHECKF(rc == 0, "%s: refused: rc %d why \"%s\"", name, rc, why);
		else
			CHECKF(rc == HSMCA_ERR_POLICY && check_prefix(why, want_prefix) && (!want_sub || strstr(why, want_sub)),
			       "%s: rc %d why \"%s\", want \"%s\"", name, rc, why, want_prefix);
	}
	dbuf_free(&der);
}

static void ocsp_reject(const char *name, const struct ocsp_opts *o, const char *want_sub)
{
	struct dbuf der;
	struct tbs_ocsp t;
	char why[TBS_WHY_MAX] = "";
	dbuf_init(&der);
	ocsp_tbs(o, &der);
	bool ok = tbs_ocsp_parse(span_make(der.data, der.len), &t, why);
	CHECKF(!ok && strstr(why, want_sub), "%s: parsed=%d why \"%s\", want \"%s\"", name, ok, why, want_sub);
	dbuf_free(&der);
}

static void test_ocsp(void)
{
	struct ocsp_opts o, base, by_key;
	struct policy_profile p;
	struct tbs_ocsp t;
	struct dbuf der;
	char why[TBS_WHY_MAX] = "";
	uint8_t wrong_hash[POLICY_SHA1_LEN];
	memcpy(wrong_hash, fx.iss.key_hash, sizeof(wrong_hash));
	wrong_hash[0] ^= 0x01;
	ocsp_defaults(&fx, &base);
	by_key = base;
	by_key.by_key = true;
	by_key.responder = span_make(fx.iss.key_hash, POLICY_SHA1_LEN);

	dbuf_init(&der);
	ocsp_tbs(&base, &der);
	CHECKF(tbs_ocsp_parse(span_make(der.data, der.len), &t, why), "good OCSP: %s", why);
	CHECK(!t.by_key && t.n_responses == 1 && t.produced_at == fx.now);
	for (size_t len = 0; len < der.len; len++)
		CHECKF(!tbs_ocsp_parse(span_make(der.data, len), &t, why), "OCSP truncated to %zu parsed", len);
	dbuf_add_u8(&der, 0);
	CHECK(!tbs_ocsp_parse(span_make(der.data, der.len), &t, why) && strstr(why, "not a single DER SEQUENCE"));
	dbuf_free(&der);

	ocsp_case("OCSP good byName", &base, &fx.iss, &fx.prof, NULL, NULL);
	ocsp_case("OCSP good byKey", &by_key, &fx.iss, &fx.prof, NULL, NULL);
	o = base;
	o.status = 1;
	o.ikh2 = o.ikh;
	o.resp_ext = true;
	ocsp_case("OCSP good: revoked + second response + nonce", &o, &fx.iss, &fx.prof, NULL, NULL);
	o.status = 2;
	ocsp_case("OCSP good: unknown status", &o, &fx.iss, &fx.prof, NULL, NULL);

	p = fx.prof;
	p.allow_ocsp = false;
	ocsp_case("OCSP operation not allowed", &base, &fx.iss, &p, "operation:", NULL);
	o = base;
	X509_NAME *root_name = X509_get_subject_name(fx.root);
	unsigned char *rn = NULL;
	int rn_len = i2d_X509_NAME(root_name, &rn);
	o.responder = span_make(rn, (size_t)rn_len);
	ocsp_case("OCSP wrong responder byName", &o, &fx.iss, &fx.prof, "responder:", "responderID");
	o = by_key;
	o.responder = span_make(wrong_hash, sizeof(wrong_hash));
	ocsp_case("OCSP wrong responder byKey", &o, &fx.iss, &fx.prof, "responder:", "responderID");
	o = base;
	o.ikh = span_make(wrong_hash, sizeof(wrong_hash));
	ocsp_case("OCSP CertID issuer key hash wrong", &o, &fx.iss, &fx.prof, "responder:", "CertID");
	o = base;
	o.inh = span_make(wrong_hash, sizeof(wrong_hash));
	ocsp_case("OCSP CertID issuer name hash wrong", &o, &fx.iss, &fx.prof, "responder:", "CertID");
	o = base;
	o.produced = fx.iss.not_after + 60;
	ocsp_case("OCSP producedAt after the responder certificate", &o, &fx.iss, &fx.prof, "validity:", NULL);
	o.produced = fx.iss.not_before - 60;
	ocsp_case("OCSP producedAt before the responder certificate", &o, &fx.iss, &fx.prof, "validity:", NULL);

	/* delegated responder: CertIDs must name the parent's key, not this one */
	p = fx.prof;
	p.ocsp_delegated = true;
	o = base;
	o.ikh = span_make(fx.root_key_hash, POLICY_SHA1_LEN);
	o.inh = span_make(fx.iss_d.parent_name_hash, POLICY_SHA1_LEN);
	ocsp_case("OCSP delegated good", &o, &fx.iss_d, &p, NULL, NULL);
	ocsp_case("OCSP delegated, CertID names the responder itself", &base, &fx.iss_d, &p, "responder:", "CertID");
	ocsp_case("OCSP not delegated, CertID names the parent", &o, &fx.iss_d, &fx.prof, "responder:", "CertID");

	/* extensions: the nonce alone in responseExtensions, well formed; no singleExtensions; CRLReason as a
	 * CRL entry's (7 unassigned, removeFromCRL only in delta CRLs) */
	static const uint8_t unknown_ext[] = { 0x30, 0x0e, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83,
					       0xb2, 0x63, 0x63, 0x01, 0x04, 0x00 };
	static const uint8_t nonce_empty[] = { 0x30, 0x0f, 0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
					       0x30, 0x01, 0x02, 0x04, 0x02, 0x04, 0x00 };
	static const uint8_t nonce_bare[] = { 0x30, 0x0f, 0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
					      0x30, 0x01, 0x02, 0x04, 0x02, 0xab, 0xcd }; /* not an OCTET STRING inside */
	uint8_t nonce_big[2 + 11 + 2 + 2 + 33] = { 0x30, 2 + 9 + 2 + 2 + 33, 0x06, 0x09, 0x2b, 0x06, 0x01, 0x05,
						   0x05, 0x07, 0x30, 0x01, 0x02, 0x04, 2 + 33, 0x04, 33 };
	o = base;
	o.resp_ext_der = span_make(unknown_ext, sizeof(unknown_ext));
	ocsp_reject("OCSP: an unknown non-critical response extension", &o, "other than the nonce");
	o.resp_ext_der = span_make(nonce_empty, sizeof(nonce_empty));
	ocsp_reject("OCSP: an empty nonce", &o, "1 to 32 bytes");
	o.resp_ext_der = span_make(nonce_bare, sizeof(nonce_bare));
	ocsp_reject("OCSP: a nonce not wrapped in an OCTET STRING", &o, "1 to 32 bytes");
	o.resp_ext_der = span_make(nonce_big, sizeof(nonce_big));
	ocsp_reject("OCSP: a nonce of 33 bytes", &o, "1 to 32 bytes");
	o = base;
	o.single_ext_der = span_make(unknown_ext, sizeof(unknown_ext));
	ocsp_reject("OCSP: a non-critical singleExtension", &o, "singleExtensions");
	o = base;
	o.status = 1;
	o.reason_set = true;
	for (uint8_t r = 0; r <= 11; r++) {
		char what[64];
		o.reason = r;
		snprintf(what, sizeof what, "OCSP revoked with CRLReason %u", o.reason);
		if (o.reason == 7 || o.reason == 8 || o.reason > 10)
			ocsp_reject(what, &o, "CRLReason");
		else
			ocsp_case(what, &o, &fx.iss, &fx.prof, NULL, NULL);
	}

	/* parser */
	o = base;
	o.version = true;
	ocsp_reject("OCSP version present", &o, "version must be absent");
	o = base;
	o.ikh2 = span_make(wrong_hash, sizeof(wrong_hash));
	ocsp_reject("OCSP responses for two issuers", &o, "more than one issuer");
	o = by_key;
	o.responder = span_make(fx.iss.key_hash, 19);
	ocsp_reject("OCSP byKey hash of 19 bytes", &o, "byKey");
	/* a trailing element inside ResponseData */
	struct span el[8];
	dbuf_init(&der);
	ocsp_tbs(&base, &der);
	size_t n = der_split(span_make(der.data, der.len), el, 7);
	CHECK(n == 3);
	el[n++] = span_make("\x05\x00", 2);
	struct dbuf bad;
	dbuf_init(&bad);
	der_join(&bad, el, n);
	CHECK(!tbs_ocsp_parse(span_make(bad.data, bad.len), &t, why) && strstr(why, "trailing bytes"));
	dbuf_free(&bad);
	/* UTCTime producedAt */
	dbuf_init(&bad);
	struct dbuf ut;
	dbuf_init(&ut);
	der_add_time(&ut, fx.now, false);
	el[1] = span_make(ut.data, ut.len);
	der_join(&bad, el, 3);
	CHECK(!tbs_ocsp_parse(span_make(bad.data, bad.len), &t, why) && strstr(why, "producedAt"));
	dbuf_free(&ut);
	dbuf_free(&bad);
	dbuf_free(&der);
	OPENSSL_free(rn);
}

/* policy_issuer_from_x509, policy_sigalg_for_pkey, name tables, certbuild_serial */
static void test_policy_helpers(void)
{
	struct policy_issuer iss;
	struct span s;
	uint16_t bit;
	CHECK(fx.iss.ski_len == 20 && fx.iss.subject_len > 0 && fx.iss.sigalg_len == fx.sigalg.len);
	CHECK(fx.iss.not_before == fx.now - DAY && fx.iss.not_after == fx.now + 5 * 365 * DAY);
	X509 *no_ski = fx_make_ca(fx.ca_key, "No SKI", fx.now, false);
	CHECK(no_ski && policy_issuer_from_x509(no_ski, NULL, &iss) == HSMCA_ERR_POLICY);
	X509_free(no_ski);

	EVP_PKEY *p384 = EVP_EC_gen("P-384"), *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CHECK(p384 && policy_sigalg_for_pkey(p384, &s) && s.len == sizeof(ALG_ECDSA_SHA384) &&
	      !memcmp(s.data, ALG_ECDSA_SHA384, s.len));
	CHECK(ed && !policy_sigalg_for_pkey(ed, &s));
	EVP_PKEY_free(p384);
	EVP_PKEY_free(ed);

	CHECK(policy_ku_bit("digitalSignature", &bit) && bit == TBS_KU_DIGITAL_SIGNATURE);
	CHECK(policy_ku_bit("decipherOnly", &bit) && bit == TBS_KU_DECIPHER_ONLY);
	CHECK(!policy_ku_bit("digitalsignature", &bit) && !policy_ku_bit("", &bit));
	CHECK(policy_eku_oid("OCSPSigning", &s) && s.len == 8 && s.data[7] == 9);
	CHECK(!policy_eku_oid("anyExtendedKeyUsage", &s) && !policy_eku_oid("serverauth", &s));

	uint8_t rnd[21];
	memset(rnd, 0xff, sizeof(rnd));
	/* 0x01 || rnd: every random bit kept, positive and minimal whatever rnd holds, at most 20 octets */
	CHECK(certbuild_serial(rnd, 7) == NULL && certbuild_serial(rnd, 20) == NULL);
	ASN1_INTEGER *ai = certbuild_serial(rnd, 19);
	CHECK(ai && ASN1_STRING_length(ai) == 20 && ASN1_STRING_get0_data(ai)[0] == 0x01 &&
	      ASN1_STRING_get0_data(ai)[1] == 0xff);
	ASN1_INTEGER_free(ai);
	ai = certbuild_serial(rnd, 16);
	CHECK(ai && ASN1_STRING_length(ai) == 17 && ASN1_STRING_get0_data(ai)[0] == 0x01 &&
	      !memcmp(ASN1_STRING_get0_data(ai) + 1, rnd, 16));
	ASN1_INTEGER_free(ai);
	memset(rnd, 0, sizeof(rnd));
	ai = certbuild_serial(rnd, 16);
	CHECK(ai && ASN1_STRING_length(ai) == 17 && ASN1_STRING_get0_data(ai)[0] == 0x01 &&
	      ASN1_STRING_get0_data(ai)[16] == 0);
	ASN1_INTEGER_free(ai);
	ai = certbuild_serial(rnd, 8);
	CHECK(ai && ASN1_STRING_length(ai) == 9 && ASN1_STRING_get0_data(ai)[0] == 0x01);
	ASN1_INTEGER_free(ai);
}

/* KNOWN GAP (policy/check.c pol_check_eku): the EKU rule only checks the EKUs a certificate carries. A leaf
 * without an extendedKeyUsage extension passes a profile that pins serverAuth/clientAuth, yet relying parties
 * treat an absent EKU as "any purpose" (code signing, e-mail, time stamping...), which is what pinning EKUs is
 * meant to prevent (the CA/B Forum BRs also require EKU in subscriber certificates). */
static void known_gap_missing_eku(void)
{
	struct leaf_opts o;
	leaf_defaults(&fx, &o);
	o.eku = NULL;
	cert_case("KNOWN GAP: leaf without EKU under a profile that pins EKUs", &o, &fx.prof, "eku:", NULL);
}

/* The times against the signer's clock (policy_check_*_clock), at their bounds, and the OCSP parser's
 * record of its SingleResponses' times. */
static void test_clock(void)
{
	const time_t now = fx.now;
	char why[TBS_WHY_MAX] = "";
	struct tbs_cert c = { 0 };
	struct tbs_crl r = { 0 };
	struct ocsp_opts o, base;
	struct policy_profile p = fx.prof;
	struct tbs_ocsp t;
	struct dbuf der;

	c.not_before = now + POLICY_CLOCK_AHEAD;
	CHECKF(policy_check_cert_clock(&c, now, why) == 0, "notBefore just ahead: %s", why);
	c.not_before = now + POLICY_CLOCK_AHEAD + 1;
	CHECK(policy_check_cert_clock(&c, now, why) == HSMCA_ERR_EARLY && check_prefix(why, "clock: notBefore is ahead"));
	c.not_before = now - POLICY_CERT_BACKDATE;
	CHECKF(policy_check_cert_clock(&c, now, why) == 0, "notBefore 8 days back: %s", why);
	c.not_before = now - POLICY_CERT_BACKDATE - 1;
	CHECK(policy_check_cert_clock(&c, now, why) == HSMCA_ERR_POLICY && check_prefix(why, "clock: notBefore is more than 192 hours"));

	r.this_update = now - POLICY_STATUS_BACKDATE;
	CHECKF(policy_check_crl_clock(&r, now, why) == 0, "thisUpdate an hour back: %s", why);
	r.this_update = now - POLICY_STATUS_BACKDATE - 1;
	CHECK(policy_check_crl_clock(&r, now, why) == HSMCA_ERR_POLICY && check_prefix(why, "clock: thisUpdate is more than 1 hours"));
	r.this_update = now + POLICY_CLOCK_AHEAD + 1;
	CHECK(policy_check_crl_clock(&r, now, why) == HSMCA_ERR_EARLY && check_prefix(why, "clock: thisUpdate is ahead"));

	p.max_ocsp_days = 7;
	ocsp_defaults(&fx, &base);
	base.ikh2 = base.ikh;
	struct {
		const char *name;
		time_t produced, shift2;
		long validity;
		bool no_next;
		const char *want; /* NULL: accepted */
	} cases[] = {
		{ "two responses, a day each", now, -600, 0, false, NULL },
		{ "seven days", now, 0, 7 * DAY, false, NULL },
		{ "eight days", now, 0, 8 * DAY, false, "validity: nextUpdate not after thisUpdate or beyond 7 days" },
		{ "nextUpdate missing", now, 0, 0, true, "validity: nextUpdate missing" },
		{ "nextUpdate before thisUpdate", now, 0, -1, false, "validity: nextUpdate not after" },
		{ "producedAt ahead", now + POLICY_CLOCK_AHEAD + 1, -POLICY_CLOCK_AHEAD - 1, 0, false, "clock: producedAt is ahead" },
		{ "producedAt stale", now - POLICY_STATUS_BACKDATE - 1, POLICY_STATUS_BACKDATE + 1, 0, false, "clock: producedAt is more than" },
		{ "a thisUpdate stale", now, -POLICY_STATUS_BACKDATE - 1, 0, false, "clock: thisUpdate is more than" },
		{ "a thisUpdate ahead", now, POLICY_CLOCK_AHEAD + 1, 0, false, "clock: thisUpdate is ahead" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = base;
		o.produced = cases[i].produced;
		o.shift2 = cases[i].shift2;
		o.validity = cases[i].validity;
		o.no_next = cases[i].no_next;
		dbuf_init(&der);
		ocsp_tbs(&o, &der);
		CHECKF(tbs_ocsp_parse(span_make(der.data, der.len), &t, why), "%s: parse: %s", cases[i].name, why);
		why[0] = '\0';
		int rc = policy_check_ocsp_clock(&t, &p, now, why);
		if (cases[i].want)
			CHECKF(rc == (strstr(cases[i].want, "ahead") ? HSMCA_ERR_EARLY : HSMCA_ERR_POLICY) &&
				       check_prefix(why, cases[i].want),
			       "%s: got %d '%s'", cases[i].name, rc, why);
		else
			CHECKF(rc == 0, "%s: refused: %s", cases[i].name, why);
		dbuf_free(&der);
	}
	/* what the parser recorded for two responses, the second 600 s earlier with 7 days */
	o = base;
	o.shift2 = -600;
	o.validity = 7 * DAY;
	dbuf_init(&der);
	ocsp_tbs(&o, &der);
	CHECK(tbs_ocsp_parse(span_make(der.data, der.len), &t, why) && t.this_update_min == now - 600 &&
	      t.this_update_max == now && t.longest_validity == 7 * DAY && !t.next_update_missing && !t.next_update_not_after);
	dbuf_free(&der);
}

int main(int argc, char **argv)
{
	if (!fx_init(&fx)) {
		fprintf(stderr, "unit_tbs: could not build the test CA\n");
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "known-bugs")) {
		known_gap_missing_eku();
		fx_free(&fx);
		return check_done("unit_tbs known-bugs");
	}
	test_policy_helpers();
	test_cert_good();
	test_cert_rules();
	test_cert_ca_rules();
	test_cert_ca_pinned();
	test_cert_empty_subject();
	test_cert_leaf_pinned();
	test_cert_self_issued();
	test_cert_ext_der();
	test_dn_within();
	test_dn_equal();
	test_dn_charset();
	test_cert_subject_chars();
	test_cert_parser();
	test_crl();
	test_ocsp();
	test_clock();
	fx_free(&fx);
	return check_done("unit_tbs");
}
