/* Directory names written as text in configs, the directoryName rule of pinned name constraints, the rules a
 * Name's values follow (policy_dn_check: string types, their forms and their characters), and name equality as
 * verifiers see it (a certificate named as its issuer is self-issued).
 * Both the frontend (its CA profiles' dn_prefix) and the signer (its keys' ca_permitted_dn) encode the text
 * with this one function, so a CA certificate the frontend builds carries the same bytes the signer pins. */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "der.h"
#include "policy.h"

#define DN_RDN_ATAVS_MAX 16 /* attributes in one RDN (a well-formed Name has no more: dn_rdn_equal holds them) */
#define DN_WHY(...) (snprintf(why, POLICY_DN_WHY_MAX, __VA_ARGS__), HSMCA_ERR_PARSE)

#define DN_CHAR_TEXT_MAX 16 /* "U+10FFFF", "byte 0xe9", "'@'" and a NUL */
#define DN_PRINTABLE_PUNCT " '()+,-./:=?"

enum {
	DN_NUMERICSTRING = 0x12,
	DN_T61STRING = 0x14,
	DN_VISIBLESTRING = 0x1a,
	DN_UNIVERSALSTRING = 0x1c,
	DN_BMPSTRING = 0x1e
};

static const struct {
	const char *name;
	int nid;
} DN_TYPES[] = {
	{ "C", NID_countryName },	 { "ST", NID_stateOrProvinceName }, { "L", NID_localityName },
	{ "O", NID_organizationName },	 { "OU", NID_organizationalUnitName }, { "CN", NID_commonName },
	{ "DC", NID_domainComponent },
};

static int dn_type(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(DN_TYPES) / sizeof(DN_TYPES[0]); i++)
		if (strlen(DN_TYPES[i].name) == n && !memcmp(DN_TYPES[i].name, s, n))
			return DN_TYPES[i].nid;
	return NID_undef;
}

/* A value: 1..POLICY_DN_VALUE_MAX printable ASCII characters but '/', '\\' and '"', no space at either end
 * and no two in a row (verifiers compare names with spaces folded); C two upper-case letters; DC a label. */
