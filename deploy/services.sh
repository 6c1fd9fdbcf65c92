#!/usr/bin/env bash
# The services and the console as local processes, configured for the infrastructure of deploy/infra.sh.
#
#   deploy/services.sh {start|stop|status|restart|env} [requests|approvals|notifications|contracts|insights|budgets|checklists|all]
#
# BACKOFFICE_INSTANCES=2 starts a second instance of each service (port + 10) sharing the same
# database and consumer group: Kafka splits the partitions between them and one outbox relay is
# active per service. Migrations run once per service before its first instance starts.
# Logs: $BACKOFFICE_STATE_DIR/logs/<svc>-<n>.log; pids: $BACKOFFICE_STATE_DIR/pids/.
set -Eeuo pipefail

# shellcheck source=deploy/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

STATE=$BACKOFFICE_STATE_DIR
PY=$BACKOFFICE_PYTHON
SERVICES=(requests approvals notifications contracts insights budgets checklists console)
INSTANCES=${BACKOFFICE_INSTANCES:-1}
DEV_JWT_SECRET=${BACKOFFICE_DEV_JWT_SECRET:-development-only-jwt-secret-never-in-production}
mkdir -p "$STATE/logs" "$STATE/pids" "$STATE/contracts"

say() { printf '[services %s] %s\n' "$BACKOFFICE_PROFILE" "$*"; }
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
read_pid() { [ -f "$1" ] && tr -dc 0-9 <"$1" || true; }

port_of() {
    local svc=$1 n=${2:-1} var
    var="BACKOFFICE_${svc^^}_PORT"
    echo $(( ${!var} + (n - 1) * ${BACKOFFICE_INSTANCE_PORT_STEP:-10} ))
}

# service_env <svc>: the environment of one service (twelve-factor: everything through env vars)
service_env() {
    local svc=$1 p=${1^^}_
    local port
    port=$(port_of "$svc")
    cat <<ENV
${p}ENVIRONMENT=development
${p}LOG_LEVEL=${BACKOFFICE_LOG_LEVEL:-INFO}
${p}DATABASE_URL=postgresql+asyncpg://backoffice@127.0.0.1:${BACKOFFICE_PG_PORT}/${svc}
${p}KAFKA_BOOTSTRAP_SERVERS=${BACKOFFICE_KAFKA_BOOTSTRAP}
${p}KAFKA_REPLICATION_FACTOR=${BACKOFFICE_KAFKA_REPLICATION_FACTOR}
${p}KAFKA_MIN_INSYNC_REPLICAS=${BACKOFFICE_KAFKA_MIN_INSYNC_REPLICAS}
${p}KAFKA_TOPIC_PREFIX=${BACKOFFICE_TOPIC_PREFIX:-}
${p}JWT_SECRET=${DEV_JWT_SECRET}
${p}JWT_ALGORITHM=RS256
${p}JWT_JWKS_URL=${BACKOFFICE_OIDC_JWKS_URL}
${p}JWT_ISSUER=${BACKOFFICE_OIDC_ISSUER}
${p}PUBLIC_BASE_URL=http://127.0.0.1:${port}
${p}OUTBOX_POLL_INTERVAL_SECONDS=2
ENV
    if [ "$svc" != console ]; then
        # No reverse proxy in front of a local service: nobody's X-Forwarded-For is believed, the
        # client address is the connection's peer (k8s: the gateway's pod range, k8s/base/<svc>/configmap.yaml).
        echo "${p}TRUSTED_PROXIES=[]"
    fi
    if [ "${BACKOFFICE_KAFKA_SECURITY:-none}" = scram ] \
        && grep -q "name: backoffice-$svc-kafka$" "$BACKOFFICE_ROOT/k8s/base/kafka/users.yaml"; then
        # the service's own Kafka identity, allowed what k8s/base/kafka/users.yaml grants it
        cat <<ENV
${p}KAFKA_SECURITY_PROTOCOL=SASL_SSL
${p}KAFKA_SASL_MECHANISM=SCRAM-SHA-512
${p}KAFKA_SASL_USERNAME=backoffice-$svc-kafka
${p}KAFKA_SASL_PASSWORD=$("$PY" "$BACKOFFICE_ROOT/deploy/kafka/local_security.py" password "backoffice-$svc-kafka")
${p}KAFKA_SSL_CAFILE=${BACKOFFICE_KAFKA_TLS_DIR}/ca.pem
ENV
    fi
    case $svc in
        approvals | notifications | budgets | checklists)
            # the archive of the audit log (`archive-audit`, docs/retention.md); requests and contracts below
            cat <<ENV
