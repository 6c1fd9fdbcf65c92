#!/usr/bin/env bash
# Prints where everything started by `make run` listens.
set -Eeuo pipefail
# shellcheck source=deploy/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cat <<TXT

Back-office platform is up (profile $BACKOFFICE_PROFILE, state in $BACKOFFICE_STATE_DIR).

  requests       http://127.0.0.1:$BACKOFFICE_REQUESTS_PORT        OpenAPI: http://127.0.0.1:$BACKOFFICE_REQUESTS_PORT/docs
  approvals      http://127.0.0.1:$BACKOFFICE_APPROVALS_PORT        OpenAPI: http://127.0.0.1:$BACKOFFICE_APPROVALS_PORT/docs
  notifications  http://127.0.0.1:$BACKOFFICE_NOTIFICATIONS_PORT        OpenAPI: http://127.0.0.1:$BACKOFFICE_NOTIFICATIONS_PORT/docs
  contracts      http://127.0.0.1:$BACKOFFICE_CONTRACTS_PORT        OpenAPI: http://127.0.0.1:$BACKOFFICE_CONTRACTS_PORT/docs
  budgets        http://127.0.0.1:$BACKOFFICE_BUDGETS_PORT        OpenAPI: http://127.0.0.1:$BACKOFFICE_BUDGETS_PORT/docs
  insights       http://127.0.0.1:$BACKOFFICE_INSIGHTS_PORT        OpenAPI: http://127.0.0.1:$BACKOFFICE_INSIGHTS_PORT/docs
  checklists     http://127.0.0.1:$BACKOFFICE_CHECKLISTS_PORT        OpenAPI: http://127.0.0.1:$BACKOFFICE_CHECKLISTS_PORT/docs
  console        $BACKOFFICE_CONSOLE_URL        (sign in through Keycloak)
  Keycloak       $BACKOFFICE_KEYCLOAK_URL        realm backoffice; admin console: admin / admin (development only)
  stored mail    $BACKOFFICE_MAILBOX_URL/messages   (SMTP on 127.0.0.1:$BACKOFFICE_SMTP_PORT)
  PostgreSQL     postgresql://backoffice@127.0.0.1:$BACKOFFICE_PG_PORT/<service>
  Kafka          $BACKOFFICE_KAFKA_BOOTSTRAP
  AsyncAPI       $BACKOFFICE_ROOT/docs/asyncapi.yaml
  logs           $BACKOFFICE_STATE_DIR/logs/

Sample users of the console (user / password, roles, language):
  rita  / rita-requester     requester, ENG, English
  max   / max-approver       approver (Rita's manager), requester, ENG, German
  helga / helga-approver     approver (head of ENG), requester, English
  paul  / paul-procurement   procurement, English
  ada   / ada-admin          admin, English
  fiona / fiona-finance      finance (the budgets pages), German

Try it:   make demo        Stop it:  make stop
TXT
