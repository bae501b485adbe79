#include "pinwire.h"

#include <string.h>

#define PW_F_CERT 0x01
#define PW_F_CA 0x02
#define PW_F_CA_PINNED 0x04
#define PW_F_LEAF_PINNED 0x08
#define PW_F_LEAF_WILDCARD 0x10
#define PW_F_ALL 0x1f
#define PW_PATHLEN_MAX 16      /* signer/config.c: max_pathlen */
#define PW_VALIDITY_MAX 9125   /* signer/config.c: max_validity_days */
#define PW_KU_ALL 0x01ff       /* TBS_KU_DIGITAL_SIGNATURE .. TBS_KU_DECIPHER_ONLY */
#define PW_IP4 4
#define PW_IP6 6

bool pinwire_dns_ok(const char *s, size_t len)
{
	bool ok = len > 0 && len < POLICY_NC_NAME_MAX && s[len - 1] != '.' && !(len == 1 && s[0] == '.');
	for (size_t i = 0; ok && i < len; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		     (s[i] == '.' && (i == 0 || s[i - 1] != '.'));
	return ok;
}

static void pw_names_encode(struct dbuf *out, size_t n_dns, const char (*dns)[POLICY_NC_NAME_MAX], size_t n_ip,
			    const struct policy_iprange *ip)
{
	dbuf_add_u8(out, (uint8_t)n_dns);
	for (size_t i = 0; i < n_dns; i++) {
		size_t len = strnlen(dns[i], POLICY_NC_NAME_MAX - 1);
		dbuf_add_u8(out, (uint8_t)len);
		dbuf_add(out, dns[i], len);
	}
	dbuf_add_u8(out, (uint8_t)n_ip);
	for (size_t i = 0; i < n_ip; i++) {
		dbuf_add_u8(out, ip[i].v6 ? PW_IP6 : PW_IP4);
		dbuf_add(out, ip[i].addr, ip[i].v6 ? 16 : 4);
		dbuf_add_u8(out, (uint8_t)ip[i].prefix);
	}
}

/* counts and lengths within what the parser takes (the signer's config holds them there) */
static bool pw_pin_bounded(const struct policy_profile *p)
{
	bool ok = p->n_eku <= TBS_MAX_EKU && p->ca_dn_len <= POLICY_DN_MAX && p->n_ca_dns <= POLICY_NC_MAX &&
		  p->n_ca_ip <= POLICY_NC_MAX && p->n_leaf_dns <= POLICY_NC_MAX && p->n_leaf_ip <= POLICY_NC_MAX;
	for (size_t i = 0; ok && i < p->n_eku; i++)
		ok = p->eku_len[i] <= POLICY_OID_MAX;
	return ok && (p->leaf_pinned || !p->leaf_wildcard) && (!p->crl_url[0] || policy_url_ok(p->crl_url)) && (!p->ocsp_url[0] || policy_url_ok(p->ocsp_url));
}

/* A URL pin: u8 length (0: none) + the URL (policy_url_ok). */
static void pw_url_encode(struct dbuf *out, const char *url)
{
	size_t l = strlen(url);
	dbuf_add_u8(out, (uint8_t)l);
	dbuf_add(out, url, l);
}

static bool pw_url_parse(struct span *in, char url[POLICY_URL_MAX])
{
	struct span s;
	if (!span_get_u8_prefixed(in, &s) || s.len >= POLICY_URL_MAX)
		return false;
	memcpy(url, s.data, s.len);
	url[s.len] = 0;
	return s.len == 0 || (!memchr(s.data, 0, s.len) && policy_url_ok(url));
}

void pinwire_pin_encode(struct dbuf *out, const struct policy_profile *p)
{
	if (!pw_pin_bounded(p)) {
		out->failed = true; /* sticky: nothing of it is sent */
		return;
	}
	dbuf_add_u8(out, (uint8_t)((p->allow_cert ? PW_F_CERT : 0) | (p->allow_ca ? PW_F_CA : 0) |
				   (p->ca_pinned ? PW_F_CA_PINNED : 0) | (p->leaf_pinned ? PW_F_LEAF_PINNED : 0) |
				   (p->leaf_wildcard ? PW_F_LEAF_WILDCARD : 0)));
	dbuf_add_u8(out, (uint8_t)p->max_pathlen);
	dbuf_add_u32(out, p->max_validity_days);
	dbuf_add_u16(out, p->ku_allowed);
	dbuf_add_u8(out, (uint8_t)p->n_eku);
	for (size_t i = 0; i < p->n_eku; i++) {
		dbuf_add_u8(out, (uint8_t)p->eku_len[i]);
		dbuf_add(out, p->eku[i], p->eku_len[i]);
	}
	dbuf_add_u16(out, (uint16_t)p->ca_dn_len);
	dbuf_add(out, p->ca_dn, p->ca_dn_len);
	pw_names_encode(out, p->n_ca_dns, p->ca_dns, p->n_ca_ip, p->ca_ip);
	pw_names_encode(out, p->n_leaf_dns, p->leaf_dns, p->n_leaf_ip, p->leaf_ip);
	if (p->crl_url[0] || p->ocsp_url[0]) { /* none pinned: nothing, as a signer before URL pins wrote it */
		pw_url_encode(out, p->crl_url);
		pw_url_encode(out, p->ocsp_url);
	}
}

void pinwire_hello_start(struct dbuf *out, unsigned n_keys)
{
	dbuf_add_u16(out, FRAME_VERSION);
	dbuf_add_u8(out, (uint8_t)n_keys);
}

void pinwire_hello_add_key(struct dbuf *out, const char *label, uint8_t ops, const struct policy_profile *pin)
{
	struct dbuf p;
	size_t ll = strnlen(label, FRAME_LABEL_MAX + 1);
	if (!frame_label_ok(span_make(label, ll)) || (ops & ~PINWIRE_OPS_ALL)) {
		out->failed = true; /* what the parser would refuse is not sent */
		return;
	}
	dbuf_add_u8(out, (uint8_t)ll);
	dbuf_add(out, label, ll);
	dbuf_add_u8(out, ops);
	dbuf_init(&p);
	pinwire_pin_encode(&p, pin);
	if (p.failed || p.len > UINT16_MAX)
		out->failed = true; /* sticky: the reply is not sent */
	dbuf_add_u16(out, (uint16_t)p.len);
	dbuf_add(out, p.data, p.len);
	dbuf_free(&p);
}

/* One range: family, base address, prefix; no bits set past the prefix. */
static bool pw_range_parse(struct span *in, struct policy_iprange *r)
{
	uint8_t fam, prefix;
	struct span a;
	if (!span_get_u8(in, &fam) || (fam != PW_IP4 && fam != PW_IP6))
		return false;
	r->v6 = fam == PW_IP6;
	if (!span_get_bytes(in, &a, r->v6 ? 16 : 4) || !span_get_u8(in, &prefix) || prefix > (r->v6 ? 128 : 32))
		return false;
	memcpy(r->addr, a.data, a.len);
	r->prefix = prefix;
	for (unsigned b = prefix; b < 128; b++)
		if (r->addr[b / 8] & (0x80 >> (b % 8)))
			return false;
	return true;
}

static bool pw_names_parse(struct span *in, size_t *n_dns, char (*dns)[POLICY_NC_NAME_MAX], size_t *n_ip,
			   struct policy_iprange *ip)
{
	uint8_t n;
	struct span s;
	if (!span_get_u8(in, &n) || n > POLICY_NC_MAX)
		return false;
	for (*n_dns = 0; *n_dns < n; (*n_dns)++) {
		if (!span_get_u8_prefixed(in, &s) || !pinwire_dns_ok((const char *)s.data, s.len))
			return false;
		memcpy(dns[*n_dns], s.data, s.len);
		dns[*n_dns][s.len] = 0;
	}
	if (!span_get_u8(in, &n) || n > POLICY_NC_MAX)
		return false;
	for (*n_ip = 0; *n_ip < n; (*n_ip)++)
		if (!pw_range_parse(in, &ip[*n_ip]))
			return false;
	return true;
}

static bool pw_pin_parse(struct span in, struct policy_profile *p)
{
	uint8_t flags, pathlen, n_eku;
	uint32_t days;
	struct span s;
	if (!span_get_u8(&in, &flags) || (flags & ~PW_F_ALL) || !span_get_u8(&in, &pathlen) ||
	    pathlen > PW_PATHLEN_MAX || !span_get_u32(&in, &days) || days > PW_VALIDITY_MAX ||
	    !span_get_u16(&in, &p->ku_allowed) || (p->ku_allowed & ~PW_KU_ALL) || !span_get_u8(&in, &n_eku) ||
	    n_eku > TBS_MAX_EKU)
		return false;
	p->allow_cert = flags & PW_F_CERT;
	p->allow_ca = flags & PW_F_CA;
	p->ca_pinned = flags & PW_F_CA_PINNED;
	p->leaf_pinned = flags & PW_F_LEAF_PINNED;
	p->leaf_wildcard = flags & PW_F_LEAF_WILDCARD;
	p->max_pathlen = pathlen;
	p->max_validity_days = days;
	for (p->n_eku = 0; p->n_eku < n_eku; p->n_eku++) {
		if (!span_get_u8_prefixed(&in, &s) || s.len == 0 || s.len > POLICY_OID_MAX)
			return false;
		memcpy(p->eku[p->n_eku], s.data, s.len);
		p->eku_len[p->n_eku] = s.len;
	}
	if (!span_get_u16_prefixed(&in, &s) || s.len > POLICY_DN_MAX || (s.len && !policy_dn_well_formed(s)))
		return false;
	memcpy(p->ca_dn, s.data, s.len);
	p->ca_dn_len = s.len;
	if (!pw_names_parse(&in, &p->n_ca_dns, p->ca_dns, &p->n_ca_ip, p->ca_ip) ||
	    !pw_names_parse(&in, &p->n_leaf_dns, p->leaf_dns, &p->n_leaf_ip, p->leaf_ip) ||
	    (in.len && (!pw_url_parse(&in, p->crl_url) || !pw_url_parse(&in, p->ocsp_url) ||
			(!p->crl_url[0] && !p->ocsp_url[0]))) || in.len != 0)
		return false;
	/* names only under their flag, as the signer's config has them */
	if (!p->ca_pinned && (p->n_ca_dns || p->n_ca_ip || p->ca_dn_len))
		return false;
	return p->leaf_pinned || (!p->n_leaf_dns && !p->n_leaf_ip && !p->leaf_wildcard);
}

/* The token's serial as the record carries it: a label's characters (frame_label_ok), at most PINWIRE_SERIAL_MAX */
static bool pw_serial_ok(struct span s)
{
	return s.len <= PINWIRE_SERIAL_MAX && frame_label_ok(s);
}

/* The record's rules (pinwire.h); the custodians' names and share indexes distinct. */
static bool pw_unsealed_ok(const struct pinwire_unsealed *u)
{
	if (u->n == 0 || u->n > PINWIRE_CUSTODIANS_MAX ||
	    !pw_serial_ok(span_make(u->token, strnlen(u->token, sizeof(u->token)))))
		return false;
	for (unsigned i = 0; i < u->n; i++) {
		if (u->share[i] == 0 ||
		    !frame_name_ok(span_make(u->custodian[i], strnlen(u->custodian[i], sizeof(u->custodian[i])))))
			return false;
		for (unsigned j = 0; j < i; j++)
			if (u->share[j] == u->share[i] || !strcmp(u->custodian[j], u->custodian[i]))
				return false;
	}
	return true;
}

void pinwire_hello_add_unsealed(struct dbuf *out, const struct pinwire_unsealed *u)
{
	if (!u->has || !pw_unsealed_ok(u)) {
		out->failed = true;
		return;
	}
	dbuf_add(out, u->instance, sizeof(u->instance));
	for (int sh = 56; sh >= 0; sh -= 8)
		dbuf_add_u8(out, (uint8_t)(u->at >> sh));
	dbuf_add_u8(out, (uint8_t)u->n);
	for (unsigned i = 0; i < u->n; i++) {
		size_t l = strlen(u->custodian[i]);
		dbuf_add_u8(out, (uint8_t)l);
		dbuf_add(out, u->custodian[i], l);
		dbuf_add_u8(out, u->share[i]);
	}
	size_t tl = strlen(u->token);
	dbuf_add_u8(out, (uint8_t)tl);
	dbuf_add(out, u->token, tl);
}

static bool pw_unsealed_parse(struct span in, struct pinwire_unsealed *u)
{
	struct span s;
	uint8_t n, b;
	if (in.len < sizeof(u->instance))
		return false;
	memcpy(u->instance, in.data, sizeof(u->instance));
	in.data += sizeof(u->instance);
	in.len -= sizeof(u->instance);
	for (int i = 0; i < 8; i++) {
		if (!span_get_u8(&in, &b))
			return false;
		u->at = u->at << 8 | b;
	}
	if (!span_get_u8(&in, &n) || n == 0 || n > PINWIRE_CUSTODIANS_MAX)
		return false;
	for (u->n = 0; u->n < n; u->n++) {
		if (!span_get_u8_prefixed(&in, &s) || !frame_name_ok(s) ||
		    !span_get_u8(&in, &u->share[u->n]))
			return false;
		memcpy(u->custodian[u->n], s.data, s.len);
		u->custodian[u->n][s.len] = 0;
	}
	if (!span_get_u8_prefixed(&in, &s) || !pw_serial_ok(s) || in.len != 0)
		return false;
	memcpy(u->token, s.data, s.len);
	u->token[s.len] = 0;
	u->has = true;
	return pw_unsealed_ok(u);
}

static bool pw_hello_parse(struct span in, struct pinwire_hello *out)
{
	uint8_t n, ops;
	struct span label, pin;
	if (!span_get_u16(&in, &out->version) || out->version != FRAME_VERSION || !span_get_u8(&in, &n) ||
	    n > PINWIRE_KEYS_MAX)
		return false;
	for (out->n = 0; out->n < n; out->n++) {
		struct pinwire_key *k = &out->k[out->n];
		if (!span_get_u8_prefixed(&in, &label) || !frame_label_ok(label) || !span_get_u8(&in, &ops) ||
		    (ops & ~PINWIRE_OPS_ALL) || !span_get_u16_prefixed(&in, &pin) || !pw_pin_parse(pin, &k->pin))
			return false;
		memcpy(k->label, label.data, label.len);
		k->label[label.len] = 0;
		k->ops = ops;
		for (unsigned j = 0; j < out->n; j++)
			if (!strcmp(out->k[j].label, k->label))
				return false;
	}
	return in.len == 0 || pw_unsealed_parse(in, &out->unsealed);
}

bool pinwire_hello_parse(struct span body, struct pinwire_hello *out)
{
	memset(out, 0, sizeof(*out));
	if (pw_hello_parse(body, out))
		return true;
	memset(out, 0, sizeof(*out));
	return false;
}
