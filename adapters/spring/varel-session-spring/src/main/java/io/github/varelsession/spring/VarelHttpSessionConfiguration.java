package io.github.varelsession.spring;

import java.time.Duration;
import java.time.format.DateTimeParseException;

import javax.sql.DataSource;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.core.env.Environment;
import org.springframework.session.config.annotation.web.http.SpringHttpSessionConfiguration;

/**
 * The beans of {@link EnableVarelHttpSession} and of the Spring Boot auto-configuration: the
 * repository, the events publisher and Spring Session's {@code springSessionRepositoryFilter}.
 *
 * <p>Settings, from the environment:
 * <ul>
 * <li>{@code varel.session.timeout}, else {@code spring.session.timeout}, else
 * {@code server.servlet.session.timeout}: the idle lifetime (default 30 minutes);</li>
 * <li>{@code varel.session.principal-user-ids}: {@code hashed} (default) or {@code numeric}, see
 * {@link PrincipalUserIds} (a bean of that type wins);</li>
 * <li>{@code varel.session.events.enabled} (default true) and {@code varel.session.events.channel}
 * (default {@code varel_session_events}).</li>
 * </ul>
 */
@Configuration(proxyBeanMethods = false)
@Import(SpringHttpSessionConfiguration.class)
public class VarelHttpSessionConfiguration {

    @Bean
    public VarelSessionRepository sessionRepository(DataSource dataSource, Environment environment,
            ObjectProvider<PrincipalUserIds> principalUserIds) {
        VarelSessionRepository repository = new VarelSessionRepository(dataSource,
                Thread.currentThread().getContextClassLoader());
        Duration timeout = duration(environment, "varel.session.timeout");
        if (timeout == null) {
            timeout = duration(environment, "spring.session.timeout");
        }
        if (timeout == null) {
            timeout = duration(environment, "server.servlet.session.timeout");
        }
        if (timeout != null) {
            repository.setDefaultMaxInactiveInterval(timeout);
        }
        String kind = environment.getProperty("varel.session.principal-user-ids", "hashed");
        PrincipalUserIds builtIn = switch (kind) {
            case "hashed" -> PrincipalUserIds.hashed();
            case "numeric" -> PrincipalUserIds.numeric();
            default -> throw new IllegalArgumentException(
                    "varel.session.principal-user-ids must be hashed or numeric, not " + kind);
        };
        repository.setPrincipalUserIds(principalUserIds.getIfAvailable(() -> builtIn));
        return repository;
    }

    @Bean
    public VarelSessionEventPublisher varelSessionEventPublisher(DataSource dataSource,
            ApplicationEventPublisher publisher, VarelSessionRepository repository, Environment environment) {
        VarelSessionEventPublisher events = new VarelSessionEventPublisher(dataSource, publisher, repository);
        events.setChannel(environment.getProperty("varel.session.events.channel", "varel_session_events"));
        if (!environment.getProperty("varel.session.events.enabled", Boolean.class, true)) {
            events.setAutoStartup(false);
        }
        return events;
    }

    /** A duration setting: Spring Boot's forms ("30m"), ISO-8601 ("PT30M") or plain seconds. */
    private static Duration duration(Environment environment, String key) {
        String text = environment.getProperty(key);
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            Duration converted = environment.getProperty(key, Duration.class);
            if (converted != null) {
                return converted;
            }
        }
        catch (RuntimeException ex) {
            // Not a form this environment converts: try the others below.
        }
        try {
            return Duration.parse(text.trim());
        }
        catch (DateTimeParseException ex) {
            return Duration.ofSeconds(Long.parseLong(text.trim()));
        }
    }
}
