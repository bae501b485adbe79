#!/usr/bin/env bash
# Sets up and runs the appliance on a fresh Debian 12 machine (as root): installs packages, builds, creates
# a SoftHSM2 token served by `p11-kit server` under its own user, runs the demo key ceremony (PIN split
# 3-of-5 among demo custodians), and starts the signer unsealed by three of them, PostgreSQL and the frontend,
# which serves HTTP and HTTPS with a server certificate the appliance issued for itself.
# Run again, it reuses what exists. `./quickstart.sh stop` stops what it started.
# Layout and state: $HSMCA_HOME (default ./.hsmca). See README.md.
set -euo pipefail
umask 022 # the directories the HSM's, signer's and frontend's users must pass (secrets are written under 077)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH # the Debian packages it installs, before anything else on PATH
# a relative HSMCA_HOME or HSMCA_BUILD_DIR is the caller's, not the repository's (resolved before the cd)
[ -z "${HSMCA_HOME:-}" ] || HSMCA_HOME=$(realpath -m -- "$HSMCA_HOME")
[ -z "${HSMCA_BUILD_DIR:-}" ] || HSMCA_BUILD_DIR=$(realpath -m -- "$HSMCA_BUILD_DIR")
cd "$(dirname "$0")"
REPO=$PWD
BUILD=${HSMCA_BUILD_DIR:-$REPO/build}
SIGNER_USER=hsmca-signer
HSM_USER=hsmca-hsm
FRONTEND_USER=hsmca-frontend
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
TOKEN=hsmca-demo
CUSTODIANS=(alice bob carol dave erin)

say() { printf '%s\n' "$*"; }
die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }

# ours NAME: prints the pid in $H/pids/NAME.pid if that process is still one this script started (its command
# line names a path under $H); after a reboot, or once it exited, the number may be any other process's
ours() {
	local f=$H/pids/$1.pid pid
	[ -f "$f" ] && pid=$(cat "$f") && [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
		tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$H/" && echo "$pid"
}
running() { ours "$1" > /dev/null; }
alive() { # PID: a process, not a zombie (state after the command's closing parenthesis)
	[ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

stop_all() {
	local f n pid
	for n in frontend signer p11kit; do
		f=$H/pids/$n.pid
		[ -f "$f" ] || continue
		if pid=$(ours "$n"); then
			kill "$pid"
			# gone before the next one is stopped, and before a new run starts its own (the frontend finishes
			# its requests first; an old token server removes its socket path as it exits)
			for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
			! alive "$pid" || die "$n (pid $pid) did not exit within 10 s of SIGTERM"
			say "stopped $n (pid $pid)"
			# a signer ends on SIGTERM where it stands: its socket paths stay behind
			[ "$n" != signer ] || rm -f "$H/run/signer.sock" "$H/run/control.sock"
		fi
		rm -f "$f"
	done
	if [ -d "$H/pg/data" ]; then
		# shellcheck source=tests/integration/pg_lib.sh
		source "$REPO/tests/integration/pg_lib.sh"
		if [ -f "$H/pg/data/postmaster.pid" ] && pg__as "$PG_BIN/pg_ctl" -D "$H/pg/data" status >/dev/null 2>&1; then
			pg_stop "$H/pg" >/dev/null 2>&1 && say "stopped postgresql"
		fi
	fi
}

# conf_install NAME [MODE]: puts the configuration generated in $H/config/NAME.gen in place as $H/config/NAME (mode
# MODE), unless the operator edited the one there since this script wrote it (its SHA-256 is not the one kept in
# .NAME.sha256): then that one stays as it is, mode included (a password added to frontend.conf wants 0600), and
# is used; the generated one is left as NAME.new to merge from. A file written before the hash was kept (an
# older quickstart's) is replaced, as it was then.
conf_install() {
	local dst=$H/config/$1 sum=$H/config/.$1.sha256
	if [ -f "$dst" ] && [ -f "$sum" ] && [ "$(sha256sum < "$dst")" != "$(cat "$sum")" ] &&
		! cmp -s "$dst" "$dst.gen"; then
		mv "$dst.gen" "$dst.new"
		say "kept $dst as you edited it (what this run would write is $dst.new)"
		return 0
	fi
	rm -f "$dst.new"
	[ -z "${2:-}" ] || chmod "$2" "$dst.gen"
	mv "$dst.gen" "$dst"
	sha256sum < "$dst" > "$sum"
}

traversable() { # DIR: every existing directory above DIR lets others pass (x, or t: sticky with x)
	local d
	d=$(realpath -m "$1")
	while [ "$d" != / ]; do
		d=$(dirname "$d")
		[ -d "$d" ] || continue
		case $(stat -c %A "$d") in *x | *t) ;; *) return 1 ;; esac
	done
}
# the home: HSMCA_HOME, else ./.hsmca beside the clone, else (a clone under /root or a home directory, mode
# 700, which the HSM's, the signer's and the frontend's users cannot pass) /var/lib/hsmca; `stop` finds the
# same one the same way
if [ -n "${HSMCA_HOME:-}" ]; then
	H=$HSMCA_HOME
elif traversable "$REPO/.hsmca"; then
	H=$REPO/.hsmca
else
	H=/var/lib/hsmca
fi
[ "$H" = "$REPO/.hsmca" ] && STOP_CMD="./quickstart.sh stop" || STOP_CMD="HSMCA_HOME=$H ./quickstart.sh stop"
[ -n "${HSMCA_HOME:-}" ] || [ "$H" = "$REPO/.hsmca" ] \
	|| say "$REPO is below a directory other users cannot pass: the appliance's state goes to $H (HSMCA_HOME)"

[ $# -le 1 ] && { [ $# -eq 0 ] || [ "$1" = stop ]; } || die "usage: ./quickstart.sh [stop]"
[ "$(id -u)" = 0 ] || die "run as root (it installs packages, creates the signer's and the HSM's users; stop: it signals them)"
if [ "${1:-}" = stop ]; then # (whatever the home's name: the checks below are for a start)
	[ -d "$H/pids" ] || [ -d "$H/pg/data" ] || die "nothing to stop in $H (set HSMCA_HOME to the home you started)"
	stop_all
	exit 0
fi
case $H in *[[:space:]]*) die "HSMCA_HOME has white space in it ('$H'): choose another, e.g. /var/lib/hsmca" ;; esac
# the longest socket under it is PostgreSQL's, $H/pg/sock/.s.PGSQL.NNNNN (23 more), within sun_path's 107 bytes
[ ${#H} -le 84 ] || die "HSMCA_HOME is too long for its Unix sockets (${#H} characters, at most 84): $H"
# the HSM's, the signer's and the frontend's users must reach $H: said now, before packages and a build (a
# clone under /root, mode 700, used to fail only after them)
traversable "$H" || die "$H is below a directory other users cannot pass (e.g. /root, mode 700): the HSM's, the signer's and the frontend's users must reach it; set HSMCA_HOME, e.g. HSMCA_HOME=/var/lib/hsmca ./quickstart.sh"
guarded() { # DIR: no existing directory above DIR is group- or other-writable unless sticky (as the unseal CLI checks)
	local d
	d=$(realpath -m "$1")
	while [ "$d" != / ]; do
		d=$(dirname "$d")
		[ -d "$d" ] || continue
		case $(stat -c %A "$d") in ?????w???? | ????????w?) ;; *) continue ;; esac
		case $(stat -c %A "$d") in *t | *T) ;; *) return 1 ;; esac
	done
}
guarded "$H" || die "$H is below a directory other users may write to (not sticky): they could replace the signer's control socket, and custodians' shares are not sent there; set HSMCA_HOME, e.g. HSMCA_HOME=/var/lib/hsmca ./quickstart.sh"

# 1. packages
PKGS=(build-essential cmake pkg-config libssl-dev openssl libseccomp-dev libp11-kit-dev softhsm2 p11-kit
      p11-kit-modules opensc passwd procps libevent-dev libpq-dev postgresql-15 curl python3)
missing=()
# installed, not only known (dpkg -s says yes to a package removed with its config files kept)
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed (a source that cannot be reached, e.g. a cdrom: line?)"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install failed"
fi

# 2. build
cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
make -C "$BUILD" -j"$(nproc)" >/dev/null
CEREMONY=$BUILD/hsm/ceremony/hsmca-ceremony
SIGNER=$BUILD/signer/hsmca-signer

