/* The rules both processes apply to a to-be-signed structure before it is signed. The signer applies them
 * with the profile pinned in its own config; the ceremony and (later) the frontend lint with the same code.
 * Each check returns 0 or HSMCA_ERR_POLICY with "rule: detail" in why (TBS_WHY_MAX). */
#ifndef HSMCA_POLICY_H
#define HSMCA_POLICY_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "tbs.h"

#define POLICY_NAME_MAX 2048
#define POLICY_KEYID_MAX 64
#define POLICY_SHA1_LEN 20
#define POLICY_SIGALG_MAX 32
#define POLICY_OID_MAX 32
#define POLICY_SERIAL_MAX_OCTETS 20
#define POLICY_SERIAL_MIN_BITS 65 /* value >= 2^64: room for at least 64 random bits */
/* an RSA public exponent below 2^31: BR 6.1.6 allows up to 2^256 - 1, but Go's crypto/rsa refuses one above
 * 2^31 - 1 (and x509 parsing past 2^63), BoringSSL past 33 bits, CryptoAPI past 32: a key clients refuse */
#define POLICY_RSA_E_BITS_MAX 31

/* Facts about a signing key, taken from its certificate. Plain data (no pointers). */
struct policy_issuer {
	uint8_t subject[POLICY_NAME_MAX];
	size_t subject_len;
	uint8_t ski[POLICY_KEYID_MAX];
	size_t ski_len;
	uint8_t key_hash[POLICY_SHA1_LEN];    /* SHA-1 of this key's public key bits (OCSP byKey) */
	uint8_t parent_key_hash[POLICY_SHA1_LEN]; /* SHA-1 of its issuer's key bits (delegated OCSP CertIDs) */
	uint8_t name_hash[POLICY_SHA1_LEN];        /* SHA-1 of its subject's DER (OCSP CertIDs it answers for) */
	uint8_t parent_name_hash[POLICY_SHA1_LEN]; /* SHA-1 of its issuer's name DER (delegated OCSP CertIDs) */
	time_t not_before, not_after;
	uint8_t sigalg[POLICY_SIGALG_MAX]; /* AlgorithmIdentifier DER of signatures by this key */
	size_t sigalg_len;
};

#define POLICY_NC_MAX 16
#define POLICY_NC_NAME_MAX 64
#define POLICY_DN_MAX 512      /* a pinned or profile directory name, DER */
#define POLICY_DN_RDNS_MAX 8
#define POLICY_DN_VALUE_MAX 64
#define POLICY_DN_WHY_MAX 200

/* An IP range of a pinned name constraint: addr is the base address (host bits zero). */
struct policy_iprange {
	bool v6;
	uint8_t addr[16];
	unsigned prefix;
};

/* What a key may sign: the pinned profile. */
#define POLICY_URL_MAX 256 /* a URL and its NUL: PROF_TEXT_MAX */