static bool dn_value_ok(int nid, const char *v, size_t n)
{
	if (n == 0 || n > POLICY_DN_VALUE_MAX || v[0] == ' ' || v[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (nid == NID_countryName && !(n == 2 && c >= 'A' && c <= 'Z'))
			return false;
		if (nid == NID_domainComponent && !alnum && c != '-')
			return false;
		if (c < 0x20 || c > 0x7e || c == '/' || c == '\\' || c == '"' || (c == ' ' && v[i + 1] == ' '))
			return false;
	}
	return true;
}

int policy_dn_parse(const char *text, uint8_t *out, size_t cap, size_t *len, char *why)
{
	X509_NAME *name = X509_NAME_new();
	unsigned char *p = out;
	int rc = HSMCA_ERR_PARSE, der_len;
	const char *s = text;
	*len = 0;
	if (!name) {
		snprintf(why, POLICY_DN_WHY_MAX, "out of memory");
		rc = HSMCA_ERR_NOMEM;
		goto out;
	}
	if (s[0] != '/') {
		rc = DN_WHY("a directory name is written /TYPE=VALUE/..., e.g. /C=US/O=Example");
		goto out;
	}
	while (*s == '/') {
		const char *t = s + 1, *eq = strchr(t, '='), *end = strchr(t, '/');
		if (!end)
			end = t + strlen(t);
		if (!eq || eq > end) {
			rc = DN_WHY("\"%.*s\" is not TYPE=VALUE", (int)(end - t), t);
			goto out;
		}
		int nid = dn_type(t, (size_t)(eq - t));
		if (nid == NID_undef) {
			rc = DN_WHY("unknown attribute type \"%.*s\" (C, ST, L, O, OU, CN or DC)", (int)(eq - t), t);
			goto out;
		}
		if (!dn_value_ok(nid, eq + 1, (size_t)(end - eq - 1))) {
			rc = DN_WHY("bad value for %.*s: 1-%d printable characters but / \\ \" (C: two upper-case "
				    "letters; DC: letters, digits, '-'), no space at either end or two in a row",
				    (int)(eq - t), t, POLICY_DN_VALUE_MAX);
			goto out;
		}
		if (X509_NAME_entry_count(name) >= POLICY_DN_RDNS_MAX) {
			rc = DN_WHY("more than %d attributes", POLICY_DN_RDNS_MAX);
			goto out;
		}
		if (!X509_NAME_add_entry_by_NID(name, nid, MBSTRING_ASC, (const unsigned char *)eq + 1,
						(int)(end - eq - 1), -1, 0)) {
			rc = DN_WHY("OpenSSL refused the value of %.*s", (int)(eq - t), t);
			goto out;
		}
		s = end;
	}
	der_len = i2d_X509_NAME(name, NULL);
	if (der_len <= 0 || (size_t)der_len > cap) {
		rc = DN_WHY("longer than %zu bytes encoded", cap);
		goto out;
	}
	if (i2d_X509_NAME(name, &p) != der_len) {
		rc = DN_WHY("could not be encoded");
		goto out;
	}
	*len = (size_t)der_len;
	rc = 0;
out:
	X509_NAME_free(name);
	if (rc)
		ERR_clear_error(); /* the reason is in why; leave no stale OpenSSL errors for the caller's next check */
	return rc;
}

/* DER's order of a SET OF's elements (X.690 11.6): a's encoding is not above b's, the shorter compared as if
 * padded with zero octets. */
static bool dn_set_order(struct span a, struct span b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = memcmp(a.data, b.data, n);
	if (c != 0)
		return c < 0;
	for (size_t i = n; i < a.len; i++) /* a is the longer: its rest must be zeros */
		if (a.data[i] != 0)
			return false;
	return true;
}

/* The types an attribute value may be: the string types OpenSSL parses in a Name (its X509_NAME_ENTRY takes no
 * VisibleString, OCTET STRING, INTEGER or context-tagged value: a certificate with one does not parse), without
 * the BIT STRING, SEQUENCE and odd universal types it would also take; with each the form dn_string_ok wants. */
static const struct {
	uint8_t tag;
	const char *name, *form;
} DN_STRING_TYPES[] = {
	{ DER_UTF8STRING, "UTF8String", " (UTF-8 in its shortest form, no surrogate, nothing past U+10FFFF)" },
	{ DN_NUMERICSTRING, "NumericString", "" },
	{ DER_PRINTABLESTRING, "PrintableString", "" },
	{ DN_T61STRING, "T61String", "" },
	{ DER_IA5STRING, "IA5String", "" },
	{ DN_UNIVERSALSTRING, "UniversalString", " (whole 4-byte characters, no surrogate, nothing past U+10FFFF)" },
	{ DN_BMPSTRING, "BMPString", " (whole 2-byte characters, no surrogate)" },
};

/* The DN_STRING_TYPES index of tag, or -1 if a Name's value may not be of that type. */
static int dn_string_type(uint8_t tag)
{
	for (size_t i = 0; i < sizeof(DN_STRING_TYPES) / sizeof(DN_STRING_TYPES[0]); i++)
		if (DN_STRING_TYPES[i].tag == tag)
			return (int)i;
	return -1;
}

static int dn_char(struct span *v, uint8_t tag, uint32_t *out);

static bool dn_wide(uint8_t tag)
{
	return tag == DER_UTF8STRING || tag == DN_BMPSTRING || tag == DN_UNIVERSALSTRING;
}

/* A value of one of the string types dn_char reads is well formed for its type (UTF-8 in its shortest form, no
 * surrogate, ...); a value of another type is not looked at. */
static bool dn_string_ok(uint8_t tag, struct span v)
{
	uint32_t c;
	int r;
	if (!dn_wide(tag))
		return true; /* single-byte types: every byte is a character to dn_char */
	if (tag != DER_UTF8STRING && v.len % (tag == DN_BMPSTRING ? 2 : 4) != 0)
		return false;
	while ((r = dn_char(&v, tag, &c)) == 1)
		;
	return r == 0;
}

/* PrintableString's repertoire (X.680 41.4): letters, digits, space and ' ( ) + , - . / : = ? */
static bool dn_printable(uint32_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != 0 && c < 0x80 && strchr(DN_PRINTABLE_PUNCT, (int)c) != NULL);
}

/* Why character c may not be in a value of type tag, or NULL if it may: each restricted type's repertoire, and
 * in none a NUL, which no name needs and which ends the value for a reader of it as a C string
 * ("a.example\0.evil" is a.example to it). T61String is left as it is: T.61's repertoire is not ASCII's or
 * Latin-1's, and OpenSSL (dn_char too) reads it as Latin-1. */
