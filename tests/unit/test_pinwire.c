/* policy/pinwire (the signer's keys in its HELLO reply) and policy/profcheck over what the frontend reads back:
 * the pins round-trip field by field and byte for byte, profcheck finds over them what it finds over the
 * signer's own config, and every malformed reply is refused. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "conf.h"
#include "config.h"
#include "pinwire.h"
#include "profcheck.h"
#include "profile.h"

static const char pw_signer[] =
	"[signer]\nmodule = /usr/lib/softhsm/libsofthsm2.so\ntoken_label = hsmca\n"
	"socket = /run/hsmca/signer.sock\ncontrol_socket = /run/hsmca/control.sock\n"
	"module_dirs = /var/lib/softhsm/tokens\n"
	"[key int]\nlabel = int\ncert = /etc/hsmca/int.pem\noperations = cert, crl\nca = yes\n"
	"max_pathlen = 1\nkey_usage = digitalSignature, keyEncipherment, keyCertSign, cRLSign\n"
	"eku = serverAuth, clientAuth\nmax_validity_days = 397\nmax_crl_days = 7\n"
	"leaf_permitted = DNS:example.com, IP:10.0.0.0/8, IP:fd00::/8\n"
	"ca_permitted = DNS:.team.example.com, IP:10.20.0.0/16\nca_permitted_dn = /C=US/O=Example\n"
	"[key ocsp]\nlabel = ocsp-key\ncert = /etc/hsmca/ocsp.pem\noperations = ocsp\nmax_ocsp_days = 4\n"
	"[key plain]\nlabel = plain\ncert = /etc/hsmca/plain.pem\noperations = cert\nkey_usage = digitalSignature\n"
	"eku = codeSigning\nmax_validity_days = 30\n";

static struct sgn_config pw_conf;

static void pw_build(struct dbuf *out, const struct sgn_config *c)
{
	dbuf_init(out);
	pinwire_hello_start(out, c->n_keys);
	for (unsigned i = 0; i < c->n_keys; i++) {
		const struct policy_profile *p = &c->keys[i].profile;
		pinwire_hello_add_key(out, c->keys[i].label,
				      (uint8_t)(p->allow_cert | p->allow_crl << 1 | p->allow_ocsp << 2 | p->allow_checkpoint << 3),
				      p);
	}
}

/* the certificate fields of a and b agree */
static bool pw_same(const struct policy_profile *a, const struct policy_profile *b)
{
	bool ok = a->allow_cert == b->allow_cert && a->allow_ca == b->allow_ca && a->max_pathlen == b->max_pathlen &&
		  a->max_validity_days == b->max_validity_days && a->ku_allowed == b->ku_allowed &&
		  a->n_eku == b->n_eku && a->ca_pinned == b->ca_pinned && a->ca_dn_len == b->ca_dn_len &&
		  !memcmp(a->ca_dn, b->ca_dn, a->ca_dn_len) && a->n_ca_dns == b->n_ca_dns && a->n_ca_ip == b->n_ca_ip &&
		  a->leaf_pinned == b->leaf_pinned && a->leaf_wildcard == b->leaf_wildcard && a->n_leaf_dns == b->n_leaf_dns && a->n_leaf_ip == b->n_leaf_ip;
	for (size_t i = 0; ok && i < a->n_eku; i++)
		ok = a->eku_len[i] == b->eku_len[i] && !memcmp(a->eku[i], b->eku[i], a->eku_len[i]);
	for (size_t i = 0; ok && i < a->n_ca_dns; i++)
		ok = !strcmp(a->ca_dns[i], b->ca_dns[i]);
	for (size_t i = 0; ok && i < a->n_leaf_dns; i++)
		ok = !strcmp(a->leaf_dns[i], b->leaf_dns[i]);
	for (size_t i = 0; ok && i < a->n_ca_ip; i++)
		ok = !memcmp(&a->ca_ip[i], &b->ca_ip[i], sizeof(a->ca_ip[i]));
	for (size_t i = 0; ok && i < a->n_leaf_ip; i++)
		ok = !memcmp(&a->leaf_ip[i], &b->leaf_ip[i], sizeof(a->leaf_ip[i]));
	return ok;
}

static struct pinwire_hello pw_h;

