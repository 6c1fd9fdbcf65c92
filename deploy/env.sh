# shellcheck shell=bash
# Source me:  source deploy/env.sh   (or: BACKOFFICE_PROFILE=test source deploy/env.sh)
#
# Inputs : BACKOFFICE_PROFILE   (default "run"; `make test` uses "test")
#          BACKOFFICE_PORT_BASE (optional; otherwise derived from checkout path + profile)
#          deploy/local.env     (optional; sourced before and after the computation, so it
#                                can set the inputs above and override any derived variable)
# Outputs: see the `export` lines below.  Only loopback addresses are ever used.

_bo_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
BACKOFFICE_ROOT="$(cd "$_bo_here/.." && pwd -P)"
export BACKOFFICE_ROOT

# A port base we computed ourselves (as opposed to one given by the caller) must not leak into a
# later `source` with another profile or from another checkout: recompute it in that case.
if [ "${BACKOFFICE_PORT_BASE_SOURCE:-}" = "auto" ]; then
    unset BACKOFFICE_PORT_BASE
fi

if [ -f "$_bo_here/local.env" ]; then
    # shellcheck disable=SC1091
    . "$_bo_here/local.env"
fi

export BACKOFFICE_PROFILE="${BACKOFFICE_PROFILE:-run}"
case "$BACKOFFICE_PROFILE" in
    *[!A-Za-z0-9_-]*|'') echo "env.sh: invalid BACKOFFICE_PROFILE '$BACKOFFICE_PROFILE'" >&2; return 1 2>/dev/null || exit 1 ;;
esac
export BACKOFFICE_STATE_DIR="$BACKOFFICE_ROOT/.state/$BACKOFFICE_PROFILE"

if [ -n "${BACKOFFICE_PORT_BASE:-}" ]; then
    export BACKOFFICE_PORT_BASE_SOURCE=explicit
else
    # 133 slots of 150 ports in 10000..29949 (below the Linux ephemeral range 32768+), one per
    # checkout; in a slot, 50 ports per profile: "run" +0..+49, "test" (any other) +50..+99,
    # "chaos" (tests/chaos, beside a running `make test`) +100..+149.
    _bo_ck="$(printf '%s' "$BACKOFFICE_ROOT" | cksum | cut -d' ' -f1)"
    BACKOFFICE_PORT_BASE=$(( 10000 + (_bo_ck % 133) * 150 ))
    case "$BACKOFFICE_PROFILE" in
        run) ;;
        chaos) BACKOFFICE_PORT_BASE=$(( BACKOFFICE_PORT_BASE + 100 )) ;;
        *) BACKOFFICE_PORT_BASE=$(( BACKOFFICE_PORT_BASE + 50 )) ;;
    esac
    export BACKOFFICE_PORT_BASE_SOURCE=auto
fi
export BACKOFFICE_PORT_BASE

_bo_b=$BACKOFFICE_PORT_BASE
export BACKOFFICE_HOST=127.0.0.1
export BACKOFFICE_PG_PORT=$(( _bo_b + 0 ))
export BACKOFFICE_KAFKA_PORT=$(( _bo_b + 1 ))
export BACKOFFICE_KAFKA_CONTROLLER_PORT=$(( _bo_b + 2 ))
export BACKOFFICE_SMTP_PORT=$(( _bo_b + 3 ))
export BACKOFFICE_MAILBOX_PORT=$(( _bo_b + 4 ))
export BACKOFFICE_KEYCLOAK_PORT=$(( _bo_b + 5 ))
export BACKOFFICE_S3_PORT=$(( _bo_b + 6 ))
# The services: +10.. for the first instance; instance n adds (n - 1) * 10 (BACKOFFICE_INSTANCES).
export BACKOFFICE_INSTANCE_PORT_STEP=10
export BACKOFFICE_REQUESTS_PORT=$(( _bo_b + 10 ))
export BACKOFFICE_APPROVALS_PORT=$(( _bo_b + 11 ))
export BACKOFFICE_NOTIFICATIONS_PORT=$(( _bo_b + 12 ))
export BACKOFFICE_CONTRACTS_PORT=$(( _bo_b + 13 ))
export BACKOFFICE_CONSOLE_PORT=$(( _bo_b + 14 ))
export BACKOFFICE_BUDGETS_PORT=$(( _bo_b + 15 ))
export BACKOFFICE_INSIGHTS_PORT=$(( _bo_b + 16 ))
export BACKOFFICE_CHECKLISTS_PORT=$(( _bo_b + 17 ))
# Optional 3-broker mode (BACKOFFICE_KAFKA_NODES=3): node i (1..3) listens on
# broker base+29+i (30,31,32) and controller base+32+i (33,34,35).
export BACKOFFICE_KAFKA_NODES="${BACKOFFICE_KAFKA_NODES:-1}"
export BACKOFFICE_KAFKA_MULTI_PORT_BASE=$(( _bo_b + 30 ))

