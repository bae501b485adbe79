/* A bounded, strict JSON parser (RFC 8259) and a string writer.
 *
 * The input is bounded (JSON_MAX_INPUT) before anything is allocated. The document then lives in one
 * allocation sized from the input length: every value starts at a byte of its own, so there are at most
 * min(len, JSON_MAX_NODES) nodes and as many child slots; a decoded string plus its NUL never takes more
 * bytes than its quoted source. Parsing is recursive descent, JSON_MAX_DEPTH containers deep at most.
 * Children of a container are collected on a scratch stack and copied into the arena when the container
 * closes; object keys are checked for duplicates there (sorted copy, adjacent compare: O(n log n)). */
#include "json.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_UTF8_MAX 4 /* bytes of one encoded code point */
#define JSON_HEX_DIGITS 4
#define JSON_WHY_MAX 64

struct json_node {
	enum json_type type;
	const char *key; /* member name when the node is an object member */
	size_t key_len;
	size_t key_off; /* input offset of that name, for error messages */
	union {
		struct {
			const char *s;
			size_t len;
		} str;
		struct {
			long long v;
			bool is_int; /* integer syntax and within long long */
		} num;
		struct {
			struct json_node **kids;
			size_t n;
		} list;
	} u;
};

struct json_doc {
	size_t size; /* of the whole allocation, for the wipe in json_free */
	struct json_node *root;
	/* the arena follows: nodes, child slots, scratch stack, string bytes */
};

struct json_parser {
	const uint8_t *in;
	size_t len, pos;
	struct json_node *nodes;
	size_t n_nodes, nodes_cap;
	struct json_node **kids; /* final child arrays, in order */
	size_t n_kids;
	struct json_node **stack; /* children of the open containers */
	size_t stack_top;
	char *chars;
	size_t n_chars, chars_cap;
	char *err;
	size_t err_len;
	int rc;
};

/* Records the first failure only; its message is "offset N: why" (why may take a number, %u). */
__attribute__((format(printf, 4, 5))) static bool json_fail(struct json_parser *p, int rc, size_t off,
							    const char *why, ...)
{
	char buf[JSON_WHY_MAX];
	va_list ap;
	if (p->rc != 0)
		return false;
	p->rc = rc;
	if (p->err && p->err_len) {
		va_start(ap, why);
		vsnprintf(buf, sizeof(buf), why, ap);
		va_end(ap);
		snprintf(p->err, p->err_len, "offset %zu: %s", off, buf);
	}
	return false;
}