struct policy_profile {
	bool allow_cert, allow_crl, allow_ocsp;
	bool allow_ca;
	uint64_t max_pathlen;       /* for CA certificates: pathLenConstraint required and <= this */
	/* ca_pinned: every CA certificate must carry critical nameConstraints whose permitted dNSName, rfc822Name
	 * and URI subtrees (at least one of each) lie within ca_dns, whose iPAddress subtrees lie within ca_ip, and
	 * whose excluded subtrees exclude every address (all-zero address and mask) of each family, IPv4 and IPv6,
	 * that no permitted subtree names; no other name types. ca_dns entries as in a
	 * profile: ".example.com" the names below it, "example.com" that name and those below it. directoryName
	 * subtrees: with ca_dn (ca_dn_len > 0) at least one, each beginning with its RDNs (policy_dn_within);
	 * without, any well-formed ones (they only narrow; none leaves subject names open). */
	bool ca_pinned;
	uint8_t ca_dn[POLICY_DN_MAX];
	size_t ca_dn_len;
	size_t n_ca_dns, n_ca_ip;
	char ca_dns[POLICY_NC_MAX][POLICY_NC_NAME_MAX];
	struct policy_iprange ca_ip[POLICY_NC_MAX];
	/* leaf_pinned: every certificate names only what leaf_dns and leaf_ip hold (a CA certificate too, whose own
	 * names its nameConstraints do not bound, and which OpenSSL and Go take as a TLS server's): each dNSName,
	 * and the domain of each rfc822Name, within a leaf_dns entry (as ca_dns: ".d" the names below d, "d" d and
	 * those below it), each iPAddress inside a leaf_ip range and none IPv4-mapped, no URI; its subject empty
	 * or one CN that is one of those names (policy_check_leaf_names). With allow_ca, ca_pinned within it
	 * (signer/config.c): a CA it signs names nothing wider below it. A wildcard dNSName ("*.d") only with
	 * leaf_wildcard (the config's leaf_wildcard = yes; never without leaf_pinned). */
	bool leaf_pinned;
	bool leaf_wildcard;
	size_t n_leaf_dns, n_leaf_ip;
	char leaf_dns[POLICY_NC_MAX][POLICY_NC_NAME_MAX];
	struct policy_iprange leaf_ip[POLICY_NC_MAX];
	uint16_t ku_allowed;        /* KU_* bits a certificate may carry */
	size_t n_eku;
	uint8_t eku[TBS_MAX_EKU][POLICY_OID_MAX];
	size_t eku_len[TBS_MAX_EKU];
	uint32_t max_validity_days; /* certificates */
	uint32_t max_crl_days;      /* nextUpdate - thisUpdate */
	uint32_t max_ocsp_days;     /* an OCSP response's nextUpdate - thisUpdate (nextUpdate required) */
	bool allow_checkpoint;      /* audit checkpoint digests (signer only) */
	/* certificatePolicies and policyConstraints: a key ceremony's CA certificates (policy_oids) only. The
	 * frontend writes neither, so the signer refuses both: an issuance policy OID means group membership to
	 * Windows' Authentication Mechanism Assurance, which a profile never looked at */
	bool allow_policies;
	bool allow_nocheck;         /* id-pkix-ocsp-nocheck: only a ceremony's OCSP responder certificate carries it */
	bool ocsp_delegated;        /* CertIDs name the issuer's key (delegated responder) rather than this key */
	/* crl_url, ocsp_url (signer config; "" = not pinned): every certificate carries exactly the
	 * cRLDistributionPoints, or the authorityInfoAccess, that hsmca writes for that URL (policy_check_urls) */
	char crl_url[POLICY_URL_MAX];
	char ocsp_url[POLICY_URL_MAX];
};

/* Encodes a directory name written "/C=US/O=Example Corp/OU=Team" (one attribute per RDN, types C, ST, L, O,
 * OU, CN and DC, at most POLICY_DN_RDNS_MAX; values printable ASCII, see dn.c) as a Name's DER into
 * out[0..cap), *len its length: OpenSSL's encoding (C PrintableString, DC IA5String, others UTF8String), the
 * same in every process. 0, or HSMCA_ERR_PARSE with the reason in why (POLICY_DN_WHY_MAX). */
int policy_dn_parse(const char *text, uint8_t *out, size_t cap, size_t *len, char *why) HSMCA_WUR;
/* 0 if name (a Name's whole DER) is what policy_dn_well_formed takes: one strict-DER Name, each RDN a non-empty
 * SET of at most 16 {OID, value} in DER's order, each value a UTF8String, NumericString, PrintableString,
 * T61String, IA5String, UniversalString or BMPString well-formed for its type and of its type's characters
 * (PrintableString: A-Z a-z 0-9 space ' ( ) + , - . / : = ?, X.680 41.4; NumericString: digits and space;
 * IA5String: 0x01-0x7f; no NUL in UTF8String, BMPString or UniversalString either; T61String as it is), nothing
 * after. Otherwise HSMCA_ERR_PARSE and in why (POLICY_DN_WHY_MAX) the first rule it breaks and where,
 * e.g. "RDN 1 attribute 0: PrintableString holds '@': only A-Z a-z 0-9 space ' ( ) + , - . / : = ? (X.680
 * 41.4)" (RDNs and attributes counted from 0), short enough to follow "subject: not a well-formed Name: " within
 * TBS_WHY_MAX. */
