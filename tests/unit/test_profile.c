/* policy/profile.c: the profile file. Unknown keys and sections, bad values and keys that do not belong to
 * the profile's kind (leaf or CA) are errors naming the line; a valid leaf and a valid CA profile load with
 * every field. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "check.h"
#include "conf.h"
#include "profile.h"

static const char leaf[] = "[profile server]\n"            /* 1 */
			   "issuer = int\n"                /* 2 */
			   "issuer_cert = /dev/null\n"     /* 3 */
			   "key_types = p256, rsa2048\n"   /* 4 */
			   "dns_suffixes = .example.com\n" /* 5 */
			   "max_sans = 4\n"                /* 6 */
			   "max_validity_days = 90\n"      /* 7 */
			   "key_usage = digitalSignature\n" /* 8 */
			   "eku = serverAuth\n"            /* 9 */
			   "accounts = alice\n"            /* 10 */
			   "crl_url = http://ca.example.com/int.crl\n" /* 11 */
			   "ocsp_url = https://ca.example.com/ocsp\n";  /* 12 */

static const char ca[] = "[profile team-ca]\n"                   /* 1 */
			 "issuer = int\n"                        /* 2 */
			 "issuer_cert = /dev/null\n"             /* 3 */
			 "ca = yes\n"                            /* 4 */
			 "path_length = 0\n"                     /* 5 */
			 "key_types = p256\n"                    /* 6 */
			 "dns_suffixes = .team.example.com, team.example.com\n" /* 7 */
			 "ip_ranges = 10.20.0.0/16\n"            /* 8 */
			 "max_sans = 1\n"                        /* 9 */
			 "max_validity_days = 365\n"             /* 10 */
			 "key_usage = keyCertSign, cRLSign, digitalSignature\n" /* 11 */
			 "accounts = alice\n"                    /* 12 */
			 "crl_url = http://ca.example.com/int.crl\n" /* 13 */
			 "ocsp_url = http://ca.example.com/ocsp\n"   /* 14 */
			 "dn_prefix = /C=US/O=Example Corp\n";       /* 15 */

static char path[] = "/tmp/hsmca-unit-profile-XXXXXX";

/* Writes text as the profile file and loads it: rc, and the error in err. */
static int load(const char *text, struct profiles *ps, char *err)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
	err[0] = 0;
	return profiles_load(path, ps, err);
}

/* base with one line appended (extra) or line n replaced (n > 0) */
static void edit(const char *base, unsigned n, const char *line, char *out, size_t max)
{
	size_t o = 0;
	unsigned at = 1;
	for (const char *s = base; *s;) {
		const char *nl = strchr(s, '\n');
		size_t len = (size_t)(nl - s) + 1;
		if (at == n)
			o += (size_t)snprintf(out + o, max - o, "%s\n", line);
		else
			o += (size_t)snprintf(out + o, max - o, "%.*s", (int)len, s);
		s += len;
		at++;
	}
	if (n == 0)
		snprintf(out + o, max - o, "%s\n", line);
}

static void refused(const char *what, const char *base, unsigned n, const char *line, const char *want)
{
	char text[4096], err[CONF_ERR_MAX];
	struct profiles *ps = calloc(1, sizeof(*ps));
	edit(base, n, line, text, sizeof(text));
	int rc = ps ? load(text, ps, err) : -1;
	CHECKF(rc == HSMCA_ERR_CONFIG && strstr(err, want), "%s: rc %d err \"%s\", want \"%s\"", what, rc, err, want);
	free(ps);
}

