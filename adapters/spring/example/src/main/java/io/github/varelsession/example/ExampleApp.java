package io.github.varelsession.example;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * The Spring Boot example app: the shared HTTP contract of the adapters' examples
 * (tests/examples/contract.py) on Spring Session with varel_session. It reads DATABASE_URL (a
 * libpq URL) and PORT, and serves on 127.0.0.1:$PORT.
 */
@SpringBootApplication
public class ExampleApp {

    public static void main(String[] args) {
        SpringApplication app = new SpringApplication(ExampleApp.class);
        app.setDefaultProperties(settings(System.getenv("DATABASE_URL"), System.getenv().getOrDefault("PORT", "8080")));
        app.run(args);
    }

    /** Spring's settings from the environment: the libpq URL becomes a JDBC URL and a user. */
    static Map<String, Object> settings(String databaseUrl, String port) {
        if (databaseUrl == null || databaseUrl.isEmpty()) {
            throw new IllegalArgumentException("DATABASE_URL is not set (a libpq URL: postgresql://user@host:port/db)");
        }
        URI url = URI.create(databaseUrl);
        Map<String, Object> settings = new HashMap<>();
        String host = url.getHost() == null ? "localhost" : url.getHost();
        int dbPort = url.getPort() == -1 ? 5432 : url.getPort();
        settings.put("spring.datasource.url", "jdbc:postgresql://" + host + ":" + dbPort + url.getRawPath());
        if (url.getRawUserInfo() != null) {
            String[] user = url.getRawUserInfo().split(":", 2);
            settings.put("spring.datasource.username", URLDecoder.decode(user[0], StandardCharsets.UTF_8));
            if (user.length == 2) {
                settings.put("spring.datasource.password", URLDecoder.decode(user[1], StandardCharsets.UTF_8));
            }
        }
        settings.put("server.address", "127.0.0.1");
        settings.put("server.port", port);
        // The contract sends 8 KB cookies, which must be no session (401), not a 400.
        settings.put("server.max-http-request-header-size", "64KB");
        settings.put("spring.datasource.hikari.maximum-pool-size", "16");
        // The principal is the user id of POST /login.
        settings.put("varel.session.principal-user-ids", "numeric");
        settings.put("spring.main.banner-mode", "off");
        return settings;
    }
}