int policy_dn_check(struct span name, char *why) HSMCA_WUR;
/* policy_dn_check(name) == 0, without the reason. */
bool policy_dn_well_formed(struct span name);
/* True if name (a Name's whole DER, as a directoryName subtree holds it) is well-formed and its RDNs begin
 * with all of pin's (a Name's DER with at least one RDN), byte for byte: every name a verifier finds under
 * that subtree is then under the pin too. */
bool policy_dn_within(struct span name, const uint8_t *pin, size_t pin_len);
/* True if a and b (Names' whole DER) are well-formed and the same name as verifiers compare names (RFC 5280
 * 7.1; OpenSSL's X509_NAME_cmp): RDN by RDN, a multi-valued RDN's attributes in any order, the same types, and values of the string
 * types (UTF8, Printable, T61, IA5, BMP, Universal) equal as characters once leading and trailing white space
 * is dropped, each run of it inside is one space and ASCII letters are lower case; NumericString values byte
 * for byte (no other value type is well-formed: policy_dn_well_formed). The types' character rules
 * (policy_dn_check) are not applied here: OpenSSL finds a legacy PrintableString "AT&T" equal to "at&t". */
bool policy_dn_equal(struct span a, struct span b);

/* Fills an issuer from its certificate; parent is the certificate that signed it (NULL for a root). */
int policy_issuer_from_x509(X509 *cert, X509 *parent, struct policy_issuer *out) HSMCA_WUR;
/* The AlgorithmIdentifier DER we sign with for this public key (P-256: ecdsa-with-SHA256, P-384: SHA384,
 * RSA: sha256WithRSAEncryption). */
bool policy_sigalg_for_pkey(EVP_PKEY *pk, struct span *out);
/* Names for configs: "serverAuth" etc. and "digitalSignature" etc. */
bool policy_eku_oid(const char *name, struct span *out);
bool policy_ku_bit(const char *name, uint16_t *out);

enum policy_key_kind { POLICY_KEY_OTHER, POLICY_KEY_EC, POLICY_KEY_RSA };
/* The algorithm of a whole SubjectPublicKeyInfo: id-ecPublicKey, rsaEncryption, or anything else (also
 * unparsable). */
enum policy_key_kind policy_spki_kind(struct span spki);
/* NULL if the whole SubjectPublicKeyInfo is DER as a certificate must carry it, else why not: one SEQUENCE
 * { AlgorithmIdentifier, BIT STRING with no unused bits } and nothing after it; rsaEncryption with NULL
 * parameters and a BIT STRING holding exactly RSAPublicKey { n, e }, both positive minimal INTEGERs;
 * id-ecPublicKey with a namedCurve and an uncompressed point of the curve's length (P-256, P-384, P-521;
 * another curve: odd). Other algorithms pass (policy decides on them). The reason is a static string. */
const char *policy_spki_form(struct span spki);
/* NULL if the SubjectPublicKeyInfo is in policy_spki_form's form (one walk for both: *form says which failed)
 * and of a key type hsmca certifies: EC P-256 or
 * P-384 with a point on the curve, RSA with a 2048-, 3072- or 4096-bit modulus and an odd exponent above 1
 * and below 2^31 (the frontend's profiles
 * take nothing else, the ceremony makes nothing else); else why not (a static string). The signer checks it
 * too, so a frontend that skipped its own check gets no RSA-1024, P-521 or Ed25519 key certified. */
const char *policy_spki_type(struct span spki, bool *form);
/* Makes the P-256 and P-384 groups policy_spki_type reads points on (once; a later call is free). The signer
 * calls it before its seccomp filters, so nothing OpenSSL does for them runs inside. 0 or HSMCA_ERR_NOMEM. */
int policy_spki_prepare(void) HSMCA_WUR;
/* The keyUsage bits (TBS_KU_*) a key of this kind must not assert: EC (RFC 5480 3) keyEncipherment and
 * dataEncipherment; RSA (RFC 3279 2.3.1) keyAgreement, encipherOnly and decipherOnly; none for others. */
