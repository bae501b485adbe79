#include "hdrscan.h"

#include <string.h>

#define HDRSCAN_CL "content-length"
#define HDRSCAN_TE "transfer-encoding"
#define HDRSCAN_CHUNKED "chunked"
#define HDRSCAN_CL_LEN (sizeof(HDRSCAN_CL) - 1)
#define HDRSCAN_TE_LEN (sizeof(HDRSCAN_TE) - 1)
#define HDRSCAN_CHUNKED_LEN (sizeof(HDRSCAN_CHUNKED) - 1)

enum { HDRSCAN_OTHER = 0, HDRSCAN_FIELD_CL = 1, HDRSCAN_FIELD_TE = 2 };

static const char hdrscan_msg_cl[] = "Content-Length must be digits only";
static const char hdrscan_msg_te[] = "the only Transfer-Encoding served is chunked";
static const char hdrscan_post[] = "POST ";
#define HDRSCAN_POST_LEN (sizeof(hdrscan_post) - 1)
static const char hdrscan_connect[] = "CONNECT ";
#define HDRSCAN_CONNECT_LEN (sizeof(hdrscan_connect) - 1)

void hdrscan_reset(struct hdrscan *s)
{
	memset(s, 0, sizeof(*s));
}

static bool hdrscan_tchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static uint8_t hdrscan_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

static void hdrscan_bad(struct hdrscan *s, const char *why)
{
	s->state = HDRSCAN_BAD;
	s->why = why;
}

/* The colon after a name: which header it is, and whether one of its kind came before. */
static void hdrscan_colon(struct hdrscan *s)
{
	s->field = s->may_cl && s->name_len == HDRSCAN_CL_LEN   ? HDRSCAN_FIELD_CL
		   : s->may_te && s->name_len == HDRSCAN_TE_LEN ? HDRSCAN_FIELD_TE
								: HDRSCAN_OTHER;
	s->n_cl += s->field == HDRSCAN_FIELD_CL;
	s->n_te += s->field == HDRSCAN_FIELD_TE;
	s->val = 0;
	s->val_len = 0;
	s->cr = false;
	s->state = HDRSCAN_VALUE;
	if (s->name_len == 0)
		hdrscan_bad(s, "a header field without a name");
	else if (s->n_cl > 1)
		hdrscan_bad(s, "more than one Content-Length header");
	else if (s->n_te > 1)
		hdrscan_bad(s, "more than one Transfer-Encoding header");
	else if (s->n_cl && s->n_te)
		hdrscan_bad(s, "both Content-Length and Transfer-Encoding");
}

static void hdrscan_name(struct hdrscan *s, uint8_t c)
{
	if (c == ':')
		return hdrscan_colon(s);
	if (!hdrscan_tchar(c))
		return hdrscan_bad(s, "a header field name that is not a token (RFC 9110)");
	uint8_t l = hdrscan_lower(c);
	s->may_cl = s->may_cl && s->name_len < HDRSCAN_CL_LEN && l == (uint8_t)HDRSCAN_CL[s->name_len];
	s->may_te = s->may_te && s->name_len < HDRSCAN_TE_LEN && l == (uint8_t)HDRSCAN_TE[s->name_len];
	if (s->name_len < UINT32_MAX)
		s->name_len++;
}

/* A line's first byte: the empty line ends the block; a folded line (obs-fold) is refused (RFC 9112 5.2). */
static void hdrscan_line(struct hdrscan *s, uint8_t c)
{
	if (s->cr) {
		if (c == '\n')
			s->state = HDRSCAN_DONE;
		else
			hdrscan_bad(s, "a header line that starts with CR");
		return;
	}
	if (c == '\r') {
		s->cr = true;
	} else if (c == '\n') {
		s->state = HDRSCAN_DONE;
	} else if (c == ' ' || c == '\t') {
		hdrscan_bad(s, "a folded header line (obs-fold)");
	} else {
		s->state = HDRSCAN_NAME;
		s->name_len = 0;
		if (s->n_fields < UINT32_MAX)
			s->n_fields++;
		s->may_cl = s->may_te = true;
		hdrscan_name(s, c);
	}
}