# Topics the services create: three replicas, two in sync, on three brokers (as in k8s/base/kafka).
if [ "$BACKOFFICE_KAFKA_NODES" = "3" ]; then
    export BACKOFFICE_KAFKA_BOOTSTRAP="127.0.0.1:$((_bo_b + 30)),127.0.0.1:$((_bo_b + 31)),127.0.0.1:$((_bo_b + 32))"
    export BACKOFFICE_KAFKA_REPLICATION_FACTOR=3 BACKOFFICE_KAFKA_MIN_INSYNC_REPLICAS=2
else
    export BACKOFFICE_KAFKA_BOOTSTRAP="127.0.0.1:$BACKOFFICE_KAFKA_PORT"
    export BACKOFFICE_KAFKA_REPLICATION_FACTOR=1 BACKOFFICE_KAFKA_MIN_INSYNC_REPLICAS=1
fi
# Kafka security: "scram" = a TLS listener, SCRAM-SHA-512 users and ACLs from k8s/base/kafka/users.yaml
# (deploy/kafka/local_security.py), the default of the 3-broker mode; "none" = plaintext, no ACLs.
if [ "$BACKOFFICE_KAFKA_NODES" = "3" ]; then _bo_ks=scram; else _bo_ks=none; fi
export BACKOFFICE_KAFKA_SECURITY="${BACKOFFICE_KAFKA_SECURITY:-$_bo_ks}"
export BACKOFFICE_KAFKA_TLS_DIR="$BACKOFFICE_STATE_DIR/kafka-security/tls"
export BACKOFFICE_KAFKA_SECRETS_DIR="$BACKOFFICE_STATE_DIR/kafka-security/secrets"
export BACKOFFICE_PG_DSN_BASE="postgresql://backoffice@127.0.0.1:$BACKOFFICE_PG_PORT"
export BACKOFFICE_SMTP_HOST=127.0.0.1
export BACKOFFICE_MAILBOX_URL="http://127.0.0.1:$BACKOFFICE_MAILBOX_PORT"
# Keycloak (the identity provider) and the console signed in through it; see deploy/keycloak/.
export BACKOFFICE_KEYCLOAK_URL="http://127.0.0.1:$BACKOFFICE_KEYCLOAK_PORT"
export BACKOFFICE_OIDC_ISSUER="$BACKOFFICE_KEYCLOAK_URL/realms/backoffice"
export BACKOFFICE_OIDC_JWKS_URL="$BACKOFFICE_OIDC_ISSUER/protocol/openid-connect/certs"
export BACKOFFICE_CONSOLE_URL="http://127.0.0.1:$BACKOFFICE_CONSOLE_PORT"
# S3Proxy (filesystem backend): the S3 API the contracts' PDFs and mail attachments are kept in.
export BACKOFFICE_S3_ENDPOINT="http://127.0.0.1:$BACKOFFICE_S3_PORT"
export BACKOFFICE_S3_BUCKET="${BACKOFFICE_S3_BUCKET:-backoffice}"
export BACKOFFICE_S3_REGION="${BACKOFFICE_S3_REGION:-us-east-1}"
# DEVELOPMENT ONLY: the local S3Proxy's identity and credential
export BACKOFFICE_S3_ACCESS_KEY="${BACKOFFICE_S3_ACCESS_KEY:-backoffice}"
export BACKOFFICE_S3_SECRET_KEY="${BACKOFFICE_S3_SECRET_KEY:-development-only-s3proxy-secret-key-never-in-production}"
# DEVELOPMENT ONLY: the console's client secret in the local realm (deploy/keycloak/backoffice-realm.json)
export BACKOFFICE_CONSOLE_CLIENT_SECRET="${BACKOFFICE_CONSOLE_CLIENT_SECRET:-development-only-console-client-secret}"

if [ -z "${BACKOFFICE_PYTHON:-}" ]; then
    if [ -x "$BACKOFFICE_ROOT/.venv/bin/python" ]; then
        BACKOFFICE_PYTHON="$BACKOFFICE_ROOT/.venv/bin/python"
    else
        BACKOFFICE_PYTHON="$(command -v python3 || true)"
    fi
fi
export BACKOFFICE_PYTHON

if [ -f "$_bo_here/local.env" ]; then
    # second pass: overrides of derived values win
    # shellcheck disable=SC1091
    . "$_bo_here/local.env"
fi
unset _bo_here _bo_ck _bo_b