static void test_valid(void)
{
	char err[CONF_ERR_MAX];
	struct profiles *ps = calloc(1, sizeof(*ps));
	CHECK(ps != NULL);
	if (!ps)
		return;
	CHECKF(load(leaf, ps, err) == 0, "leaf: %s", err);
	const struct profile *p = profiles_find(ps, "server");
	CHECK(p && !p->ca && !p->has_path_length && p->n_eku == 1 && p->key_usage == TBS_KU_DIGITAL_SIGNATURE &&
	      p->n_dns == 1 && p->max_sans == 4);
	CHECKF(load(ca, ps, err) == 0, "CA: %s", err);
	p = profiles_find(ps, "team-ca");
	CHECK(p && p->ca && p->has_path_length && p->path_length == 0 && p->n_eku == 0 && p->n_dns == 2 &&
	      p->n_ip == 1 && p->ip_ranges[0].prefix == 16 &&
	      p->key_usage == (TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN | TBS_KU_DIGITAL_SIGNATURE));
	/* dn_prefix as OpenSSL encodes it (C PrintableString, O UTF8String), the bytes the signer pins */
	static const uint8_t example_corp[] = { 0x30, 0x24, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13,
						0x02, 'U',  'S',  0x31, 0x15, 0x30, 0x13, 0x06, 0x03, 0x55, 0x04, 0x0a,
						0x0c, 0x0c, 'E',  'x',  'a',  'm',  'p',  'l',  'e',  ' ',  'C',  'o',
						'r',  'p' };
	CHECK(p && p->dn_prefix_len == sizeof(example_corp) && !memcmp(p->dn_prefix, example_corp, sizeof(example_corp)));
	char noprefix[sizeof(ca)];
	snprintf(noprefix, sizeof(noprefix), "%.*s", (int)(strstr(ca, "dn_prefix") - ca), ca);
	CHECKF(load(noprefix, ps, err) == 0 && ps->p[0].ca && ps->p[0].dn_prefix_len == 0,
	       "a CA profile without dn_prefix (subject names open, for Go clients): %s", err);
	CHECKF(profiles_parse("text", ca, strlen(ca), ps, err) == 0 && ps->n == 1 && ps->p[0].ca, "parse: %s", err);
	CHECKF(profiles_parse("text", ca, strlen(ca) - 1, ps, err) == 0, "parse without the last newline: %s", err);
	CHECKF(profiles_parse("text", "[profile x]\nbogus = 1\n", 22, ps, err) == HSMCA_ERR_CONFIG &&
		       strstr(err, "line 2: unknown key bogus"),
	       "parse: unknown key: %s", err);
	char text[4096];
	snprintf(text, sizeof(text), "%s%s", leaf, ca);
	CHECKF(load(text, ps, err) == 0 && ps->n == 2, "two profiles with the same keys: %s", err);
	edit(ca, 5, "path_length = 8", text, sizeof(text));
	CHECKF(load(text, ps, err) == 0 && ps->p[0].path_length == 8, "path_length 8: %s", err);
	/* suffixes in capitals are held in lower case: a CA profile's become its certificates' nameConstraints,
	 * which GnuTLS compares byte for byte with the (lower-case) names below them */
	edit(ca, 7, "dns_suffixes = .Team.Example.COM, TEAM.example.com", text, sizeof(text));
	CHECKF(load(text, ps, err) == 0 && ps->p[0].n_dns == 2 && !strcmp(ps->p[0].dns_suffixes[0], ".team.example.com") &&
		       !strcmp(ps->p[0].dns_suffixes[1], "team.example.com"),
	       "suffixes in capitals: %s, %s %s", ps->p[0].dns_suffixes[0], ps->p[0].dns_suffixes[1], err);
	free(ps);
}