# 3. users and directories
for u in "$SIGNER_USER" "$HSM_USER" "$FRONTEND_USER"; do
	id "$u" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
done
# the frontend reaches the signing socket through the signer's group (the socket is 0660)
id -nG "$FRONTEND_USER" | grep -qw "$SIGNER_USER" || usermod -aG "$SIGNER_USER" "$FRONTEND_USER"
mkdir -p "$H"/{tokens,custodians,ca,run,p11,log,pids,config,pg,tls}
chmod 755 "$H"
chmod 700 "$H/custodians"
chown "$SIGNER_USER" "$H/run"
chown "$HSM_USER" "$H/p11"
chown "root:$FRONTEND_USER" "$H/tls" && chmod 750 "$H/tls"
# the audit checkpoints' anchor (checkpoint_anchor_file): the frontend's user writes it
install -d -o "$FRONTEND_USER" -m 700 "$H/state"
cat > "$H/softhsm2.conf" <<EOC
directories.tokendir = $H/tokens
objectstore.backend = file
log.level = ERROR
EOC
chmod 644 "$H/softhsm2.conf"
export SOFTHSM2_CONF=$H/softhsm2.conf
runuser -u "$HSM_USER" -- test -r "$H/softhsm2.conf" \
	|| die "$HSM_USER cannot reach $H (a parent directory is not traversable): set HSMCA_HOME, e.g. /var/lib/hsmca"

# 4. the demo ceremony (in-process SoftHSM, before the token is served by p11-kit)
shares() { local n a=(); for n in "$@"; do a+=(--share "$H/custodians/$n.share" --passphrase-file "$H/custodians/$n.pass"); done; echo "${a[@]}"; }
if [ ! -f "$H/custodians/audit.pem" ]; then
	[ ! -f "$H/pids/p11kit.pid" ] || stop_all
	say "demo key ceremony: token $TOKEN, PIN split 3-of-5 among ${CUSTODIANS[*]}"
	for n in "${CUSTODIANS[@]}"; do
		# DEMO ONLY: real custodians keep their passphrases in their heads, not next to the share
		[ -f "$H/custodians/$n.pass" ] || { head -c 18 /dev/urandom | base64 > "$H/custodians/$n.pass"; chmod 600 "$H/custodians/$n.pass"; }
	done
	cat > "$H/config/init.conf" <<EOC
token_label = $TOKEN
custodians = alice, bob, carol, dave, erin
threshold = 3
EOC
	"$CEREMONY" init --module "$SOFTHSM" --config "$H/config/init.conf" --out "$H/custodians" \
		--passphrase-dir "$H/custodians" > "$H/log/ceremony.log" 2>&1 || { cat "$H/log/ceremony.log"; die "init ceremony failed"; }
fi
cer_cert() { # kind name config...
	local kind=$1 name=$2; shift 2
	[ -f "$H/ca/$name.pem" ] && return 0
	[ -s "$H/custodians/pin.verifier" ] || die "$H/custodians/pin.verifier is missing: every ceremony after init needs the PIN's verifier"
	printf '%s\n' "$@" "pin_verifier = $(cat "$H/custodians/pin.verifier")" > "$H/config/$name.conf"
	# shellcheck disable=SC2046
	"$CEREMONY" "$kind" --module "$SOFTHSM" --config "$H/config/$name.conf" --out "$H/ca/$name.pem" \
		$(shares alice bob carol) >> "$H/log/ceremony.log" 2>&1 || { tail -5 "$H/log/ceremony.log"; die "$kind ceremony failed"; }
	say "ceremony: $kind certificate $H/ca/$name.pem"
}
PORT=${HSMCA_HTTP_PORT:-8080}
HTTPS_PORT=${HSMCA_HTTPS_PORT:-8443}
if [ ! -f "$H/ca/root.pem" ] || [ ! -f "$H/ca/intermediate.pem" ] || [ ! -f "$H/ca/ocsp.pem" ] || [ ! -f "$H/ca/checkpoint.pem" ]; then
	[ ! -f "$H/pids/p11kit.pid" ] || stop_all
	cer_cert root root "key_label = hsmca-root" "key_type = p384" "subject = /C=US/O=hsmca demo/CN=hsmca Demo Root CA" \
		"validity_days = 7300" "path_length = 1"
	cer_cert intermediate intermediate "key_label = hsmca-intermediate" "key_type = p256" \
		"subject = /C=US/O=hsmca demo/CN=hsmca Demo Issuing CA" "validity_days = 1825" "path_length = 0" \
		"issuer_cert = $H/ca/root.pem" "issuer_key_label = hsmca-root" \
		"crl_url = http://127.0.0.1:$PORT/crl/root.crl" "ocsp_url = http://127.0.0.1:$PORT/ocsp"
	cer_cert ocsp ocsp "key_label = hsmca-ocsp" "key_type = p256" "subject = /C=US/O=hsmca demo/CN=hsmca Demo OCSP Responder" \
		"validity_days = 90" "issuer_cert = $H/ca/intermediate.pem" "issuer_key_label = hsmca-intermediate"
	# the audit log's checkpoints are signed by a key of their own, not by a CA key
	cer_cert checkpoint checkpoint "key_label = hsmca-checkpoint" "key_type = p256" \
		"subject = /C=US/O=hsmca demo/CN=hsmca Demo Audit Checkpoints" "validity_days = 1825" \
		"issuer_cert = $H/ca/root.pem" "issuer_key_label = hsmca-root"
