package io.github.varelsession.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.springframework.context.annotation.Import;

/**
 * Keeps the app's HTTP sessions in the varel_session extension, on the context's
 * {@code DataSource}: for Spring apps without Spring Boot (Boot apps need only the jar, see
 * {@link VarelSessionAutoConfiguration}).
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@Documented
@Import(VarelHttpSessionConfiguration.class)
public @interface EnableVarelHttpSession {
}