static const char *dn_char_rule(uint8_t tag, uint32_t c)
{
	switch (tag) {
	case DER_PRINTABLESTRING:
		return dn_printable(c) ? NULL : "only A-Z a-z 0-9 space ' ( ) + , - . / : = ? (X.680 41.4)";
	case DN_NUMERICSTRING:
		return (c >= '0' && c <= '9') || c == ' ' ? NULL : "only digits and space (X.680)";
	case DN_T61STRING:
		return NULL;
	case DER_IA5STRING:
		if (c >= 0x80)
			return "only ASCII, 0x00-0x7f (X.680)";
		break;
	default:
		break;
	}
	return c == 0 ? "no NUL in any string value (a C-string reader stops there)" : NULL;
}

/* The next character of v, a well-formed value of type tag (dn_string_ok): false at its end. NumericString,
 * PrintableString, T61String and IA5String byte by byte (dn_char does not read NumericString, which verifiers
 * compare as bytes). */
static bool dn_next_char(struct span *v, uint8_t tag, uint32_t *out)
{
	uint8_t b;
	if (dn_wide(tag))
		return dn_char(v, tag, out) == 1;
	if (!span_get_u8(v, &b))
		return false;
	*out = b;
	return true;
}

/* The first character of v (of type tag, well-formed) that dn_char_rule refuses, in *out_bad, and the rule;
 * NULL if there is none. */
static const char *dn_chars_rule(uint8_t tag, struct span v, uint32_t *out_bad)
{
	const char *rule;
	while (dn_next_char(&v, tag, out_bad))
		if ((rule = dn_char_rule(tag, *out_bad)) != NULL)
			return rule;
	return NULL;
}

/* Character c of a value as a reason names it: '@' if printable ASCII, else U+00E9 or, in a single-byte type,
 * byte 0xe9. */
static void dn_char_text(uint8_t tag, uint32_t c, char out[DN_CHAR_TEXT_MAX])
{
	if (c > 0x20 && c < 0x7f)
		snprintf(out, DN_CHAR_TEXT_MAX, "'%c'", (char)c);
	else if (dn_wide(tag))
		snprintf(out, DN_CHAR_TEXT_MAX, "U+%04X", (unsigned)c);
	else
		snprintf(out, DN_CHAR_TEXT_MAX, "byte 0x%02x", (unsigned)c);
}

/* One AttributeTypeAndValue off the front of rdn, the a-th of RDN r (both from 0): SEQUENCE { OID, one value of
 * a type in DN_STRING_TYPES, well-formed for it and, with charset, of its type's characters (dn_char_rule) }
 * and nothing after; whole gets its bytes. 0, or HSMCA_ERR_PARSE with the reason in why. */
static int dn_atav_check(struct span *rdn, size_t r, size_t a, bool charset, struct span *whole, char *why)
{
	struct span atav, oid, value;
	const uint8_t *at = rdn->data;
	const char *rule;
	char bad_text[DN_CHAR_TEXT_MAX];
	uint32_t bad;
	uint8_t tag;
	int type;
	if (!der_get(rdn, &atav, DER_SEQUENCE) || !der_get_oid(&atav, &oid) ||
	    !der_get_any(&atav, &tag, &value, NULL) || span_len(&atav) != 0)
		return DN_WHY("RDN %zu attribute %zu is not SEQUENCE { OID, one value }", r, a);
	*whole = span_make(at, (size_t)(rdn->data - at));
	if ((type = dn_string_type(tag)) < 0)
		return DN_WHY("RDN %zu attribute %zu: a value of tag 0x%02x, not a UTF8, Numeric, Printable, T61, IA5, "
			      "Universal or BMPString", r, a, tag);
	if (!dn_string_ok(tag, value))
		return DN_WHY("RDN %zu attribute %zu: not a well-formed %s%s", r, a, DN_STRING_TYPES[type].name,
			      DN_STRING_TYPES[type].form);
	if (charset && (rule = dn_chars_rule(tag, value, &bad)) != NULL) {
		dn_char_text(tag, bad, bad_text);
		return DN_WHY("RDN %zu attribute %zu: %s holds %s: %s", r, a, DN_STRING_TYPES[type].name, bad_text,
			      rule);
	}
	return 0;
}

/* A Name: SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue), each ATAV as dn_atav_check takes
 * it (an OID and one value of a string type OpenSSL reads: a certificate with another would not parse), nothing
 * after; rdns gets the RDNs' bytes. Strict DER all the way down (der_strict_one: no string value in BER's
 * constructed form, which OpenSSL flattens before it compares names, so it could name the issuer to a verifier
 * and another name to policy_dn_equal), and a multi-valued RDN's attributes in DER's order (policy_dn_equal
 * compares them in any order, as OpenSSL does). With charset, each value's characters its type's (dn_char_rule):
 * what the signer and the frontend take; without, what names are compared under (policy_dn_equal: verifiers
 * compare a PrintableString holding '&' like any other, and a CA certificate's own name may hold one). 0, or
 * HSMCA_ERR_PARSE with the first rule broken in why (POLICY_DN_WHY_MAX). */
