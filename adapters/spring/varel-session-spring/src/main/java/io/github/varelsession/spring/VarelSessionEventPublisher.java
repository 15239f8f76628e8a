package io.github.varelsession.spring;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Objects;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.SmartLifecycle;
import org.springframework.session.MapSession;
import org.springframework.session.events.AbstractSessionEvent;
import org.springframework.session.events.SessionCreatedEvent;
import org.springframework.session.events.SessionDeletedEvent;
import org.springframework.session.events.SessionExpiredEvent;

import tools.jackson.databind.json.JsonMapper;

/**
 * Publishes Spring Session's events from the extension's {@code NOTIFY}s (which need
 * {@code varel_session.events = on}): {@code created} as {@link SessionCreatedEvent};
 * {@code destroyed}, {@code revoked} and {@code evicted} as {@link SessionDeletedEvent};
 * {@code expired} (one per session that cleanup removes) as {@link SessionExpiredEvent}.
 *
 * <p>The events' session is a {@link MapSession} whose id is the session's <em>handle</em>: the
 * extension never puts a token in an event. Its one attribute, {@link #USER_ID_ATTRIBUTE}, is the
 * session's user id when it has one. Events come from every app server on the database, not only this
 * one, after the transaction that caused them commits.
 *
 * <p>It holds one connection of the data source, LISTENing, and reconnects after a failure
 * (events sent while it was disconnected are lost, as with any LISTEN).
 */
public class VarelSessionEventPublisher implements SmartLifecycle {

    /** The attribute of an event's session that holds the user id (a Long), when it has one. */
    public static final String USER_ID_ATTRIBUTE = "varel_session.user_id";

    private static final Log logger = LogFactory.getLog(VarelSessionEventPublisher.class);
    private static final int POLL_MILLIS = 500;

    private final DataSource dataSource;
    private final ApplicationEventPublisher publisher;
    private final Object source;
    private final JsonMapper json = JsonMapper.builder().build();
    private String channel = "varel_session_events";
    private boolean autoStartup = true;
    private volatile boolean running;
    private volatile boolean listening;
    private Thread thread;

    /** {@code source} is the events' source (the repository). */
    public VarelSessionEventPublisher(DataSource dataSource, ApplicationEventPublisher publisher, Object source) {
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource must not be null");
        this.publisher = Objects.requireNonNull(publisher, "publisher must not be null");
        this.source = Objects.requireNonNull(source, "source must not be null");
    }

    /** The channel of {@code varel_session.events_channel}, if the database changed it. */
    public void setChannel(String channel) {
        this.channel = Objects.requireNonNull(channel, "channel must not be null");
    }

    /** Whether the application context starts it (default true). */
    public void setAutoStartup(boolean autoStartup) {
        this.autoStartup = autoStartup;
    }

    @Override
    public boolean isAutoStartup() {
        return this.autoStartup;
    }

    /** Whether it is connected and LISTENing now (for health checks and tests). */
    public boolean isListening() {
        return this.listening;
    }

    @Override
    public synchronized void start() {
        if (this.running || (this.thread != null && this.thread.isAlive())) {
            return; // running, or the last one has not finished stopping yet
        }
        this.running = true;
        this.thread = new Thread(this::run, "varel-session-events");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    @Override
    public synchronized void stop() {
        this.running = false;
        if (this.thread != null) {
            this.thread.interrupt();
            try {
                this.thread.join(5000);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            if (!this.thread.isAlive()) {
                this.thread = null;
            }
        }
    }

    @Override
    public boolean isRunning() {
        return this.running;
    }

    private void run() {
        long backoff = 250;
        while (this.running) {
            try (Connection connection = this.dataSource.getConnection()) {
                listen(connection);
                backoff = 250;
            }
            catch (SQLException | RuntimeException ex) {
                this.listening = false;
                if (!this.running) {
                    return;
                }
                logger.warn("varel_session events: listening failed, retrying in " + backoff + " ms: "
                        + ex.getMessage());
                try {
                    Thread.sleep(backoff);
                }
                catch (InterruptedException interrupted) {
                    return;
                }
                backoff = Math.min(backoff * 2, 10_000);
            }
        }
    }

    private void listen(Connection connection) throws SQLException {
        connection.setAutoCommit(true);
        try (Statement statement = connection.createStatement()) {
            // A quoted identifier: the channel is configuration, never request input.
            statement.execute("LISTEN \"" + this.channel.replace("\"", "\"\"") + "\"");
        }
        this.listening = true;
        try {
            PGConnection pg = connection.unwrap(PGConnection.class);
            while (this.running) {
                PGNotification[] notifications = pg.getNotifications(POLL_MILLIS);
                if (notifications == null) {
                    continue;
                }
                for (PGNotification notification : notifications) {
                    publish(notification.getParameter());
                }
            }
        }
        finally {
            this.listening = false;
            // The connection goes back to the pool: it must not keep collecting notifications.
            try (Statement statement = connection.createStatement()) {
                statement.execute("UNLISTEN *");
            }
            catch (SQLException ex) {
                // A broken connection is not reused by the pool; nothing to undo.
            }
        }
    }

    private void publish(String payload) {
        Map<?, ?> event;
        try {
            event = this.json.readValue(payload, Map.class);
        }
        catch (RuntimeException ex) {
            logger.warn("varel_session events: a notification is not an event's JSON");
            return;
        }
        if (event == null || !(event.get("handle") instanceof String handle)) {
            return; // cleanup runs and other events of no one session
        }
        MapSession session = new MapSession(handle);
        if (event.get("user_id") instanceof Number userId) {
            session.setAttribute(USER_ID_ATTRIBUTE, userId.longValue());
        }
        AbstractSessionEvent springEvent = switch (String.valueOf(event.get("event"))) {
            case "created" -> new SessionCreatedEvent(this.source, session);
            case "destroyed", "revoked", "evicted" -> new SessionDeletedEvent(this.source, session);
            case "expired" -> new SessionExpiredEvent(this.source, session);
            default -> null; // rotations, log-ins and log-outs keep the session
        };
        if (springEvent == null) {
            return;
        }
        try {
            this.publisher.publishEvent(springEvent);
        }
        catch (RuntimeException ex) {
            logger.warn("varel_session events: a listener failed on " + event.get("event"), ex);
        }
    }
}