static void test_round_trip(void)
{
	struct dbuf b, again;
	pw_build(&b, &pw_conf);
	CHECK(!b.failed);
	CHECK(pinwire_hello_parse(span_make(b.data, b.len), &pw_h));
	CHECK(pw_h.version == FRAME_VERSION && pw_h.n == 3);
	CHECK(!strcmp(pw_h.k[0].label, "int") && pw_h.k[0].ops == 0x03);
	CHECK(!strcmp(pw_h.k[1].label, "ocsp-key") && pw_h.k[1].ops == 0x04);
	CHECK(!strcmp(pw_h.k[2].label, "plain") && pw_h.k[2].ops == 0x01);
	for (unsigned i = 0; i < 3; i++)
		CHECKF(pw_same(&pw_h.k[i].pin, &pw_conf.keys[i].profile), "key %u", i);
	CHECK(pw_h.k[0].pin.n_leaf_ip == 2 && pw_h.k[0].pin.leaf_ip[1].v6 && pw_h.k[0].pin.leaf_ip[1].prefix == 8);
	CHECK(pw_h.k[0].pin.ca_dn_len > 0 && pw_h.k[1].pin.max_ocsp_days == 0); /* OCSP rules do not travel */
	struct dbuf rebuilt;
	dbuf_init(&rebuilt);
	pinwire_hello_start(&rebuilt, pw_h.n);
	for (unsigned i = 0; i < pw_h.n; i++)
		pinwire_hello_add_key(&rebuilt, pw_h.k[i].label, pw_h.k[i].ops, &pw_h.k[i].pin);
	CHECK(rebuilt.len == b.len && !memcmp(rebuilt.data, b.data, b.len));
	/* every strict prefix and a trailing byte are refused, and leave nothing behind */
	for (size_t n = 0; n < b.len; n++) {
		CHECKF(!pinwire_hello_parse(span_make(b.data, n), &pw_h), "prefix %zu", n);
		CHECK(pw_h.n == 0 && pw_h.k[0].label[0] == 0);
	}
	dbuf_init(&again);
	dbuf_add(&again, b.data, b.len);
	dbuf_add_u8(&again, 0);
	CHECK(!pinwire_hello_parse(span_make(again.data, again.len), &pw_h));
	dbuf_free(&again);
	dbuf_free(&rebuilt);
	dbuf_free(&b);
}

/* the unseal record after the keys: parsed whole, written again byte for byte; a broken one refused whole */
static void test_unsealed(void)
{
	struct pinwire_unsealed u = { .has = true, .at = 1796000000, .n = 3, .token = "50a99f5deed41a61" };
	static const char *const names[] = { "alice", "bob", "carol" };
	for (unsigned i = 0; i < 3; i++) {
		strcpy(u.custodian[i], names[i]);
		u.share[i] = (uint8_t)(i + 1);
	}
	memset(u.instance, 0xa5, sizeof(u.instance));
	struct dbuf b, again;
	pw_build(&b, &pw_conf);
	pinwire_hello_add_unsealed(&b, &u);
	CHECK(!b.failed && pinwire_hello_parse(span_make(b.data, b.len), &pw_h));
	CHECK(pw_h.n == 3 && pw_h.unsealed.has && pw_h.unsealed.n == 3 && pw_h.unsealed.at == 1796000000);
	CHECK(!strcmp(pw_h.unsealed.custodian[2], "carol") && pw_h.unsealed.share[2] == 3 &&
	      !strcmp(pw_h.unsealed.token, "50a99f5deed41a61") && pw_h.unsealed.instance[15] == 0xa5);
	pw_build(&again, &pw_conf);
	pinwire_hello_add_unsealed(&again, &pw_h.unsealed);
	CHECK(again.len == b.len && !memcmp(again.data, b.data, b.len));
	dbuf_free(&again);
	for (size_t n = b.len - 1; n > b.len - 40; n--) /* a record cut short */
		CHECKF(!pinwire_hello_parse(span_make(b.data, n), &pw_h) && !pw_h.unsealed.has, "cut at %zu", n);
	dbuf_free(&b);
	/* what the parser would refuse, the builder does not write */
	struct pinwire_unsealed bad[4] = { u, u, u, u };
	strcpy(bad[0].custodian[1], "alice");   /* a name twice */
	bad[1].share[2] = 1;                      /* a share index twice */
	strcpy(bad[2].custodian[0], "al ice");   /* a space */
	bad[3].n = 0;                             /* nobody */
	for (unsigned i = 0; i < 4; i++) {
		pw_build(&b, &pw_conf);
		pinwire_hello_add_unsealed(&b, &bad[i]);
		CHECKF(b.failed, "bad record %u written", i);
		dbuf_free(&b);
	}
}

