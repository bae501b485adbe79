/* hsmca-ceremony: argument parsing and dispatch only. */
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ceremony.h"
#include "log.h"
#include "secmem.h"

static const struct {
	const char *name;
	enum cer_kind kind;
} cer_cmds[] = {
	{ "init", CER_INIT }, { "root", CER_ROOT }, { "intermediate", CER_INTERMEDIATE },
	{ "ocsp", CER_OCSP }, { "resplit", CER_RESPLIT }, { "checkpoint", CER_CHECKPOINT }, { "sign-csr", CER_SIGN_CSR },
};

static int cer_usage(void)
{
	fprintf(stderr,
		"usage: hsmca-ceremony init         --module SO --config FILE --out SHARE_DIR [--passphrase-dir DIR]\n"
		"       hsmca-ceremony root         --module SO --config FILE --out CERT.pem SHARES\n"
		"       hsmca-ceremony intermediate --module SO --config FILE --out CERT.pem SHARES\n"
		"       hsmca-ceremony ocsp         --module SO --config FILE --out CERT.pem SHARES\n"
		"       hsmca-ceremony checkpoint   --module SO --config FILE --out CERT.pem SHARES (audit checkpoint key)\n"
		"       hsmca-ceremony sign-csr     --module SO --config FILE --csr REQ --out CERT.pem SHARES (a subordinate\n"
		"                                   CA whose key is elsewhere: the request's key, the config's subject)\n"
		"       hsmca-ceremony resplit      --module SO --config FILE --out NEW_SHARE_DIR SHARES [--passphrase-dir DIR]\n"
		"       hsmca-ceremony verify       --transcript FILE --pubkey AUDIT.pem [--signature FILE.sig]\n"
		"SHARES: m times --share FILE [--passphrase-file FILE] (prompted on the terminal otherwise)\n"
		"--transcript FILE (default OUT.transcript); --scrypt-log-n N for new shares (default %d)\n",
		SEAL_LOGN_DEFAULT);
	return 2;
}

/* A path argument the transcript may quote, and the files made under it: no control characters (a newline in
 * --out made the signed transcript hold lines the tool never wrote) and room for the longest name the
 * ceremony puts after it ("/" + a custodian's name + ".share", "/ceremony.transcript.sig"). */
#define CER_ARG_ROOM (SEAL_NAME_MAX + 32)
static bool cer_arg_ok(const char *v, bool path)
{
	size_t n = strlen(v);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return !path || n + CER_ARG_ROOM < CER_PATH_MAX;
}

static int cer_parse_args(int argc, char **argv, struct cer_args *a)
{
	static const struct option opts[] = {
		{ "module", required_argument, NULL, 'm' },      { "config", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },         { "transcript", required_argument, NULL, 't' },
		{ "share", required_argument, NULL, 's' },       { "passphrase-file", required_argument, NULL, 'p' },
		{ "passphrase-dir", required_argument, NULL, 'd' }, { "scrypt-log-n", required_argument, NULL, 'n' },
		{ "csr", required_argument, NULL, 'r' },         { NULL, 0, NULL, 0 }
	};
	int o;
	while ((o = getopt_long(argc, argv, "m:c:o:t:s:p:d:n:r:", opts, NULL)) != -1) {
		if (optarg && !cer_arg_ok(optarg, o != 'n')) {
			fprintf(stderr, "hsmca-ceremony: an argument holds a control character, or a path is longer than %d "
					"bytes\n", CER_PATH_MAX - CER_ARG_ROOM - 1);
			return HSMCA_ERR_CONFIG;
		}
		if (o == 'm')
			a->module = optarg;
		else if (o == 'c')
			a->config = optarg;
		else if (o == 'o')
			a->out = optarg;
		else if (o == 't')
			a->transcript = optarg;
		else if (o == 'd')
			a->passphrase_dir = optarg;
		else if (o == 'r')
			a->csr = optarg;
		else if (o == 'n') /* digits only: "15x" or "+15" is not 15 */
			a->log_n = strlen(optarg) == 2 && isdigit((unsigned char)optarg[0]) && isdigit((unsigned char)optarg[1])
					   ? (unsigned)((optarg[0] - '0') * 10 + (optarg[1] - '0'))
					   : 0;
		else if (o == 's' && a->n_shares < CER_MAX_SHARES)
			a->share[a->n_shares++] = optarg;
		else if (o == 'p' && a->n_shares > 0 && !a->share_pass[a->n_shares - 1])
			a->share_pass[a->n_shares - 1] = optarg;
		else
			return HSMCA_ERR_CONFIG;
	}
	if (optind != argc || !a->module || !a->config || !a->out || a->log_n < SEAL_LOGN_MIN || a->log_n > SEAL_LOGN_MAX)
		return HSMCA_ERR_CONFIG;
	if (!a->csr != (a->kind != CER_SIGN_CSR)) /* --csr for sign-csr, and only there */
		return HSMCA_ERR_CONFIG;
	return 0;
}

int main(int argc, char **argv)
{
	static struct cer_args args;
	static struct cer_ctx c;
	static char tpath[CER_PATH_MAX + 16];
	int rc;
	log_set_prog("hsmca-ceremony");
	if (argc < 2)
		return cer_usage();
	/* the module loaded here holds the token's key and the keys it generates in its own memory, and the
	 * custodians' passphrases pass through: no core file, no ptrace (verify reads public files only) */
	if (strcmp(argv[1], "verify") != 0 && secmem_nodump()) {
		fprintf(stderr, "hsmca-ceremony: cannot disable core dumps (prctl/setrlimit)\n");
		return 1;
	}
	if (!strcmp(argv[1], "verify"))
		return cer_verify_main(argc - 1, argv + 1);
	args.kind = (enum cer_kind)-1;
	for (size_t i = 0; i < sizeof(cer_cmds) / sizeof(cer_cmds[0]); i++)
		if (!strcmp(argv[1], cer_cmds[i].name))
			args.kind = cer_cmds[i].kind;
	args.log_n = SEAL_LOGN_DEFAULT;
	if ((int)args.kind < 0 || cer_parse_args(argc - 1, argv + 1, &args))
		return cer_usage();
	if (!args.transcript) {
		snprintf(tpath, sizeof(tpath), "%s%s.transcript", args.out,
			 args.kind == CER_INIT || args.kind == CER_RESPLIT ? "/ceremony" : "");
		args.transcript = tpath;
	}
	c.args = &args;
	c.s = CK_INVALID_HANDLE;
	c.started = time(NULL);
	dbuf_init(&c.record);
	if (cer_config_load(args.config, args.kind, &c.conf))
		return 1;
	cer_record_hex(&c, "config_sha256", c.conf.sha256, sizeof(c.conf.sha256));
	if (args.kind == CER_INIT)
		rc = cer_init_run(&c);
	else if (args.kind == CER_RESPLIT)
		rc = cer_resplit_run(&c);
	else if (args.kind == CER_SIGN_CSR)
		rc = cer_csr_run(&c);
	else
		rc = cer_cert_run(&c);
	if (rc)
		fprintf(stderr, "ceremony %s failed: %s\n", argv[1], hsmca_strerror(rc));
	if (c.s != CK_INVALID_HANDLE)
		p11_session_close(&c.mod, c.s);
	p11_module_unload(&c.mod);
	dbuf_free(&c.record);
	return rc ? 1 : 0;
}