/* A value's line ends: a framing header's value must be complete. */
static void hdrscan_eol(struct hdrscan *s)
{
	if (s->field == HDRSCAN_FIELD_CL && s->val_len == 0)
		return hdrscan_bad(s, hdrscan_msg_cl);
	if (s->field == HDRSCAN_FIELD_TE && s->val_len != HDRSCAN_CHUNKED_LEN)
		return hdrscan_bad(s, hdrscan_msg_te);
	if (s->not_post && ((s->field == HDRSCAN_FIELD_CL && s->cl_nonzero) || s->field == HDRSCAN_FIELD_TE))
		return hdrscan_bad(s, "a request body (Content-Length above 0 or Transfer-Encoding) on a method other "
				      "than POST");
	if (s->field == HDRSCAN_FIELD_TE) { /* chunked: well formed, and not served (hdrscan.h) */
		s->length_required = true;
		return hdrscan_bad(s, "chunked request bodies are not served: send the body with Content-Length");
	}
	s->cr = false;
	s->state = HDRSCAN_LINE;
}

static void hdrscan_value(struct hdrscan *s, uint8_t c)
{
	if (c == '\n')
		return hdrscan_eol(s);
	if (s->cr && s->field != HDRSCAN_OTHER)
		return hdrscan_bad(s, s->field == HDRSCAN_FIELD_CL ? hdrscan_msg_cl : hdrscan_msg_te);
	s->cr = c == '\r';
	if (s->field == HDRSCAN_OTHER || s->cr)
		return;
	const char *msg = s->field == HDRSCAN_FIELD_CL ? hdrscan_msg_cl : hdrscan_msg_te;
	if (c == '\t' && s->val == 0 && s->field == HDRSCAN_FIELD_TE)
		return hdrscan_bad(s, "a tab before the Transfer-Encoding (evhttp does not take it for chunked)");
	if (c == ' ' || c == '\t') {
		if (s->val == 1)
			s->val = 2;
		return;
	}
	if (s->val == 2)
		return hdrscan_bad(s, msg);
	s->val = 1;
	if (s->field == HDRSCAN_FIELD_CL) {
		if (c < '0' || c > '9')
			return hdrscan_bad(s, msg);
		s->cl_nonzero = s->cl_nonzero || c != '0';
		if (s->val_len < UINT32_MAX)
			s->val_len++;
	} else if (s->val_len >= HDRSCAN_CHUNKED_LEN ||
		   hdrscan_lower(c) != (uint8_t)HDRSCAN_CHUNKED[s->val_len]) {
		return hdrscan_bad(s, msg);
	} else {
		s->val_len++;
	}
}

size_t hdrscan_feed(struct hdrscan *s, const uint8_t *p, size_t n)
{
	size_t i = 0;
	for (; i < n && s->state < HDRSCAN_DONE; i++) {
		uint8_t c = p[i];
		switch (s->state) {
		case HDRSCAN_REQLINE: /* as evhttp, which compares methods with case */
			if (c == '\n') {
				s->not_post = s->not_post || s->method_len < HDRSCAN_POST_LEN;
				s->state = HDRSCAN_LINE;
				break;
			}
			if (s->method_len < HDRSCAN_POST_LEN) {
				s->not_post = s->not_post || c != (uint8_t)hdrscan_post[s->method_len];
				s->method_len++;
			}
			if (s->connect_len < HDRSCAN_CONNECT_LEN) {
				s->not_connect = s->not_connect || c != (uint8_t)hdrscan_connect[s->connect_len];
				if (++s->connect_len == HDRSCAN_CONNECT_LEN && !s->not_connect) {
					s->method_refused = true;
					hdrscan_bad(s, "CONNECT is not served (this is no proxy)");
				}
			}
			break;
		case HDRSCAN_LINE:
			hdrscan_line(s, c);
			break;
		case HDRSCAN_NAME:
			hdrscan_name(s, c);
			break;
		default:
			hdrscan_value(s, c);
			break;
		}
	}
	return i;
}