/* the reply of one key "k" with pin p (and ops), as bytes */
static bool pw_one(const struct policy_profile *p, const char *label, uint8_t ops, struct dbuf *b)
{
	dbuf_init(b);
	pinwire_hello_start(b, 1);
	pinwire_hello_add_key(b, label, ops, p);
	return !b->failed && pinwire_hello_parse(span_make(b->data, b->len), &pw_h);
}

static bool pw_try(const struct policy_profile *p)
{
	struct dbuf b;
	bool ok = pw_one(p, "k", 1, &b);
	dbuf_free(&b);
	return ok;
}

/* URL pins travel only when a key has one: a pin without them is written as before them (a signer of that
 * release reads the same), one with them round-trips, and the two length bytes of no URL at all are refused
 * (not canonical) */
static void test_url_pins(void)
{
	static struct policy_profile p;
	struct dbuf with, without;
	p = pw_conf.keys[0].profile;
	p.crl_url[0] = p.ocsp_url[0] = 0;
	CHECK(pw_one(&p, "k", 1, &without) && !pw_h.k[0].pin.crl_url[0] && !pw_h.k[0].pin.ocsp_url[0]);
	strcpy(p.crl_url, "http://crl.example/int.crl");
	CHECK(pw_one(&p, "k", 1, &with) && !strcmp(pw_h.k[0].pin.crl_url, "http://crl.example/int.crl") &&
	      !pw_h.k[0].pin.ocsp_url[0]);
	CHECK(with.len == without.len + 2 + strlen(p.crl_url)); /* two length bytes and the URL */
	/* the old layout with two empty lengths added: the pin and the key's lengths grow by 2 */
	struct dbuf empty;
	dbuf_init(&empty);
	dbuf_add(&empty, without.data, 3 + 1 + 1 + 1); /* version, count, label length, "k", ops */
	size_t pin_len = (size_t)without.data[6] << 8 | without.data[7];
	dbuf_add_u16(&empty, (uint16_t)(pin_len + 2));
	dbuf_add(&empty, without.data + 8, pin_len);
	dbuf_add(&empty, "\0\0", 2);
	CHECK(!empty.failed && !pinwire_hello_parse(span_make(empty.data, empty.len), &pw_h));
	p.crl_url[0] = 0;
	strcpy(p.ocsp_url, "ldap://x/"); /* no http(s) URL: not written */
	struct dbuf bad;
	dbuf_init(&bad);
	pinwire_hello_start(&bad, 1);
	pinwire_hello_add_key(&bad, "k", 1, &p);
	CHECK(bad.failed);
	dbuf_free(&bad);
	dbuf_free(&empty);
	dbuf_free(&with);
	dbuf_free(&without);
}

