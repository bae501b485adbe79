#include "err.h"

const char *hsmca_strerror(int err)
{
	switch (err) {
	case HSMCA_OK: return "ok";
	case HSMCA_ERR_NOMEM: return "out of memory";
	case HSMCA_ERR_IO: return "I/O error";
	case HSMCA_ERR_PARSE: return "malformed input";
	case HSMCA_ERR_LIMIT: return "over a limit";
	case HSMCA_ERR_CONFIG: return "bad configuration";
	case HSMCA_ERR_P11: return "PKCS#11 error";
	case HSMCA_ERR_CRYPTO: return "crypto error";
	case HSMCA_ERR_AUTH: return "authentication failed";
	case HSMCA_ERR_POLICY: return "refused by policy";
	case HSMCA_ERR_STATE: return "not allowed in this state";
	case HSMCA_ERR_NOTFOUND: return "not found";
	case HSMCA_ERR_EXISTS: return "already exists";
	case HSMCA_ERR_QUORUM: return "quorum not met";
	case HSMCA_ERR_SERIAL: return "serial number in use";
	case HSMCA_ERR_EARLY: return "ahead of the signer's clock";
	case HSMCA_ERR_AGAIN: return "the signer cannot sign now";
	default: return "unknown error";
	}
}