static void test_refused(void)
{
	static const struct {
		const char *what, *base;
		unsigned line; /* replaced, or 0: appended */
		const char *text, *want;
	} cases[] = {
		/* unknown keys and sections, with their line numbers; bad values */
		{ "unknown key", leaf, 0, "colour = blue", "line 13: unknown key colour" },
		{ "misspelt key", leaf, 6, "max_san = 4", "line 6: unknown key max_san" },
		{ "DNS suffix with a trailing dot", leaf, 5, "dns_suffixes = .example.com.",
		  "line 5: DNS suffix .example.com.: no trailing dot" },
		{ "DNS suffix with an empty label", leaf, 5, "dns_suffixes = a..example.com",
		  "line 5: DNS suffix a..example.com: no trailing dot or empty label" },
		{ "unknown section", leaf, 1, "[profil server]", "line 1: unknown section" },
		{ "bad value", leaf, 7, "max_validity_days = ninety", "line 7: bad value for max_validity_days" },
		{ "validity over the limit", leaf, 7, "max_validity_days = 826", "line 7: bad value for max_validity_days" },
		{ "unknown key usage", leaf, 8, "key_usage = digitalSignature, sorcery", "line 8: unknown key usage sorcery" },
		{ "unknown key type", leaf, 4, "key_types = p256, dsa1024", "line 4: unknown key type dsa1024" },
		{ "missing eku on a leaf", leaf, 9, "# no eku", "needs issuer" },
		/* a leaf profile may not act as a CA */
		{ "keyCertSign on a leaf", leaf, 8, "key_usage = digitalSignature, keyCertSign",
		  "line 8: profile server: keyCertSign and cRLSign are only for a CA profile" },
		{ "cRLSign on a leaf", leaf, 8, "key_usage = cRLSign", "line 8: profile server: keyCertSign and cRLSign" },
		{ "path_length on a leaf", leaf, 0, "path_length = 0", "line 13: profile server: path_length is only for a CA" },
		{ "ca = no on a CA profile", ca, 4, "ca = no",
		  "line 11: profile team-ca: keyCertSign and cRLSign are only for a CA" },
		/* a CA profile needs what makes it one */
		{ "CA without keyCertSign", ca, 11, "key_usage = digitalSignature, cRLSign",
		  "line 11: profile team-ca: a CA profile needs key_usage keyCertSign" },
		{ "CA without path_length", ca, 5, "# none", "profile team-ca: a CA profile needs path_length" },
		{ "CA without DNS suffixes", ca, 7, "# none", "profile team-ca: a CA profile needs dns_suffixes" },
		{ "dn_prefix on a leaf", leaf, 0, "dn_prefix = /O=A", "line 13: profile server: dn_prefix is only for a CA" },
		{ "dn_prefix not a name", ca, 15, "dn_prefix = O=Example", "line 15: dn_prefix: a directory name is written" },
		{ "dn_prefix with an empty part", ca, 15, "dn_prefix = /O=A//OU=B", "line 15: dn_prefix: \"\" is not TYPE=VALUE" },
		{ "dn_prefix with an unknown type", ca, 15, "dn_prefix = /UID=x", "line 15: dn_prefix: unknown attribute type" },
		{ "dn_prefix twice", ca, 0, "dn_prefix = /O=B", "line 16: dn_prefix given twice in profile team-ca" },
		{ "path_length too large", ca, 5, "path_length = 9", "line 5: bad value for path_length" },
		{ "path_length negative", ca, 5, "path_length = -1", "line 5: bad value for path_length" },
		{ "CA with wildcards", ca, 0, "allow_wildcard = yes", "a CA profile cannot have login, allow_wildcard" },
		{ "CA with login", ca, 0, "login = yes", "a CA profile cannot have login" },
		/* a machine's authsign key must not mint login certificates (they manage accounts, decide approvals) */
		{ "login with a cfssl key", leaf, 9,
		  "eku = clientAuth\nlogin = yes\ncfssl_key = 00112233445566778899aabbccddeeff\ncfssl_account = alice",
		  "profile server: login = yes cannot have cfssl_key" },
		/* the key stands for an account the profile does not allow: every authsign request was refused 403
		 * after its token was taken, and the client's retry then refused as a replay (401, counted) */
		{ "cfssl_account not among accounts", leaf, 0,
		  "cfssl_key = 00112233445566778899aabbccddeeff\ncfssl_account = bob",
		  "profile server: cfssl_account bob is not among its accounts" },
		/* a delegated OCSP responder certificate for the issuing CA is not a requester's to have */
		{ "OCSPSigning on a leaf", leaf, 9, "eku = serverAuth, OCSPSigning",
		  "profile server: eku OCSPSigning is not for a leaf profile" },
		{ "OCSPSigning on a CA", ca, 0, "eku = serverAuth, OCSPSigning",
		  "profile team-ca: eku OCSPSigning is not for a CA profile" },
		/* RFC 3161 2.3: no verifier takes a TSA certificate with another EKU or key usage (they were issued) */
		{ "timeStamping with another EKU", leaf, 9, "eku = serverAuth, timeStamping",
		  "profile server: eku timeStamping is a leaf's only EKU" },
		/* cfssl info lists the EKUs in a fixed buffer: 16 repeats cut its JSON */
		{ "an EKU twice", leaf, 9, "eku = serverAuth, clientAuth, serverAuth", "line 9: extended key usage serverAuth listed twice" },
		/* an empty item is refused, never skipped ("eku = ," pinned nothing and passed) */
		{ "an EKU list of a comma", leaf, 9, "eku = ,", "line 9: an empty item in a list" },
		{ "a trailing comma", leaf, 9, "eku = serverAuth,", "line 9: an empty item in a list" },
		{ "two commas", leaf, 8, "key_usage = digitalSignature,,keyEncipherment", "line 8: an empty item in a list" },
		{ "a '#' in a value", ca, 15, "dn_prefix = /O=Acme #2", "line 15: '#' after the start of the line" },
		{ "encipherOnly without keyAgreement", leaf, 8, "key_usage = digitalSignature, encipherOnly",
		  "profile server: encipherOnly or decipherOnly needs keyAgreement" },
		{ "encipherOnly and decipherOnly", leaf, 8, "key_usage = keyAgreement, encipherOnly, decipherOnly",
		  "profile server: encipherOnly or decipherOnly needs keyAgreement, and not both" },
		/* DNS suffixes are names: "." alone, or two joined by a tab, were taken */
		{ "DNS suffix .", ca, 7, "dns_suffixes = .", "line 7: DNS suffix .: no trailing dot" },
		{ "DNS suffixes joined by a tab", leaf, 5, "dns_suffixes = .a.com,\t.b.com",
		  "line 5: DNS suffix \"\t.b.com\": letters, digits, hyphens and dots only" },
		/* a mapped range names IPv4 addresses as IPv6 ones: leaves refuse such addresses, a sub-CA's would
		 * reach past its IPv4 ranges in Go */
		{ "IPv4-mapped range", ca, 8, "ip_ranges = ::ffff:10.0.0.0/104",
		  "line 8: IP range ::ffff:10.0.0.0/104 is IPv4-mapped (::ffff:a.b.c.d): give the IPv4 range" },
		{ "DNS suffix with an underscore", leaf, 5, "dns_suffixes = .my_host.example.com", "letters, digits, hyphens and dots only" },
		/* an address as a suffix: a CA profile's URI constraint with it made Go refuse the CA certificate */
		{ "DNS suffix an IPv4 address", ca, 7, "dns_suffixes = 10.20.30.40", "line 7: DNS suffix 10.20.30.40 is an IPv4 address" },
		{ "DNS suffix a dotted IPv4 address", leaf, 5, "dns_suffixes = .10.20.30.40", "line 5: DNS suffix .10.20.30.40 is an IPv4 address" },
		{ "ca not a boolean", ca, 4, "ca = maybe", "line 4: bad value for ca" },
		/* every profile names its CRL and OCSP URLs, http:// or https://, printable ASCII without spaces */
		{ "leaf without crl_url", leaf, 11, "# none", "profile server needs crl_url and ocsp_url" },
		{ "leaf without ocsp_url", leaf, 12, "# none", "profile server needs crl_url and ocsp_url" },
		{ "CA without crl_url", ca, 13, "# none", "profile team-ca needs crl_url and ocsp_url" },
		{ "CA without ocsp_url", ca, 14, "# none", "profile team-ca needs crl_url and ocsp_url" },
		{ "crl_url not http", leaf, 11, "crl_url = ldap://ca.example.com/int.crl",
		  "profile server: crl_url must be an http:// or https:// URL" },
		{ "crl_url scheme only", leaf, 11, "crl_url = http://", "profile server: crl_url must be" },
		{ "crl_url with a space", leaf, 11, "crl_url = http://ca.example.com/a b.crl",
		  "profile server: crl_url must be" },
		{ "ocsp_url not http", ca, 14, "ocsp_url = ca.example.com/ocsp",
		  "profile team-ca: ocsp_url must be an http:// or https:// URL" },
		/* a key given twice is an error, not a silent override */
		{ "max_sans twice", leaf, 0, "max_sans = 100", "line 13: max_sans given twice in profile server" },
		{ "dns_suffixes twice", leaf, 0, "dns_suffixes = .example.org", "line 13: dns_suffixes given twice in profile server" },
		{ "ca twice", ca, 0, "ca = no", "line 16: ca given twice in profile team-ca" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i].what, cases[i].base, cases[i].line, cases[i].text, cases[i].want);
	/* timeStamping alone with digitalSignature (the leaf's key_usage) is a TSA profile; with keyEncipherment
	 * besides, refused */
	char tsa[4096], err[CONF_ERR_MAX];
	struct profiles *ps = calloc(1, sizeof(*ps));
	CHECK(ps != NULL);
	edit(leaf, 9, "eku = timeStamping", tsa, sizeof(tsa));
	CHECKF(ps && load(tsa, ps, err) == 0, "a timeStamping profile: %s", err);
	refused("timeStamping with keyEncipherment", tsa, 8, "key_usage = digitalSignature, keyEncipherment",
		"profile server: eku timeStamping is a leaf's only EKU, with key_usage digitalSignature");
	/* a CA profile lists it among others: what its CA may issue */
	edit(ca, 0, "eku = serverAuth, timeStamping", tsa, sizeof(tsa));
	CHECKF(ps && load(tsa, ps, err) == 0, "a CA profile with timeStamping among its EKUs: %s", err);
	free(ps);
}

