#include "privdrop.h"

#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"

#define PRIVDROP_GROUPS_MAX 64

/* Everything about the process now says uid/gid, and root cannot be had back. */
static bool privdrop_verified(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0)
		return false;
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
		return false;
	return setuid(0) != 0 && setgid(0) != 0 && seteuid(0) != 0;
}

static bool privdrop_has_root_group(const gid_t *groups, int n)
{
	for (int i = 0; i < n; i++)
		if (groups[i] == 0)
			return true;
	return false;
}

static int privdrop_hardening(void)
{
	struct rlimit nocore = { 0, 0 };
	/* the TLS key is in memory: no core files, no ptrace by same-uid processes, no setuid helpers */
	if (setrlimit(RLIMIT_CORE, &nocore) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		log_event("error", "privdrop_failed", "why=\"prctl/setrlimit refused\"");
		return HSMCA_ERR_IO;
	}
	return 0;
}

int privdrop_to(const char *user)
{
	gid_t groups[PRIVDROP_GROUPS_MAX];
	struct passwd *pw;
	int ngroups;
	if (geteuid() != 0)
		return privdrop_hardening();
	if (!user || !*user) { /* a network service holding root for as long as it runs: never by accident */
		log_event("error", "privdrop_failed",
			  "why=\"started as root without user= in the config: set user = an unprivileged account\"");
		return HSMCA_ERR_CONFIG;
	}
	if (!(pw = getpwnam(user))) {
		log_event("error", "privdrop_failed", "user=%s why=\"no such user\"", user);
		return HSMCA_ERR_CONFIG;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		log_event("error", "privdrop_failed", "user=%s why=\"user= must not be root or in group root\"", user);
		return HSMCA_ERR_CONFIG;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (initgroups(user, gid) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0 ||
	    !privdrop_verified(uid, gid)) {
		log_event("error", "privdrop_failed", "user=%s why=\"cannot change to the user's ids for good\"", user);
		return HSMCA_ERR_IO;
	}
	ngroups = getgroups(PRIVDROP_GROUPS_MAX, groups);
	if (ngroups < 0 || privdrop_has_root_group(groups, ngroups)) {
		log_event("error", "privdrop_failed", "user=%s why=\"in group root or in over %d groups\"", user,
			  PRIVDROP_GROUPS_MAX);
		return HSMCA_ERR_CONFIG;
	}
	log_event("info", "privdrop", "user=%s uid=%u gid=%u supplementary_groups=%d", user, (unsigned)uid,
		  (unsigned)gid, ngroups);
	return privdrop_hardening();
}
