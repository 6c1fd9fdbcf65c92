// Per-API request counts of a running Kafka broker, read over JMX (not a test; a measuring aid).
//
// Attaches to the broker's JVM by pid (the Attach API: same user, no start-up flag needed), starts its
// local management agent (a no-op if it already runs), and prints one line per request type:
// "<request> <count>", the cumulative Count of kafka.network:type=RequestMetrics,name=RequestsPerSec
// summed over the API versions. Used by services/common/bench/kafka_per_flow.py, which takes the
// difference of two readings.
//
//   javac -d /tmp/krc services/common/bench/KafkaRequestCounts.java && java -cp /tmp/krc KafkaRequestCounts <pid>

import com.sun.tools.attach.VirtualMachine;
import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public final class KafkaRequestCounts {
    public static void main(String[] args) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(args[0]);
        String url;
        try {
            url = vm.startLocalManagementAgent();
        } finally {
            vm.detach();
        }
        Map<String, Long> counts = new TreeMap<>();
        try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(url))) {
            MBeanServerConnection server = connector.getMBeanServerConnection();
            ObjectName pattern = new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*");
            for (ObjectName name : server.queryNames(pattern, null)) {
                long count = ((Number) server.getAttribute(name, "Count")).longValue();
                counts.merge(name.getKeyProperty("request"), count, Long::sum);
            }
        }
        for (Map.Entry<String, Long> entry : counts.entrySet()) {
            System.out.println(entry.getKey() + " " + entry.getValue());
        }
    }
}