${p}OBJECT_STORE_ENDPOINT=${BACKOFFICE_S3_ENDPOINT}
${p}OBJECT_STORE_BUCKET=${BACKOFFICE_S3_BUCKET}
${p}OBJECT_STORE_REGION=${BACKOFFICE_S3_REGION}
${p}OBJECT_STORE_ACCESS_KEY=${BACKOFFICE_S3_ACCESS_KEY}
${p}OBJECT_STORE_SECRET_KEY=${BACKOFFICE_S3_SECRET_KEY}
${p}OBJECT_STORE_PREFIX=${BACKOFFICE_TOPIC_PREFIX:-}$svc/
ENV
            ;;
    esac
    case $svc in
        requests)
            # `make demo` and the CLI draft for CC-100 without a finance setup: the cost-centre check
            # is on in production (the default) and off here.
            cat <<ENV
REQUESTS_REQUIRE_KNOWN_COST_CENTRE=${REQUESTS_REQUIRE_KNOWN_COST_CENTRE:-false}
REQUESTS_OBJECT_STORE_ENDPOINT=${BACKOFFICE_S3_ENDPOINT}
REQUESTS_OBJECT_STORE_BUCKET=${BACKOFFICE_S3_BUCKET}
REQUESTS_OBJECT_STORE_REGION=${BACKOFFICE_S3_REGION}
REQUESTS_OBJECT_STORE_ACCESS_KEY=${BACKOFFICE_S3_ACCESS_KEY}
REQUESTS_OBJECT_STORE_SECRET_KEY=${BACKOFFICE_S3_SECRET_KEY}
REQUESTS_OBJECT_STORE_PREFIX=${BACKOFFICE_TOPIC_PREFIX:-}requests/
ENV
            ;;
        approvals)
            # budgets runs beside it and checks within a second or two; 10 s bounds the wait when it does not.
            cat <<ENV
APPROVALS_BUDGET_CHECK_WAIT_SECONDS=${APPROVALS_BUDGET_CHECK_WAIT_SECONDS:-10}
ENV
            ;;
        notifications)
            cat <<ENV
NOTIFICATIONS_SMTP_HOST=${BACKOFFICE_SMTP_HOST}
NOTIFICATIONS_SMTP_PORT=${BACKOFFICE_SMTP_PORT}
NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS=true
NOTIFICATIONS_APP_BASE_URL=${BACKOFFICE_CONSOLE_URL}
NOTIFICATIONS_DELIVERY_BACKOFF_INITIAL_SECONDS=2
NOTIFICATIONS_PROCUREMENT_EMAIL=${NOTIFICATIONS_PROCUREMENT_EMAIL:-procurement@backoffice.example}
ENV
            ;;
        contracts)
            cat <<ENV
CONTRACTS_PKI_DIR=${STATE}/contracts/pki
CONTRACTS_OBJECT_STORE_ENDPOINT=${BACKOFFICE_S3_ENDPOINT}
CONTRACTS_OBJECT_STORE_BUCKET=${BACKOFFICE_S3_BUCKET}
CONTRACTS_OBJECT_STORE_REGION=${BACKOFFICE_S3_REGION}
CONTRACTS_OBJECT_STORE_ACCESS_KEY=${BACKOFFICE_S3_ACCESS_KEY}
CONTRACTS_OBJECT_STORE_SECRET_KEY=${BACKOFFICE_S3_SECRET_KEY}
CONTRACTS_OBJECT_STORE_PREFIX=${BACKOFFICE_TOPIC_PREFIX:-}
ENV
            ;;
        console)
            cat <<ENV
CONSOLE_PUBLIC_BASE_URL=${BACKOFFICE_CONSOLE_URL}
CONSOLE_OIDC_ISSUER=${BACKOFFICE_OIDC_ISSUER}
CONSOLE_OIDC_CLIENT_SECRET=${BACKOFFICE_CONSOLE_CLIENT_SECRET}
CONSOLE_REQUESTS_URL=http://127.0.0.1:${BACKOFFICE_REQUESTS_PORT}
CONSOLE_APPROVALS_URL=http://127.0.0.1:${BACKOFFICE_APPROVALS_PORT}
CONSOLE_NOTIFICATIONS_URL=http://127.0.0.1:${BACKOFFICE_NOTIFICATIONS_PORT}
CONSOLE_CONTRACTS_URL=http://127.0.0.1:${BACKOFFICE_CONTRACTS_PORT}
CONSOLE_BUDGETS_URL=http://127.0.0.1:${BACKOFFICE_BUDGETS_PORT}
CONSOLE_INSIGHTS_URL=http://127.0.0.1:${BACKOFFICE_INSIGHTS_PORT}
CONSOLE_CHECKLISTS_URL=http://127.0.0.1:${BACKOFFICE_CHECKLISTS_PORT}
ENV
            ;;
    esac
}