static int dn_check(struct span name, struct span *rdns, bool charset, char *why)
{
	struct span all, rdn, whole, prev = { 0 };
	int rc;
	if (!der_strict_one(name) || !der_get(&name, &all, DER_SEQUENCE) || span_len(&name) != 0)
		return DN_WHY("not one strict-DER SEQUENCE with nothing after it (BER, a constructed string, trailing "
			      "bytes)");
	*rdns = all;
	for (size_t r = 0; span_len(&all) > 0; r++) {
		if (!der_get(&all, &rdn, DER_SET) || span_len(&rdn) == 0)
			return DN_WHY("RDN %zu is not a SET of at least one attribute", r);
		for (size_t a = 0; span_len(&rdn) > 0; a++) {
			if (a == DN_RDN_ATAVS_MAX)
				return DN_WHY("RDN %zu has more than %d attributes", r, DN_RDN_ATAVS_MAX);
			if ((rc = dn_atav_check(&rdn, r, a, charset, &whole, why)))
				return rc;
			if (a > 0 && !dn_set_order(prev, whole))
				return DN_WHY("RDN %zu: attribute %zu is out of DER's SET OF order", r, a);
			prev = whole;
		}
	}
	return 0;
}

int policy_dn_check(struct span name, char *why)
{
	struct span rdns;
	return dn_check(name, &rdns, true, why);
}

bool policy_dn_well_formed(struct span name)
{
	char why[POLICY_DN_WHY_MAX];
	return policy_dn_check(name, why) == 0;
}

bool policy_dn_within(struct span name, const uint8_t *pin, size_t pin_len)
{
	struct span rdns, pin_rdns;
	char why[POLICY_DN_WHY_MAX];
	if (dn_check(name, &rdns, true, why) || dn_check(span_make(pin, pin_len), &pin_rdns, true, why) ||
	    span_len(&pin_rdns) == 0)
		return false;
	/* both are sequences of whole RDNs, so a byte prefix is a prefix of RDNs: the name's first RDNs are the
	 * pin's, encoded alike */
	return rdns.len >= pin_rdns.len && memcmp(rdns.data, pin_rdns.data, pin_rdns.len) == 0;
}

/* The next character of a string value of DER tag tag: 1 (*out), 0 at its end, -1 if it is not well-formed
 * or tag is not a string type. T61String is taken as Latin-1, as OpenSSL does. */
static int dn_char(struct span *v, uint8_t tag, uint32_t *out)
{
	size_t n = tag == DN_BMPSTRING ? 2 : tag == DN_UNIVERSALSTRING ? 4 : 1;
	const uint8_t *d = v->data;
	if (span_len(v) == 0)
		return 0;
	if (span_len(v) < n)
		return -1;
	switch (tag) {
	case DER_UTF8STRING:
		if (d[0] < 0x80)
			break;
		n = d[0] >= 0xf0 ? 4 : d[0] >= 0xe0 ? 3 : d[0] >= 0xc0 ? 2 : 0;
		if (n == 0 || span_len(v) < n || d[0] > 0xf4)
			return -1;
		*out = d[0] & (0x3f >> (n - 1));
		for (size_t i = 1; i < n; i++) {
			if ((d[i] & 0xc0) != 0x80)
				return -1;
			*out = *out << 6 | (d[i] & 0x3f);
		}
		/* the shortest form only ("C1 A1" is not 'a' to any verifier), no surrogate, nothing past U+10FFFF */
		if (*out < (n == 2 ? 0x80u : n == 3 ? 0x800u : 0x10000u) || (*out >= 0xd800 && *out <= 0xdfff) ||
		    *out > 0x10ffff)
			return -1;
		v->data += n;
		v->len -= n;
		return 1;
	case DER_PRINTABLESTRING:
	case DN_T61STRING:
	case DER_IA5STRING:
	case DN_VISIBLESTRING:
		break;
	case DN_BMPSTRING: /* UCS-2: no surrogates */
		*out = (uint32_t)d[0] << 8 | d[1];
		if (*out >= 0xd800 && *out <= 0xdfff)
			return -1;
		v->data += 2;
		v->len -= 2;
		return 1;
	case DN_UNIVERSALSTRING:
		*out = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
		if ((*out >= 0xd800 && *out <= 0xdfff) || *out > 0x10ffff)
			return -1;
		v->data += 4;
		v->len -= 4;
		return 1;
	default:
		return -1;
	}
	*out = d[0];
	v->data++;
	v->len--;
	return 1;
}

