/* The login failure table and Basic credentials (frontend/auth.c), canonical base64 (policy/b64.c), and the
 * log's quoting of outside values (common/log.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "b64.h"
#include "check.h"
#include "log.h"
#include "peergroup.h"
#include "pwfile.h"

/* A limited account stays limited however many other names fail meanwhile (the table used to be one slot
 * per hash of the name, so a colliding name's failure emptied the victim's slot and reset its count). */
static void test_limit_survives_others(void)
{
	struct ratelimit *rl = ratelimit_new();
	time_t now = 1700000000;
	char who[64];
	CHECK(rl != NULL);
	if (!rl)
		return;
	for (int i = 0; i < AUTH_FAIL_LIMIT - 1; i++)
		ratelimit_failed(rl, "acct", "victim", now);
	CHECK(!ratelimit_limited(rl, "acct", "victim", now));
	ratelimit_failed(rl, "acct", "victim", now);
	CHECK(ratelimit_limited(rl, "acct", "victim", now));
	/* 50,000 other names, each failing once (in every set many times over) */
	for (int i = 0; i < 50000; i++) {
		snprintf(who, sizeof(who), "other-%d", i);
		ratelimit_failed(rl, "acct", who, now);
		CHECKF(ratelimit_limited(rl, "acct", "victim", now) || (i % 1000 != 0), "after %d other names", i);
	}
	CHECK(ratelimit_limited(rl, "acct", "victim", now));
	CHECK(ratelimit_limited(rl, "acct", "victim", now + AUTH_FAIL_WINDOW - 1));
	/* a quiet window clears it */
	CHECK(!ratelimit_limited(rl, "acct", "victim", now + AUTH_FAIL_WINDOW));
	ratelimit_failed(rl, "acct", "victim", now + AUTH_FAIL_WINDOW);
	CHECK(!ratelimit_limited(rl, "acct", "victim", now + AUTH_FAIL_WINDOW));
	/* a check alone never evicts or counts */
	CHECK(!ratelimit_limited(rl, "addr", "192.0.2.1", now));
	CHECK(!ratelimit_limited(rl, "addr", "192.0.2.1", now));
	ratelimit_free(rl);
}

/* Reservations (parallel verifications): at most AUTH_FAIL_LIMIT at once or failed in the window; a success
 * gives its budget back; a reserved entry survives other names' failures; the limit itself counts failures
 * only (a reservation never makes a cached or joined login 429). */
static void test_reserve(void)
{
	struct ratelimit *rl = ratelimit_new();
	time_t now = 1700000000;
	char who[64];
	CHECK(rl != NULL);
	if (!rl)
		return;
	for (int i = 0; i < AUTH_FAIL_LIMIT; i++)
		CHECKF(ratelimit_reserve(rl, "acct", "victim", now), "reservation %d", i);
	CHECK(!ratelimit_reserve(rl, "acct", "victim", now));
	CHECK(!ratelimit_limited(rl, "acct", "victim", now));
	CHECK(ratelimit_reserve(rl, "acct", "other", now)); /* names are apart */
	ratelimit_release(rl, "acct", "other", false, now);
	/* 50,000 other names failing cannot evict the reserved entry (its count would be lost) */
	for (int i = 0; i < 50000; i++) {
		snprintf(who, sizeof(who), "other-%d", i);
		ratelimit_failed(rl, "acct", who, now);
	}
	CHECK(!ratelimit_reserve(rl, "acct", "victim", now));
	/* a success gives its reservation back; a failure turns it into a failure */
	ratelimit_release(rl, "acct", "victim", false, now);
	CHECK(ratelimit_reserve(rl, "acct", "victim", now));
	for (int i = 0; i < AUTH_FAIL_LIMIT; i++)
		ratelimit_release(rl, "acct", "victim", true, now);
	CHECK(ratelimit_limited(rl, "acct", "victim", now));
	CHECK(!ratelimit_reserve(rl, "acct", "victim", now));
	/* a quiet window clears failures, and the budget is whole again */
	CHECK(!ratelimit_limited(rl, "acct", "victim", now + AUTH_FAIL_WINDOW));
	for (int i = 0; i < AUTH_FAIL_LIMIT; i++)
		CHECKF(ratelimit_reserve(rl, "acct", "victim", now + AUTH_FAIL_WINDOW), "after the window: %d", i);
	CHECK(!ratelimit_reserve(rl, "acct", "victim", now + AUTH_FAIL_WINDOW));
	for (int i = 0; i < AUTH_FAIL_LIMIT; i++)
		ratelimit_release(rl, "acct", "victim", false, now + AUTH_FAIL_WINDOW);
	CHECK(!ratelimit_limited(rl, "acct", "victim", now + AUTH_FAIL_WINDOW));
	/* failures and reservations add up: 3 failed, 2 more may run */
	for (int i = 0; i < 3; i++)
		ratelimit_failed(rl, "addr", "192.0.2.7", now);
	CHECK(ratelimit_reserve(rl, "addr", "192.0.2.7", now) && ratelimit_reserve(rl, "addr", "192.0.2.7", now));
	CHECK(!ratelimit_reserve(rl, "addr", "192.0.2.7", now));
	ratelimit_release(rl, "addr", "192.0.2.7", false, now);
	ratelimit_release(rl, "addr", "192.0.2.7", false, now);
	ratelimit_free(rl);
}