fi
cat "$H/ca/intermediate.pem" "$H/ca/root.pem" > "$H/ca/chain.pem"
chown -R "$HSM_USER" "$H/tokens"

# 5. the token behind p11-kit server, under its own user
P11KIT_STARTED=
if ! running p11kit; then
	P11KIT_STARTED=1
	rm -f "$H/p11/p11.sock"
	nohup p11-kit server -f -p "$SOFTHSM" -n "$H/p11/p11.sock" -u "$SIGNER_USER" -a "$HSM_USER" -z "$(id -gn "$HSM_USER")" "pkcs11:token=$TOKEN" \
		>> "$H/log/p11kit.log" 2>&1 &
	echo $! > "$H/pids/p11kit.pid"
	for _ in $(seq 100); do [ -S "$H/p11/p11.sock" ] && break; sleep 0.05; done
	[ -S "$H/p11/p11.sock" ] || die "p11-kit server did not start (see $H/log/p11kit.log)"
	# the server creates its socket after dropping to $HSM_USER: give the signer's group access
	chgrp "$SIGNER_USER" "$H/p11/p11.sock" && chmod 0660 "$H/p11/p11.sock"
	say "p11-kit server: pid $(cat "$H/pids/p11kit.pid"), SoftHSM runs as $HSM_USER"
fi

# 6. the signer, sealed, then unsealed by three custodians
# p11-kit's client module where this host's architecture has it (/usr/lib/<multiarch>/pkcs11/)
P11CLIENT=$(dpkg -L p11-kit-modules 2>/dev/null | grep '/pkcs11/p11-kit-client\.so$') || true # grep reads it all
P11CLIENT=${P11CLIENT%%$'\n'*}
[ -n "$P11CLIENT" ] && [ -f "$P11CLIENT" ] || die "p11-kit-client.so not found (package p11-kit-modules)"
cat > "$H/config/signer.conf.gen" <<EOC
[signer]
module = $P11CLIENT
p11kit_server_address = unix:path=$H/p11/p11.sock
token_label = $TOKEN
socket = $H/run/signer.sock
control_socket = $H/run/control.sock
user = $SIGNER_USER
socket_group = $SIGNER_USER
$([ -f "$H/custodians/pin.verifier" ] && echo "pin_verifier = $(cat "$H/custodians/pin.verifier")")
$([ -f "$H/custodians/custodians.roster" ] && echo "custodians = $(cat "$H/custodians/custodians.roster")")

[key intermediate]
label = hsmca-intermediate
cert = $H/ca/intermediate.pem
issuer_cert = $H/ca/root.pem
operations = cert, crl
ca = no
key_usage = digitalSignature, keyEncipherment
eku = serverAuth, clientAuth
max_validity_days = 397
max_crl_days = 7
# the names the profiles below allow: whatever a frontend asks, this key signs leaves for these alone
leaf_permitted = DNS:.example.com, DNS:.internal, DNS:localhost, IP:10.0.0.0/8, IP:127.0.0.0/8, IP:192.168.0.0/16, IP:fd00::/8
# and the revocation URLs they name: a frontend cannot have it sign others
crl_url = http://127.0.0.1:$PORT/crl/intermediate.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp

