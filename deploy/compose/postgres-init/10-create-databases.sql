-- Run once by the official postgres image on an empty data volume
-- (/docker-entrypoint-initdb.d). One database per service, as in the architecture:
-- no service reads another's tables. DEVELOPMENT ONLY: a single superuser owns them all;
-- the Kubernetes prod overlay gives each service its own role (k8s/overlays/prod).
CREATE DATABASE requests;
CREATE DATABASE approvals;
CREATE DATABASE notifications;
CREATE DATABASE contracts;
CREATE DATABASE insights;
CREATE DATABASE budgets;
CREATE DATABASE checklists;
-- The web console's sessions (not a service: no outbox, no Kafka).
CREATE DATABASE console;
