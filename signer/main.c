/* hsmca-signer: start-up order only. See docs/architecture.md and signer/PROTOCOL.md. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "landlock.h"
#include "log.h"
#include "profcheck.h"
#include "secmem.h"
#include "sandbox.h"
#include "state.h"
#include "unseal.h"
#include "usock.h"
#include "worker.h"

#define SGN_SOCKET_MODE_OWNER 0600
#define SGN_SOCKET_MODE_GROUP 0660
#define SGN_FD_SCAN_MAX 65536 /* where close_range(2) is missing (before Linux 5.9) and RLIMIT_NOFILE unknown */
#define SGN_FD_NR_OPEN 1048576 /* the kernel's default fs.nr_open: no descriptor is above it */

static int sgn_fail(const char *what, const char *why)
{
	log_event("error", "startup_failed", "step=%s why=\"%s\"", what, why);
	return 1;
}

/* Without the ceremony's PIN verifier the quorum would try whatever PIN the presented shares rebuild on the
 * token: m made-up shares (anyone who can reach the control socket, or one dishonest custodian, can seal
 * some) would each cost a failed C_Login, and a real HSM locks its user PIN after a few. */
#define SGN_NO_VERIFIER "pin_verifier is required (the init ceremony's pin.verifier, also on its transcript)"

static int sgn_open_token(struct sgn_state *st, char *err)
{
	const struct sgn_config *c = st->conf;
	if (c->p11kit_server_address[0] && setenv("P11_KIT_SERVER_ADDRESS", c->p11kit_server_address, 1) != 0)
		return HSMCA_ERR_NOMEM;
	if (p11_module_load(c->module, &st->mod)) {
		snprintf(err, CONF_ERR_MAX, "cannot load PKCS#11 module %s: %s", c->module, p11_rv_name(p11_last_rv()));
		return HSMCA_ERR_P11;
	}
	if (p11_token_find(&st->mod, c->token_label[0] ? c->token_label : NULL,
			   c->token_serial[0] ? c->token_serial : NULL, &st->token)) {
		snprintf(err, CONF_ERR_MAX, "token label=%s serial=%s not found (or not unique)", c->token_label,
			 c->token_serial);
		return HSMCA_ERR_NOTFOUND;
	}
	if (p11_session_open(&st->mod, st->token.slot, false, &st->login_session)) {
		snprintf(err, CONF_ERR_MAX, "C_OpenSession: %s", p11_rv_name(p11_last_rv()));
		return HSMCA_ERR_P11;
	}
	return 0;
}

/* Landlock confines an in-process module's files to module_dirs, and the process's file changes (unlink, a
 * socket's bind and chown) to the two sockets' directories, before the sealed phase's filter, which can only
 * allow such calls as a whole; remote: behind p11-kit, with no module directories, after the drop. */
static int sgn_confine_files(const struct sgn_config *c, bool remote, char *err)
{
	char dirs[2][SGN_PATH_MAX], why[CONF_ERR_MAX - 16];
	const char *mod[SGN_LANDLOCK_DIRS_MAX], *sock[2] = { dirs[0], dirs[1] };
	int abi = 0, rc;
	sgn_config_socket_dir(c->socket, dirs[0]);
	sgn_config_socket_dir(c->control_socket, dirs[1]);
	for (unsigned i = 0; i < c->n_module_dirs; i++)
		mod[i] = c->module_dirs[i];
	if ((rc = sgn_landlock_check_dirs(mod, c->n_module_dirs, sock, 2, why, sizeof why)) ||
	    (rc = sgn_landlock_enter(mod, c->n_module_dirs, sock, 2, &abi, why, sizeof why))) {
		snprintf(err, CONF_ERR_MAX, "landlock: %s", why);
		return rc;
	}
	if (abi == 0 && remote)
		log_event("warning", "landlock_unavailable", "why=\"this kernel has no Landlock: the unsealed signer may "
			  "remove or create files its user may write (the seccomp filters refuse opening them)\"");
	else if (abi == 0)
		log_event("warning", "landlock_unavailable", "why=\"this kernel has no Landlock: the in-process module "
			  "may open any file until the privilege drop, as root if started so\"");
	else
		log_event("info", "landlock", "abi=%d module_dirs=%u", abi, c->n_module_dirs);
	return 0;
}

