// Validates the custom resources under k8s/ (Strimzi, CloudNativePG, Barman Cloud, Gateway API,
// Envoy Gateway, cert-manager, Prometheus Operator, KEDA) against their CRD schemas, offline.
// (Unknown fields are caught separately, by tsc on the same packages' TypeScript interfaces:
// tests/deploy/deploy_testkit.py, crd_type_errors.)
//
// The schemas come from npm packages (see package.json, pinned in package-lock.json):
//   @kubernetes-models/strimzi-kafka-operator: generated from the Strimzi 0.49.0 and 1.0.0 CRDs
//   @kubernetes-models/cloudnative-pg: generated from the CloudNativePG CRDs
//   @kubernetes-models/gateway-api, cert-manager, prometheus-operator, keda: the same, for those
//   projects' CRDs; vendored/*.json: CRD schemas no package ships (see VENDORED below)
// Each package compiles the CRD's openAPIV3Schema into a JSON-schema validator (ajv).
//
// Input (stdin): a JSON array of Kubernetes resources.
// Output (stdout): a JSON array, one entry per input resource, in order:
//   {"apiVersion", "kind", "name", "validated": true|false, "errors": [string, ...]}
// "validated" is false when no schema is known for the apiVersion/kind; the caller decides
// whether that is acceptable.

import { readdirSync, readFileSync } from "node:fs";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const MODELS = {
  "kafka.strimzi.io/v1": {
    package: "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1",
    kinds: ["Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"],
  },
  "kafka.strimzi.io/v1beta2": {
    package: "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2",
    kinds: ["Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"],
  },
  "postgresql.cnpg.io/v1": {
    package: "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1",
    kinds: ["Cluster", "Database", "Pooler", "ScheduledBackup", "Backup"],
  },
  "gateway.networking.k8s.io/v1": {
    package: "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1",
    kinds: ["Gateway", "HTTPRoute", "GatewayClass"],
  },
  "cert-manager.io/v1": {
    package: "@kubernetes-models/cert-manager/cert-manager.io/v1",
    kinds: ["Certificate", "Issuer", "ClusterIssuer"],
  },
  "monitoring.coreos.com/v1": {
    package: "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
    kinds: ["PodMonitor", "ServiceMonitor", "PrometheusRule"],
  },
  "keda.sh/v1alpha1": {
    package: "@kubernetes-models/keda/keda.sh/v1alpha1",
    kinds: ["ScaledObject", "TriggerAuthentication"],
  },
};

// CRDs no npm package ships: their openAPIV3Schema is vendored in vendored/*.json (source
// repository, tag and path in each file's "source"). They are validated with ajv, "closed":
// every object schema that lists properties and does not preserve unknown fields gets
// additionalProperties: false, so a misspelled field is an error here (the tsc check of
// deploy_testkit.py covers the packaged kinds).
const VENDORED = {};
for (const file of readdirSync(new URL("./vendored/", import.meta.url))) {
  if (!file.endsWith(".json")) continue;
  const doc = JSON.parse(readFileSync(new URL(`./vendored/${file}`, import.meta.url), "utf8"));
  VENDORED[`${doc.apiVersion} ${doc.kind}`] = doc.schema;
}

function closed(schema) {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== "object") return schema;
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith("x-kubernetes-")) continue;
    out[key] = key === "properties" ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, closed(v)])) : closed(value);
  }
  if (schema["x-kubernetes-int-or-string"]) {
    delete out.type;
  }
  if (schema.properties && schema.additionalProperties === undefined && !schema["x-kubernetes-preserve-unknown-fields"]) {
    out.additionalProperties = false;
  }
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const vendoredValidators = {};
function vendoredValidator(key) {
  if (!(key in vendoredValidators)) {
    const schema = closed(VENDORED[key]);
    // metadata is checked by Kubernetes itself, not by the CRD schema.
    schema.properties = { ...schema.properties, metadata: { type: "object" } };
    vendoredValidators[key] = ajv.compile(schema);
  }
  return vendoredValidators[key];
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function describe(error) {
  if (Array.isArray(error?.errors) && error.errors.length > 0) {
    return error.errors.map((e) => {
      const where = e.instancePath || "/";
      const params = e.params ? ` ${JSON.stringify(e.params)}` : "";
      return `${where} ${e.message ?? e.keyword}${params}`;
    });
  }
  return [String(error?.message ?? error)];
}

const resources = JSON.parse(await readStdin());
const results = [];
for (const resource of resources) {
  const apiVersion = resource?.apiVersion;
  const kind = resource?.kind;
  const name = resource?.metadata?.name ?? null;
  const vendoredKey = `${apiVersion} ${kind}`;
  if (vendoredKey in VENDORED) {
    const validate = vendoredValidator(vendoredKey);
    const errors = validate(resource) ? [] : describe({ errors: validate.errors });
    results.push({ apiVersion, kind, name, validated: true, errors });
    continue;
  }
  const entry = MODELS[apiVersion];
  if (!entry || !entry.kinds.includes(kind)) {
    results.push({ apiVersion, kind, name, validated: false, errors: [] });
    continue;
  }
  const module = await import(`${entry.package}/${kind}`);
  const Model = module[kind];
  let errors = [];
  try {
    new Model(resource).validate();
  } catch (error) {
    errors = describe(error);
  }
  results.push({ apiVersion, kind, name, validated: true, errors });
}
process.stdout.write(JSON.stringify(results));
