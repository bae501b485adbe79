/* hsmca error codes: functions that can fail return 0 or one of these (negative). */
#ifndef HSMCA_ERR_H
#define HSMCA_ERR_H

#define HSMCA_WUR __attribute__((warn_unused_result))

enum hsmca_err {
	HSMCA_OK = 0,
	HSMCA_ERR_NOMEM = -1,     /* allocation failed */
	HSMCA_ERR_IO = -2,        /* read/write/socket failure */
	HSMCA_ERR_PARSE = -3,     /* malformed input */
	HSMCA_ERR_LIMIT = -4,     /* input over a fixed limit */
	HSMCA_ERR_CONFIG = -5,    /* bad configuration */
	HSMCA_ERR_P11 = -6,       /* PKCS#11 call failed */
	HSMCA_ERR_CRYPTO = -7,    /* OpenSSL call failed */
	HSMCA_ERR_AUTH = -8,      /* wrong passphrase / tampered / wrong token */
	HSMCA_ERR_POLICY = -9,    /* refused by a profile rule */
	HSMCA_ERR_STATE = -10,    /* request not allowed in this state */
	HSMCA_ERR_NOTFOUND = -11, /* key, token or file not found */
	HSMCA_ERR_EXISTS = -12,   /* refusing to overwrite */
	HSMCA_ERR_QUORUM = -13,   /* not enough (or inconsistent) shares */
	HSMCA_ERR_SERIAL = -14,   /* a certificate serial number already in use (draw another) */
	HSMCA_ERR_EARLY = -15,    /* a signed time ahead of the signer's clock (may be signable later) */
	HSMCA_ERR_AGAIN = -16,    /* the signer answered but could not sign now (HSM, key, clock): try later */
};

const char *hsmca_strerror(int err);

#endif
