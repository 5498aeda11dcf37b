#!/bin/bash
# A real NFS server for the tests: nfs-ganesha (VFS FSAL) + rpcbind on
# loopback, NFSv3 on fixed ports so libnfs can skip the portmapper.
#
#   nfs-server.sh start|stop|restart|kill9 STATE_DIR
#   nfs-server.sh freeze|thaw STATE_DIR   (SIGSTOP/SIGCONT: a hung server;
#                  each returns once every thread of ganesha is stopped,
#                  or none is, and fails after 10 s otherwise)
#
# STATE_DIR/export  is exported as /export  (no root squash)
# STATE_DIR/squash  is exported as /squash  (root squashed)
# both over NFSv3 and NFSv4.1/4.2 (the v4 path is the Pseudo path, as
# the v3 mount path is with mount_path_pseudo)
# NFS_BIND=ADDR sets ganesha's Bind_addr (the host default is 127.0.0.1;
# leave it empty inside a VM guest where it fails).
# NFS_MAX_CONNECTIONS=N sets RPC_Max_Connections (ganesha's default 1024:
# bench/many-devices.sh asks for more).
# NFS_GRACE=S gives clients a grace period of S seconds after a start to
# reclaim their NFSv4 state (default: none, Graceless, so that a restart
# costs the tests no wait; test_share restart_grace asks for one).
set -eu

cmd=${1:?usage: nfs-server.sh start|stop|restart|kill9 STATE_DIR}
state=${2:?usage: nfs-server.sh start|stop|restart|kill9 STATE_DIR}
bind=${NFS_BIND-127.0.0.1}
mkdir -p "$state"
state=$(cd "$state" && pwd)
pidfile=$state/ganesha.pid

die() { echo "nfs-server.sh: $*" >&2; exit 1; }

write_conf() {
	local bind_line=""
	[ -n "$bind" ] && bind_line="Bind_addr = $bind;"
	local grace_line="Graceless = true;"
	[ -n "${NFS_GRACE:-}" ] &&
		grace_line="Graceless = false; Grace_Period = $NFS_GRACE;"
	mkdir -p "$state/export" "$state/squash" "$state/recovery" "$state/krb5"
	# squashed root and test users both create files in squash/
	chmod 1777 "$state/squash"
	cat >"$state/ganesha.conf" <<CONF
NFS_CORE_PARAM {
	mount_path_pseudo = true;
	Protocols = 3, 4;
	NFS_Port = 2049;
	MNT_Port = 20048;
	Enable_NLM = false;
	Enable_RQUOTA = false;
	Enable_UDP = false;
	RPC_Max_Connections = ${NFS_MAX_CONNECTIONS:-1024};
	$bind_line
}
NFSv4 {
	$grace_line RecoveryBackend = fs;
	RecoveryRoot = "$state/recovery";
	Minor_Versions = 1, 2;
	# short, so that test_v4 idle_renew proves the lease renewed
	Lease_Lifetime = 10;
}
NFS_KRB5 { Active_krb5 = false; CCacheDir = "$state/krb5"; }
EXPORT {
	Export_Id = 1; Path = "$state/export"; Pseudo = /export;
	Access_Type = RW; Squash = No_Root_Squash; SecType = sys;
	Transports = TCP; Protocols = 3, 4;
	FSAL { Name = VFS; }
}
EXPORT {
	Export_Id = 2; Path = "$state/squash"; Pseudo = /squash;
	Access_Type = RW; Squash = Root_Squash; SecType = sys;
	Transports = TCP; Protocols = 3, 4;
	FSAL { Name = VFS; }
}
CONF
}

listening() { ss -Hltn 2>/dev/null | grep -q ':2049 '; }

# Drop the descriptors above 2 this script inherited, before a daemon is
# exec'd: a lock held by the caller (flock /tmp/nfs-test.lock ...) must
# not stay held by an rpcbind that outlives it.
close_fds() {
	local fd
	for fd in /proc/"$BASHPID"/fd/*; do
		fd=${fd##*/}
		if [ "$fd" -gt 2 ]; then
			eval "exec $fd>&-"
		fi
	done
}

start_rpcbind() {
	# ganesha registers NFSv3 with rpcbind at start and exits without it.
	if ! rpcinfo -p 127.0.0.1 >/dev/null 2>&1; then
		mkdir -p /run/rpcbind
		(close_fds; exec rpcbind -w 2>/dev/null) ||
			(close_fds; exec rpcbind)
		for _ in $(seq 50); do
			rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && return 0
			sleep 0.1
		done
		die "rpcbind did not come up"
	fi
}

start() {
	if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		die "ganesha already running (pid $(cat "$pidfile"))"
	fi
	listening && die "port 2049 is already in use by another server"
	write_conf
	start_rpcbind
	(close_fds; exec ganesha.nfsd -F -f "$state/ganesha.conf" \
		-L "$state/ganesha.log" -p "$pidfile" -N NIV_EVENT) \
		</dev/null >>"$state/ganesha.out" 2>&1 &
	echo $! >"$pidfile"
	for _ in $(seq 200); do
		listening && return 0
		kill -0 "$(cat "$pidfile")" 2>/dev/null ||
			die "ganesha exited at start; see $state/ganesha.log"
		sleep 0.05
	done
	die "ganesha not listening on 2049 after 10 s; see $state/ganesha.log"
}

stop() {
	local sig=${1:-TERM} pid
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill -"$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	for _ in $(seq 100); do
		listening || break
		sleep 0.05
	done
	rm -f "$pidfile"
}

# Are all threads of ganesha stopped (want=T), or none (want=run)?
# Sets $pending to the others as " TID:STATE ...".  kill -STOP and
# kill -CONT return before the signal has reached every thread.
threads_are() {
	local want=$1 pid=$2 f line st n=0
	pending=""
	for f in /proc/"$pid"/task/*/stat; do
		# a thread that exited meanwhile cannot answer either
		read -r line 2>/dev/null <"$f" || continue
		n=$((n + 1))
		# "TID (comm) S ...": comm may hold spaces and ')'
		st=${line##*) }
		st=${st%% *}
		case $want:$st in
		T:T | run:[!T]) ;;
		*) pending="$pending ${line%% *}:$st" ;;
		esac
	done
	[ "$n" -gt 0 ] && [ -z "$pending" ]
}

signal_and_wait() {
	local sig=$1 want=$2 what=$3 pid
	[ -f "$pidfile" ] || die "$cmd: ganesha is not running (no $pidfile)"
	pid=$(cat "$pidfile")
	kill -"$sig" "$pid" 2>/dev/null ||
		die "$cmd: ganesha (pid $pid) is not running"
	# normally a few ms; bounded at 10 s
	for _ in $(seq 1000); do
		threads_are "$want" "$pid" && return 0
		[ -d /proc/"$pid" ] || die "$cmd: ganesha (pid $pid) exited"
		sleep 0.01
	done
	die "$cmd: ganesha (pid $pid) threads not $what after 10 s" \
	    "(tid:state):$pending"
}

case $cmd in
start) start ;;
stop) stop TERM ;;
kill9) stop KILL ;;
restart) stop TERM; start ;;
freeze) signal_and_wait STOP T stopped ;;
thaw) signal_and_wait CONT run running ;;
*) die "unknown command $cmd" ;;
esac
