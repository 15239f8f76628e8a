package io.github.varelsession.spring;

import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.event.EventListener;
import org.springframework.http.HttpStatus;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.HttpStatusEntryPoint;
import org.springframework.security.web.authentication.logout.HttpStatusReturningLogoutSuccessHandler;
import org.springframework.session.Session;
import org.springframework.session.events.AbstractSessionEvent;
import org.springframework.session.security.SpringSessionBackedSessionRegistry;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * A Spring Boot app with Spring Security's form log-in and concurrent-session control (one
 * session per user), whose sessions the auto-configuration puts in the extension.
 */
@SpringBootApplication
public class SecurityTestApp {

    /** Every Spring Session event the app received. */
    static final BlockingQueue<AbstractSessionEvent> EVENTS = new LinkedBlockingQueue<>();

    @Bean
    SpringSessionBackedSessionRegistry<Session> sessionRegistry(VarelSessionRepository repository) {
        return new SpringSessionBackedSessionRegistry<>(repository);
    }

    @Bean
    SecurityFilterChain securityFilterChain(HttpSecurity http, SpringSessionBackedSessionRegistry<Session> registry)
            throws Exception {
        http.authorizeHttpRequests(requests -> requests.anyRequest().authenticated())
                .formLogin(form -> form.successHandler((request, response, auth) -> response.setStatus(200))
                        .failureHandler((request, response, failure) -> response.setStatus(401)))
                .logout(logout -> logout.logoutSuccessHandler(new HttpStatusReturningLogoutSuccessHandler()))
                .exceptionHandling(errors -> errors.authenticationEntryPoint(
                        new HttpStatusEntryPoint(HttpStatus.UNAUTHORIZED)))
                .csrf(csrf -> csrf.disable())
                // An API: a 401 does not keep the request for after a log-in (which needs a session).
                .requestCache(cache -> cache.disable())
                .sessionManagement(sessions -> sessions.maximumSessions(1).sessionRegistry(registry));
        return http.build();
    }

    @Bean
    UserDetailsService users() {
        return new InMemoryUserDetailsManager(User.withUsername("alice").password("{noop}pw").roles("USER").build(),
                User.withUsername("bob").password("{noop}pw").roles("USER").build());
    }

    @EventListener
    void onSessionEvent(AbstractSessionEvent event) {
        EVENTS.add(event);
    }

    @RestController
    static class Endpoints {

        private final VarelSessionRepository repository;

        Endpoints(VarelSessionRepository repository) {
            this.repository = repository;
        }

        @GetMapping("/whoami")
        Map<String, Object> whoami(Authentication authentication) {
            return Map.of("name", authentication.getName(), "devices",
                    this.repository.findByPrincipalName(authentication.getName()).size());
        }
    }
}
