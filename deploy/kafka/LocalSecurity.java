// Creates SCRAM users and ACLs on the local Kafka cluster (deploy/infra.sh, secured 3-broker mode).
// Run with Java's single-file source launcher and the Kafka jars on the class path:
//   java -cp '.state/kafka-libs/*' deploy/kafka/LocalSecurity.java <admin.properties> <spec.tsv>
// spec.tsv, tab-separated, written by deploy/kafka/local_security.py from k8s/base/kafka/users.yaml:
//   user <name> <password>
//   acl  <name> <resource type> <resource name> <pattern type> <operation>
// Both are idempotent: a user is upserted, an existing ACL binding is left as it is.
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class LocalSecurity {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            throw new IllegalArgumentException("usage: LocalSecurity <admin.properties> <spec.tsv>");
        }
        Properties props = new Properties();
        try (var in = Files.newInputStream(Path.of(args[0]))) {
            props.load(in);
        }
        List<UserScramCredentialAlteration> users = new ArrayList<>();
        List<AclBinding> acls = new ArrayList<>();
        for (String raw : Files.readAllLines(Path.of(args[1]))) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] f = line.split("\t");
            if (f[0].equals("user") && f.length == 3) {
                users.add(new UserScramCredentialUpsertion(
                        f[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), f[2]));
            } else if (f[0].equals("acl") && f.length == 6) {
                ResourceType type = ResourceType.fromString(f[2]);
                PatternType pattern = PatternType.fromString(f[4]);
                AclOperation operation = AclOperation.fromString(f[5]);
                if (type == ResourceType.UNKNOWN || pattern == PatternType.UNKNOWN || operation == AclOperation.UNKNOWN) {
                    throw new IllegalArgumentException("unknown resource type, pattern or operation: " + line);
                }
                acls.add(new AclBinding(
                        new ResourcePattern(type, f[3], pattern),
                        new AccessControlEntry("User:" + f[1], "*", operation, AclPermissionType.ALLOW)));
            } else {
                throw new IllegalArgumentException("bad spec line: " + line);
            }
        }
        try (Admin admin = Admin.create(props)) {
            if (!users.isEmpty()) admin.alterUserScramCredentials(users).all().get();
            if (!acls.isEmpty()) admin.createAcls(acls).all().get();
        }
        System.out.println("kafka security: " + users.size() + " users, " + acls.size() + " ACL bindings");
    }
}
