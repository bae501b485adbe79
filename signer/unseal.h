/* The sealed phase: the signer answers only UNSEAL and STATUS frames on its control socket until m
 * custodians' shares reconstruct the token PIN and C_Login succeeds on st->login_session. */
#ifndef HSMCA_SGN_UNSEAL_H
#define HSMCA_SGN_UNSEAL_H

#include "state.h"

/* Blocks until unsealed (0) or a fatal error. ctl_fd is a listening control socket. */
int sgn_unseal_run(struct sgn_state *st, int ctl_fd) HSMCA_WUR;
/* The custodian's side: sends one share file with its passphrase; prints the signer's answer. */
int sgn_unseal_cli(int argc, char **argv);

#endif