uint16_t policy_ku_forbidden(enum policy_key_kind kind);

int policy_check_cert(const struct tbs_cert *t, const struct policy_issuer *iss, const struct policy_profile *p,
		      char *why) HSMCA_WUR;
/* The names of DNS entry s are all names of pinned entry pin (as ca_dns and leaf_dns: ".d" the names strictly
 * below d, "d" d and those below it; s = "d" may also stand for d alone, as in a profile, with the same
 * answer). ASCII case matters: pins are lowercase, lower s first. */
bool policy_dns_within(const char *s, const char *pin);
/* Every address of the range (v6, addr, prefix) lies within pinned range r (the same family, a prefix at
 * least r's, agreeing with r's address over r's prefix). */
bool policy_range_within(bool v6, const uint8_t addr[16], unsigned prefix, const struct policy_iprange *r);
/* The names of certificate t against p's leaf pin (policy_profile.leaf_pinned; run by policy_check_cert): 0,
 * or HSMCA_ERR_POLICY with "leaf-names: ..." in why (TBS_WHY_MAX). t's subjectAltName is already known to be
 * well-formed GeneralNames of the kinds hsmca writes. */
int policy_check_leaf_names(const struct tbs_cert *t, const struct policy_profile *p, char *why) HSMCA_WUR;
/* An http:// or https:// URL of printable ASCII without spaces, shorter than POLICY_URL_MAX. */
bool policy_url_ok(const char *url);
/* The extension values hsmca writes (the OCTET STRING's contents): cRLDistributionPoints of one
 * DistributionPoint whose fullName is the URI url; authorityInfoAccess of one id-ad-ocsp URI url. */
void policy_cdp_value(struct dbuf *b, const char *url);
void policy_aia_value(struct dbuf *b, const char *url);
/* Certificate t against p's URL pins (crl_url, ocsp_url; run by policy_check_cert): each pinned one's
 * extension present, not critical and exactly its encoding; 0, or HSMCA_ERR_POLICY with "urls: ..." in why. */
int policy_check_urls(const struct tbs_cert *t, const struct policy_profile *p, char *why) HSMCA_WUR;
int policy_check_crl(const struct tbs_crl *t, const struct policy_issuer *iss, const struct policy_profile *p,
		     char *why) HSMCA_WUR;
int policy_check_ocsp(const struct tbs_ocsp *t, const struct policy_issuer *iss, const struct policy_profile *p,
		      char *why) HSMCA_WUR;

/* The times a TBS carries against the signer's clock (now): nothing can be signed to take effect later, or be
 * backdated further than these, so a frontend cannot stockpile CRLs or OCSP responses for the future, nor
 * issue certificates that pretend to be old. A signed time may be POLICY_CLOCK_AHEAD ahead of now (clocks
 * differ); a certificate's notBefore at most POLICY_CERT_BACKDATE behind (8 days: a request held for an
 * administrator's approval keeps the TBS it was built with for up to 7 days, frontend/db_lifecycle.h); a CRL's
 * thisUpdate and an OCSP response's producedAt and thisUpdates at most
 * POLICY_STATUS_BACKDATE behind. OCSP responses must carry nextUpdate, at most max_ocsp_days after
 * thisUpdate. Refusals start "clock:" (or "validity:" for nextUpdate) and are HSMCA_ERR_POLICY, except a time
 * ahead of now: HSMCA_ERR_EARLY, since the same TBS may be signable a few minutes later (a clock stepped back). */
#define POLICY_CLOCK_AHEAD 300
#define POLICY_CERT_BACKDATE (8 * 24 * 3600)
#define POLICY_STATUS_BACKDATE 3600
int policy_check_cert_clock(const struct tbs_cert *t, time_t now, char *why) HSMCA_WUR;
int policy_check_crl_clock(const struct tbs_crl *t, time_t now, char *why) HSMCA_WUR;
int policy_check_ocsp_clock(const struct tbs_ocsp *t, const struct policy_profile *p, time_t now, char *why) HSMCA_WUR;

#endif
