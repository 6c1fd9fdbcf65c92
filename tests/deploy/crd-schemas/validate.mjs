// Validates Strimzi and CloudNativePG custom resources against their CRD schemas, offline.
// (Unknown fields are caught separately, by tsc on the same packages' TypeScript interfaces:
// tests/deploy/deploy_testkit.py, crd_type_errors.)
//
// The schemas come from npm packages (see package.json, pinned in package-lock.json):
//   @kubernetes-models/strimzi-kafka-operator: generated from the Strimzi 0.49.0 and 1.0.0 CRDs
//   @kubernetes-models/cloudnative-pg: generated from the CloudNativePG CRDs
// Each package compiles the CRD's openAPIV3Schema into a JSON-schema validator (ajv).
//
// Input (stdin): a JSON array of Kubernetes resources.
// Output (stdout): a JSON array, one entry per input resource, in order:
//   {"apiVersion", "kind", "name", "validated": true|false, "errors": [string, ...]}
// "validated" is false when no schema is known for the apiVersion/kind; the caller decides
// whether that is acceptable.

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
};

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
