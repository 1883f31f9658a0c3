package example;

import io.github.yunxinecp.CallbackVerifier;
import io.github.yunxinecp.Client;
import io.github.yunxinecp.Credentials;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;

/**
 * A Spring Boot application with one {@link Client} and one {@link CallbackVerifier}, both
 * immutable and thread-safe, shared by every request. Credentials come from YUNXIN_APP_KEY and
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

    @Bean
    CallbackVerifier yunxinCallbackVerifier(Credentials credentials) {
        return new CallbackVerifier(credentials);
    }
}
