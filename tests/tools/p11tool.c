/* sgntool bench / bench-direct / keyprops / weakkey: signing rates through the signer socket and directly
 * through PKCS#11 on the same token; proof that token keys cannot be read, wrapped or used to decrypt; and
 * keys made with one flaw each, for the signer to refuse. */
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "p11_keyprot.h"
#include "quorum.h"
#include "sgn_client.h"
#include "tbsgen.h"

const char *sgntool_arg(const char *k, const char *def);
const char *sgntool_need(const char *k);
X509 *sgntool_read_cert(const char *path);
EVP_PKEY *sgntool_gen_key(const char *type);

#define BENCH_THREADS_MAX 64

struct bench {
	struct dbuf tbs;
	double seconds;
	/* direct */
	struct p11_module mod;
	struct p11_token tok;
	CK_OBJECT_HANDLE key;
	enum p11_keytype type;
	int session_copy;
};

struct bench_thread {
	struct bench *b;
	pthread_t t;
	long count;
	int failed;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* depth=N keeps N requests in flight on the connection (pipelining; replies come back in order) */
static void *bench_socket(void *arg)
{
	struct bench_thread *t = arg;
	struct sgn_client c;
	int depth = atoi(sgntool_arg("depth", "1"));
	uint32_t ids[64];
	int head = 0, inflight = 0;
	if (depth < 1 || depth > 64 || sgn_client_open(&c, sgntool_need("socket"), 1) != 0) {
		t->failed = 1;
		return NULL;
	}
	double end = now_s() + t->b->seconds;
	const char *label = sgntool_need("label");
	for (;;) {
		bool more = now_s() < end;
		while (more && inflight < depth) {
			if (sgn_client_send_sign(&c, FRAME_SIGN_CERT, label, t->b->tbs.data, t->b->tbs.len,
						 &ids[(head + inflight) % 64])) {
				t->failed = 1;
				goto out;
			}
			inflight++;
		}
		if (inflight == 0)
			break;
		struct dbuf out;
		dbuf_init(&out);
		int rc = sgn_client_recv_reply(&c, ids[head], &out);
		dbuf_free(&out);
		if (rc) {
			t->failed = 1;
			break;
		}
		head = (head + 1) % 64;
		inflight--;
		t->count++;
	}
out:
	sgn_client_close(&c);
	return NULL;
}

static void *bench_direct(void *arg)
{
	struct bench_thread *t = arg;
	struct bench *b = t->b;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key = b->key;
	uint8_t sig[P11_SIG_MAX];
	size_t sl;
	if (p11_session_open(&b->mod, b->tok.slot, false, &s) ||
	    (b->session_copy && p11_key_copy_session(&b->mod, s, b->key, &key))) {
		t->failed = 1;
		return NULL;
	}
	double end = now_s() + b->seconds;
	while (now_s() < end) {
		if (p11_sign(&b->mod, s, key, b->type, b->tbs.data, b->tbs.len, sig, &sl)) {
			t->failed = 1;
			break;
		}
		t->count++;
	}
	p11_session_close(&b->mod, s);
	return NULL;
}

/* Logs in with shares=a,b,c passes=pa,pb,pc on module= token=; returns a logged-in session. */
static int login_with_shares(struct p11_module *m, struct p11_token *tok, CK_SESSION_HANDLE *s)
{
	char shares[2048], passes[2048], *s1 = NULL, *s2 = NULL, err[QUORUM_ERR_MAX];
	struct quorum q;
	snprintf(shares, sizeof(shares), "%s", sgntool_need("shares"));
	snprintf(passes, sizeof(passes), "%s", sgntool_need("passes"));
	if (quorum_init(&q, NULL, NULL))
		return 1;
	for (char *f = strtok_r(shares, ",", &s1), *p = strtok_r(passes, ",", &s2); f && p;
	     f = strtok_r(NULL, ",", &s1), p = strtok_r(NULL, ",", &s2)) {
		uint8_t file[SEAL_FILE_MAX + 1], pw[256];
		FILE *ff = fopen(f, "r"), *pf = fopen(p, "r");
		size_t fl = ff ? fread(file, 1, sizeof(file), ff) : 0, pl = pf ? fread(pw, 1, sizeof(pw), pf) : 0;
		if (ff)
			fclose(ff);
		if (pf)
			fclose(pf);
		while (pl && (pw[pl - 1] == '\n'))
			pl--;
		if (quorum_add(&q, span_make(file, fl), (char *)pw, pl, err)) {
			fprintf(stderr, "sgntool: %s\n", err);
			return 1;
		}
	}
	if (p11_module_load(sgntool_need("module"), m) || p11_token_find(m, sgntool_need("token"), NULL, tok) ||
	    p11_session_open(m, tok->slot, true, s) || quorum_login(&q, m, *s, NULL, err)) {
		fprintf(stderr, "sgntool: login failed %s\n", err);
		return 1;
	}
	quorum_free(&q);
	return 0;
}

int sgntool_bench(const char *mode)
{
	static struct bench b;
	struct bench_thread th[BENCH_THREADS_MAX];
	int threads = atoi(sgntool_arg("threads", "2"));
	int direct = !strcmp(mode, "bench-direct");
	X509 *issuer = sgntool_read_cert(sgntool_need("issuer"));
	EVP_PKEY *k = sgntool_gen_key("p256");
	CK_SESSION_HANDLE login;
	long total = 0;
	if (threads < 1 || threads > BENCH_THREADS_MAX)
		return 2;
	b.seconds = atof(sgntool_arg("seconds", "5"));
	dbuf_init(&b.tbs);
	if (!k || tbsgen_leaf(issuer, k, NULL, &b.tbs))
		return 1;
	if (direct) {
		b.session_copy = atoi(sgntool_arg("session_copy", "1"));
		if (login_with_shares(&b.mod, &b.tok, &login) ||
		    p11_object_find(&b.mod, login, CKO_PRIVATE_KEY, sgntool_need("label"), &b.key) ||
		    !p11_keytype_of_pkey(X509_get0_pubkey(issuer), &b.type))
			return 1;
	}
	double t0 = now_s();
	for (int i = 0; i < threads; i++) {
		th[i] = (struct bench_thread){ .b = &b };
		pthread_create(&th[i].t, NULL, direct ? bench_direct : bench_socket, &th[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i].t, NULL);
		if (th[i].failed) {
			fprintf(stderr, "sgntool: thread %d failed\n", i);
			return 1;
		}
		total += th[i].count;
	}
	double el = now_s() - t0;
	printf("mode=%s threads=%d depth=%s signatures=%ld seconds=%.2f rate=%.0f\n", mode, threads,
	       direct ? "-" : sgntool_arg("depth", "1"), total, el, total / el);
	return 0;
}

static int expect(const char *what, CK_RV got, CK_RV want1, CK_RV want2)
{
	int ok = got == want1 || got == want2;
	printf("%s: %s (0x%lx) %s\n", what, p11_rv_name(got), (unsigned long)got, ok ? "refused as expected" : "UNEXPECTED");
	return ok ? 0 : 1;
}

int sgntool_keyprops(void)
{
	struct p11_module m;
	struct p11_token tok;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key, aes;
	CK_KEY_TYPE kt;
	uint8_t buf[1024];
	CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
	int bad = 0;
	if (login_with_shares(&m, &tok, &s) || p11_object_find(&m, s, CKO_PRIVATE_KEY, sgntool_need("label"), &key))
		return 1;
	CK_FUNCTION_LIST *f = m.f;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
	f->C_GetAttributeValue(s, key, &a, 1);
	CK_ATTRIBUTE secret = { kt == CKK_RSA ? CKA_PRIVATE_EXPONENT : CKA_VALUE, buf, sizeof(buf) };
	bad |= expect("read private value", f->C_GetAttributeValue(s, key, &secret, 1), CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_SENSITIVE);
	CK_ATTRIBUTE unsens = { CKA_SENSITIVE, &no, sizeof(no) };
	bad |= expect("set CKA_SENSITIVE false", f->C_SetAttributeValue(s, key, &unsens, 1), CKR_ATTRIBUTE_READ_ONLY, CKR_ATTRIBUTE_READ_ONLY);
	CK_ATTRIBUTE extr = { CKA_EXTRACTABLE, &yes, sizeof(yes) };
	bad |= expect("set CKA_EXTRACTABLE true", f->C_SetAttributeValue(s, key, &extr, 1), CKR_ATTRIBUTE_READ_ONLY, CKR_ATTRIBUTE_READ_ONLY);
	CK_ULONG len32 = 32;
	CK_ATTRIBUTE at[] = { { CKA_TOKEN, &no, sizeof(no) }, { CKA_WRAP, &yes, sizeof(yes) }, { CKA_VALUE_LEN, &len32, sizeof(len32) } };
	CK_MECHANISM gen = { CKM_AES_KEY_GEN, NULL, 0 }, wrap = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	if (f->C_GenerateKey(s, &gen, at, 3, &aes) != CKR_OK)
		return 1;
	CK_ULONG wl = sizeof(buf);
	bad |= expect("wrap the key", f->C_WrapKey(s, &wrap, aes, key, buf, &wl), CKR_KEY_UNEXTRACTABLE, CKR_KEY_UNEXTRACTABLE);
	if (kt == CKK_RSA) {
		CK_MECHANISM dec = { CKM_RSA_PKCS, NULL, 0 };
		bad |= expect("decrypt with the key", f->C_DecryptInit(s, &dec, key), CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_FUNCTION_NOT_PERMITTED);
	} else {
		uint8_t pt[65] = { 4 };
		CK_ECDH1_DERIVE_PARAMS p = { CKD_NULL, 0, NULL, sizeof(pt), pt };
		CK_MECHANISM der = { CKM_ECDH1_DERIVE, &p, sizeof(p) };
		CK_OBJECT_HANDLE out;
		CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
		CK_KEY_TYPE gk = CKK_GENERIC_SECRET;
		CK_ATTRIBUTE dt[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_KEY_TYPE, &gk, sizeof(gk) }, { CKA_TOKEN, &no, sizeof(no) } };
		bad |= expect("derive (ECDH) with the key", f->C_DeriveKey(s, &der, key, dt, 3, &out), CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_FUNCTION_NOT_PERMITTED);
	}
	/* what the signer checks before it signs with the key (p11_key_prot_refusal) */
	struct p11_key_prot prot;
	if (p11_key_prot_get(&m, s, key, &prot) != 0)
		return 1;
	const char *why = p11_key_prot_refusal(&prot);
	printf("fit for a CA key: %s\n", why ? why : "yes");
	bad |= why != NULL || p11_key_prot_advice(&prot) != NULL;
	return bad;
}