static void test_refusals(void)
{
	static struct policy_profile base, p;
	struct dbuf b;
	base = pw_conf.keys[0].profile;
	CHECK(pw_try(&base));
	p = base, p.max_pathlen = 17;
	CHECK(!pw_try(&p));
	p = base, p.max_validity_days = 9126;
	CHECK(!pw_try(&p));
	p = base, p.ku_allowed = 0x200;
	CHECK(!pw_try(&p));
	p = base, p.eku_len[0] = 0;
	CHECK(!pw_try(&p));
	p = base, p.n_eku = TBS_MAX_EKU + 1; /* past its bound: not even written */
	CHECK(!pw_try(&p));
	p = base, p.eku_len[0] = POLICY_OID_MAX + 1;
	CHECK(!pw_try(&p));
	static const char *const bad_dns[] = { "Example.com", "a..b", "a.", ".", "a b", "a_b" };
	for (size_t i = 0; i < sizeof(bad_dns) / sizeof(bad_dns[0]); i++) {
		p = base, strcpy(p.leaf_dns[0], bad_dns[i]);
		CHECKF(!pw_try(&p), "%s", bad_dns[i]);
	}
	p = base, strcpy(p.leaf_dns[0], ".example.com");
	CHECK(pw_try(&p));
	p = base, p.leaf_ip[0].addr[3] = 1; /* 10.0.0.1/8: bits past the prefix */
	CHECK(!pw_try(&p));
	p = base, p.leaf_ip[0].prefix = 33;
	CHECK(!pw_try(&p));
	p = base, p.n_leaf_ip = POLICY_NC_MAX + 1;
	CHECK(!pw_try(&p));
	p = base, p.n_ca_dns = POLICY_NC_MAX + 1;
	CHECK(!pw_try(&p));
	p = base, p.ca_pinned = false; /* names without their flag */
	CHECK(!pw_try(&p));
	p = base, p.leaf_pinned = false;
	CHECK(!pw_try(&p));
	p = base, p.ca_dn[0] = 0x31; /* not a Name */
	CHECK(!pw_try(&p));
	CHECK(!pw_one(&base, "a b", 1, &b) && b.failed); /* not even sent: the signer's config takes no such label */
	dbuf_free(&b);
	CHECK(!pw_one(&base, "", 1, &b));
	dbuf_free(&b);
	CHECK(!pw_one(&base, "k", 0x10, &b) && b.failed); /* an operation bit nobody knows */
	dbuf_free(&b);
	/* header and pin flags, edited in place: version, key count, family, flag bits */
	CHECK(pw_one(&base, "k", 1, &b));
	size_t flags_at = 2 + 1 + 1 + 1 + 1 + 2; /* version, count, label length, "k", ops, pin length */
	static const struct {
		size_t at;
		uint8_t v;
	} edits[] = { { 1, FRAME_VERSION + 1 }, { 2, 2 }, { 2, PINWIRE_KEYS_MAX + 1 }, { 0, 0 } };
	for (size_t i = 0; edits[i].at; i++) {
		uint8_t keep = b.data[edits[i].at];
		b.data[edits[i].at] = edits[i].v;
		CHECKF(!pinwire_hello_parse(span_make(b.data, b.len), &pw_h), "edit %zu", i);
		b.data[edits[i].at] = keep;
	}
	b.data[flags_at] |= 0x20;
	CHECK(!pinwire_hello_parse(span_make(b.data, b.len), &pw_h));
	b.data[flags_at] &= (uint8_t)~0x20;
	CHECK(pinwire_hello_parse(span_make(b.data, b.len), &pw_h) && !pw_h.k[0].pin.leaf_wildcard);
	b.data[flags_at] |= 0x10; /* leaf_wildcard, under leaf_pinned */
	CHECK(pinwire_hello_parse(span_make(b.data, b.len), &pw_h) && pw_h.k[0].pin.leaf_wildcard);
	dbuf_free(&b);
	/* leaf_wildcard without leaf_pinned: not even written, and refused when read */
	p = base, p.leaf_pinned = false, p.n_leaf_dns = p.n_leaf_ip = 0;
	CHECK(pw_one(&p, "k", 1, &b) && b.data[flags_at] == 0x07);
	b.data[flags_at] |= 0x10;
	CHECK(!pinwire_hello_parse(span_make(b.data, b.len), &pw_h));
	dbuf_free(&b);
	p.leaf_wildcard = true;
	CHECK(!pw_one(&p, "k", 1, &b) && b.failed);
	dbuf_free(&b);
	p = base, p.leaf_wildcard = true;
	CHECK(pw_try(&p));
	/* the same label twice */
	dbuf_init(&b);
	pinwire_hello_start(&b, 2);
	pinwire_hello_add_key(&b, "k", 1, &base);
	pinwire_hello_add_key(&b, "k", 1, &base);
	CHECK(!pinwire_hello_parse(span_make(b.data, b.len), &pw_h));
	dbuf_free(&b);
}

/* profcheck over the pins read back finds what it finds over the signer's own config */
static unsigned pw_check(const struct profcheck_key *keys, size_t n, const struct profiles *ps, char *out, size_t cap,
			 unsigned *unfit)
{
	FILE *f = fmemopen(out, cap, "w");
	unsigned bad = f ? profcheck_run(keys, n, ps, f, unfit) : 1000;
	if (f)
		fclose(f);
	return bad;
}

