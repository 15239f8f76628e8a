package io.github.varelsession.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.CookieManager;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.core.env.Environment;
import org.springframework.session.SessionRepository;
import org.springframework.session.events.AbstractSessionEvent;
import org.springframework.session.events.SessionCreatedEvent;
import org.springframework.session.events.SessionDeletedEvent;
import org.springframework.session.events.SessionExpiredEvent;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Spring Boot's auto-configuration, Spring Security's form log-in and its concurrent-session
 * control (SpringSessionBackedSessionRegistry), and the events, through a real server.
 */
@SpringBootTest(classes = SecurityTestApp.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "server.max-http-request-header-size=64KB")
class SpringSecurityTests {

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        registry.add("spring.datasource.url", TestDatabase::jdbcUrl);
        registry.add("spring.datasource.username", TestDatabase::user);
        registry.add("spring.datasource.hikari.connection-init-sql", () -> "SET varel_session.events = on");
    }

    @Autowired
    private Environment environment;

    @Autowired
    private SessionRepository<?> repository;

    @Autowired
    private VarelSessionEventPublisher events;

    @BeforeEach
    void waitForListening() throws InterruptedException {
        for (int i = 0; i < 100 && !this.events.isListening(); i++) {
            Thread.sleep(50);
        }
        assertThat(this.events.isListening()).isTrue();
        SecurityTestApp.EVENTS.clear();
    }

    private final class Browser {
        final HttpClient client = HttpClient.newBuilder().cookieHandler(new CookieManager()).build();

        HttpResponse<String> send(String method, String path, String form) throws IOException, InterruptedException {
            HttpRequest.Builder request = HttpRequest.newBuilder(url(path));
            if (form != null) {
                request.header("Content-Type", "application/x-www-form-urlencoded");
            }
            request.method(method, form == null ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(form));
            return this.client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        }

        int logIn(String user) throws IOException, InterruptedException {
            return send("POST", "/login", "username=" + user + "&password=pw").statusCode();
        }

        HttpResponse<String> whoami() throws IOException, InterruptedException {
            return send("GET", "/whoami", null);
        }
    }

    private URI url(String path) {
        return URI.create("http://127.0.0.1:" + this.environment.getProperty("local.server.port") + path);
    }

    private static String base64(String text) {
        return java.util.Base64.getEncoder().encodeToString(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void theAutoConfigurationPutsSessionsInTheExtension() {
        assertThat(this.repository).isInstanceOf(VarelSessionRepository.class);
    }

    @Test
    void formLogInStoresThePrincipal() throws Exception {
        Browser browser = new Browser();
        long rows = TestDatabase.rows();
        assertThat(browser.whoami().statusCode()).isEqualTo(401);
        for (String cookie : new String[] { "SESSION=garbage", "SESSION=" + base64("not a token"),
                "SESSION=" + base64("listed.1.0000000000000001.YWxpY2U.forged"), "SESSION=" + base64("x".repeat(6000)) }) {
            HttpResponse<String> response = browser.client.send(HttpRequest.newBuilder(url("/whoami"))
                    .header("Cookie", cookie).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(401);
        }
        assertThat(TestDatabase.rows()).isEqualTo(rows); // bad cookies and a 401 make no session
        assertThat(browser.logIn("bob")).isEqualTo(200);
        HttpResponse<String> me = browser.whoami();
        assertThat(me.statusCode()).isEqualTo(200);
        assertThat(me.body()).contains("\"name\":\"bob\"").contains("\"devices\":1");
        assertThat(browser.send("POST", "/logout", null).statusCode()).isEqualTo(200);
        assertThat(browser.whoami().statusCode()).isEqualTo(401);
    }

    @Test
    void aSecondLogInEndsTheFirstSession() throws Exception {
        Browser laptop = new Browser();
        Browser phone = new Browser();
        assertThat(laptop.logIn("alice")).isEqualTo(200);
        assertThat(laptop.whoami().statusCode()).isEqualTo(200);
        assertThat(phone.logIn("alice")).isEqualTo(200);

        assertThat(phone.whoami().statusCode()).isEqualTo(200);
        assertThat(laptop.whoami().statusCode()).isEqualTo(401);
        assertThat(((VarelSessionRepository) this.repository).findByPrincipalName("alice")).hasSize(1);
    }

    @Test
    void aSecondLogInInTheSameBrowserKeepsItsSession() throws Exception {
        Browser laptop = new Browser();
        assertThat(laptop.logIn("alice")).isEqualTo(200);
        assertThat(laptop.logIn("alice")).isEqualTo(200); // the limit counts this session once
        assertThat(laptop.whoami().statusCode()).isEqualTo(200);
        assertThat(((VarelSessionRepository) this.repository).findByPrincipalName("alice")).hasSize(1);
    }

    @Test
    void theExtensionsEventsBecomeSpringSessionEvents() throws Exception {
        VarelSessionRepository varel = (VarelSessionRepository) this.repository;
        VarelSession session = varel.createSession();
        session.setAttribute("a", "b");
        varel.save(session);
        String handle = varel.handleOf(session.getId());
        varel.deleteById(session.getId());

        AbstractSessionEvent created = nextEventOf(handle);
        assertThat(created).isInstanceOf(SessionCreatedEvent.class);
        AbstractSessionEvent deleted = nextEventOf(handle);
        assertThat(deleted).isInstanceOf(SessionDeletedEvent.class);
        assertThat(created.getSessionId()).doesNotContain(session.getId());
    }

    /** The next event of this session: other tests' late events are skipped. */
    private static AbstractSessionEvent nextEventOf(String handle) throws InterruptedException {
        for (AbstractSessionEvent event; (event = SecurityTestApp.EVENTS.poll(10, TimeUnit.SECONDS)) != null;) {
            if (event.getSessionId().equals(handle)) {
                return event;
            }
        }
        return null;
    }

    @Test
    void cleanupOfAnExpiredSessionIsASessionExpiredEvent() throws Exception {
        VarelSessionRepository varel = (VarelSessionRepository) this.repository;
        VarelSession session = varel.createSession();
        session.setAttribute(org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME,
                "expiring");
        varel.save(session);
        String handle = varel.handleOf(session.getId());
        TestDatabase.expire(session.getId());
        TestDatabase.jdbc().queryForObject("SELECT varel_session.session_cleanup()", Long.class);

        assertThat(nextEventOf(handle)).isInstanceOf(SessionCreatedEvent.class);
        AbstractSessionEvent expired = nextEventOf(handle);
        assertThat(expired).isInstanceOf(SessionExpiredEvent.class);
        assertThat(expired.<org.springframework.session.Session>getSession()
                .<Long>getAttribute(VarelSessionEventPublisher.USER_ID_ATTRIBUTE))
                .isEqualTo(PrincipalUserIds.hashed().userIdOf("expiring"));
    }
}
