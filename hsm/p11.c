#include "p11.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static _Thread_local CK_RV p11_rv;

CK_RV p11_last_rv(void) { return p11_rv; }

static int p11_check(CK_RV rv)
{
	p11_rv = rv;
	return rv == CKR_OK ? 0 : HSMCA_ERR_P11;
}

const char *p11_rv_name(CK_RV rv)
{
	switch (rv) {
	case CKR_OK: return "CKR_OK";
	case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
	case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE";
	case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
	case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
	case CKR_ATTRIBUTE_READ_ONLY: return "CKR_ATTRIBUTE_READ_ONLY";
	case CKR_KEY_UNEXTRACTABLE: return "CKR_KEY_UNEXTRACTABLE";
	case CKR_KEY_FUNCTION_NOT_PERMITTED: return "CKR_KEY_FUNCTION_NOT_PERMITTED";
	case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
	case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID";
	case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
	case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
	case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
	case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
	case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
	case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
	case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
	case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
	case CKR_SESSION_READ_ONLY: return "CKR_SESSION_READ_ONLY";
	case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
	default: return "CKR_other";
	}
}

int p11_module_load(const char *path, struct p11_module *out)
{
	CK_C_GetFunctionList gfl;
	CK_C_INITIALIZE_ARGS args;
	memset(out, 0, sizeof(*out));
	out->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!out->dl)
		return HSMCA_ERR_NOTFOUND;
	*(void **)&gfl = dlsym(out->dl, "C_GetFunctionList");
	if (!gfl || p11_check(gfl(&out->f)) != 0)
		goto fail;
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	if (p11_check(out->f->C_Initialize(&args)) != 0)
		goto fail;
	return 0;
fail:
	dlclose(out->dl);
	memset(out, 0, sizeof(*out));
	return HSMCA_ERR_P11;
}

void p11_module_unload(struct p11_module *m)
{
	if (!m->f)
		return;
	m->f->C_Finalize(NULL);
	/* The module stays mapped: some modules leave threads or atexit handlers behind. */
	memset(m, 0, sizeof(*m));
}

static void p11_trim(char *dst, const CK_UTF8CHAR *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = 0;
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == 0))
		dst[--n] = 0;
}

typedef bool (*p11_slot_pred)(const struct p11_token *t, const char *label, const char *serial);

static int p11_slots_scan(struct p11_module *m, p11_slot_pred pred, const char *label, const char *serial,
			  struct p11_token *out)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	int found = 0;
	if (p11_check(m->f->C_GetSlotList(CK_TRUE, slots, &n)) != 0)
		return HSMCA_ERR_P11;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		struct p11_token t;
		if (m->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		t.slot = slots[i];
		p11_trim(t.serial, ti.serialNumber, sizeof(ti.serialNumber));
		p11_trim(t.label, ti.label, sizeof(ti.label));
		t.initialized = (ti.flags & CKF_TOKEN_INITIALIZED) != 0;
		if (!pred(&t, label, serial))
			continue;
		if (found++ == 0)
			*out = t;
	}
	if (found == 0)
		return HSMCA_ERR_NOTFOUND;
	return found == 1 ? 0 : HSMCA_ERR_EXISTS;
}

static bool p11_pred_match(const struct p11_token *t, const char *label, const char *serial)
{
	return t->initialized && (!label || !strcmp(label, t->label)) && (!serial || !strcmp(serial, t->serial));
}

static bool p11_pred_free(const struct p11_token *t, const char *label, const char *serial)
{
	(void)label;
	(void)serial;
	return !t->initialized;
}

int p11_token_find(struct p11_module *m, const char *label, const char *serial, struct p11_token *out)
{
	if (!label && !serial)
		return HSMCA_ERR_CONFIG;
	return p11_slots_scan(m, p11_pred_match, label, serial, out);
}

int p11_token_find_free(struct p11_module *m, struct p11_token *out)
{
	int rc = p11_slots_scan(m, p11_pred_free, NULL, NULL, out);
	return rc == HSMCA_ERR_EXISTS ? 0 : rc; /* several free slots: the first will do */
}

int p11_token_init(struct p11_module *m, struct p11_token *tok, const uint8_t *so_pin, size_t so_len,
		   const uint8_t *pin, size_t pin_len, const char *label)
{
	CK_UTF8CHAR padded[32];
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	size_t ll = strlen(label);
	int rc;
	if (ll == 0 || ll > sizeof(padded))
		return HSMCA_ERR_CONFIG;
	memset(padded, ' ', sizeof(padded));
	memcpy(padded, label, ll);
	rc = p11_check(m->f->C_InitToken(tok->slot, (CK_UTF8CHAR_PTR)so_pin, so_len, padded));
	if (rc)
		return rc;
	/* SoftHSM moves an initialised token to a new slot: find it again by label */
	struct p11_token fresh;
	rc = p11_token_find(m, label, NULL, &fresh);
	if (rc)
		return rc;
	*tok = fresh;
	rc = p11_session_open(m, tok->slot, true, &s);
	if (rc)
		return rc;
	rc = p11_check(m->f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)so_pin, so_len));
	if (rc)
		goto out;
	rc = p11_check(m->f->C_InitPIN(s, (CK_UTF8CHAR_PTR)pin, pin_len));
	m->f->C_Logout(s);
out:
	p11_session_close(m, s);
	return rc;
}

int p11_session_open(struct p11_module *m, CK_SLOT_ID slot, bool rw, CK_SESSION_HANDLE *out)
{
	CK_FLAGS fl = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
	return p11_check(m->f->C_OpenSession(slot, fl, NULL, NULL, out));
}

void p11_session_close(struct p11_module *m, CK_SESSION_HANDLE s)
{
	if (s != CK_INVALID_HANDLE)
		m->f->C_CloseSession(s);
}

int p11_login(struct p11_module *m, CK_SESSION_HANDLE s, const uint8_t *pin, size_t pin_len)
{
	CK_RV rv = m->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, pin_len);
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = CKR_OK;
	return p11_check(rv);
}

int p11_set_pin(struct p11_module *m, CK_SESSION_HANDLE s, const uint8_t *old_pin, size_t old_len,
		const uint8_t *new_pin, size_t new_len)
{
	return p11_check(m->f->C_SetPIN(s, (CK_UTF8CHAR_PTR)old_pin, old_len, (CK_UTF8CHAR_PTR)new_pin, new_len));
}

int p11_random(struct p11_module *m, CK_SESSION_HANDLE s, uint8_t *buf, size_t len)
{
	return p11_check(m->f->C_GenerateRandom(s, buf, len));
}

int p11_check_rv(CK_RV rv) { return p11_check(rv); }