static void json_skip_ws(struct json_parser *p)
{
	while (p->pos < p->len) {
		uint8_t c = p->in[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

/* Decodes one UTF-8 sequence at s (n bytes available): returns its length and sets *cp, or 0 if it is not
 * valid (truncated, bad continuation, overlong, surrogate, above U+10FFFF). */
static size_t json_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint8_t c = s[0];
	size_t need;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0; /* continuation byte, C0/C1 (always overlong), F5..FF */
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return need;
}

static size_t json_utf8_encode(uint32_t cp, char out[JSON_UTF8_MAX])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static struct json_node *json_node_new(struct json_parser *p, enum json_type type)
{
	if (p->n_nodes >= JSON_MAX_NODES) {
		json_fail(p, HSMCA_ERR_LIMIT, p->pos, "more than %u values", JSON_MAX_NODES);
		return NULL;
	}
	if (p->n_nodes >= p->nodes_cap) { /* cannot happen: every value starts at a byte of its own */
		json_fail(p, HSMCA_ERR_PARSE, p->pos, "internal: node arena full");
		return NULL;
	}
	struct json_node *n = &p->nodes[p->n_nodes++];
	memset(n, 0, sizeof(*n));
	n->type = type;
	return n;
}

static bool json_char_add(struct json_parser *p, const char *b, size_t n)
{
	if (n > p->chars_cap - p->n_chars) /* cannot happen: decoded text is shorter than its source */
		return json_fail(p, HSMCA_ERR_PARSE, p->pos, "internal: string arena full");
	memcpy(p->chars + p->n_chars, b, n);
	p->n_chars += n;
	return true;
}

static bool json_get_hex4(struct json_parser *p, uint32_t *out)
{
	uint32_t v = 0;
	if (p->len - p->pos < JSON_HEX_DIGITS)
		return json_fail(p, HSMCA_ERR_PARSE, p->pos, "truncated \\u escape");
	for (size_t i = 0; i < JSON_HEX_DIGITS; i++) {
		uint8_t c = p->in[p->pos + i];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else
			return json_fail(p, HSMCA_ERR_PARSE, p->pos + i, "bad hex digit in \\u escape");
		v = (v << 4) | d;
	}
	p->pos += JSON_HEX_DIGITS;
	*out = v;
	return true;
}

/* After "\u": one code point, joining a surrogate pair; lone surrogates and U+0000 are refused. */
static bool json_get_uescape(struct json_parser *p, uint32_t *out)
{
	size_t start = p->pos - 2;
	uint32_t hi, lo;
	if (!json_get_hex4(p, &hi))
		return false;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return json_fail(p, HSMCA_ERR_PARSE, start, "lone low surrogate");
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (p->len - p->pos < 2 || p->in[p->pos] != '\\' || p->in[p->pos + 1] != 'u')
			return json_fail(p, HSMCA_ERR_PARSE, start, "lone high surrogate");
		p->pos += 2;
		if (!json_get_hex4(p, &lo))
			return false;
		if (lo < 0xdc00 || lo > 0xdfff)
			return json_fail(p, HSMCA_ERR_PARSE, start, "high surrogate not followed by a low one");
		hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (hi == 0)
		return json_fail(p, HSMCA_ERR_PARSE, start, "U+0000 in string");
	*out = hi;
	return true;
}

static bool json_get_escape(struct json_parser *p)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	char buf[JSON_UTF8_MAX];
	uint32_t cp = 0;
	if (p->pos + 1 >= p->len)
		return json_fail(p, HSMCA_ERR_PARSE, p->pos, "unterminated string");
	uint8_t c = p->in[p->pos + 1];
	p->pos += 2;
	if (c == 'u')
		return json_get_uescape(p, &cp) && json_char_add(p, buf, json_utf8_encode(cp, buf));
	const char *hit = memchr(from, c, sizeof(from) - 1);
	if (!hit)
		return json_fail(p, HSMCA_ERR_PARSE, p->pos - 2, "bad escape");
	return json_char_add(p, &to[hit - from], 1);
}

/* At '"': decodes the string into the arena; *out_s is NUL-terminated. */
static bool json_get_string(struct json_parser *p, const char **out_s, size_t *out_len)
{
	size_t start = p->n_chars;
	uint32_t cp = 0;
	p->pos++;
	for (;;) {
		if (p->pos >= p->len)
			return json_fail(p, HSMCA_ERR_PARSE, p->pos, "unterminated string");
		uint8_t c = p->in[p->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return json_fail(p, HSMCA_ERR_PARSE, p->pos, "%s",
					 c ? "control character in string" : "U+0000 in string");
		if (c == '\\') {
			if (!json_get_escape(p))
				return false;
			continue;
		}
		size_t n = json_utf8_decode(p->in + p->pos, p->len - p->pos, &cp);
		if (n == 0)
			return json_fail(p, HSMCA_ERR_PARSE, p->pos, "invalid UTF-8");
		if (!json_char_add(p, (const char *)p->in + p->pos, n))
			return false;
		p->pos += n;
	}
	p->pos++;
	if (!json_char_add(p, "", 1))
		return false;
	*out_s = p->chars + start;
	*out_len = p->n_chars - start - 1;
	return true;
}

static bool json_is_digit(const struct json_parser *p)
{
	return p->pos < p->len && p->in[p->pos] >= '0' && p->in[p->pos] <= '9';
}

static bool json_get_digits(struct json_parser *p, const char *why)
{
	if (!json_is_digit(p))
		return json_fail(p, HSMCA_ERR_PARSE, p->pos, "%s", why);
	while (json_is_digit(p))
		p->pos++;
	return true;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?; the integer part is accumulated as a negative
 * number so that LLONG_MIN fits. */
static bool json_get_number(struct json_parser *p, struct json_node *n)
{
	bool neg = false, in_range = true;
	long long v = 0;
	if (p->in[p->pos] == '-') {
		neg = true;
		p->pos++;
	}
	if (!json_is_digit(p))
		return json_fail(p, HSMCA_ERR_PARSE, p->pos, "digit expected");
	if (p->in[p->pos] == '0') {
		p->pos++;
		if (json_is_digit(p))
			return json_fail(p, HSMCA_ERR_PARSE, p->pos - 1, "leading zero");
	} else {
		while (json_is_digit(p)) {
			int d = p->in[p->pos++] - '0';
			if (in_range && v < (LLONG_MIN + d) / 10)
				in_range = false;
			if (in_range)
				v = v * 10 - d;
		}
	}
	n->u.num.is_int = true;
	if (p->pos < p->len && p->in[p->pos] == '.') {
		p->pos++;
		if (!json_get_digits(p, "digit expected after '.'"))
			return false;
		n->u.num.is_int = false;
	}
	if (p->pos < p->len && (p->in[p->pos] == 'e' || p->in[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->in[p->pos] == '+' || p->in[p->pos] == '-'))
			p->pos++;
		if (!json_get_digits(p, "digit expected in exponent"))
			return false;
		n->u.num.is_int = false;
	}
	if (!neg && v == LLONG_MIN)
		in_range = false;
	n->u.num.is_int = n->u.num.is_int && in_range;
	n->u.num.v = n->u.num.is_int ? (neg ? v : -v) : 0;
	return true;
}

static bool json_get_literal(struct json_parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->in + p->pos, word, n) != 0)
		return json_fail(p, HSMCA_ERR_PARSE, p->pos, "unexpected character");
	p->pos += n;
	return true;
}

static int json_key_cmp(const void *a, const void *b)
{
	const struct json_node *x = *(struct json_node *const *)a, *y = *(struct json_node *const *)b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	return x->key_off < y->key_off ? -1 : x->key_off > y->key_off;
}

/* Moves the container's children (top of the stack, from `base`) into the arena; for an object, refuses
 * duplicate names (reporting the later one). */
static bool json_close(struct json_parser *p, struct json_node *c, size_t base)
{
	size_t k = p->stack_top - base;
	c->u.list.kids = p->kids + p->n_kids;
	c->u.list.n = k;
	if (k)
		memcpy(c->u.list.kids, p->stack + base, k * sizeof(*p->stack));
	p->n_kids += k;
	if (c->type == JSON_OBJECT && k > 1) {
		struct json_node **s = p->stack + base;
		qsort(s, k, sizeof(*s), json_key_cmp);
		for (size_t i = 1; i < k; i++)
			if (s[i]->key_len == s[i - 1]->key_len && memcmp(s[i]->key, s[i - 1]->key, s[i]->key_len) == 0)
				return json_fail(p, HSMCA_ERR_PARSE, s[i]->key_off, "duplicate key");
	}
	p->stack_top = base;
	return true;
}

static bool json_get_value(struct json_parser *p, unsigned depth, struct json_node **out);

/* At '[' or '{': the members, each pushed on the stack as it is complete. */
static bool json_get_container(struct json_parser *p, unsigned depth, struct json_node *c)
{
	bool obj = c->type == JSON_OBJECT;
	uint8_t close = obj ? '}' : ']';
	size_t base = p->stack_top;
	if (depth >= JSON_MAX_DEPTH)
		return json_fail(p, HSMCA_ERR_LIMIT, p->pos, "nesting deeper than %u", JSON_MAX_DEPTH);
	p->pos++;
	json_skip_ws(p);
	if (p->pos < p->len && p->in[p->pos] == close) {
		p->pos++;
		return json_close(p, c, base);
	}
	for (;;) {
		struct json_node *m;
		const char *key = NULL;
		size_t key_len = 0, key_off = p->pos;
		if (obj) {
			if (p->pos >= p->len || p->in[p->pos] != '"')
				return json_fail(p, HSMCA_ERR_PARSE, p->pos, "member name expected");
			if (!json_get_string(p, &key, &key_len))
				return false;
			json_skip_ws(p);
			if (p->pos >= p->len || p->in[p->pos] != ':')
				return json_fail(p, HSMCA_ERR_PARSE, p->pos, "':' expected");
			p->pos++;
			json_skip_ws(p);
		}
		if (!json_get_value(p, depth + 1, &m))
			return false;
		m->key = key, m->key_len = key_len, m->key_off = key_off;
		p->stack[p->stack_top++] = m; /* at most one slot per node */
		json_skip_ws(p);
		if (p->pos < p->len && p->in[p->pos] == close) {
			p->pos++;
			return json_close(p, c, base);
		}
		if (p->pos >= p->len || p->in[p->pos] != ',')
			return json_fail(p, HSMCA_ERR_PARSE, p->pos, "',' or '%c' expected", close);
		p->pos++;
		json_skip_ws(p);
	}
}

static bool json_get_value(struct json_parser *p, unsigned depth, struct json_node **out)
{
	struct json_node *n;
	if (p->pos >= p->len)
		return json_fail(p, HSMCA_ERR_PARSE, p->pos, "value expected, end of input");
	uint8_t c = p->in[p->pos];
	switch (c) {
	case '{':
	case '[':
		n = json_node_new(p, c == '{' ? JSON_OBJECT : JSON_ARRAY);
		if (!n || !json_get_container(p, depth, n))
			return false;
		break;
	case '"':
		n = json_node_new(p, JSON_STRING);
		if (!n || !json_get_string(p, &n->u.str.s, &n->u.str.len))
			return false;
		break;
	case 't':
	case 'f':
	case 'n':
		n = json_node_new(p, c == 't' ? JSON_TRUE : c == 'f' ? JSON_FALSE : JSON_NULL);
		if (!n || !json_get_literal(p, c == 't' ? "true" : c == 'f' ? "false" : "null"))
			return false;
		break;
	default:
		if (c != '-' && (c < '0' || c > '9'))
			return json_fail(p, HSMCA_ERR_PARSE, p->pos, "unexpected character");
		n = json_node_new(p, JSON_NUMBER);
		if (!n || !json_get_number(p, n))
			return false;
		break;
	}
	*out = n;
	return true;
}

/* One allocation: the doc header, then nodes, child slots and scratch stack (pointer aligned), then bytes. */
static struct json_doc *json_doc_alloc(struct json_parser *p, size_t len)
{
	size_t cap = len < JSON_MAX_NODES ? len : JSON_MAX_NODES;
	size_t off_nodes = sizeof(struct json_doc);
	size_t off_kids = off_nodes + cap * sizeof(struct json_node);
	size_t off_stack = off_kids + cap * sizeof(struct json_node *);
	size_t off_chars = off_stack + cap * sizeof(struct json_node *);
	size_t size = off_chars + len + 1;
	_Static_assert(sizeof(struct json_doc) % _Alignof(struct json_node) == 0, "arena alignment");
	_Static_assert(sizeof(struct json_node) % _Alignof(struct json_node *) == 0, "arena alignment");
	unsigned char *a = malloc(size);
	if (!a)
		return NULL;
	struct json_doc *doc = (struct json_doc *)a;
	doc->size = size;
	doc->root = NULL;
	p->nodes = (struct json_node *)(a + off_nodes);
	p->nodes_cap = cap;
	p->kids = (struct json_node **)(a + off_kids);
	p->stack = (struct json_node **)(a + off_stack);
	p->chars = (char *)(a + off_chars);
	p->chars_cap = len + 1;
	return doc;
}

int json_parse(const char *text, size_t len, struct json_doc **out, char *err, size_t err_len)
{
	struct json_parser p = { .in = (const uint8_t *)text, .len = len, .err = err, .err_len = err_len };
	struct json_doc *doc;
	struct json_node *root;
	*out = NULL;
	if (err && err_len)
		err[0] = '\0';
	if (len > JSON_MAX_INPUT) /* refused before anything is allocated */
		json_fail(&p, HSMCA_ERR_LIMIT, JSON_MAX_INPUT, "input larger than %u bytes", JSON_MAX_INPUT);
	else if (len == 0 || !text)
		json_fail(&p, HSMCA_ERR_PARSE, 0, "empty input");
	if (p.rc)
		return p.rc;
	doc = json_doc_alloc(&p, len);
	if (!doc) {
		if (err && err_len)
			snprintf(err, err_len, "offset 0: out of memory");
		return HSMCA_ERR_NOMEM;
	}
	json_skip_ws(&p);
	if (!json_get_value(&p, 0, &root))
		goto fail;
	json_skip_ws(&p);
	if (p.pos != p.len) {
		json_fail(&p, HSMCA_ERR_PARSE, p.pos, "trailing bytes after the value");
		goto fail;
	}
	doc->root = root;
	*out = doc;
	return 0;
fail:
	json_free(doc);
	return p.rc;
}

void json_free(struct json_doc *doc)
{
	if (!doc)
		return;
	explicit_bzero(doc, doc->size); /* request bodies may carry secrets (challenge passwords) */
	free(doc);
}

const struct json_node *json_root(const struct json_doc *doc)
{
	return doc ? doc->root : NULL;
}

enum json_type json_type(const struct json_node *n)
{
	return n ? n->type : JSON_NULL;
}

const struct json_node *json_get(const struct json_node *n, const char *key)
{
	if (!n || n->type != JSON_OBJECT || !key)
		return NULL;
	size_t len = strlen(key);
	for (size_t i = 0; i < n->u.list.n; i++) {
		const struct json_node *m = n->u.list.kids[i];
		if (m->key_len == len && memcmp(m->key, key, len) == 0)
			return m;
	}
	return NULL;
}

const char *json_string(const struct json_node *n, size_t *out_len)
{
	if (!n || n->type != JSON_STRING)
		return NULL;
	if (out_len)
		*out_len = n->u.str.len;
	return n->u.str.s;
}

bool json_int(const struct json_node *n, long long *out)
{
	if (!n || n->type != JSON_NUMBER || !n->u.num.is_int)
		return false;
	*out = n->u.num.v;
	return true;
}

size_t json_array_len(const struct json_node *n)
{
	return n && n->type == JSON_ARRAY ? n->u.list.n : 0;
}

const struct json_node *json_array_at(const struct json_node *n, size_t i)
{
	return n && n->type == JSON_ARRAY && i < n->u.list.n ? n->u.list.kids[i] : NULL;
}

size_t json_object_len(const struct json_node *n)
{
	return n && n->type == JSON_OBJECT ? n->u.list.n : 0;
}

const char *json_object_key(const struct json_node *n, size_t i)
{
	return n && n->type == JSON_OBJECT && i < n->u.list.n ? n->u.list.kids[i]->key : NULL;
}

const struct json_node *json_object_value(const struct json_node *n, size_t i)
{
	return n && n->type == JSON_OBJECT && i < n->u.list.n ? n->u.list.kids[i] : NULL;
}

/* Escapes '"', '\\' and C0 controls (as \u00XX); valid UTF-8 passes through unchanged, and
 * each byte of an invalid sequence becomes U+FFFD, so the output is always valid JSON. */
void json_write_string(struct dbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *u = (const uint8_t *)(s ? s : "");
	size_t n = strlen((const char *)u), i = 0;
	uint32_t cp = 0;
	dbuf_add_u8(b, '"');
	while (i < n) {
		size_t run = i;
		while (run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' && u[run] != '\\')
			run++;
		dbuf_add(b, u + i, run - i);
		i = run;
		if (i >= n)
			break;
		uint8_t c = u[i];
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			dbuf_add(b, e, sizeof(e));
			i++;
		} else if (c < 0x20) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };
			dbuf_add(b, e, sizeof(e));
			i++;
		} else {
			size_t k = json_utf8_decode(u + i, n - i, &cp);
			if (k == 0) {
				dbuf_add(b, "\\ufffd", 6);
				i++;
			} else {
				dbuf_add(b, u + i, k);
				i += k;
			}
		}
	}
	dbuf_add_u8(b, '"');
}
