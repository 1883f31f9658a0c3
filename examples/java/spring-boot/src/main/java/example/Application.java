package example;

import io.github.yunxinecp.CallbackEndpoint;
import io.github.yunxinecp.CallbackVerifier;
import io.github.yunxinecp.Client;
import io.github.yunxinecp.Credentials;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;

/**
 * A Spring Boot application with one {@link Client} and one {@link CallbackEndpoint}, both
 * thread-safe, shared by every request. Credentials come from YUNXIN_APP_KEY and
 * YUNXIN_APP_SECRET (never from application.properties in the repository); YUNXIN_BASE_URL points
 * the client at a local mock.
 */
@SpringBootApplication
public class Application {
    public static void main(String[] args) {
        SpringApplication.run(Application.class, args);
    }

    @Bean
    Credentials yunxinCredentials() {
        return Credentials.fromEnv();
    }

    @Bean
    Client yunxinClient(Credentials credentials) {
        return Client.builder(credentials).build();
    }

    /**
     * Verifies callbacks signed with the current secret, and with the previous one while
     * YUNXIN_APP_SECRET_PREVIOUS is set (an AppSecret rotation); remembers each delivery handled in
     * this process (with several instances, {@code CallbackEndpoint.builder(verifier).guard(new
     * DeliveryGuard(store))} over a store they share: Redis, a table).
     */
    @Bean
    CallbackEndpoint yunxinCallbackEndpoint(Credentials credentials) {
        String previous = System.getenv("YUNXIN_APP_SECRET_PREVIOUS");
        CallbackVerifier verifier = previous == null || previous.isEmpty() ? new CallbackVerifier(credentials)
                : new CallbackVerifier(credentials, new Credentials(credentials.appKey(), previous));
        return new CallbackEndpoint(verifier);
    }
}