/* Many limited names at once: every one of them stays limited (none evicts another), kinds are apart. */
static void test_many_limited(void)
{
	struct ratelimit *rl = ratelimit_new();
	time_t now = 1700000000;
	char who[64];
	unsigned limited = 0;
	CHECK(rl != NULL);
	if (!rl)
		return;
	for (int i = 0; i < 2000; i++) {
		snprintf(who, sizeof(who), "user%d", i);
		for (int k = 0; k < AUTH_FAIL_LIMIT; k++)
			ratelimit_failed(rl, "acct", who, now);
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(who, sizeof(who), "user%d", i);
		limited += ratelimit_limited(rl, "acct", who, now);
	}
	CHECKF(limited == 2000, "%u of 2000 limited", limited);
	CHECK(!ratelimit_limited(rl, "addr", "user1", now));
	/* failures of names below the limit do not push a limited one out either */
	for (int i = 0; i < 20000; i++) {
		snprintf(who, sizeof(who), "light%d", i);
		ratelimit_failed(rl, "acct", who, now);
	}
	limited = 0;
	for (int i = 0; i < 2000; i++) {
		snprintf(who, sizeof(who), "user%d", i);
		limited += ratelimit_limited(rl, "acct", who, now);
	}
	CHECKF(limited == 2000, "%u of 2000 still limited", limited);
	ratelimit_free(rl);
}

/* A table full of limited entries (cheap failures from ~30,000 address groups within a minute) has no slot for
 * a newcomer: its reservation is RL_NO_SLOT, not RL_NO_BUDGET, so the login goes on under the shared counts
 * (it was refused 429: anyone able to fill the table stopped every password login); the limited stay so. */
static void test_table_full(void)
{
	struct ratelimit *rl = ratelimit_new();
	time_t now = 1700000000;
	char who[64];
	CHECK(rl != NULL);
	if (!rl)
		return;
	for (int i = 0; i < 30000; i++) {
		snprintf(who, sizeof(who), "2001:db8:%x:%x::1", i >> 8, i & 0xff);
		for (int k = 0; k < AUTH_FAIL_LIMIT; k++)
			ratelimit_failed(rl, "addr", who, now);
	}
	CHECK(ratelimit_limited(rl, "addr", "2001:db8:0:0::1", now));
	CHECK(ratelimit_reserve(rl, "addr", "2001:db8:0:0::1", now) == RL_NO_BUDGET);
	enum rl_reservation r = ratelimit_reserve(rl, "addr", "192.0.2.99", now);
	CHECKF(r == RL_NO_SLOT, "a newcomer in a full table: %d, want RL_NO_SLOT (%d)", (int)r, (int)RL_NO_SLOT);
	r = ratelimit_reserve(rl, "acct", "alice", now);
	CHECKF(r == RL_NO_SLOT, "an account in a full table: %d, want RL_NO_SLOT", (int)r);
	/* once the window has passed, the entries are quiet and a newcomer gets one */
	CHECK(ratelimit_reserve(rl, "addr", "192.0.2.99", now + AUTH_FAIL_WINDOW) == RL_RESERVED);
	ratelimit_release(rl, "addr", "192.0.2.99", false, now + AUTH_FAIL_WINDOW);
	ratelimit_free(rl);
}

