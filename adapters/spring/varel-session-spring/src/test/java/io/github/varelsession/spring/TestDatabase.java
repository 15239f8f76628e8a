package io.github.varelsession.spring;

import java.net.URI;
import java.util.List;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The adapters' test database (VAREL_ADAPTERS_DATABASE_URL, which `make test-env` writes to
 * target/test.env), with events on, and a look at the sessions table as its owner sees it.
 */
final class TestDatabase {

    private static HikariDataSource dataSource;

    private TestDatabase() {
    }

    /** A pool on the test database; the tests fail without one (never skipped). */
    static synchronized DataSource dataSource() {
        if (dataSource == null) {
            HikariConfig config = new HikariConfig();
            config.setJdbcUrl(jdbcUrl());
            config.setUsername(user());
            config.setMaximumPoolSize(24);
            config.setConnectionInitSql("SET varel_session.events = on");
            dataSource = new HikariDataSource(config);
        }
        return dataSource;
    }

    /** The libpq URL of the environment as a JDBC URL (host, port and database). */
    static String jdbcUrl() {
        URI url = url();
        return "jdbc:postgresql://" + url.getHost() + ":" + url.getPort() + url.getPath();
    }

    static String user() {
        String info = url().getUserInfo();
        return info == null ? "postgres" : info.split(":", 2)[0];
    }

    private static URI url() {
        String url = System.getenv("VAREL_ADAPTERS_DATABASE_URL");
        if (url == null || url.isEmpty()) {
            throw new IllegalStateException(
                    "VAREL_ADAPTERS_DATABASE_URL is not set: run `make test-env` and `. target/test.env`");
        }
        return URI.create(url);
    }

    static JdbcTemplate jdbc() {
        return new JdbcTemplate(dataSource());
    }

    /** How many rows hold this id (a framework id or a token) under its hash. */
    static long stored(String id) {
        return jdbc().queryForObject("SELECT count(*) FROM varel_session.sessions"
                + " WHERE token_hash = varel_session_internal.token_hash(?)", Long.class, id);
    }

    static long rows() {
        return jdbc().queryForObject("SELECT count(*) FROM varel_session.sessions", Long.class);
    }

    /** The session's data as the database holds it (JSON text), or null. */
    static String data(String id) {
        List<String> data = jdbc().queryForList("SELECT data::text FROM varel_session.session_get(?)", String.class,
                id);
        return data.isEmpty() ? null : data.get(0);
    }

    static Long userId(String id) {
        List<Long> users = jdbc().queryForList("SELECT user_id FROM varel_session.session_get(?)", Long.class, id);
        return users.isEmpty() ? null : users.get(0);
    }

    /** Moves the session's idle deadline into the past, as time would. */
    static void expire(String id) {
        jdbc().update("UPDATE varel_session.sessions SET expires_at = now() - interval '1 second'"
                + " WHERE token_hash = varel_session_internal.token_hash(?)", id);
    }

    /** How many rows have this text anywhere in their data (a token must never be there). */
    static long mentions(String text) {
        return jdbc().queryForObject("SELECT count(*) FROM varel_session.sessions WHERE strpos(data::text, ?) > 0",
                Long.class, text);
    }
}