/* A leaf profile in memory for profile_check_request: P-256, wildcards and emails allowed, the given suffixes. */
static void req_profile(struct profile *p, const char *const *suffixes, size_t n)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, "req");
	p->key_types = PROF_P256;
	p->max_sans = 4;
	p->allow_wildcard = true;
	p->allow_email = true;
	for (size_t i = 0; i < n; i++)
		strcpy(p->dns_suffixes[p->n_dns++], suffixes[i]);
	inet_pton(AF_INET, "10.0.0.0", p->ip_ranges[0].addr);
	p->ip_ranges[0].family = AF_INET;
	p->ip_ranges[0].prefix = 8;
	inet_pton(AF_INET6, "2001:db8::", p->ip_ranges[1].addr);
	p->ip_ranges[1].family = AF_INET6;
	p->ip_ranges[1].prefix = 32;
	p->n_ip = 2;
}

/* One SAN of the given type checked against a profile with one suffix: want NULL (accepted) or a prefix of why. */
static void req_case(EVP_PKEY *key, const char *suffix, int type, const char *san, const char *want)
{
	struct profile p;
	char why[PROF_WHY_MAX] = "";
	const char *sans[1] = { san };
	req_profile(&p, &suffix, 1);
	int rc = profile_check_request(&p, key, &type, sans, 1, why);
	if (!want)
		CHECKF(rc == 0, "%s under %s: refused: %s", san, suffix, why);
	else
		CHECKF(rc == HSMCA_ERR_POLICY && check_prefix(why, want), "%s under %s: rc %d why \"%s\", want \"%s\"",
		       san, suffix, rc, why, want);
}

