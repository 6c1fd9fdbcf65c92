// Sets a running Kafka broker's request log level over JMX (not a test; a measuring aid).
//
// Attaches to the broker's JVM by pid (the Attach API, as KafkaRequestCounts.java), starts its local
// management agent and calls setLogLevel on the broker's logging MBean (kafka:type=kafka.Log4jController)
// for kafka.request.logger: DEBUG writes one "Completed request:{json}" line per request to the broker's
// server.log (API key, client id, connection, times), WARN (deploy/infra.sh's level) stops it. Used by
// services/common/bench/kafka_census.py.
//
//   javac -d /tmp/krl services/common/bench/KafkaRequestLog.java && java -cp /tmp/krl KafkaRequestLog <pid> DEBUG

import com.sun.tools.attach.VirtualMachine;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public final class KafkaRequestLog {
    public static void main(String[] args) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(args[0]);
        String url;
        try {
            url = vm.startLocalManagementAgent();
        } finally {
            vm.detach();
        }
        try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(url))) {
            MBeanServerConnection server = connector.getMBeanServerConnection();
            ObjectName controller = new ObjectName("kafka:type=kafka.Log4jController");
            Object done = server.invoke(
                controller,
                "setLogLevel",
                new Object[] {"kafka.request.logger", args[1]},
                new String[] {String.class.getName(), String.class.getName()});
            Object level = server.invoke(
                controller, "getLogLevel", new Object[] {"kafka.request.logger"}, new String[] {String.class.getName()});
            System.out.println("kafka.request.logger " + level + " (" + done + ")");
        }
    }
}