static bool dn_space(uint32_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* A string value's characters in canonical form (OpenSSL's asn1_string_canon): no leading or trailing white
 * space, each run inside one space, ASCII letters lower case. */
struct dn_canon {
	struct span v;
	uint8_t tag;
	bool started, held;
	uint32_t next;
};

static int dn_canon_next(struct dn_canon *c, uint32_t *out)
{
	uint32_t ch;
	int r;
	if (c->held) {
		c->held = false;
		ch = c->next;
	} else {
		if ((r = dn_char(&c->v, c->tag, &ch)) <= 0)
			return r;
		if (dn_space(ch)) {
			while ((r = dn_char(&c->v, c->tag, &ch)) == 1 && dn_space(ch))
				;
			if (r <= 0)
				return r; /* trailing white space, or not well-formed */
			if (c->started) {
				c->held = true;
				c->next = ch;
				*out = ' ';
				return 1;
			}
		}
	}
	c->started = true;
	*out = ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
	return 1;
}

/* Two attribute values as verifiers compare them: -1 if either is not a well-formed string (compare bytes). */
static int dn_value_equal(uint8_t ta, struct span a, uint8_t tb, struct span b)
{
	struct dn_canon x = { a, ta, false, false, 0 }, y = { b, tb, false, false, 0 };
	uint32_t cx = 0, cy = 0;
	int rx, ry;
	do {
		rx = dn_canon_next(&x, &cx);
		ry = dn_canon_next(&y, &cy);
		if (rx < 0 || ry < 0)
			return -1;
		if (rx != ry || cx != cy)
			return 0;
	} while (rx == 1);
	return 1;
}

/* Two AttributeTypeAndValues as verifiers compare them: the same type, values equal (dn_value_equal) or, where
 * one is not a well-formed string, the same bytes. */
static bool dn_atav_equal(struct span a, struct span b)
{
	struct span oid_a, oid_b, va, vb, whole_a, whole_b;
	uint8_t ta, tb;
	if (!der_get_oid(&a, &oid_a) || !der_get_oid(&b, &oid_b) || !span_equal(&oid_a, &oid_b) ||
	    !der_get_any(&a, &ta, &va, &whole_a) || !der_get_any(&b, &tb, &vb, &whole_b))
		return false;
	int eq = dn_value_equal(ta, va, tb, vb);
	return eq > 0 || (eq < 0 && span_equal(&whole_a, &whole_b));
}

/* Two RDNs as verifiers compare them: as many attributes, each of a equal to one of b not taken yet. OpenSSL
 * compares an RDN's attributes sorted by their canonical form, which folding can order otherwise than DER:
 * pairing them in DER's order took {CN=ab, O=Xyz} and {O=Xyz, CN=<"ab" as BMPString>} for two names, which
 * OpenSSL takes for one (a subject that is its issuer's name, refused as self-issued, passed). Equality is an
 * equivalence, so taking the first match is as good as any. */
static bool dn_rdn_equal(struct span rdn_a, struct span rdn_b)
{
	struct span b[DN_RDN_ATAVS_MAX], atav;
	bool taken[DN_RDN_ATAVS_MAX] = { false };
	size_t nb = 0, na = 0;
	while (span_len(&rdn_b) > 0)
		if (nb == DN_RDN_ATAVS_MAX || !der_get(&rdn_b, &b[nb++], DER_SEQUENCE))
			return false;
	while (span_len(&rdn_a) > 0) {
		bool found = false;
		if (!der_get(&rdn_a, &atav, DER_SEQUENCE) || ++na > nb)
			return false;
		for (size_t k = 0; k < nb && !found; k++)
			if (!taken[k] && dn_atav_equal(atav, b[k]))
				taken[k] = found = true;
		if (!found)
			return false;
	}
	return na == nb;
}

bool policy_dn_equal(struct span a, struct span b)
{
	struct span ra, rb, rdn_a, rdn_b;
	char why[POLICY_DN_WHY_MAX];
	/* not the characters' rule: a name compares as verifiers read it, a CA certificate's own too */
	if (dn_check(a, &ra, false, why) || dn_check(b, &rb, false, why))
		return false;
	while (span_len(&ra) > 0 && span_len(&rb) > 0)
		if (!der_get(&ra, &rdn_a, DER_SET) || !der_get(&rb, &rdn_b, DER_SET) || !dn_rdn_equal(rdn_a, rdn_b))
			return false;
	return span_len(&ra) == 0 && span_len(&rb) == 0;
}
