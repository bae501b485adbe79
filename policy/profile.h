/* Certificate profiles (declarative file, one [profile NAME] section each): what a request may get.
 * Read once by the frontend; unknown keys are errors with their line number. */
#ifndef HSMCA_PROFILE_H
#define HSMCA_PROFILE_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "policy.h"
#include "tbs.h"

#define PROF_MAX 32
#define PROF_NAME_MAX 64
#define PROF_LIST_MAX 16
#define PROF_TEXT_MAX 256
#define PROF_WHY_MAX 160
#define PROF_CFSSL_KEY_MAX 64
#define PROF_CFSSL_KEY_MIN 16
#define PROF_PATH_LENGTH_MAX 8

enum prof_keytype { PROF_P256 = 1 << 0, PROF_P384 = 1 << 1, PROF_RSA2048 = 1 << 2, PROF_RSA3072 = 1 << 3,
		    PROF_RSA4096 = 1 << 4 };

struct prof_iprange {
	int family; /* AF_INET / AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

struct profile {
	char name[PROF_NAME_MAX];
	char issuer[PROF_NAME_MAX];        /* the signer's key label */
	char issuer_cert[PROF_TEXT_MAX];   /* its certificate (PEM path) */
	unsigned key_types;                /* PROF_* bits */
	unsigned n_dns;
	char dns_suffixes[PROF_LIST_MAX][PROF_NAME_MAX]; /* ".example.com" matches below it; "example.com" exact */
	unsigned n_ip;
	struct prof_iprange ip_ranges[PROF_LIST_MAX];
	bool allow_wildcard;
	bool allow_email;
	unsigned max_sans;
	unsigned max_validity_days;
	uint16_t key_usage;                /* TBS_KU_* */
	size_t n_eku;
	char eku[TBS_MAX_EKU][PROF_NAME_MAX]; /* names: serverAuth ... */
	unsigned n_accounts;
	char accounts[PROF_LIST_MAX][PROF_NAME_MAX]; /* who may use it ("*" = every requester) */
	bool needs_approval;
	bool login;                        /* its certificates log their requester's account in over mutual TLS */
	/* ca = yes: subordinate CA certificates (basicConstraints cA with path_length; keyCertSign and DNS
	 * suffixes required; the DNS suffixes (for DNS names, email addresses and URIs) and IP ranges become critical
	 * nameConstraints, every address of a family (IPv4, IPv6) without a range excluded; dn_prefix, if given, a permitted
	 * directoryName subtree: the non-empty subjects of certificates the CA signs must begin with its RDNs, and
	 * Go's crypto/x509 refuses the CA). Leaf profiles may not have keyCertSign or cRLSign. */
	bool ca;
	bool has_path_length;
	unsigned path_length;
	uint8_t dn_prefix[POLICY_DN_MAX];  /* a Name's DER (policy_dn_parse) */
	size_t dn_prefix_len;
	unsigned ku_line, path_length_line, dn_prefix_line; /* where they were set, for load errors */
	char crl_url[PROF_TEXT_MAX];
	char ocsp_url[PROF_TEXT_MAX];
	/* CFSSL-compatible authsign: HMAC-SHA-256 key (hex in the file) and the account recorded as requester */
	uint8_t cfssl_key[PROF_CFSSL_KEY_MAX];
	size_t cfssl_key_len;
	char cfssl_account[PROF_NAME_MAX];
};

struct profiles {
	unsigned n;
	struct profile p[PROF_MAX];
};

/* Reads and checks the profile file (err: CONF_ERR_MAX, naming the line where there is one). */
int profiles_load(const char *path, struct profiles *out, char *err) HSMCA_WUR;
/* The same over text[0..len) (not NUL-terminated), name standing for the path in errors. */
int profiles_parse(const char *name, const char *text, size_t len, struct profiles *out, char *err) HSMCA_WUR;
const struct profile *profiles_find(const struct profiles *ps, const char *name);
/* Wipes the profiles' authsign keys (cfssl_key), every slot: also after a load that failed part way. */
void profiles_wipe(struct profiles *ps);
bool profile_allows_account(const struct profile *p, const char *account);
/* r (IPv6) holds any of the IPv4-mapped addresses ::ffff:0:0/96 (a prefix over them, or inside them): a
 * sub-CA's name constraints must exclude them, or Go, which matches an iPAddress only against subtrees of its
 * own length and takes ::ffff:a.b.c.d as a.b.c.d, lets such a CA name IPv4 addresses whatever the IPv4 ranges
 * say (and the signer refuses such constraints). */
bool profile_range_meets_v4mapped(const struct prof_iprange *r);
/* ::ffff:0:0, the network of the IPv4-mapped addresses (a /96) */
extern const uint8_t profile_v4mapped_net[16];
/* Checks a requested key and SAN list against the profile. Returns 0 or HSMCA_ERR_POLICY with
 * "rule: detail" in why (PROF_WHY_MAX). san_types/sans: parallel arrays (1 DNS, 2 IP, 3 email, 4 URI). */
int profile_check_request(const struct profile *p, EVP_PKEY *key, const int *san_types, const char *const *sans,
			  size_t n_sans, char *why) HSMCA_WUR;

#endif
