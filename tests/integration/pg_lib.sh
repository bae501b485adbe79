# pg_lib.sh: a private PostgreSQL 15 cluster for the tests and quickstart. Source it (bash); it defines
# functions only (no traps, no `set` changes), each returning non-zero with a message on stderr on failure.
#
#   pg_start DIR [PORT]    initdb DIR/data (once; owned by the postgres OS user), then start the server on a
#                          Unix socket in DIR/sock only (listen_addresses=''), wait until it accepts
#                          connections and create the database `hsmca` (owned by the superuser `postgres`).
#                          Idempotent: an existing cluster is reused, a running one is left running.
#   pg_stop DIR            pg_ctl stop -m fast (no-op if it is not running).
#   pg_conninfo DIR [ROLE] prints the libpq conninfo of the hsmca database for ROLE: `owner` (default, the
#                          superuser postgres, who runs the migrations) or `frontend` (the role hsmca_frontend
#                          that schema/001_init.sql creates), or any other role name.
#   pg_psql DIR [ROLE] ARGS...  runs psql against hsmca as ROLE (-X -v ON_ERROR_STOP=1 -qAt).
#
# Authentication: only `local` (Unix socket) connections (no TCP listener at all). By default pg_hba.conf
# allows them with `trust`: anybody who can reach the socket can connect as any role, the superuser included,
# which is for tests only. With PG_IDENT set (lines "OS_USER ROLE") it is `peer` with the map `hsmca` in
# pg_ident.conf: those lines, and the postgres OS user as postgres; a local user connects as the roles listed
# for it and no other (quickstart: root as the owner and the frontend's role, the frontend's OS user as
# hsmca_frontend only, so neither it nor any other local user is the superuser). Both files are written at
# every pg_start (a running server reloads them). The socket directory DIR/sock is mode 0750 owner postgres,
# group PG_SOCK_GROUP (default postgres); root (tests, quickstart) reaches it anyway. Add a user to that group,
# or set PG_SOCK_MODE=0755, to let an unprivileged frontend connect.
#
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin), PG_OS_USER (default postgres), PG_SOCK_GROUP,
# PG_SOCK_MODE, PG_IDENT, PG_EXTRA_CONF (extra postgresql.conf lines, e.g. "fsync = off" for throwaway clusters).
# Tests run as root; DIR's parents must be traversable by the postgres user.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_OS_USER=${PG_OS_USER:-postgres}
PG_DB=hsmca
PG_DEFAULT_PORT=5432
PG_SOCKET_PATH_MAX=87 # the socket is DIR/sock/.s.PGSQL.NNNNN (20 more) in sun_path's 107 bytes and its NUL

pg__as() { # run a command as the postgres OS user (we may already be that user)
	# (from /: initdb and pg_ctl go back to the directory they started in, which postgres may not reach, e.g.
	# a clone under /root: "could not change directory", on every call)
	if [ "$(id -un)" = "$PG_OS_USER" ]; then "$@"; else (cd / && runuser -u "$PG_OS_USER" -- "$@"); fi
}

pg__err() { echo "pg_lib: $*" >&2; return 1; }

pg__port() { # DIR: the port recorded at pg_start
	cat "$1/port" 2>/dev/null || echo "$PG_DEFAULT_PORT"
}

pg__initdb() { # DIR
	local d=$1
	[ -f "$d/data/PG_VERSION" ] && return 0
	install -d -m 0700 -o "$PG_OS_USER" -g "$(id -gn "$PG_OS_USER")" "$d/data" || return 1
	pg__as "$PG_BIN/initdb" -D "$d/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-instructions \
		> "$d/initdb.log" 2>&1 || { tail -n 20 "$d/initdb.log" >&2; pg__err "initdb failed in $d/data"; }
	echo "include_if_exists = 'hsmca.conf'" >> "$d/data/postgresql.conf"
}

pg__write_auth() { # DIR: pg_hba.conf and pg_ident.conf (see the header)
	local d=$1
	if [ -n "${PG_IDENT:-}" ]; then
		printf '%s\n' "# pg_lib.sh: Unix socket only, the peer's OS user mapped (pg_ident.conf)" \
			"local all all peer map=hsmca" > "$d/data/pg_hba.conf" || return 1
		{
			echo "# written by pg_lib.sh at every pg_start: OS user -> the roles it may connect as"
			echo "hsmca $PG_OS_USER postgres"
			printf '%s\n' "$PG_IDENT" | sed '/^[[:space:]]*$/d; s/^/hsmca /'
		} > "$d/data/pg_ident.conf" || return 1
	else
		printf '%s\n' "# pg_lib.sh: Unix socket only, trust (tests)" "local all all trust" > "$d/data/pg_hba.conf" \
			&& : > "$d/data/pg_ident.conf" || return 1
	fi
	chown "$PG_OS_USER" "$d/data/pg_hba.conf" "$d/data/pg_ident.conf" && chmod 0600 "$d/data/pg_hba.conf" "$d/data/pg_ident.conf"
}