[key ocsp]
label = hsmca-ocsp
cert = $H/ca/ocsp.pem
issuer_cert = $H/ca/intermediate.pem
operations = ocsp
ocsp_delegated = yes

[key checkpoint]
label = hsmca-checkpoint
cert = $H/ca/checkpoint.pem
issuer_cert = $H/ca/root.pem
operations = checkpoint
EOC
conf_install signer.conf
# a signer left sealed by a run cut short during the unseal, or whose p11-kit server was just started again
# (its sessions went with the old one), is started afresh: the frontend would refuse it
if pid=$(ours signer) && { [ -n "$P11KIT_STARTED" ] || [ ! -S "$H/run/signer.sock" ]; }; then
	kill "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null || die "signer (pid $pid) did not stop"
	rm -f "$H/pids/signer.pid"
	say "signer (pid $pid) was not serving (sealed, or its token server restarted): starting it again"
fi
if ! running signer; then
	rm -f "$H/run/control.sock" "$H/run/signer.sock"
	nohup "$SIGNER" run -c "$H/config/signer.conf" >> "$H/log/signer.log" 2>&1 &
	echo $! > "$H/pids/signer.pid"
	for _ in $(seq 100); do [ -S "$H/run/control.sock" ] && break; sleep 0.05; done
	[ -S "$H/run/control.sock" ] || die "signer did not start (see $H/log/signer.log)"
	for n in alice bob carol; do
		"$SIGNER" unseal --control "$H/run/control.sock" --share "$H/custodians/$n.share" \
			--passphrase-file "$H/custodians/$n.pass" >/dev/null || die "unseal with $n's share failed"
	done
	for _ in $(seq 100); do [ -S "$H/run/signer.sock" ] && break; sleep 0.05; done
	[ -S "$H/run/signer.sock" ] || die "signer not ready (see $H/log/signer.log)"
fi

# 7. PostgreSQL (private cluster, Unix socket only), schema, demo accounts, profiles, the frontend
# shellcheck source=tests/integration/pg_lib.sh
source "$REPO/tests/integration/pg_lib.sh"
chown postgres "$H/pg"
# peer authentication mapped per OS user: root (this script) as the owner or the frontend's role, the frontend's
# user as hsmca_frontend only; no other local user connects, and none as the superuser but root and postgres
PG_IDENT="root postgres
root hsmca_frontend
$FRONTEND_USER hsmca_frontend" PG_SOCK_MODE=0755 pg_start "$H/pg" >> "$H/log/postgres.log" 2>&1 \
	|| die "postgresql did not start (see $H/log/postgres.log)"
FRONTEND=$BUILD/frontend/hsmca-frontend
"$FRONTEND" migrate --conninfo "$(pg_conninfo "$H/pg" owner)" >> "$H/log/migrate.log" 2>&1 || die "migration failed"
FE_DB=$(pg_conninfo "$H/pg" frontend)
# the key that MACs every stored intent, account and API key row (frontend/intent.h, rowmac.h): made once, kept
# across runs (a new one would leave pending and held rows unsignable and accounts refused); root's and 0600,
# read by the frontend before it drops to its user
[ -s "$H/config/intent.key" ] || ( umask 077 && openssl rand -hex 32 > "$H/config/intent.key.new" &&
	mv "$H/config/intent.key.new" "$H/config/intent.key" ) || die "cannot make $H/config/intent.key"
