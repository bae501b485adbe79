/* The frontend's configuration file (common/conf.c format, [frontend] section), read once at start. */
#ifndef HSMCA_FCONFIG_H
#define HSMCA_FCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define FCONF_PATH_MAX 512
#define FCONF_TEXT_MAX 512

struct fconfig {
	char listen_addr[64];
	unsigned listen_port;
	char database[FCONF_TEXT_MAX];      /* libpq conninfo of the hsmca_frontend role */
	char signer_socket[FCONF_PATH_MAX];
	char profiles[FCONF_PATH_MAX];
	char chain[FCONF_PATH_MAX];         /* PEM: issuing CA then root */
	unsigned threads;                   /* workers doing PostgreSQL and signer work */
	size_t max_body;
	unsigned max_headers;
	size_t max_header_size;
	unsigned timeout_seconds;
	unsigned recover_after_seconds;     /* pending rows older than this are re-signed by the recovery pass */
	char tls_cert[FCONF_PATH_MAX];      /* optional: serve HTTPS */
	char tls_key[FCONF_PATH_MAX];
	char client_ca[FCONF_PATH_MAX];     /* optional: request client certificates issued under this CA */
};

/* Reads and validates path; err (CONF_ERR_MAX) says which line and why. */
int fconfig_load(const char *path, struct fconfig *out, char *err) HSMCA_WUR;

#endif