static void test_log_quote(void)
{
	char out[64];
	CHECK(!strcmp(log_quote("alice", out, sizeof(out)), "\"alice\""));
	CHECK(!strcmp(log_quote("x\nts=1 level=info event=issued", out, sizeof(out)),
		      "\"x\\x0ats=1 level=info event=issued\""));
	CHECK(!strcmp(log_quote("a\"b\\c", out, sizeof(out)), "\"a\\\"b\\\\c\""));
	CHECK(!strcmp(log_quote("\xc3\xa9", out, sizeof(out)), "\"\\xc3\\xa9\""));
	CHECK(!strcmp(log_quote("", out, sizeof(out)), "\"\""));
	/* cut short whole escapes only, still quoted */
	CHECK(!strcmp(log_quote("abcdefgh", out, 6), "\"abc\""));
	CHECK(!strcmp(log_quote("\n\n", out, 8), "\"\\x0a\""));
	CHECK(!strcmp(log_quote("abc", out, 3), "\"\""));
}

/* Only canonical base64 is read: the Basic decoder once took blanks, line ends, '-' and an inner '=' (read
 * as 'A'), and both decoders took leftover bits under the padding. */
static void test_base64(void)
{
	static const struct {
		const char *text;
		bool ok;
	} cases[] = {
		{ "dTpw", true },          { "dTpwdw==", true },     { "dTpwd3c=", true },   { "", false },
		{ "dTpw=wd3", false },     { "    dTpw", false },    { "dTpw\r\n\n\n", false }, { "dTpw----", false },
		{ "QR==", false },         { "QQ==", true },         { "QUI=", true },        { "QUJ=", false },
		{ "dTp", false },          { "dTpw=", false },       { "====", false },       { "d===", false },
		{ "dTp\xc3\xa9", false },
	};
	uint8_t raw[AUTH_RAW_MAX];
	const char *user, *pw;
	size_t pw_len, n;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = cases[i].text;
		CHECKF(b64_canonical(t, strlen(t)) == cases[i].ok, "b64_canonical(\"%s\")", t);
		uint8_t *d = b64_decode_strict(t, strlen(t), 64, &n);
		CHECKF((d != NULL) == cases[i].ok, "b64_decode_strict(\"%s\")", t);
		free(d);
	}
	CHECK(auth_basic_split("dTpw", raw, &user, &pw, &pw_len) == 0 && !strcmp(user, "u") && pw_len == 1 && pw[0] == 'p');
	static const char *const lenient[] = { "dTpw=wd3", "    dTpw", "dTpw\r\n\n\n", "dTpw----", "dTpw\t" };
	for (size_t i = 0; i < sizeof(lenient) / sizeof(lenient[0]); i++)
		CHECKF(auth_basic_split(lenient[i], raw, &user, &pw, &pw_len) == -1, "Basic \"%s\" accepted", lenient[i]);
}

/* Addresses count by their group: an IPv6 /64 as one (a client could make up a fresh address in its /64 for
 * every few failures when each address counted alone), an IPv4-mapped address as its IPv4 address. */
static void test_peer_groups(void)
{
	static const char *const cases[][2] = {
		{ "192.0.2.7", "192.0.2.7" },
		{ "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64" },
		{ "2001:DB8:1:2::1", "2001:db8:1:2::/64" },
		{ "::1", "::/64" },
		{ "::ffff:192.0.2.7", "192.0.2.7" },
		{ "fe80::1", "fe80::/64" },
		/* a link-local peer with its zone, as getnameinfo gives it: the /64 of its link (each address was a
		 * group of its own) */
		{ "fe80::1234:5678%eth0", "fe80::/64%eth0" },
		{ "fe80::9%eth0", "fe80::/64%eth0" },
		{ "fe80::9%eth1", "fe80::/64%eth1" },
		{ "not:an:address", "not:an:address" },
		{ "?", "?" },
	};
	char g[PEERGROUP_MAX];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		peergroup_of(cases[i][0], g);
		CHECKF(strcmp(g, cases[i][1]) == 0, "%s: %s, not %s", cases[i][0], g, cases[i][1]);
	}
	struct ratelimit *rl = ratelimit_new();
	time_t now = 1700000000;
	char who[64];
	CHECK(rl != NULL);
	if (!rl)
		return;
	for (int i = 1; i <= AUTH_FAIL_LIMIT; i++) { /* each failure from another address of one /64 */
		snprintf(who, sizeof(who), "2001:db8:0:7::%x", i);
		CHECK(!ratelimit_limited(rl, "addr", who, now));
		ratelimit_failed(rl, "addr", who, now);
	}
	CHECK(ratelimit_limited(rl, "addr", "2001:db8:0:7:ffff::1", now));
	CHECK(!ratelimit_limited(rl, "addr", "2001:db8:0:8::1", now)); /* the next /64 is another client */
	for (int i = 0; i < AUTH_FAIL_LIMIT; i++)
		ratelimit_failed(rl, "proof", "::ffff:198.51.100.9", now);
	CHECK(ratelimit_limited(rl, "proof", "198.51.100.9", now));
	CHECK(!ratelimit_limited(rl, "proof", "198.51.100.10", now));
	for (int i = 0; i < AUTH_FAIL_LIMIT; i++) /* account names are never grouped */
		ratelimit_failed(rl, "acct", "2001:db8:0:9::1", now);
	CHECK(!ratelimit_limited(rl, "acct", "2001:db8:0:9::2", now));
	ratelimit_free(rl);
}