if [ ! -f "$H/demo-credentials.json" ]; then
	umask 077
	echo '{"accounts": [' > "$H/demo-credentials.json.new"
	sep=""
	for acct in demo-requester:requester demo-admin1:admin demo-admin2:admin demo-auditor:auditor; do
		name=${acct%%:*} role=${acct#*:}
		head -c 18 /dev/urandom | base64 | tr '+/' '-_' > "$H/config/$name.pw"
		# an account a run cut short made already gets this password (--replace): the file lists what works
		"$FRONTEND" create-account --conninfo "$FE_DB" --intent-key-file "$H/config/intent.key" --name "$name" --role "$role" --password-file "$H/config/$name.pw" \
			>> "$H/log/accounts.log" 2>&1 ||
			"$FRONTEND" create-account --conninfo "$FE_DB" --intent-key-file "$H/config/intent.key" --name "$name" --role "$role" --password-file "$H/config/$name.pw" --replace \
			>> "$H/log/accounts.log" 2>&1 || die "creating $name failed (see $H/log/accounts.log)"
		printf '%s  {"name": "%s", "password": "%s", "role": "%s"}' "$sep" "$name" "$(cat "$H/config/$name.pw")" "$role" \
			>> "$H/demo-credentials.json.new"
		sep=$',\n'
		rm -f "$H/config/$name.pw"
	done
	printf '\n]}\n' >> "$H/demo-credentials.json.new"
	mv "$H/demo-credentials.json.new" "$H/demo-credentials.json"
	umask 022
fi
cat > "$H/config/profiles.conf.gen" <<EOC
[profile server]
issuer = hsmca-intermediate
issuer_cert = $H/ca/intermediate.pem
key_types = p256, p384, rsa2048, rsa3072, rsa4096
dns_suffixes = .example.com, .internal, localhost
ip_ranges = 10.0.0.0/8, 127.0.0.0/8, 192.168.0.0/16, fd00::/8
max_sans = 20
max_validity_days = 90
key_usage = digitalSignature, keyEncipherment
eku = serverAuth
accounts = demo-requester, demo-admin1, demo-admin2
crl_url = http://127.0.0.1:$PORT/crl/intermediate.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp

[profile client]
issuer = hsmca-intermediate
issuer_cert = $H/ca/intermediate.pem
key_types = p256, p384, rsa2048
dns_suffixes = .example.com, .internal
max_sans = 5
max_validity_days = 30
key_usage = digitalSignature
eku = clientAuth
accounts = demo-requester, demo-admin1, demo-admin2
crl_url = http://127.0.0.1:$PORT/crl/intermediate.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp

# a request under this one waits for a second person (an administrator) to approve it
[profile gated]
issuer = hsmca-intermediate
issuer_cert = $H/ca/intermediate.pem
key_types = p256, rsa2048
dns_suffixes = .example.com, .internal
max_sans = 5
max_validity_days = 90
key_usage = digitalSignature, keyEncipherment
eku = serverAuth
accounts = demo-requester, demo-admin1, demo-admin2
needs_approval = yes
crl_url = http://127.0.0.1:$PORT/crl/intermediate.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp

# administrators' login certificates: mutual TLS on the HTTPS port instead of a password
[profile operator]
issuer = hsmca-intermediate
issuer_cert = $H/ca/intermediate.pem
key_types = p256
dns_suffixes = .operators.internal
max_sans = 1
max_validity_days = 30
key_usage = digitalSignature
eku = clientAuth
accounts = demo-admin1, demo-admin2
login = yes
crl_url = http://127.0.0.1:$PORT/crl/intermediate.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp
EOC
conf_install profiles.conf 644
# every profile within the pins of its signer key (names, EKUs, key usage, validity): else its requests would
# end in the signer's refusal, one 502 at a time
PC_OUT=$("$SIGNER" check-config -c "$H/config/signer.conf" --profiles "$H/config/profiles.conf" 2>&1) \
	|| die "hsmca-signer check-config --profiles failed: $PC_OUT"
say "profiles: within the signer's pinned keys ($(tail -1 <<<"$PC_OUT"))"
# The frontend starts as root, binds, reads its files and drops to $FRONTEND_USER itself (config `user`;
# initgroups gives it the signer's group). Its HTTPS certificate comes from this CA through the normal
# issuance path (so it is on the audit log): first run on plain HTTP, the demo requester asks for a
# localhost/127.0.0.1 certificate under the `server` profile, then a restart adds tls_listen.
FE_KEY=$H/tls/frontend.key
FE_CERT=$H/tls/frontend.pem # the leaf, then the issuing CA
fe_tls_ok() { # a certificate for the current key, from this CA, valid for 30 more days
	[ -s "$FE_CERT" ] && [ -s "$FE_KEY" ] || return 1
	openssl x509 -in "$FE_CERT" -noout -checkend $((30 * 86400)) >/dev/null 2>&1 || return 1
	openssl verify -CAfile "$H/ca/root.pem" -untrusted "$H/ca/intermediate.pem" "$FE_CERT" >/dev/null 2>&1 || return 1
	[ "$(openssl x509 -in "$FE_CERT" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = \
	  "$(openssl pkey -in "$FE_KEY" -pubout -outform DER 2>/dev/null | sha256sum)" ]
}
fe_conf() {
	cat > "$H/config/frontend.conf.gen" <<EOC
[frontend]
listen = 127.0.0.1:$PORT
database = $FE_DB
signer_socket = $H/run/signer.sock
intent_key_file = $H/config/intent.key
profiles = $H/config/profiles.conf
chain = $H/ca/chain.pem
user = $FRONTEND_USER
checkpoint_key = hsmca-checkpoint
checkpoint_cert = $H/ca/checkpoint.pem
checkpoint_anchor_file = $H/state/checkpoint.anchor
EOC
	fe_tls_ok && cat >> "$H/config/frontend.conf.gen" <<EOC
tls_listen = 127.0.0.1:$HTTPS_PORT
tls_cert = $FE_CERT
tls_key = $FE_KEY
client_ca = $H/ca/chain.pem
EOC
	conf_install frontend.conf 644
}
fe_stop() {
	local pid; pid=$(ours frontend) || return 0
	kill "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null || die "frontend (pid $pid) did not stop"
	rm -f "$H/pids/frontend.pid"
}
fe_ensure() { # runs the frontend with the current configuration (restarts it if that changed)
	fe_conf
	running frontend && cmp -s "$H/config/frontend.conf" "$H/config/frontend.conf.running" &&
		cmp -s "$H/config/profiles.conf" "$H/config/profiles.conf.running" && return 0
	fe_stop
	nohup "$FRONTEND" run -c "$H/config/frontend.conf" >> "$H/log/frontend.log" 2>&1 &
	local pid=$! up=
	echo "$pid" > "$H/pids/frontend.pid"
	# up when this process says so and answers (another one on the port, e.g. of another HSMCA_HOME, would
	# answer /healthz while this one exited on bind)
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		grep -q "pid=$pid level=info event=ready " "$H/log/frontend.log" &&
			curl -sS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && up=1 && break
		sleep 0.1
	done
	[ -n "$up" ] || die "frontend did not start (see $H/log/frontend.log)"
	cp "$H/config/frontend.conf" "$H/config/frontend.conf.running"
	cp "$H/config/profiles.conf" "$H/config/profiles.conf.running"
}
fe_issue_tls() { # a fresh P-256 key and its certificate, as the demo requester over plain HTTP
	local pw st
	pw=$(python3 -c 'import json,sys; print([a for a in json.load(open(sys.argv[1]))["accounts"] if a["name"]=="demo-requester"][0]["password"])' \
		"$H/demo-credentials.json") || die "no demo-requester in $H/demo-credentials.json"
	( umask 077 && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$FE_KEY.new" \
		-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -out "$H/tls/frontend.csr" 2>/dev/null ) \
		|| die "cannot make the frontend's key and CSR"
	python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "server"}))' \
		"$H/tls/frontend.csr" > "$H/tls/request.json"
	st=$(printf 'user = "demo-requester:%s"\n' "$pw" | curl -sS -K - -o "$H/tls/response.json" -w '%{http_code}' \
		-H 'Content-Type: application/json' --data-binary @"$H/tls/request.json" "http://127.0.0.1:$PORT/api/v1/certificates") \
		|| die "cannot reach the frontend to issue its certificate"
	[ "$st" = 201 ] || die "issuing the frontend's certificate: HTTP $st $(cat "$H/tls/response.json")"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["certificate"], end="")' "$H/tls/response.json" > "$FE_CERT.new"
	cat "$H/ca/intermediate.pem" >> "$FE_CERT.new"
	chown root:root "$FE_KEY.new" && chmod 600 "$FE_KEY.new"
	mv "$FE_KEY.new" "$FE_KEY" && mv "$FE_CERT.new" "$FE_CERT"
	rm -f "$H/tls/request.json" "$H/tls/response.json"
	fe_tls_ok || die "the issued certificate $FE_CERT does not verify"
	say "frontend TLS: certificate $(openssl x509 -in "$FE_CERT" -noout -serial) for localhost, 127.0.0.1 issued by the demo CA"
}
# the key is root's, 0600, as the intent key is: the frontend reads both before it drops privileges, and
# under hsmca-frontend.service (root without CAP_DAC_OVERRIDE) a key owned by its user could not be read
# (an earlier quickstart made it hsmca-frontend's)
[ ! -f "$FE_KEY" ] || { chown root:root "$FE_KEY" && chmod 600 "$FE_KEY"; } || die "cannot restrict $FE_KEY"
fe_ensure
if ! fe_tls_ok; then
	fe_issue_tls
	fe_ensure
