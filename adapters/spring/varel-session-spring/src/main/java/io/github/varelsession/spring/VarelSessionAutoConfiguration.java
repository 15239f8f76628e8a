package io.github.varelsession.spring;

import javax.sql.DataSource;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Import;
import org.springframework.session.SessionRepository;

/**
 * Spring Boot: with this jar on the class path and a {@code DataSource}, the app's HTTP sessions
 * live in the varel_session extension. {@code varel.session.enabled=false} turns it off; a
 * {@code SessionRepository} bean of the app's own wins.
 */
@AutoConfiguration(afterName = {
        "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
        "org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration" },
        // Before Spring Boot's own session modules (when an app has them), so that this
        // repository is the one they find and their filter settings apply to it.
        beforeName = {
        "org.springframework.boot.session.autoconfigure.SessionAutoConfiguration",
        "org.springframework.boot.session.jdbc.autoconfigure.JdbcSessionAutoConfiguration" })
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnBean(DataSource.class)
@ConditionalOnMissingBean(SessionRepository.class)
@ConditionalOnProperty(name = "varel.session.enabled", havingValue = "true", matchIfMissing = true)
@Import(VarelHttpSessionConfiguration.class)
public class VarelSessionAutoConfiguration {
}
