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
 * <li>{@code varel.session.deserialization-filter}: the classes Java-serialized attributes may
 * hold (see {@link VarelSessionRepository#setDeserializationFilter});</li>
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
        repository.setImportedFrom(environment.getProperty("varel.session.imported-from"));
        String filter = environment.getProperty("varel.session.deserialization-filter");
        if (filter != null) {
            repository.setDeserializationFilter(filter);
        }
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

    /**
     * A duration setting as Spring Boot writes session timeouts: a number of seconds ("1800"),
     * a number with a unit ("30m", "90s", "2h", "1d", "500ms") or ISO-8601 ("PT30M"); at least
     * one second.
     */
    static Duration duration(Environment environment, String key) {
        String text = environment.getProperty(key);
        if (text == null || text.isBlank()) {
            return null;
        }
        Duration duration = parseDuration(text.trim(), key);
        if (duration.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException(key + " must be at least one second, not " + text);
        }
        return duration;
    }

    private static Duration parseDuration(String text, String key) {
        java.util.regex.Matcher simple = java.util.regex.Pattern.compile("(\\d+)(ns|us|ms|s|m|h|d)?").matcher(text);
        if (simple.matches()) {
            long amount = Long.parseLong(simple.group(1));
            String unit = simple.group(2) == null ? "s" : simple.group(2);
            return switch (unit) {
                case "ns" -> Duration.ofNanos(amount);
                case "us" -> Duration.ofNanos(amount * 1000);
                case "ms" -> Duration.ofMillis(amount);
                case "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                case "h" -> Duration.ofHours(amount);
                default -> Duration.ofDays(amount);
            };
        }
        try {
            return Duration.parse(text);
        }
        catch (DateTimeParseException ex) {
            throw new IllegalArgumentException(key + " is not a duration: " + text, ex);
        }
    }
}