fi
# healthy: serving HTTPS, and its signer answers (a frontend kept running while the signer was started again
# sees it at its next probe, within a second or two)
for _ in $(seq 50); do
	hz=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$H/ca/chain.pem" "https://127.0.0.1:$HTTPS_PORT/healthz" 2>/dev/null) || true
	[ "$hz" = 200 ] && break
	sleep 0.2
done
[ "$hz" != 503 ] || die "the frontend says its signer is unavailable (see $H/log/frontend.log and $H/log/signer.log)"
[ "$hz" = 200 ] || die "the frontend does not serve HTTPS on 127.0.0.1:$HTTPS_PORT (see $H/log/frontend.log)"

# a home from before the dedicated key has checkpoints of the issuing CA's key too: audit-verify needs both
OLD_CKPT=""
n=$(pg_psql "$H/pg" owner -c "select count(*) from audit_checkpoints where key_label = 'hsmca-intermediate'" 2>/dev/null || echo 0)
if [ "${n:-0}" -gt 0 ] 2>/dev/null; then
	OLD_CKPT=" \\
                        --checkpoint-cert hsmca-intermediate=$H/ca/intermediate.pem (the checkpoints made before it)"
fi
cat <<EOT

hsmca is running (HSMCA_HOME=$H)
  CA certificates     $H/ca/root.pem, $H/ca/intermediate.pem, $H/ca/chain.pem, OCSP responder $H/ca/ocsp.pem,
                      audit checkpoints $H/ca/checkpoint.pem
  custodians' shares  $H/custodians/*.share (demo passphrases beside them: *.pass; transcript and audit.pem there too)
  ceremony records    $H/ca/*.pem.transcript (+ .sig; check: $CEREMONY verify --transcript F --pubkey $H/custodians/audit.pem)
  signer              pid $(cat "$H/pids/signer.pid"), socket $H/run/signer.sock, log $H/log/signer.log
  token               SoftHSM2 '$TOKEN' behind p11-kit server (pid $(cat "$H/pids/p11kit.pid")) as $HSM_USER
  HTTP frontend       http://127.0.0.1:$PORT (pid $(cat "$H/pids/frontend.pid"), as $FRONTEND_USER, log $H/log/frontend.log)
  HTTPS frontend      https://localhost:$HTTPS_PORT  (curl --cacert $H/ca/chain.pem https://127.0.0.1:$HTTPS_PORT/healthz)
                        certificate $FE_CERT (issued by this CA), client certificates under it accepted
  demo accounts       $H/demo-credentials.json (a requester, two administrators, an auditor)
  audit log           the HSM signs its head every 60 s; check: $FRONTEND audit-verify -c $H/config/frontend.conf \\
                        --checkpoint-cert hsmca-checkpoint=$H/ca/checkpoint.pem (a key of its own, issued by the root)$OLD_CKPT \\
                        --anchor $H/state/checkpoint.anchor (the newest checkpoint signed, kept outside the database)
  PostgreSQL          private cluster in $H/pg (socket $H/pg/sock), profiles $H/config/profiles.conf
  try it              openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem \\
                        -subj /CN=x -addext subjectAltName=DNS:www.example.com -out r.csr
                      python3 -c 'import json; print(json.dumps({"csr": open("r.csr").read(), "profile": "server"}))' |
                        curl -u demo-requester:PASSWORD --data-binary @- http://127.0.0.1:$PORT/api/v1/certificates
                        (PASSWORD: demo-requester's in demo-credentials.json; the reply's "certificate" is the PEM)
Stop: $STOP_CMD
EOT
