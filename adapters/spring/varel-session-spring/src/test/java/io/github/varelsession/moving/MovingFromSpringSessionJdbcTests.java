package io.github.varelsession.moving;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import javax.sql.DataSource;

import io.github.varelsession.spring.SpringSessionJdbcImport;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Profile;
import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.HttpStatusEntryPoint;
import org.springframework.session.jdbc.config.annotation.web.http.EnableJdbcHttpSession;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import jakarta.servlet.http.HttpSession;

/**
 * Moving a live Spring app from Spring Session JDBC to varel_session, nobody logged out: the app
 * (Spring Security's form log-in) runs on Spring Session JDBC in a database of its own, users log
 * in and fill a cart, {@link SpringSessionJdbcImport} runs while it serves and again after the
 * switch, and then, on the varel repository with {@code varel.session.imported-from}, every old
 * cookie logs its user in once, with their cart, under a new id.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MovingFromSpringSessionJdbcTests {

    private static final String DATABASE = "varel_moving_spring";

    private static String jdbcUrl;
    private static String user;
    private static DataSource owner;
    private static final Map<String, String> OLD = new LinkedHashMap<>();
    private static final List<String> RUNS = new ArrayList<>();
    /** A client without a cookie jar: each request carries the cookie it is given. */
    private static final HttpClient CLIENT = HttpClient.newHttpClient();

    /** The app: Spring Security's form log-in, a cart in the session. */
    @SpringBootApplication
    static class MovingApp {

        @Configuration
        @Profile("old")
        @EnableJdbcHttpSession
        static class OldStore {
        }

        @Bean
        SecurityFilterChain securityFilterChain(HttpSecurity http) throws Exception {
            http.authorizeHttpRequests(requests -> requests.anyRequest().authenticated())
                    .formLogin(form -> form.successHandler((request, response, auth) -> response.setStatus(200))
                            .failureHandler((request, response, failure) -> response.setStatus(401)))
                    .logout(logout -> logout.logoutSuccessHandler((request, response, auth) -> response.setStatus(200)))
                    .exceptionHandling(errors -> errors.authenticationEntryPoint(
                            new HttpStatusEntryPoint(HttpStatus.UNAUTHORIZED)))
                    .csrf(csrf -> csrf.disable())
                    .requestCache(cache -> cache.disable());
            return http.build();
        }

        @Bean
        UserDetailsService users() {
            InMemoryUserDetailsManager users = new InMemoryUserDetailsManager();
            for (String name : List.of("alice", "bob", "carol", "dave", "erin")) {
                users.createUser(User.withUsername(name).password("{noop}pw").roles("USER").build());
            }
            return users;
        }

        @RestController
        static class Endpoints {

            @GetMapping("/whoami")
            Map<String, Object> whoami(Authentication authentication, HttpSession session) {
                Object cart = session.getAttribute("cart");
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("name", authentication.getName());
                body.put("cart", cart == null ? List.of() : cart);
                return body;
            }

            @GetMapping("/add")
            String add(@RequestParam String item, HttpSession session) {
                @SuppressWarnings("unchecked")
                List<String> cart = (List<String>) session.getAttribute("cart");
                List<String> updated = new ArrayList<>(cart == null ? List.of() : cart);
                updated.add(item);
                session.setAttribute("cart", updated);
                return "ok";
            }
        }
    }

    @BeforeAll
    static void anAppWithLoggedInUsersOnSpringSessionJdbc() throws Exception {
        URI url = URI.create(System.getenv("VAREL_ADAPTERS_DATABASE_URL"));
        user = url.getUserInfo() == null ? "postgres" : url.getUserInfo().split(":", 2)[0];
        String server = "jdbc:postgresql://" + url.getHost() + ":" + url.getPort();
        try (Connection admin = DriverManager.getConnection(server + url.getPath(), user, null)) {
            admin.createStatement().execute("DROP DATABASE IF EXISTS " + DATABASE);
            admin.createStatement().execute("CREATE DATABASE " + DATABASE);
        }
        jdbcUrl = server + "/" + DATABASE;
        owner = new DriverManagerDataSource(jdbcUrl, user, null);
        JdbcTemplate jdbc = new JdbcTemplate(owner);
        jdbc.execute("CREATE EXTENSION varel_session");
        // Spring Session JDBC's own schema for PostgreSQL, from its jar.
        try (var schema = EnableJdbcHttpSession.class.getClassLoader()
                .getResourceAsStream("org/springframework/session/jdbc/schema-postgresql.sql")) {
            jdbc.execute(new String(schema.readAllBytes(), StandardCharsets.UTF_8));
        }

        withApp("old", base -> {
            for (String name : List.of("alice", "bob", "carol", "dave")) {
                String cookie = cookieOf(send(base, "POST", "/login", null, "username=" + name + "&password=pw"));
                OLD.put(name, cookie);
                send(base, "GET", "/add?item=" + name + "-item", cookie, null);
            }
            RUNS.add(importer().run(null).toString());
            // Meanwhile: bob adds to his cart, carol logs out, erin logs in; then the import again.
            send(base, "GET", "/add?item=after-first-import", OLD.get("bob"), null);
            send(base, "POST", "/logout", OLD.get("carol"), null);
            OLD.put("erin", cookieOf(send(base, "POST", "/login", null, "username=erin&password=pw")));
            RUNS.add(importer().run(null).toString());
        });
    }

    private static SpringSessionJdbcImport importer() {
        return new SpringSessionJdbcImport(owner, MovingFromSpringSessionJdbcTests.class.getClassLoader());
    }

    @Test
    @Order(1)
    void theImportReportsWhatItDid() {
        assertThat(RUNS.get(0)).isEqualTo("imported 4, skipped 0 (attributes the filter refuses), ended 0 (gone from the old tables)");
        assertThat(RUNS.get(1)).isEqualTo("imported 4, skipped 0 (attributes the filter refuses), ended 1 (gone from the old tables)");
    }

    @Test
    @Order(2)
    void everyUserIsStillLoggedInOnceWithTheirCart() throws Exception {
        withApp("new", base -> {
            Map<String, List<String>> carts = Map.of("alice", List.of("alice-item"),
                    "bob", List.of("bob-item", "after-first-import"), "dave", List.of("dave-item"), "erin", List.of());
            for (Map.Entry<String, List<String>> expected : carts.entrySet()) {
                String name = expected.getKey();
                HttpResponse<String> first = send(base, "GET", "/whoami", OLD.get(name), null);
                assertThat(first.statusCode()).as(name).isEqualTo(200);
                assertThat(first.body()).isEqualTo(json(name, expected.getValue()));
                String renewed = cookieOf(first);
                assertThat(renewed).isNotEqualTo(OLD.get(name));
                assertThat(send(base, "GET", "/whoami", renewed, null).body()).isEqualTo(json(name, expected.getValue()));
                assertThat(send(base, "GET", "/whoami", OLD.get(name), null).statusCode()).isEqualTo(401);
            }
            // carol logged out on the old store before the switch, and stays logged out.
            assertThat(send(base, "GET", "/whoami", OLD.get("carol"), null).statusCode()).isEqualTo(401);
            // Only hashes of the old ids were stored.
            JdbcTemplate jdbc = new JdbcTemplate(owner);
            for (String cookie : OLD.values()) {
                String id = new String(java.util.Base64.getDecoder().decode(cookie), StandardCharsets.UTF_8);
                assertThat(jdbc.queryForObject("SELECT count(*) FROM varel_session.imported_sessions"
                        + " WHERE position(convert_to(?, 'UTF8') IN id_hash) > 0 OR data::text LIKE '%' || ? || '%'",
                        Long.class, id, id)).isZero();
            }
        });
    }

    @Test
    @Order(3)
    void aSessionWithAClassTheFilterRefusesIsSkipped() throws Exception {
        JdbcTemplate jdbc = new JdbcTemplate(owner);
        long now = System.currentTimeMillis();
        jdbc.update("INSERT INTO SPRING_SESSION VALUES ('p-refused', 's-refused', ?, ?, 1800, ?, NULL)", now, now,
                now + 1_800_000);
        // A serialized object of a class outside java.**, javax.** and org.springframework.**.
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
            out.writeObject(new NotAllowed());
        }
        jdbc.update("INSERT INTO SPRING_SESSION_ATTRIBUTES VALUES ('p-refused', 'gadget', ?)", (Object) bytes.toByteArray());
        assertThat(importer().run(null).skipped()).isEqualTo(1);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM varel_session.session_claim('spring-session-jdbc', 's-refused')",
                Long.class)).isZero();
    }

    /** Two requests with one old cookie make one session. */
    @Test
    @Order(4)
    void twoRequestsWithOneOldCookieMakeOneSession() throws Exception {
        JdbcTemplate jdbc = new JdbcTemplate(owner);
        // An old session made like the app's: the import of a copy of alice's first one.
        withApp("old", base -> OLD.put("alice-again", cookieOf(send(base, "POST", "/login", null,
                "username=alice&password=pw"))));
        importer().run(null);
        withApp("new", base -> {
            CompletableFuture<HttpResponse<String>> one = CompletableFuture.supplyAsync(
                    () -> sendUnchecked(base, OLD.get("alice-again")));
            CompletableFuture<HttpResponse<String>> two = CompletableFuture.supplyAsync(
                    () -> sendUnchecked(base, OLD.get("alice-again")));
            List<Integer> statuses = new ArrayList<>(List.of(one.join().statusCode(), two.join().statusCode()));
            statuses.sort(null);
            assertThat(statuses).containsExactly(200, 401);
        });
        assertThat(jdbc.queryForObject("SELECT count(*) FROM varel_session.imported_sessions WHERE ended_at IS NULL"
                + " AND store = 'spring-session-jdbc'", Long.class)).isZero();
    }

    static final class NotAllowed implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
    }

    private interface Run {
        void run(String base) throws Exception;
    }

    private static void withApp(String profile, Run run) throws Exception {
        SpringApplication application = new SpringApplication(MovingApp.class);
        application.setAdditionalProfiles(profile);
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("server.port", "0");
        properties.put("spring.datasource.url", jdbcUrl);
        properties.put("spring.datasource.username", user);
        properties.put("varel.session.enabled", profile.equals("new"));
        properties.put("varel.session.imported-from", "spring-session-jdbc");
        properties.put("varel.session.events.enabled", "false");
        properties.put("spring.main.banner-mode", "off");
        properties.put("logging.level.root", "warn");
        application.setDefaultProperties(properties);
        try (ConfigurableApplicationContext context = application.run()) {
            run.run("http://127.0.0.1:" + context.getEnvironment().getProperty("local.server.port"));
        }
    }

    private static HttpResponse<String> send(String base, String method, String path, String cookie, String form)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path));
        if (cookie != null) {
            request.header("Cookie", "SESSION=" + cookie);
        }
        if (form != null) {
            request.header("Content-Type", "application/x-www-form-urlencoded");
        }
        request.method(method, form == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(form));
        return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> sendUnchecked(String base, String cookie) {
        try {
            return send(base, "GET", "/whoami", cookie, null);
        }
        catch (IOException | InterruptedException ex) {
            throw new IllegalStateException(ex);
        }
    }

    private static String cookieOf(HttpResponse<String> response) {
        for (String header : response.headers().allValues("Set-Cookie")) {
            if (header.startsWith("SESSION=")) {
                return header.substring("SESSION=".length(), header.indexOf(';'));
            }
        }
        throw new AssertionError("no SESSION cookie set: " + response.statusCode());
    }

    private static String json(String name, List<String> cart) {
        StringBuilder items = new StringBuilder();
        for (String item : cart) {
            items.append(items.isEmpty() ? "" : ",").append('"').append(item).append('"');
        }
        return "{\"name\":\"" + name + "\",\"cart\":[" + items + "]}";
    }
}