static int sgn_run(const char *conf_path)
{
	static struct sgn_config conf;
	static struct sgn_state st;
	char err[CONF_ERR_MAX];
	int ctl_fd = -1;
	gid_t gid = (gid_t)-1;
	mode_t mode = SGN_SOCKET_MODE_OWNER;
	/* whatever the parent left open past stdin, stdout and stderr (a socket, a file, another process's
	 * pipe) would stay usable from inside the sandbox: closed before anything is opened */
	if (close_range(3, ~0U, 0) != 0) {
		struct rlimit nofile;
		rlim_t max = getrlimit(RLIMIT_NOFILE, &nofile) == 0 ? nofile.rlim_max : SGN_FD_SCAN_MAX;
		for (rlim_t fd = 3; fd < max && fd < SGN_FD_NR_OPEN; fd++)
			close((int)fd);
	}
	/* a closed stdin, stdout or stderr would be the next file opened (a token file, a client's socket), and
	 * the log lines written into it: each one that is closed becomes /dev/null */
	for (int fd = 0; fd <= 2; fd++) /* open() takes the lowest free descriptor: fd itself */
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF && open("/dev/null", O_RDWR) != fd)
			return 2;
	/* no core dump from here on, not only a non-dumpable process (fs.suid_dumpable = 2 still writes one, with
	 * the HSM module's memory: its copy of the PIN during C_Login, a key it decrypts for a self-test): the
	 * core limit 0 too, before the unseal, not only at the privilege drop after it */
	if (secmem_nodump() != 0)
		return sgn_fail("dumpable", "setrlimit(RLIMIT_CORE) or prctl failed");
	if (sgn_config_load(conf_path, &conf, err))
		return sgn_fail("config", err);
	if (!conf.has_pin_verifier)
		return sgn_fail("config", SGN_NO_VERIFIER);
	for (unsigned i = 0; i < conf.n_keys; i++) {
		struct sgn_advice adv[SGN_ADVICE_MAX];
		for (unsigned j = 0, n = sgn_key_advice(&conf.keys[i], adv); j < n; j++)
			log_event("warning", adv[j].event, "key=%s why=\"%s\"", conf.keys[i].name, adv[j].why);
	}
	st.conf = &conf;
	st.listen_fd = -1;
	st.n_workers = conf.workers;
	if (conf.socket_group[0]) {
		struct group *g = getgrnam(conf.socket_group);
		if (!g)
			return sgn_fail("config", "socket_group does not exist");
		gid = g->gr_gid;
		mode = SGN_SOCKET_MODE_GROUP;
	}
	if (sgn_keys_load_certs(&st, err))
		return sgn_fail("certificates", err);
	/* a module's connection that breaks (p11-kit server gone) must come back as an error the signer can log
	 * and act on (sgn_hsm_lost), not as a SIGPIPE that ends the process without a word; replies to clients
	 * are sent with MSG_NOSIGNAL anyway */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return sgn_fail("signals", "cannot ignore SIGPIPE");
	/* A remote module (p11-kit server) needs no files and its server checks the peer's uid: drop first.
	 * An in-process module reads the token's files until the keys are bound: drop after that. */
	bool early_drop = conf.p11kit_server_address[0] != 0;
	struct sgn_ids ids;
	if (sgn_privdrop_resolve(conf.user, &ids))
		return sgn_fail("privdrop", "no user to drop to");
	if (early_drop && sgn_privdrop(&ids))
		return sgn_fail("privdrop", "cannot drop privileges");
	if (sgn_open_token(&st, err))
		return sgn_fail("token", err);
	/* behind p11-kit too (no module_dirs then): the sealed filter refuses open, but unlink, bind and chown took
	 * any path the signer's user may write; Landlock leaves it the two socket directories */
	if (sgn_confine_files(&conf, early_drop, err))
		return sgn_fail("landlock", err);
	/* every share is read inside the sandbox: the sealed phase's filter, narrowed by the signing one below; it
	 * is in place before the control socket exists, so whoever sees the socket sees a sandboxed signer */
	/* the curves the key check reads points on, made now: whatever OpenSSL needs for them, outside the filters */
	if (policy_spki_prepare())
		return sgn_fail("openssl", "cannot make the P-256 and P-384 groups");
	/* the time zone read now (gmtime_r and timegm read /etc/localtime on first use), not inside the filters */
	tzset();
	if (sgn_sandbox_enter_sealed(!early_drop, false))
		return sgn_fail("sandbox", "cannot load the sealed phase's seccomp filter");
	if (usock_listen(conf.control_socket, SGN_SOCKET_MODE_OWNER, (gid_t)-1, &ctl_fd))
		return sgn_fail("control_socket", conf.control_socket);
	int urc = sgn_unseal_run(&st, ctl_fd);
	if (urc == HSMCA_ERR_P11)
		return 3; /* the token failed at the quorum's login (hsm_lost, logged): as a lost token unsealed */
	if (urc)
		return sgn_fail("unseal", "control socket failed");
	close(ctl_fd);
	unlink(conf.control_socket);
	if (sgn_keys_bind(&st, err))
		return sgn_fail("keys", err);
	if (usock_listen(conf.socket, mode, gid, &st.listen_fd)) {
		snprintf(err, sizeof err, "cannot create %s%s%s%s", conf.socket,
			 conf.socket_group[0] ? " with group " : "", conf.socket_group,
			 conf.socket_group[0] && early_drop ? " (dropped first behind p11-kit: only the signer's user's primary group)" : "");
		return sgn_fail("socket", err);
	}
	if (pthread_barrier_init(&st.started, NULL, st.n_workers + 1) != 0 ||
	    pthread_barrier_init(&st.start, NULL, st.n_workers + 1) != 0 || sgn_workers_start(&st))
		return sgn_fail("workers", "cannot start worker threads");
	if (!early_drop && sgn_privdrop(&ids))
		return sgn_fail("privdrop", "cannot drop privileges");
	int uid = (int)getuid(); /* getuid is not on the allowlist */
	if (sgn_sandbox_enter(false))
		return sgn_fail("sandbox", "cannot load the seccomp filter");
	log_event("info", "ready", "socket=%s workers=%u keys=%u session_copy=%s uid=%d", conf.socket, st.n_workers,
		  st.n_keys, conf.session_copy ? "yes" : "no", uid);
	pthread_barrier_wait(&st.start);
	pthread_join(st.workers[0].thread, NULL);
	return 1;
}