with_env() {
    local svc=$1; shift
    env $(service_env "$svc" | tr '\n' ' ') "$@"
}

health() { "$PY" - "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

start_one() {
    local svc=$1 n=$2 port pidf log pid i
    port=$(port_of "$svc" "$n")
    pidf=$STATE/pids/$svc-$n.pid
    log=$STATE/logs/$svc-$n.log
    pid=$(read_pid "$pidf")
    if pid_alive "$pid" "backoffice_$svc"; then say "$svc#$n: already running (pid $pid, port $port)"; return 0; fi
    # A process killed a moment ago may still hold its socket while its last threads exit: wait a
    # few seconds for the port before calling it taken.
    for ((i = 0; i < 25; i++)); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
        if ((i == 24)); then
            say "ERROR: port $port is taken by a process this script did not start; stop it or set BACKOFFICE_PORT_BASE"
            return 1
        fi
        sleep 0.2
    done
    # one console instance here (its sessions are in its database, so more would share them)
    if [ "$svc" = console ] && [ "$n" != 1 ]; then return 0; fi
    if [ "$n" = 1 ]; then
        say "$svc: migrating"
        if ! with_env "$svc" "$PY" -m "backoffice_$svc" migrate >>"$log" 2>&1; then
            tail -n 30 "$log" >&2; say "ERROR: $svc migrations failed (log: $log)"; return 1
        fi
    fi
    # A plain command (not a shell function) in the background: bash keeps no copy of the caller's
    # stdout in the child, so `make run | tail` returns once everything is up.
    # shellcheck disable=SC2046
    (cd "$STATE" && exec setsid nohup env $(service_env "$svc" | tr '\n' ' ') "$PY" -m "backoffice_$svc" serve \
        --host 127.0.0.1 --port "$port" >>"$log" 2>&1 </dev/null) &
    echo $! >"$pidf"
    pid=$(read_pid "$pidf")
    for ((i = 0; i < 150; i++)); do
        if health "$port"; then say "$svc#$n: up on http://127.0.0.1:$port (pid $pid)"; return 0; fi
        if ! pid_alive "$pid"; then break; fi
        sleep 0.2
    done
    tail -n 30 "$log" >&2
    say "ERROR: $svc#$n did not become healthy on port $port (log: $log)"
    return 1
}

stop_one() {
    local svc=$1 n=$2 pidf pid i
    pidf=$STATE/pids/$svc-$n.pid
    pid=$(read_pid "$pidf")
    if ! pid_alive "$pid" "backoffice_$svc"; then rm -f "$pidf"; return 0; fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do pid_alive "$pid" || break; sleep 0.1; done
    pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidf"
    say "$svc#$n: stopped"
}

status_one() {
    local svc=$1 n=$2 port pid
    port=$(port_of "$svc" "$n")
    pid=$(read_pid "$STATE/pids/$svc-$n.pid")
    if pid_alive "$pid" "backoffice_$svc" && health "$port"; then
        printf 'up   %-13s #%s http://127.0.0.1:%s  (docs: /docs)\n' "$svc" "$n" "$port"
        return 0
    fi
    printf 'down %-13s #%s http://127.0.0.1:%s\n' "$svc" "$n" "$port"
    return 3
}

action=${1:-status}
target=${2:-all}
if [ "$target" = all ]; then selected=("${SERVICES[@]}"); else selected=("$target"); fi
rc=0
case $action in
    start)
        for svc in "${selected[@]}"; do
            for ((n = 1; n <= INSTANCES; n++)); do start_one "$svc" "$n" || rc=1; done
        done ;;
    stop)
        for svc in "${selected[@]}"; do
            for n in 1 2 3 4; do stop_one "$svc" "$n"; done
        done ;;
    restart)
        "$0" stop "$target"; "$0" start "$target"; exit $? ;;
    status)
        for svc in "${selected[@]}"; do
            for ((n = 1; n <= INSTANCES; n++)); do status_one "$svc" "$n" || rc=3; done
        done ;;
    env)
        for svc in "${selected[@]}"; do service_env "$svc"; done ;;
    *) echo "usage: $0 {start|stop|status|restart|env} [service|all]" >&2; exit 2 ;;
esac
exit $rc
