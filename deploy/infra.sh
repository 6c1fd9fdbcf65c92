#!/usr/bin/env bash
# Local infrastructure for the backoffice services: PostgreSQL, Apache Kafka (KRaft), SMTP sink,
# S3Proxy (object storage), Keycloak (the OpenID Connect identity provider of the console and the services).
#
#   deploy/infra.sh {start|stop|restart|status|kill} [postgres|kafka|smtp|s3|keycloak|all]   (default: all)
#   deploy/infra.sh crash-restart postgres      (pg_ctl restart -m immediate: connections cut, crash recovery)
#
# Profile/ports come from deploy/env.sh (BACKOFFICE_PROFILE=run|test, BACKOFFICE_PORT_BASE...).
# Everything (data, logs, pids) lives in $BACKOFFICE_STATE_DIR = .state/<profile>.
# Idempotent; non-interactive; exits non-zero with the tail of the relevant log on failure.
# `status` exits 0 when every selected component is up, 3 otherwise.
set -Eeuo pipefail

# shellcheck source=deploy/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

ROOT=$BACKOFFICE_ROOT
STATE=$BACKOFFICE_STATE_DIR
DEPLOY=$ROOT/deploy
PY=$BACKOFFICE_PYTHON
KAFKA_LIBS=${BACKOFFICE_KAFKA_LIBS:-$ROOT/.state/kafka-libs}
KAFKA_VERSION=${BACKOFFICE_KAFKA_VERSION:-4.1.1}
KAFKA_FALLBACK_VERSION=${BACKOFFICE_KAFKA_FALLBACK_VERSION:-4.0.1}
PG_DBS=(requests approvals notifications contracts insights budgets checklists console common_test)