static void test_profcheck_over_wire(void)
{
	static struct profiles ps;
	static const char text[] =
		"[profile web]\nissuer = int\nissuer_cert = /dev/null\nkey_types = p256\nmax_sans = 2\n"
		"crl_url = http://ca.example.com/int.crl\nocsp_url = http://ca.example.com/ocsp\naccounts = alice\n"
		"max_validity_days = 90\nkey_usage = digitalSignature\neku = serverAuth\n"
		"allow_wildcard = yes\ndns_suffixes = .example.com, .example.org\nip_ranges = 10.1.0.0/16, fd01::/16, 2001:db8::/32\n"
		"[profile code]\nissuer = plain\nissuer_cert = /dev/null\nkey_types = p256\nmax_sans = 1\n"
		"crl_url = http://ca.example.com/int.crl\nocsp_url = http://ca.example.com/ocsp\naccounts = alice\n"
		"max_validity_days = 31\nkey_usage = digitalSignature\neku = codeSigning\ndns_suffixes = .example.net\n"
		"[profile gone]\nissuer = nokey\nissuer_cert = /dev/null\nkey_types = p256\nmax_sans = 1\n"
		"crl_url = http://ca.example.com/int.crl\nocsp_url = http://ca.example.com/ocsp\naccounts = alice\n"
		"max_validity_days = 1\nkey_usage = digitalSignature\neku = serverAuth\ndns_suffixes = .example.com\n";
	char err[CONF_ERR_MAX], a[2048], b[2048];
	struct profcheck_key from_conf[SGN_MAX_KEYS], from_wire[PINWIRE_KEYS_MAX];
	struct dbuf reply;
	if (profiles_parse("profiles", text, strlen(text), &ps, err)) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	for (unsigned i = 0; i < pw_conf.n_keys; i++)
		from_conf[i] = (struct profcheck_key){ pw_conf.keys[i].label, pw_conf.keys[i].label, &pw_conf.keys[i].profile };
	pw_build(&reply, &pw_conf);
	CHECK(pinwire_hello_parse(span_make(reply.data, reply.len), &pw_h));
	for (unsigned i = 0; i < pw_h.n; i++)
		from_wire[i] = (struct profcheck_key){ pw_h.k[i].label, pw_h.k[i].label, &pw_h.k[i].pin };
	unsigned ua = 0, ub = 0;
	unsigned na = pw_check(from_conf, pw_conf.n_keys, &ps, a, sizeof(a), &ua);
	unsigned nb = pw_check(from_wire, pw_h.n, &ps, b, sizeof(b), &ub);
	CHECKF(na == 5 && nb == na && !strcmp(a, b), "conf %u:\n%s\nwire %u:\n%s", na, a, nb, b);
	/* five mismatches, of three profiles (web has three): the frontend's gauge counts profiles */
	CHECKF(ua == 3 && ub == 3, "unfit profiles: conf %u, wire %u", ua, ub);
	CHECKF(strstr(b, "profile web: DNS suffix .example.org reaches past leaf_permitted of key int") &&
		       strstr(b, "profile web: IP range 2001:db8::/32 reaches past leaf_permitted of key int") &&
		       strstr(b, "profile code: max_validity_days 31 above key plain's 30") &&
		       strstr(b, "profile gone: issuer nokey is the label of no key of this signer") &&
		       strstr(b, "profile web: allow_wildcard = yes, but key int's leaf pin refuses wildcards "
				 "(leaf_wildcard = no)"),
	       "%s", b);
	dbuf_free(&reply);
	/* with leaf_wildcard = yes on the key, the wildcard profile fits (its other mismatches stay) */
	pw_conf.keys[0].profile.leaf_wildcard = true;
	pw_build(&reply, &pw_conf);
	CHECK(pinwire_hello_parse(span_make(reply.data, reply.len), &pw_h) && pw_h.k[0].pin.leaf_wildcard);
	from_wire[0].pin = &pw_h.k[0].pin;
	nb = pw_check(from_wire, pw_h.n, &ps, b, sizeof(b), &ub);
	CHECKF(nb == 4 && ub == 3 && !strstr(b, "allow_wildcard"), "wire %u:\n%s", nb, b);
	pw_conf.keys[0].profile.leaf_wildcard = false;
	dbuf_free(&reply);
	profiles_wipe(&ps);
}

int main(void)
{
	char err[CONF_ERR_MAX];
	if (sgn_config_parse("signer", pw_signer, strlen(pw_signer), &pw_conf, err)) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	test_round_trip();
	test_unsealed();
	test_url_pins();
	test_refusals();
	test_profcheck_over_wire();
	return check_done("unit_pinwire");
}