/* A stored hash verifies only as auth_hash_password writes it: a sign, space or leading zero in a number, or
 * anything after the hash, was taken by sscanf (a row without a MAC could carry such text) */
static void test_hash_form(void)
{
	static const char pw[] = "correct horse battery";
	char h[DB_HASH_MAX], bad[DB_HASH_MAX + 16];
	CHECK(auth_hash_password(pw, strlen(pw), h) == 0);
	CHECK(auth_verify_password(h, pw, strlen(pw)));
	CHECK(!auth_verify_password(h, "wrong", 5));
	const char *rest = strchr(h + 7, '$'); /* after "scrypt$<logn>" */
	unsigned logn = (unsigned)atoi(h + 7);
	CHECK(rest != NULL);
	snprintf(bad, sizeof bad, "scrypt$+%u%s", logn, rest);
	CHECKF(!auth_verify_password(bad, pw, strlen(pw)), "%s", bad);
	snprintf(bad, sizeof bad, "scrypt$0%u%s", logn, rest);
	CHECKF(!auth_verify_password(bad, pw, strlen(pw)), "%s", bad);
	snprintf(bad, sizeof bad, "scrypt$ %u%s", logn, rest);
	CHECKF(!auth_verify_password(bad, pw, strlen(pw)), "%s", bad);
	snprintf(bad, sizeof bad, "%s junk", h);
	CHECKF(!auth_verify_password(bad, pw, strlen(pw)), "%s", bad);
	snprintf(bad, sizeof bad, "%s\n", h);
	CHECKF(!auth_verify_password(bad, pw, strlen(pw)), "trailing line end");
}

/* pwfile_read at its bounds: a 256-byte password and its CRLF (258 bytes) is taken; one byte more, or a
 * file far longer (read only so far), is refused as not one line; a missing file is IO, out all zero */
static void test_pwfile_read(void)
{
	char path[] = "/tmp/unit-pwfile-XXXXXX", out[PWFILE_OUT];
	char body[AUTH_PW_MAX + 64];
	size_t len = 0;
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	static const size_t sizes[] = { AUTH_PW_MAX, AUTH_PW_MAX + 1, AUTH_PW_MAX + 40 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(body, 'p', sizes[i]);
		memcpy(body + sizes[i], "\r\n", 2);
		FILE *f = fopen(path, "w");
		CHECK(f && fwrite(body, 1, sizes[i] + 2, f) == sizes[i] + 2 && fclose(f) == 0);
		int rc = pwfile_read(path, out, &len);
		if (i == 0)
			CHECKF(rc == 0 && len == AUTH_PW_MAX && out[0] == 'p' && out[len] == 0, "256-byte password: %d", rc);
		else
			CHECKF(rc == HSMCA_ERR_PARSE && len == 0 && out[0] == 0, "%zu-byte line: %d", sizes[i], rc);
	}
	unlink(path);
	CHECK(pwfile_read(path, out, &len) == HSMCA_ERR_IO && len == 0 && out[0] == 0);
}

int main(void)
{
	test_pwfile_read();
	test_hash_form();
	test_base64();
	test_limit_survives_others();
	test_many_limited();
	test_table_full();
	test_reserve();
	test_log_quote();
	test_peer_groups();
	return check_done("unit_auth");
}