say()  { printf '[infra %s] %s\n' "$BACKOFFICE_PROFILE" "$*"; }
die()  { printf '[infra %s] ERROR: %s\n' "$BACKOFFICE_PROFILE" "$*" >&2; exit 1; }
# die_log <logfile> <message>: print the message and the tail of the log, then fail.
# Extra logs can be given as DIE_LOG_EXTRA="file1 file2" (their last 20 lines are shown too).
die_log() {
    local logf=$1 f; shift
    printf '[infra %s] ERROR: %s\n' "$BACKOFFICE_PROFILE" "$*" >&2
    if [ -f "$logf" ]; then
        printf -- '----- last 40 lines of %s -----\n' "$logf" >&2
        tail -n 40 "$logf" >&2 || true
    fi
    for f in ${DIE_LOG_EXTRA:-}; do
        [ -s "$f" ] || continue
        printf -- '----- last 20 lines of %s -----\n' "$f" >&2
        tail -n 20 "$f" >&2 || true
    done
    printf -- '-----\n[infra %s] ERROR: %s\n' "$BACKOFFICE_PROFILE" "$*" >&2
    exit 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# pid_alive <pid> [text]: the process runs (kill -0 alone also succeeds for a process killed but not
# yet reaped, a zombie, which is what `kill -9` leaves behind until its parent reaps it) and, when
# text is given, its command line contains text (the pid was not reused by another program).
pid_alive() {
    local pid=${1:-} state
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
    case "$state" in Z|X|x|'') return 1 ;; esac
    [ -z "${2:-}" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}
read_pid()  { [ -f "$1" ] && tr -dc 0-9 <"$1" || true; }
# wait_port <port> <seconds> [pid]: wait for a listener; fail early if pid dies
wait_port() {
    local port=$1 secs=$2 pid=${3:-} i
    for ((i = 0; i < secs * 5; i++)); do
        port_open "$port" && return 0
        if [ -n "$pid" ] && ! pid_alive "$pid"; then return 2; fi
        sleep 0.2
    done
    return 1
}
# stop_pid <pidfile> <name> [grace seconds]: SIGTERM, wait, SIGKILL
stop_pid() {
    local pidf=$1 name=$2 grace=${3:-30} pid i
    pid=$(read_pid "$pidf")
    if ! pid_alive "$pid"; then rm -f "$pidf"; say "$name: not running"; return 0; fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        pid_alive "$pid" || break
        sleep 0.1
    done
    if pid_alive "$pid"; then
        say "$name: still alive after ${grace}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do pid_alive "$pid" || break; sleep 0.1; done
    fi
    rm -f "$pidf"
    say "$name: stopped"
}
need_python() {
    [ -n "$PY" ] && "$PY" -c 'import aiokafka, aiosmtpd' 2>/dev/null \
        || die "python with aiokafka+aiosmtpd needed (BACKOFFICE_PYTHON=$PY); create the venv first (.venv)"
}

mkdir -p "$STATE"

# ---------------------------------------------------------------- PostgreSQL
PG_DIR=$STATE/pg
PG_DATA=$PG_DIR/data
PG_LOG=$PG_DIR/postgres.log
PG_SOCK=$PG_DIR/run
# unix socket path is limited to 107 bytes: fall back to a short per-state dir in /tmp
if [ $(( ${#PG_SOCK} + 20 )) -gt 100 ]; then
    PG_SOCK=/tmp/backoffice-pg-$(printf '%s' "$STATE" | cksum | cut -d' ' -f1)
fi

pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_install() {
    [ -n "$(pg_bindir)" ] && return 0
    [ "$(id -u)" = 0 ] || die "PostgreSQL server binaries not found and not root: apt-get install postgresql"
    say "postgres: installing Debian package postgresql (one-off)"
    (
        exec 9>/var/lock/backoffice-apt.lock
        flock -w 900 9
        if [ -z "$(pg_bindir)" ]; then
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -q >"$STATE/apt.log" 2>&1 &&
            apt-get install -y -q -o DPkg::Lock::Timeout=600 postgresql >>"$STATE/apt.log" 2>&1
        fi
    ) || die_log "$STATE/apt.log" "apt-get install postgresql failed"
    [ -n "$(pg_bindir)" ] || die_log "$STATE/apt.log" "postgresql installed but no initdb found"
}
# make every ancestor of the pg dir traversable by the postgres user
pg_fix_traversal() {
    [ "$(id -u)" = 0 ] || return 0
    local d=$PG_DIR
    while [ "$d" != / ]; do
        d=$(dirname "$d")
        if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
            say "postgres: adding o+x to $d so the postgres user can reach its data dir"
            chmod o+x "$d"
        fi
    done
}
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$BACKOFFICE_PG_PORT" -t 2 >/dev/null 2>&1; }
pg_running() { [ -f "$PG_DATA/postmaster.pid" ] && pid_alive "$(head -n 1 "$PG_DATA/postmaster.pid" | tr -dc 0-9)"; }
pg_psql() { psql -X -q -h 127.0.0.1 -p "$BACKOFFICE_PG_PORT" -U backoffice -v ON_ERROR_STOP=1 "$@"; }

pg_write_conf() {
    local f=$PG_DATA/backoffice.conf
    {
        echo "# generated by deploy/infra.sh on every start; edit deploy/local.env instead"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $BACKOFFICE_PG_PORT"
        echo "unix_socket_directories = '$PG_SOCK'"
        echo "max_connections = ${BACKOFFICE_PG_MAX_CONNECTIONS:-300}"
        echo "shared_buffers = 128MB"
        echo "logging_collector = off"
        echo "log_min_messages = warning"
        echo "log_line_prefix = '%m [%p] %q%u@%d '"
        echo "timezone = 'UTC'"
        echo "# idle CPU (docs/performance.md, fourth round): the launcher forks a worker for each database"
        echo "# once per naptime; with every service's and the tests' databases that was a fork every 3-6 s."
        echo "# Thresholds unchanged: a table that needs vacuuming waits up to 5 min instead of 1."
        echo "autovacuum_naptime = 5min"
        if [ -n "${BACKOFFICE_PG_STAT_STATEMENTS:-}" ]; then
            # a measurement only (services/common/bench/pg_census.py): not in the run profile by default
            echo "shared_preload_libraries = 'pg_stat_statements'"
            echo "pg_stat_statements.track = top"
            echo "pg_stat_statements.track_utility = on"
        fi
        if [ "$BACKOFFICE_PROFILE" = test ]; then
            echo "# test profile: durability traded for speed"
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } >"$f"
    grep -q "^include_if_exists = 'backoffice.conf'" "$PG_DATA/postgresql.conf" \
        || echo "include_if_exists = 'backoffice.conf'" >>"$PG_DATA/postgresql.conf"
    [ "$(id -u)" = 0 ] && chown postgres: "$f" "$PG_DATA/postgresql.conf"
    return 0
}

pg_start() {
    pg_install
    local bin; bin=$(pg_bindir)
    mkdir -p "$PG_DIR" "$PG_SOCK"
    if [ "$(id -u)" = 0 ]; then
        pg_fix_traversal
        chown postgres: "$PG_DIR" "$PG_SOCK"
        chmod 700 "$PG_DIR"
    fi
    if pg_running; then
        pg_ready || wait_ready_pg 30 || die_log "$PG_LOG" "postgres: process running but not answering on port $BACKOFFICE_PG_PORT"
        say "postgres: already running on 127.0.0.1:$BACKOFFICE_PG_PORT"
    else
        if port_open "$BACKOFFICE_PG_PORT"; then
            die "postgres: port $BACKOFFICE_PG_PORT is already used by another process (set BACKOFFICE_PORT_BASE)"
        fi
        if [ ! -f "$PG_DATA/PG_VERSION" ]; then
            say "postgres: initdb $PG_DATA ($(basename "$(dirname "$bin")"))"
            rm -rf "$PG_DATA"
            as_pg "$bin/initdb" -D "$PG_DATA" -U backoffice -E UTF8 --locale=C \
                --auth-local=trust --auth-host=trust >"$PG_DIR/initdb.log" 2>&1 \
                || die_log "$PG_DIR/initdb.log" "postgres: initdb failed"
        fi
        pg_write_conf
        touch "$PG_LOG"; [ "$(id -u)" = 0 ] && chown postgres: "$PG_LOG"
        say "postgres: starting on 127.0.0.1:$BACKOFFICE_PG_PORT"
        as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -s start >>"$PG_DIR/pg_ctl.log" 2>&1 \
            || { cat "$PG_DIR/pg_ctl.log" >>"$PG_LOG" 2>/dev/null || true; die_log "$PG_LOG" "postgres: pg_ctl start failed"; }
        wait_ready_pg 30 || die_log "$PG_LOG" "postgres: not ready on port $BACKOFFICE_PG_PORT"
    fi
    local db
    for db in "${PG_DBS[@]}"; do
        if [ "$(pg_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
            pg_psql -d postgres -c "CREATE DATABASE \"$db\"" || die_log "$PG_LOG" "postgres: CREATE DATABASE $db failed"
            say "postgres: created database $db"
        fi
    done
    say "postgres: up  $BACKOFFICE_PG_DSN_BASE/{$(IFS=,; echo "${PG_DBS[*]}")}"
}
wait_ready_pg() {
    local i
    for ((i = 0; i < $1 * 5; i++)); do pg_ready && return 0; sleep 0.2; done
    return 1
}
pg_stop() {
    local bin; bin=$(pg_bindir || true)
    if [ -z "$bin" ] || ! pg_running; then say "postgres: not running"; return 0; fi
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 -s stop >>"$PG_DIR/pg_ctl.log" 2>&1 \
        || die_log "$PG_LOG" "postgres: pg_ctl stop failed"
    say "postgres: stopped"
}
# an immediate restart, as when the database host crashes: backends killed without a checkpoint,
# every client connection cut, crash recovery on start
pg_crash_restart() {
    local bin; bin=$(pg_bindir || true)
    pg_running || die "postgres: not running"
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -m immediate -w -t 60 -s restart >>"$PG_DIR/pg_ctl.log" 2>&1 \
        || die_log "$PG_LOG" "postgres: pg_ctl restart -m immediate failed"
    wait_ready_pg 30 || die_log "$PG_LOG" "postgres: not ready after the immediate restart"
    say "postgres: restarted immediately (crash recovery)"
}
pg_kill() {
    if pg_running; then kill -KILL "$(head -n 1 "$PG_DATA/postmaster.pid" | tr -dc 0-9)" || true; say "postgres: killed"; else say "postgres: not running"; fi
}
pg_status() {
    if pg_ready && pg_running; then echo "up   postgres  127.0.0.1:$BACKOFFICE_PG_PORT"; return 0; fi
    echo "down postgres  127.0.0.1:$BACKOFFICE_PG_PORT"; return 3
}

# ---------------------------------------------------------------- Kafka
K_DIR=$STATE/kafka

kafka_libs() {
    local stamp want
    want=$(cat "$DEPLOY/kafka/pom.xml" | cksum | cut -d' ' -f1)-$KAFKA_VERSION
    stamp=$KAFKA_LIBS/.complete
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    mkdir -p "$(dirname "$KAFKA_LIBS")"
    (
        exec 9>"$KAFKA_LIBS.lock"
        flock -w 900 9 || exit 1
        if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
        command -v mvn >/dev/null || { echo "mvn not found" >"$KAFKA_LIBS.log"; exit 1; }
        local tmp=$KAFKA_LIBS.tmp.$$ v
        : >"$KAFKA_LIBS.log"
        for v in "$KAFKA_VERSION" "$KAFKA_FALLBACK_VERSION"; do
            rm -rf "$tmp"
            echo "[infra] resolving org.apache.kafka:kafka_2.13:$v from Maven Central into $KAFKA_LIBS" >&2
            if mvn -q -B -f "$DEPLOY/kafka/pom.xml" -Dkafka.version="$v" \
                    dependency:copy-dependencies -DoutputDirectory="$tmp" >>"$KAFKA_LIBS.log" 2>&1 \
                && ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1; then
                rm -rf "$KAFKA_LIBS"
                mv "$tmp" "$KAFKA_LIBS"
                echo "$want" >"$stamp"
                echo "$v" >"$KAFKA_LIBS/.kafka-version"
                exit 0
            fi
            echo "[infra] kafka $v could not be resolved" >&2
        done
        rm -rf "$tmp"
        exit 1
    ) || die_log "$KAFKA_LIBS.log" "kafka: could not download the Kafka jars with Maven"
}

# kafka_node_vars <n>: set K_NODE_DIR, K_PORT, K_CPORT, K_NODE_ID, K_VOTERS for node n (0 = single)
kafka_node_vars() {
    local n=$1
    if [ "$n" = 0 ]; then
        K_NODE_ID=1; K_NODE_DIR=$K_DIR
        K_PORT=$BACKOFFICE_KAFKA_PORT; K_CPORT=$BACKOFFICE_KAFKA_CONTROLLER_PORT
        K_VOTERS="1@127.0.0.1:$K_CPORT"
    else
        local b=$BACKOFFICE_KAFKA_MULTI_PORT_BASE
        K_NODE_ID=$n; K_NODE_DIR=$STATE/kafka-cluster/node$n
        K_PORT=$((b + n - 1)); K_CPORT=$((b + 2 + n))
        K_VOTERS="1@127.0.0.1:$((b + 3)),2@127.0.0.1:$((b + 4)),3@127.0.0.1:$((b + 5))"
    fi
}
kafka_cid_file() { if [ "$BACKOFFICE_KAFKA_NODES" = 3 ]; then echo "$STATE/kafka-cluster/cluster.id"; else echo "$K_DIR/cluster.id"; fi; }
kafka_nodes() { if [ "$BACKOFFICE_KAFKA_NODES" = 3 ]; then echo 1 2 3; else echo 0; fi; }

kafka_secured() { [ "$BACKOFFICE_KAFKA_SECURITY" = scram ]; }
kafka_security_py() { BACKOFFICE_KAFKA_LIBS=$KAFKA_LIBS "$PY" "$DEPLOY/kafka/local_security.py" "$@"; }

# The listeners: plaintext, or (BACKOFFICE_KAFKA_SECURITY=scram) SASL_SSL with SCRAM-SHA-512 for clients
# and between brokers, and the StandardAuthorizer with ACLs (deploy/kafka/local_security.py). The
# controller listener stays plaintext on loopback; its principal (ANONYMOUS) is a super user, as the
# brokers of a combined-mode node reach the controllers through it.
kafka_listener_conf() {
    if ! kafka_secured; then
        cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$K_PORT,CONTROLLER://127.0.0.1:$K_CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$K_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
PROPS
        return
    fi
    cat <<PROPS
listeners=SASL_SSL://127.0.0.1:$K_PORT,CONTROLLER://127.0.0.1:$K_CPORT
advertised.listeners=SASL_SSL://127.0.0.1:$K_PORT
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(kafka_security_py password admin)";
ssl.keystore.type=PEM
ssl.keystore.location=$BACKOFFICE_KAFKA_TLS_DIR/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$BACKOFFICE_KAFKA_TLS_DIR/ca.pem
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
PROPS
}

kafka_write_conf() {
    local rf=1 isr=1
    if [ "$BACKOFFICE_KAFKA_NODES" = 3 ]; then rf=3; isr=2; fi
    mkdir -p "$K_NODE_DIR/data"
    cat >"$K_NODE_DIR/server.properties" <<PROPS
# generated by deploy/infra.sh on every start
node.id=$K_NODE_ID
process.roles=broker,controller
$(kafka_listener_conf)
controller.listener.names=CONTROLLER
controller.quorum.voters=$K_VOTERS
log.dirs=$K_NODE_DIR/data
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
# fast recovery after "infra.sh kill kafka": the old broker session expires in 3s, not 9s
# (a heartbeat a second still leaves three per session; docs/performance.md, idle)
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=3000
auto.create.topics.enable=false
delete.topic.enable=true
# idle CPU on a 2-core machine (docs/performance.md): few threads (each idle request handler and
# network thread wakes every 300 ms), the controller's no-op metadata record every 5 s instead of
# every 0.5 s, followers' empty fetches held 2 s (3-broker mode)
num.network.threads=1
num.io.threads=1
metadata.max.idle.interval.ms=5000
replica.fetch.wait.max.ms=2000
# idle wake-ups (docs/performance.md, sixth round): one group coordinator thread instead of four (each
# idle one polls its queue every 300 ms), and its writes (offset commits, joins) appended at once
# instead of after a 5-ms linger timer (the services commit every 2 s at most: nothing to batch)
group.coordinator.threads=1
group.coordinator.append.linger.ms=0
log.retention.hours=168
log.segment.bytes=67108864
PROPS
    # extra settings, one key=value per word, after the above so they win (Java's Properties: last one wins)
    if [ -n "${BACKOFFICE_KAFKA_PROPERTIES:-}" ]; then
        # shellcheck disable=SC2086
        printf '%s\n' "# BACKOFFICE_KAFKA_PROPERTIES" ${BACKOFFICE_KAFKA_PROPERTIES} >>"$K_NODE_DIR/server.properties"
    fi
    cat >"$K_NODE_DIR/log4j2.properties" <<'PROPS'
# generated by deploy/infra.sh: broker logs go to ${sys:kafka.logs.dir}/server.log
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
PROPS
}

# JVM options, one per word (state paths contain no spaces: checked in kafka_start). Idle CPU
# (docs/performance.md, fourth round): the C1 compiler only (TieredStopAtLevel=1: compiles once and
# cheaply, where C2 kept recompiling for tens of minutes after a start) in one compiler thread, the
# serial collector (no concurrent GC threads; a young collection of this heap is a few ms), and no
# hsperfdata sampling every 50 ms (UsePerfData: only jstat/jps read it). Sixth round: idle monitors
# deflated by the guaranteed pass once a minute instead of looked at every 250 ms (AsyncDeflationInterval).
kafka_jvm_opts() {
    echo "-Xmx${BACKOFFICE_KAFKA_HEAP_MAX:-512m} -Xms${BACKOFFICE_KAFKA_HEAP_MIN:-256m}" \
         "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:-UsePerfData" \
         "-XX:+UnlockDiagnosticVMOptions -XX:AsyncDeflationInterval=0" \
         "-XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true" \
         "-Dkafka.logs.dir=$K_NODE_DIR -Dlog4j2.configurationFile=$K_NODE_DIR/log4j2.properties" \
         "${BACKOFFICE_KAFKA_JAVA_OPTS:-}"
}
# The broker's java: BACKOFFICE_KAFKA_JAVA_HOME if set, else the one on PATH.
kafka_java_bin() {
    if [ -n "${BACKOFFICE_KAFKA_JAVA_HOME:-}" ]; then echo "$BACKOFFICE_KAFKA_JAVA_HOME/bin/java"; return 0; fi
    command -v java
}
kafka_java() {
    # shellcheck disable=SC2046
    "$(kafka_java_bin)" $(kafka_jvm_opts) -cp "$KAFKA_LIBS/*" "$@"
}

kafka_start_node() {
    kafka_node_vars "$1"
    local pidf=$K_NODE_DIR/kafka.pid pid
    mkdir -p "$K_NODE_DIR"
    pid=$(read_pid "$pidf")
    if pid_alive "$pid"; then return 0; fi
    local p
    for p in "$K_PORT" "$K_CPORT"; do
        port_open "$p" && die "kafka: port $p is already used by another process (set BACKOFFICE_PORT_BASE)"
    done
    kafka_write_conf
    if [ ! -f "$K_NODE_DIR/data/meta.properties" ]; then
        local cid
        cid=$(cat "$(kafka_cid_file)" 2>/dev/null || true)
        [ -n "$cid" ] || die "kafka: no cluster id"
        say "kafka: formatting storage of node $K_NODE_ID (cluster id $cid)"
        local scram=()
        kafka_secured && scram=(--add-scram "SCRAM-SHA-512=[name=admin,password=$(kafka_security_py password admin)]")
        kafka_java kafka.tools.StorageTool format --ignore-formatted -t "$cid" "${scram[@]}" \
            -c "$K_NODE_DIR/server.properties" >"$K_NODE_DIR/format.log" 2>&1 \
            || die_log "$K_NODE_DIR/format.log" "kafka: storage format failed"
    fi
    say "kafka: starting node $K_NODE_ID on 127.0.0.1:$K_PORT (controller $K_CPORT)"
    {
        echo "===== $(date -u +%FT%TZ) start"
    } >>"$K_NODE_DIR/stdout.log"
    cd "$K_NODE_DIR"
    # Timer slack (docs/performance.md, sixth round: idle): the kernel may fire the broker's timeouts
    # up to BACKOFFICE_KAFKA_TIMER_SLACK_NS late (100 ms; 0: the kernel's 50 us), so its many periodic
    # ones (twelve purgatory reapers every 200 ms, a metrics meter tick every 5 s per meter, pollers
    # every 300 ms) fall together into fewer wake-ups. Work that arrives (a request, a record, a reply)
    # wakes a thread as before: only timeouts come later (docs/deployment.md, the local broker).
    (
        echo "${BACKOFFICE_KAFKA_TIMER_SLACK_NS:-100000000}" >/proc/self/timerslack_ns 2>/dev/null || true
        # shellcheck disable=SC2046
        exec setsid nohup "$(kafka_java_bin)" $(kafka_jvm_opts) -cp "$KAFKA_LIBS/*" kafka.Kafka "$K_NODE_DIR/server.properties" \
            >>"$K_NODE_DIR/stdout.log" 2>&1 </dev/null
    ) &
    echo $! >"$pidf"
    cd "$ROOT"
}

# A longer timer slack for the broker's pure housekeeping threads (docs/performance.md, ninth round: idle),
# set once the broker answers (they all exist by then): the purgatories' expiration reapers (each polls
# every 200 ms; a delayed request is completed by the event that satisfies it, in the request handler, and
# only its timeout, e.g. an idle consumer's 20-s long poll, is the reaper's), the metrics meters' tick
# threads (every meter every 5 s), the throttled-channel reapers (no quotas here), and the share-group and
# client-metrics threads (neither is used). They may then wake up to BACKOFFICE_KAFKA_HOUSEKEEPING_TIMER_SLACK_NS
# (1 s) late, so their periodic polls fall together; the threads on a record's path (network, request
# handler, group coordinator, KRaft: raft-expiration-reaper holds the controllers' fetches in 3-node mode)
# keep the process's slack (BACKOFFICE_KAFKA_TIMER_SLACK_NS). 0 leaves them at the process's. Writing another
# thread's slack needs CAP_SYS_NICE: without it, nothing changes (the broker runs as before).
kafka_slack_housekeeping() {
    local pid=$1 slack=${BACKOFFICE_KAFKA_HOUSEKEEPING_TIMER_SLACK_NS:-1000000000} task comm n=0
    [ "$slack" = 0 ] && return 0
    for task in /proc/"$pid"/task/*; do
        comm=$(cat "$task/comm" 2>/dev/null) || continue
        case "$comm" in
            ExpirationReape*|metrics-meter-t*|broker-*-Thrott*|controller-*-Th|client-metrics-*|share-*|persister-state*|PersisterStateM*)
                echo "$slack" >"/proc/${task##*/}/timerslack_ns" 2>/dev/null && n=$((n + 1)) ;;
        esac
    done
    [ "$n" -gt 0 ] && say "kafka: timer slack $((slack / 1000000)) ms on $n housekeeping threads of pid $pid"
    return 0
}

kafka_start() {
    need_python
    command -v java >/dev/null || die "kafka: java not found (Java 17+ needed)"
    case "$STATE$KAFKA_LIBS" in *[[:space:]]*) die "kafka: checkout path must not contain spaces" ;; esac
    kafka_libs
    local n pids=() logs=() already=1 cid_file
    cid_file=$(kafka_cid_file)
    mkdir -p "$(dirname "$cid_file")"
    if [ ! -s "$cid_file" ]; then
        # Kafka's Uuid: 16 random bytes, url-safe base64 without padding, not starting with '-'
        "$PY" -c 'import base64,uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"): print(s); break' >"$cid_file"
    fi
    if kafka_secured; then
        kafka_security_py tls || die "kafka: could not make the TLS certificates"
    fi
    for n in $(kafka_nodes); do
        kafka_node_vars "$n"
        pid_alive "$(read_pid "$K_NODE_DIR/kafka.pid")" || already=0
        kafka_start_node "$n"
        pids+=(--pid "$(read_pid "$K_NODE_DIR/kafka.pid")")
        logs+=("$K_NODE_DIR/server.log")
    done
    local rc=0 nb=1
    [ "$BACKOFFICE_KAFKA_NODES" = 3 ] && nb=3
    "$PY" "$DEPLOY/wait_kafka.py" --bootstrap "$BACKOFFICE_KAFKA_BOOTSTRAP" --brokers "$nb" \
        --timeout "${BACKOFFICE_KAFKA_WAIT:-90}" "${pids[@]}" >/dev/null || rc=$?
    if [ "$rc" != 0 ]; then
        DIE_LOG_EXTRA=""
        for n in $(kafka_nodes); do
            kafka_node_vars "$n"
            DIE_LOG_EXTRA+=" $K_NODE_DIR/stdout.log"
        done
        die_log "${logs[0]}" "kafka: broker not ready on $BACKOFFICE_KAFKA_BOOTSTRAP (wait_kafka rc=$rc)"
    fi
    for n in $(kafka_nodes); do
        kafka_node_vars "$n"
        kafka_slack_housekeeping "$(read_pid "$K_NODE_DIR/kafka.pid")"
    done
    if kafka_secured; then
        kafka_security_py provision >"$STATE/kafka-security.log" 2>&1 \
            || die_log "$STATE/kafka-security.log" "kafka: could not create the SCRAM users and ACLs"
        say "kafka: $(tail -n 1 "$STATE/kafka-security.log") (SASL_SSL, ACLs from k8s/base/kafka/users.yaml)"
    fi
    if [ "$already" = 1 ]; then say "kafka: already running on $BACKOFFICE_KAFKA_BOOTSTRAP"
    else say "kafka: up  $BACKOFFICE_KAFKA_BOOTSTRAP (Kafka $(cat "$KAFKA_LIBS/.kafka-version" 2>/dev/null))"; fi
}
# nodes to act on when stopping: the current mode's nodes plus any node of the other mode
# (single / 3-node) that is still running, so switching BACKOFFICE_KAFKA_NODES leaves no orphan
kafka_running_or_current_nodes() {
    local n
    for n in 0 1 2 3; do
        kafka_node_vars "$n"
        if [[ " $(kafka_nodes) " == *" $n "* ]] || pid_alive "$(read_pid "$K_NODE_DIR/kafka.pid")"; then echo "$n"; fi
    done
}
kafka_stop() {
    # SIGTERM every node at once (a 3-node quorum must not lose its majority half-way), then wait
    local n pid i grace=${BACKOFFICE_KAFKA_STOP_GRACE:-30} pids=() alive
    for n in $(kafka_running_or_current_nodes); do
        kafka_node_vars "$n"
        pid=$(read_pid "$K_NODE_DIR/kafka.pid")
        if pid_alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); else say "kafka node $K_NODE_ID: not running"; fi
        rm -f "$K_NODE_DIR/kafka.pid.stopping"; [ -f "$K_NODE_DIR/kafka.pid" ] && mv "$K_NODE_DIR/kafka.pid" "$K_NODE_DIR/kafka.pid.stopping"
    done
    for ((i = 0; i < grace * 10; i++)); do
        alive=0
        for pid in "${pids[@]}"; do pid_alive "$pid" && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        if pid_alive "$pid"; then
            say "kafka: pid $pid still alive after ${grace}s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            while pid_alive "$pid"; do sleep 0.1; done
        fi
    done
    for n in 0 1 2 3; do kafka_node_vars "$n"; rm -f "$K_NODE_DIR/kafka.pid.stopping"; done
    [ "${#pids[@]}" = 0 ] || say "kafka: stopped (${#pids[@]} node(s))"
}
kafka_kill() {
    local n pid
    for n in $(kafka_running_or_current_nodes); do
        kafka_node_vars "$n"
        pid=$(read_pid "$K_NODE_DIR/kafka.pid")
        if pid_alive "$pid"; then
            kill -KILL "$pid" || true
            while pid_alive "$pid"; do sleep 0.1; done
            say "kafka node $K_NODE_ID: killed (SIGKILL)"
        else
            say "kafka node $K_NODE_ID: not running"
        fi
        rm -f "$K_NODE_DIR/kafka.pid"
    done
}
kafka_status() {
    local n rc=0
    for n in $(kafka_nodes); do
        kafka_node_vars "$n"
        if pid_alive "$(read_pid "$K_NODE_DIR/kafka.pid")" && port_open "$K_PORT"; then
            echo "up   kafka     127.0.0.1:$K_PORT (node $K_NODE_ID, controller $K_CPORT)"
        else
            echo "down kafka     127.0.0.1:$K_PORT (node $K_NODE_ID, controller $K_CPORT)"; rc=3
        fi
    done
    return $rc
}

# ---------------------------------------------------------------- SMTP sink
S_DIR=$STATE/smtp
S_PID=$S_DIR/mailsink.pid
S_LOG=$S_DIR/mailsink.log

smtp_start() {
    need_python
    mkdir -p "$S_DIR" "$STATE/mail"
    local pid; pid=$(read_pid "$S_PID")
    if pid_alive "$pid"; then
        if wait_port "$BACKOFFICE_SMTP_PORT" 5 "$pid" && wait_port "$BACKOFFICE_MAILBOX_PORT" 5 "$pid"; then
            say "smtp: already running on 127.0.0.1:$BACKOFFICE_SMTP_PORT (API $BACKOFFICE_MAILBOX_URL)"
            return 0
        fi
        die_log "$S_LOG" "smtp: mail sink (pid $pid) is running but not on ports $BACKOFFICE_SMTP_PORT/$BACKOFFICE_MAILBOX_PORT (ports changed?): run 'deploy/infra.sh restart smtp'"
    else
        local p
        for p in "$BACKOFFICE_SMTP_PORT" "$BACKOFFICE_MAILBOX_PORT"; do
            port_open "$p" && die "smtp: port $p is already used by another process (set BACKOFFICE_PORT_BASE)"
        done
        echo "===== $(date -u +%FT%TZ) start" >>"$S_LOG"
        setsid nohup "$PY" "$DEPLOY/mailsink.py" --host 127.0.0.1 \
            --smtp-port "$BACKOFFICE_SMTP_PORT" --http-port "$BACKOFFICE_MAILBOX_PORT" \
            --dir "$STATE/mail" >>"$S_LOG" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$S_PID"
    fi
    wait_port "$BACKOFFICE_SMTP_PORT" 20 "$pid" && wait_port "$BACKOFFICE_MAILBOX_PORT" 20 "$pid" \
        || die_log "$S_LOG" "smtp: mail sink did not come up on ports $BACKOFFICE_SMTP_PORT/$BACKOFFICE_MAILBOX_PORT"
    say "smtp: up  127.0.0.1:$BACKOFFICE_SMTP_PORT (API $BACKOFFICE_MAILBOX_URL/messages)"
}
smtp_stop() { stop_pid "$S_PID" smtp 10; }
smtp_kill() {
    local pid; pid=$(read_pid "$S_PID")
    if pid_alive "$pid"; then kill -KILL "$pid"; say "smtp: killed"; else say "smtp: not running"; fi
    rm -f "$S_PID"
}
smtp_status() {
    if pid_alive "$(read_pid "$S_PID")" && port_open "$BACKOFFICE_SMTP_PORT" && port_open "$BACKOFFICE_MAILBOX_PORT"; then
        echo "up   smtp      127.0.0.1:$BACKOFFICE_SMTP_PORT (mailbox API 127.0.0.1:$BACKOFFICE_MAILBOX_PORT)"; return 0
    fi
    echo "down smtp      127.0.0.1:$BACKOFFICE_SMTP_PORT (mailbox API 127.0.0.1:$BACKOFFICE_MAILBOX_PORT)"; return 3
}

# ---------------------------------------------------------------- S3Proxy (object storage)
# org.gaul:s3proxy (jar-with-dependencies) from Maven Central into ~/.m2, run with the machine's
# Java 17+ on the filesystem backend under $STATE/s3/data; the bucket is a folder there, made at start.
S3_VERSION=${BACKOFFICE_S3PROXY_VERSION:-2.6.0}
S3_DIR=$STATE/s3
S3_PID=$S3_DIR/s3proxy.pid
S3_LOG=$S3_DIR/s3proxy.log

s3_jar() {
    echo "${BACKOFFICE_M2_REPO:-$HOME/.m2/repository}/org/gaul/s3proxy/$S3_VERSION/s3proxy-$S3_VERSION-jar-with-dependencies.jar"
}
s3_java() {
    local d
    for d in "${BACKOFFICE_S3_JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/temurin-25-jdk-amd64 \
             /usr/lib/jvm/temurin-21-jdk-amd64 /usr/lib/jvm/java-21-openjdk-amd64; do
        [ -n "$d" ] && [ -x "$d/bin/java" ] && { echo "$d/bin/java"; return 0; }
    done
    command -v java
}
s3_download() {
    [ -s "$(s3_jar)" ] && return 0
    mkdir -p "$S3_DIR"
    command -v mvn >/dev/null || die "s3proxy: mvn not found (needed once to download org.gaul:s3proxy)"
    say "s3proxy: downloading org.gaul:s3proxy:$S3_VERSION:jar:jar-with-dependencies from Maven Central"
    (
        exec 9>"$ROOT/.state/s3proxy-download.lock"
        flock -w 900 9 || exit 1
        [ -s "$(s3_jar)" ] && exit 0
        mvn -q -B dependency:get -Dartifact="org.gaul:s3proxy:$S3_VERSION:jar:jar-with-dependencies" \
            -Dtransitive=false >"$S3_DIR/download.log" 2>&1
    ) || die_log "$S3_DIR/download.log" "s3proxy: could not download the jar with Maven"
}
s3_write_conf() {
    mkdir -p "$S3_DIR/data/$BACKOFFICE_S3_BUCKET"
    cat >"$S3_DIR/s3proxy.conf" <<PROPS
# generated by deploy/infra.sh on every start
s3proxy.endpoint=$BACKOFFICE_S3_ENDPOINT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$BACKOFFICE_S3_ACCESS_KEY
s3proxy.credential=$BACKOFFICE_S3_SECRET_KEY
jclouds.provider=filesystem
jclouds.filesystem.basedir=$S3_DIR/data
PROPS
}
s3_start() {
    local pid; pid=$(read_pid "$S3_PID")
    if pid_alive "$pid" s3proxy; then
        mkdir -p "$S3_DIR/data/$BACKOFFICE_S3_BUCKET"
        wait_port "$BACKOFFICE_S3_PORT" 60 "$pid" || die_log "$S3_LOG" "s3proxy: running (pid $pid) but not on port $BACKOFFICE_S3_PORT"
        say "s3proxy: already running on $BACKOFFICE_S3_ENDPOINT"
        return 0
    fi
    port_open "$BACKOFFICE_S3_PORT" && die "s3proxy: port $BACKOFFICE_S3_PORT is already used by another process (set BACKOFFICE_PORT_BASE)"
    s3_download
    s3_write_conf
    echo "===== $(date -u +%FT%TZ) start" >>"$S3_LOG"
    (cd "$S3_DIR" && exec setsid nohup "$(s3_java)" -Xms32m -Xmx${BACKOFFICE_S3_HEAP_MAX:-256m} \
        -jar "$(s3_jar)" --properties "$S3_DIR/s3proxy.conf" >>"$S3_LOG" 2>&1 </dev/null) &
    pid=$!
    echo "$pid" >"$S3_PID"
    wait_port "$BACKOFFICE_S3_PORT" 120 "$pid" || die_log "$S3_LOG" "s3proxy: not listening on port $BACKOFFICE_S3_PORT"
    say "s3proxy: up  $BACKOFFICE_S3_ENDPOINT (bucket $BACKOFFICE_S3_BUCKET, files under $S3_DIR/data)"
}
s3_stop() { stop_pid "$S3_PID" s3proxy 15; }
s3_kill() {
    local pid; pid=$(read_pid "$S3_PID")
    if pid_alive "$pid"; then kill -KILL "$pid"; say "s3proxy: killed"; else say "s3proxy: not running"; fi
    rm -f "$S3_PID"
}
s3_status() {
    if pid_alive "$(read_pid "$S3_PID")" && port_open "$BACKOFFICE_S3_PORT"; then
        echo "up   s3proxy   $BACKOFFICE_S3_ENDPOINT (bucket $BACKOFFICE_S3_BUCKET)"; return 0
    fi
    echo "down s3proxy   $BACKOFFICE_S3_ENDPOINT"; return 3
}

# ---------------------------------------------------------------- Keycloak
# The distribution zip comes from Maven Central into ~/.m2 (mvn dependency:get), is unpacked and
# built once (`kc.sh build`: the slow Quarkus augmentation) into .state/keycloak-dist shared by the
# profiles; each start gets a fresh hard-linked copy with its own H2 database and imports the realm
# of deploy/keycloak/backoffice-realm.json (so the realm file is always the truth).
KC_VERSION=${BACKOFFICE_KEYCLOAK_VERSION:-26.5.0}
KC_DISTS=${BACKOFFICE_KEYCLOAK_DISTS:-$ROOT/.state/keycloak-dist}
KC_DIR=$STATE/keycloak
KC_PID=$KC_DIR/keycloak.pid
KC_LOG=$KC_DIR/keycloak.log
KC_BUILD_OPTS="--db=dev-file --health-enabled=false --metrics-enabled=false"

kc_java_home() {
    local d
    for d in "${BACKOFFICE_KEYCLOAK_JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64 \
             /usr/lib/jvm/java-25-openjdk-amd64 /usr/lib/jvm/java-21-openjdk-amd64; do
        [ -n "$d" ] && [ -x "$d/bin/java" ] && { echo "$d"; return 0; }
    done
    return 1
}
kc_dist() {
    local built=$KC_DISTS/keycloak-$KC_VERSION want zip
    want=$(printf '%s %s' "$KC_VERSION" "$KC_BUILD_OPTS" | cksum | cut -d' ' -f1)
    if [ -f "$built/.built" ] && [ "$(cat "$built/.built")" = "$want" ]; then return 0; fi
    mkdir -p "$KC_DISTS"
    (
        exec 9>"$KC_DISTS/.lock"
        flock -w 1200 9 || exit 1
        if [ -f "$built/.built" ] && [ "$(cat "$built/.built")" = "$want" ]; then exit 0; fi
        : >"$KC_DISTS/build.log"
        zip=${BACKOFFICE_M2_REPO:-$HOME/.m2/repository}/org/keycloak/keycloak-quarkus-dist/$KC_VERSION/keycloak-quarkus-dist-$KC_VERSION.zip
        if [ ! -s "$zip" ]; then
            command -v mvn >/dev/null || { echo "mvn not found" >>"$KC_DISTS/build.log"; exit 1; }
            echo "[infra] downloading org.keycloak:keycloak-quarkus-dist:$KC_VERSION:zip from Maven Central" >&2
            mvn -q -B dependency:get -Dartifact="org.keycloak:keycloak-quarkus-dist:$KC_VERSION:zip" -Dtransitive=false \
                >>"$KC_DISTS/build.log" 2>&1 || exit 1
        fi
        rm -rf "$built" "$KC_DISTS/unpack.$$"
        mkdir -p "$KC_DISTS/unpack.$$"
        unzip -q "$zip" -d "$KC_DISTS/unpack.$$" >>"$KC_DISTS/build.log" 2>&1 || exit 1
        mv "$KC_DISTS/unpack.$$/keycloak-$KC_VERSION" "$built" && rm -rf "$KC_DISTS/unpack.$$"
        echo "[infra] building Keycloak $KC_VERSION (Quarkus augmentation, once per version)" >&2
        # shellcheck disable=SC2086
        JAVA_HOME=$(kc_java_home) "$built/bin/kc.sh" build $KC_BUILD_OPTS >>"$KC_DISTS/build.log" 2>&1 || exit 1
        echo "$want" >"$built/.built"
    ) || die_log "$KC_DISTS/build.log" "keycloak: could not download or build Keycloak $KC_VERSION"
}
kc_ready() {
    "$PY" - "$BACKOFFICE_OIDC_ISSUER" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"{sys.argv[1]}/.well-known/openid-configuration", timeout=3) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}
# keycloak_launch: start the process without waiting (infra start overlaps it with Kafka's start)
keycloak_launch() {
    local pid; pid=$(read_pid "$KC_PID")
    if pid_alive "$pid"; then return 0; fi
    kc_java_home >/dev/null || die "keycloak: Java 21+ needed (set BACKOFFICE_KEYCLOAK_JAVA_HOME; Temurin 25 expected in /usr/lib/jvm)"
    command -v unzip >/dev/null || die "keycloak: unzip not found"
    port_open "$BACKOFFICE_KEYCLOAK_PORT" && die "keycloak: port $BACKOFFICE_KEYCLOAK_PORT is already used by another process (set BACKOFFICE_PORT_BASE)"
    kc_dist
    rm -rf "$KC_DIR/server"
    mkdir -p "$KC_DIR"
    cp -al "$KC_DISTS/keycloak-$KC_VERSION" "$KC_DIR/server"
    rm -rf "$KC_DIR/server/data"
    mkdir -p "$KC_DIR/server/data/import"
    sed -e "s#\${BACKOFFICE_CONSOLE_URL}#$BACKOFFICE_CONSOLE_URL#g" \
        -e "s#\${BACKOFFICE_CONSOLE_CLIENT_SECRET}#$BACKOFFICE_CONSOLE_CLIENT_SECRET#g" \
        "$DEPLOY/keycloak/backoffice-realm.json" >"$KC_DIR/server/data/import/backoffice-realm.json"
    echo "===== $(date -u +%FT%TZ) start" >>"$KC_LOG"
    say "keycloak: starting on $BACKOFFICE_KEYCLOAK_URL (realm backoffice)"
    date +%s.%N >"$KC_DIR/started-at"
    # The bootstrap admin of the master realm (admin console) is for local development only.
    (cd "$KC_DIR" && exec setsid nohup env JAVA_HOME="$(kc_java_home)" \
        KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD="${BACKOFFICE_KEYCLOAK_ADMIN_PASSWORD:-admin}" \
        JAVA_OPTS_KC_HEAP="-Xms64m -Xmx${BACKOFFICE_KEYCLOAK_HEAP_MAX:-512m}" \
        "$KC_DIR/server/bin/kc.sh" start --optimized --http-enabled=true --http-host=127.0.0.1 \
        --http-port="$BACKOFFICE_KEYCLOAK_PORT" --hostname="$BACKOFFICE_KEYCLOAK_URL" --hostname-strict=false \
        --import-realm --log-level=WARN,org.keycloak.services:INFO,io.quarkus:INFO \
        >>"$KC_LOG" 2>&1 </dev/null) &
    echo $! >"$KC_PID"
}
keycloak_start() {
    need_python
    local pid i t0
    pid=$(read_pid "$KC_PID")
    if pid_alive "$pid" && kc_ready; then say "keycloak: already running on $BACKOFFICE_KEYCLOAK_URL"; return 0; fi
    keycloak_launch
    pid=$(read_pid "$KC_PID")
    for ((i = 0; i < ${BACKOFFICE_KEYCLOAK_WAIT:-400} * 2; i++)); do
        kc_ready && break
        pid_alive "$pid" || die_log "$KC_LOG" "keycloak: the process exited"
        sleep 0.5
    done
    kc_ready || die_log "$KC_LOG" "keycloak: not ready on $BACKOFFICE_KEYCLOAK_URL"
    t0=$(cat "$KC_DIR/started-at" 2>/dev/null || echo 0)
    say "keycloak: up  $BACKOFFICE_OIDC_ISSUER (Keycloak $KC_VERSION, ready $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s after launch)"
}
keycloak_stop() { stop_pid "$KC_PID" keycloak 30; }
keycloak_kill() {
    local pid; pid=$(read_pid "$KC_PID")
    if pid_alive "$pid"; then kill -KILL "$pid"; say "keycloak: killed"; else say "keycloak: not running"; fi
    rm -f "$KC_PID"
}
keycloak_status() {
    if pid_alive "$(read_pid "$KC_PID")" && kc_ready; then echo "up   keycloak  $BACKOFFICE_KEYCLOAK_URL (realm backoffice)"; return 0; fi
    echo "down keycloak  $BACKOFFICE_KEYCLOAK_URL"; return 3
}

# ---------------------------------------------------------------- main
usage() { echo "usage: $0 {start|stop|restart|status|kill} [postgres|kafka|smtp|s3|keycloak|all] | crash-restart postgres" >&2; exit 2; }
ACTION=${1:-}
TARGET=${2:-all}
case "$TARGET" in
    all) COMPONENTS=(postgres kafka smtp s3 keycloak) ;;
    postgres|pg) COMPONENTS=(postgres) ;;
    kafka) COMPONENTS=(kafka) ;;
    smtp|mail|mailsink) COMPONENTS=(smtp) ;;
    keycloak|kc) COMPONENTS=(keycloak) ;;
    s3|s3proxy) COMPONENTS=(s3) ;;
    *) usage ;;
esac
fn() { case $1 in postgres) echo pg ;; *) echo "$1" ;; esac; }

case "$ACTION" in
    start)
        # Keycloak starts slowest: launch it first so its start overlaps the others'.
        if [ "$TARGET" = all ]; then need_python; keycloak_launch; fi
        for c in "${COMPONENTS[@]}"; do "$(fn "$c")_start"; done ;;
    stop)
        for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do "$(fn "${COMPONENTS[$i]}")_stop"; done ;;
    kill)
        for c in "${COMPONENTS[@]}"; do "$(fn "$c")_kill"; done ;;
    restart)
        bash "$0" stop "$TARGET" && exec bash "$0" start "$TARGET" ;;
    crash-restart)
        [ "${COMPONENTS[*]}" = postgres ] || usage
        pg_crash_restart ;;
    status)
        rc=0
        echo "profile $BACKOFFICE_PROFILE, port base $BACKOFFICE_PORT_BASE, state $STATE"
        for c in "${COMPONENTS[@]}"; do "$(fn "$c")_status" || rc=3; done
        exit $rc ;;
    *) usage ;;
esac