/* weakkey flaw=extractable|unsensitive|decrypt|unwrap|public label=L: a P-256 token key pair like the ceremony's but
 * with that one flaw */
int sgntool_weakkey(void)
{
	struct p11_module m;
	struct p11_token tok;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE pub, priv;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
	const char *flaw = sgntool_need("flaw"), *label = sgntool_need("label");
	bool ext = !strcmp(flaw, "extractable"), unsens = !strcmp(flaw, "unsensitive"), dec = !strcmp(flaw, "decrypt"),
	     unw = !strcmp(flaw, "unwrap"), pub_ = !strcmp(flaw, "public");
	if (!ext && !unsens && !dec && !unw && !pub_) {
		fprintf(stderr, "sgntool weakkey: flaw=extractable|unsensitive|decrypt|unwrap|public\n");
		return 2;
	}
	if (login_with_shares(&m, &tok, &s))
		return 1;
	CK_ATTRIBUTE pubt[] = { { CKA_TOKEN, &yes, sizeof(yes) }, { CKA_VERIFY, &yes, sizeof(yes) },
				{ CKA_EC_PARAMS, (void *)p256, sizeof(p256) }, { CKA_LABEL, (void *)label, strlen(label) } };
	CK_ATTRIBUTE privt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, pub_ ? &no : &yes, sizeof(yes) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_SENSITIVE, unsens ? &no : &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, ext ? &yes : &no, sizeof(no) },
		{ CKA_DECRYPT, dec ? &yes : &no, sizeof(no) },
		{ CKA_UNWRAP, unw ? &yes : &no, sizeof(no) },
		/* SoftHSM's defaults are true: off, so that the key has the one flaw asked for */
		{ CKA_SIGN_RECOVER, &no, sizeof(no) },
		{ CKA_DERIVE, &no, sizeof(no) },
	};
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_RV rv = m.f->C_GenerateKeyPair(s, &mech, pubt, 4, privt, sizeof(privt) / sizeof(privt[0]), &pub, &priv);
	printf("weakkey %s %s: %s\n", flaw, label, p11_rv_name(rv));
	return rv == CKR_OK ? 0 : 1;
}