static void test_request(void)
{
	static const struct {
		const char *suffix;
		int type;
		const char *san, *want; /* want: NULL accepted, else the reason's start */
	} cases[] = {
		/* wildcards: "*.P" needs a ".S" suffix with P == S or P below S */
		{ ".example.com", 1, "*.example.com", NULL },
		{ ".example.com", 1, "*.EXAMPLE.com", NULL },
		{ ".example.com", 1, "*.a.example.com", NULL },
		{ ".example.com", 1, "*.com", "san-dns:" },
		{ ".example.com", 1, "*.badexample.com", "san-dns:" },
		{ "example.com", 1, "*.example.com", "san-dns:" },
		{ "a.example.com", 1, "*.a.example.com", "san-dns:" },
		{ ".a.example.com", 1, "*.example.com", "san-dns:" },
		/* a wildcard with one label after it matches nothing in TLS clients (it was issued) */
		{ ".corp", 1, "*.corp", "san-wildcard: *.corp: a wildcard needs at least two labels after it" },
		{ ".corp", 1, "*.a.corp", NULL },
		/* plain names */
		{ ".example.com", 1, "www.example.com", NULL },
		{ ".example.com", 1, "example.com", "san-dns:" },
		{ "example.com", 1, "example.com", NULL },
		{ "example.com", 1, "www.example.com", "san-dns:" },
		/* IP addresses; an IPv4-mapped IPv6 address would pass around the IPv4 ranges */
		{ ".example.com", 2, "10.1.2.3", NULL },
		{ ".example.com", 2, "11.1.2.3", "san-ip:" },
		{ ".example.com", 2, "2001:db8::1", NULL },
		{ ".example.com", 2, "::ffff:10.1.2.3", "san-ip: ::ffff:10.1.2.3 is an IPv4-mapped IPv6 address" },
		{ ".example.com", 2, "::ffff:11.1.2.3", "san-ip: ::ffff:11.1.2.3 is an IPv4-mapped IPv6 address" },
		/* emails: a dot-atom local part, one '@', a domain within the suffixes */
		{ ".example.com", 3, "alice@mail.example.com", NULL },
		{ ".example.com", 3, "a.b+tag!#$%&'*/=?^_`{|}~-@mail.example.com", NULL },
		{ "example.com", 3, "alice@example.com", NULL },
		{ ".example.com", 3, "alice@example.com", "san-email:" },
		{ ".example.com", 3, "alice@mail.example.org", "san-email:" },
		{ ".example.com", 3, "anything at all", "san-email:" },
		{ ".example.com", 3, "", "san-email:" },
		{ ".example.com", 3, "@mail.example.com", "san-email:" },
		{ ".example.com", 3, "alice@", "san-email:" },
		{ ".example.com", 3, "a@b@mail.example.com", "san-email:" },
		{ ".example.com", 3, ".alice@mail.example.com", "san-email:" },
		{ ".example.com", 3, "alice.@mail.example.com", "san-email:" },
		{ ".example.com", 3, "al..ice@mail.example.com", "san-email:" },
		{ ".example.com", 3, "al ice@mail.example.com", "san-email:" },
		{ ".example.com", 3, "\"alice\"@mail.example.com", "san-email:" },
		{ ".example.com", 3, "alice@*.example.com", "san-email:" },
		{ ".example.com", 3, "alice@mail..example.com", "san-email:" },
		{ ".example.com", 3, "alice@-mail.example.com", "san-email:" },
		{ ".example.com", 3, "alice@[10.0.0.1]", "san-email:" },
		{ ".example.com", 3, "0123456789012345678901234567890123456789012345678901234567890123@mail.example.com",
		  NULL },
		{ ".example.com", 3, "01234567890123456789012345678901234567890123456789012345678901234@mail.example.com",
		  "san-email:" },
	};
	EVP_PKEY *key = EVP_EC_gen("P-256");
	CHECK(key != NULL);
	if (!key)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		req_case(key, cases[i].suffix, cases[i].type, cases[i].san, cases[i].want);
	EVP_PKEY_free(key);
}

int main(void)
{
	int fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);
	test_valid();
	test_refused();
	test_request();
	unlink(path);
	return check_done("unit_profile");
}