pg__write_conf() { # DIR PORT
	local d=$1 port=$2
	{
		echo "# written by pg_lib.sh at every pg_start"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$d/sock'"
		echo "unix_socket_permissions = 0777"
		echo "port = $port"
		echo "max_connections = 100"
		echo "log_min_messages = warning"
		echo "log_line_prefix = '%m [%p] %u@%d '"
		[ -n "${PG_EXTRA_CONF:-}" ] && printf '%s\n' "$PG_EXTRA_CONF"
	} > "$d/data/hsmca.conf" && chown "$PG_OS_USER" "$d/data/hsmca.conf" 2>/dev/null
	[ -f "$d/data/hsmca.conf" ]
}

pg_start() { # DIR [PORT]
	local d port i
	[ -n "${1:-}" ] || { pg__err "usage: pg_start DIR [PORT]"; return 1; }
	mkdir -p "$1" && d=$(cd "$1" && pwd) || return 1
	port=${2:-$PG_DEFAULT_PORT}
	case $port in '' | *[!0-9]*) pg__err "bad port '$port'"; return 1 ;; esac
	[ ${#d} -le $PG_SOCKET_PATH_MAX ] || { pg__err "path too long for a Unix socket: $d"; return 1; }
	chmod 0755 "$d" || return 1
	install -d -m "${PG_SOCK_MODE:-0750}" -o "$PG_OS_USER" -g "${PG_SOCK_GROUP:-$PG_OS_USER}" "$d/sock" || return 1
	pg__initdb "$d" || return 1
	pg__write_auth "$d" || { pg__err "cannot write $d/data/pg_hba.conf"; return 1; }
	if pg__as "$PG_BIN/pg_ctl" -D "$d/data" status > /dev/null 2>&1; then
		[ "$(pg__port "$d")" = "$port" ] || { pg__err "already running in $d on port $(pg__port "$d")"; return 1; }
		pg__as "$PG_BIN/pg_ctl" -D "$d/data" reload > /dev/null || { pg__err "pg_ctl reload failed in $d"; return 1; }
	else
		pg__write_conf "$d" "$port" || { pg__err "cannot write $d/data/hsmca.conf"; return 1; }
		echo "$port" > "$d/port"
		touch "$d/postgres.log" && chown "$PG_OS_USER" "$d/postgres.log" || return 1
		pg__as "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/postgres.log" -w -t 60 start > /dev/null \
			|| { tail -n 20 "$d/postgres.log" >&2; pg__err "the server in $d did not start"; return 1; }
	fi
	for i in $(seq 1 100); do
		pg__as "$PG_BIN/pg_isready" -q -h "$d/sock" -p "$port" -d postgres && break
		[ "$i" = 100 ] && { pg__err "the server in $d does not accept connections"; return 1; }
		sleep 0.1
	done
	if [ "$(pg__as "$PG_BIN/psql" -X -qAt -h "$d/sock" -p "$port" -U postgres -d postgres \
		-c "SELECT count(*) FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
		pg__as "$PG_BIN/createdb" -h "$d/sock" -p "$port" -U postgres -O postgres -E UTF8 -T template0 "$PG_DB" \
			|| { pg__err "createdb $PG_DB failed"; return 1; }
	fi
}

pg_stop() { # DIR
	local d=${1:?usage: pg_stop DIR}
	[ -f "$d/data/PG_VERSION" ] || return 0
	if pg__as "$PG_BIN/pg_ctl" -D "$d/data" status > /dev/null 2>&1; then
		pg__as "$PG_BIN/pg_ctl" -D "$d/data" -m fast -w -t 60 stop > /dev/null || { pg__err "pg_ctl stop failed in $d"; return 1; }
	fi
}

pg_conninfo() { # DIR [owner|frontend|ROLE]
	local d=${1:?usage: pg_conninfo DIR [ROLE]} role=${2:-owner} user
	case $role in
	owner) user=postgres ;;
	frontend) user=hsmca_frontend ;;
	*) user=$role ;;
	esac
	echo "host=$(cd "$d" && pwd)/sock port=$(pg__port "$d") dbname=$PG_DB user=$user"
}

# revoke_sql SERIAL [REASON]: SQL that revokes an issued certificate as db_cert_revoke does: its status and its
# revocations row in one statement (schema 016 refuses a transaction that leaves one without the other), with
# its audit row (actor "test": schema 023 refuses a revocation without one in the same transaction); the
# reason keyCompromise unless given
revoke_sql() {
	echo "WITH c AS (UPDATE certificates SET status = 'revoked' WHERE serial_hex = '$1' RETURNING serial_hex, issuer),
		r AS (INSERT INTO revocations (serial_hex, issuer, reason, revoked_by) SELECT serial_hex, issuer, '${2:-keyCompromise}', 'test' FROM c RETURNING serial_hex)
		INSERT INTO audit_log (actor, action, object, details) SELECT 'test', 'certificate.revoked', serial_hex, '{}' FROM r"
}
pg_psql() { # DIR [ROLE] ARGS...: ROLE as in pg_conninfo; omit it when the first argument starts with "-"
	local d=${1:?usage: pg_psql DIR [ROLE] ARGS...} role=owner
	shift
	case ${1:-} in -* | '') ;; *) role=$1; shift ;; esac
	"$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -qAt "$(pg_conninfo "$d" "$role")" "$@"
}