int main(int argc, char **argv)
{
	log_set_prog("hsmca-signer");
	if (argc >= 2 && !strcmp(argv[1], "unseal"))
		return sgn_unseal_cli(argc - 1, argv + 1);
	if (argc == 4 && !strcmp(argv[1], "run") && !strcmp(argv[2], "-c"))
		return sgn_run(argv[3]);
	if ((argc == 4 || (argc == 6 && !strcmp(argv[4], "--profiles"))) && !strcmp(argv[1], "check-config") &&
	    !strcmp(argv[2], "-c")) {
		static struct sgn_config conf;
		static struct profiles profs;
		char err[CONF_ERR_MAX];
		int rc = sgn_config_load(argv[3], &conf, err);
		if (!rc)
			rc = sgn_keys_check_certs(&conf, err);
		if (!rc && argc == 6)
			rc = profiles_load(argv[5], &profs, err);
		struct profcheck_key keys[SGN_MAX_KEYS];
		for (unsigned i = 0; i < conf.n_keys; i++)
			keys[i] = (struct profcheck_key){ conf.keys[i].name, conf.keys[i].label, &conf.keys[i].profile };
		unsigned bad = !rc && argc == 6 ? profcheck_run(keys, conf.n_keys, &profs, stdout, NULL) : 0;
		profiles_wipe(&profs); /* the profiles' authsign keys, also of a file that failed to load */
		if (rc) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		if (bad) {
			fprintf(stderr, "%s: %u profile mismatch(es) with %s: the signer would refuse their certificates\n",
				argv[5], bad, argv[3]);
			return 1;
		}
		if (!conf.has_pin_verifier) {
			fprintf(stderr, "%s: %s\n", argv[3], SGN_NO_VERIFIER);
			return 1;
		}
		for (unsigned i = 0; i < conf.n_keys; i++) {
			struct sgn_advice adv[SGN_ADVICE_MAX];
			for (unsigned j = 0, n = sgn_key_advice(&conf.keys[i], adv); j < n; j++)
				printf("warning: key %s %s\n", conf.keys[i].name, adv[j].why);
		}
		if (argc == 6)
			printf("ok: %u keys, %u profiles\n", conf.n_keys, profs.n);
		else
			printf("ok: %u keys\n", conf.n_keys);
		return 0;
	}
	fprintf(stderr, "usage: hsmca-signer run -c CONFIG\n"
			"       hsmca-signer check-config -c CONFIG [--profiles FRONTEND_PROFILES]\n"
			"       hsmca-signer unseal --control SOCKET (--share FILE [--passphrase-file FILE] | --status)\n");
	return 2;
}
