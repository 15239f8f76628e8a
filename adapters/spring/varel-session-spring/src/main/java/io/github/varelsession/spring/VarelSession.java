package io.github.varelsession.spring;

import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import org.springframework.session.Session;

/**
 * A session of {@link VarelSessionRepository}: the attributes as loaded, what this request
 * changed, and the rotation or log-in that its save will perform.
 *
 * <p>Attributes are decoded on first use and written back only when their stored form differs
 * from what was loaded, as one merge patch of the changed keys: a concurrent request's other keys
 * are never overwritten.
 */
public final class VarelSession implements Session {

    private final VarelSessionRepository repository;
    private String id;
    private boolean stored;
    private boolean ended;
    private final Instant creationTime;
    private Instant lastAccessedTime;
    private Duration maxInactiveInterval;
    private boolean maxInactiveIntervalChanged;
    private final Instant expiresAt;

    /** The user id the database has for this session (null: anonymous). */
    private Long storedUserId;

    /** Stored form of each key as loaded (or as last saved). */
    private Map<String, Object> loaded;

    /** Attributes this request decoded, set or removed (null value: removed). */
    private final Map<String, Object> touched = new HashMap<>();

    VarelSession(VarelSessionRepository repository, String id, Duration maxInactiveInterval) {
        this.repository = repository;
        this.id = id;
        this.stored = false;
        this.creationTime = Instant.now();
        this.lastAccessedTime = this.creationTime;
        this.maxInactiveInterval = maxInactiveInterval;
        this.expiresAt = null;
        this.loaded = new LinkedHashMap<>();
    }

    VarelSession(VarelSessionRepository repository, String id, Map<String, Object> loaded, Long userId,
            Instant createdAt, Instant expiresAt, Duration maxInactiveInterval) {
        this.repository = repository;
        this.id = id;
        this.stored = true;
        this.creationTime = createdAt;
        this.lastAccessedTime = Instant.now();
        this.maxInactiveInterval = maxInactiveInterval;
        this.expiresAt = expiresAt;
        this.storedUserId = userId;
        this.loaded = loaded;
    }

    @Override
    public String getId() {
        return this.id;
    }

    /**
     * A new id for this session. A stored session is rotated in the database at once (its old id
     * stops working); a session not saved yet just takes a new random id.
     */
    @Override
    public String changeSessionId() {
        if (!this.stored) {
            this.id = this.repository.generateId();
            return this.id;
        }
        if (this.ended) {
            return this.id;
        }
        String next = this.repository.regenerate(this.id);
        if (next == null) {
            this.ended = true; // ended elsewhere: saving it will not revive it
            return this.id;
        }
        this.id = next;
        return next;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T getAttribute(String name) {
        if (this.touched.containsKey(name)) {
            return (T) this.touched.get(name);
        }
        Object storedValue = this.loaded.get(name);
        if (storedValue == null) {
            return null;
        }
        Object value = this.repository.codec().decode(storedValue);
        this.touched.put(name, value);
        return (T) value;
    }

    @Override
    public Set<String> getAttributeNames() {
        Set<String> names = new HashSet<>(this.loaded.keySet());
        this.touched.forEach((name, value) -> {
            if (value == null) {
                names.remove(name);
            }
            else {
                names.add(name);
            }
        });
        return Collections.unmodifiableSet(names);
    }

    @Override
    public void setAttribute(String name, Object value) {
        Objects.requireNonNull(name, "attribute name must not be null");
        this.touched.put(name, value);
    }

    @Override
    public void removeAttribute(String name) {
        this.touched.put(name, null);
    }

    @Override
    public Instant getCreationTime() {
        return this.creationTime;
    }

    @Override
    public void setLastAccessedTime(Instant lastAccessedTime) {
        // The database records each use itself (session_load slides the idle deadline).
        this.lastAccessedTime = lastAccessedTime;
    }

    @Override
    public Instant getLastAccessedTime() {
        return this.lastAccessedTime;
    }

    /** A new idle lifetime for this session, written at its save. */
    @Override
    public void setMaxInactiveInterval(Duration interval) {
        if (interval == null || interval.compareTo(Duration.ofSeconds(1)) < 0) {
            // The servlet API's "never" (zero or less) does not exist here: the extension's
            // absolute deadline always applies.
            throw new IllegalArgumentException("max inactive interval must be at least one second");
        }
        this.maxInactiveInterval = interval;
        this.maxInactiveIntervalChanged = true;
    }

    @Override
    public Duration getMaxInactiveInterval() {
        return this.maxInactiveInterval;
    }

    @Override
    public boolean isExpired() {
        return this.ended || (this.expiresAt != null && !this.expiresAt.isAfter(Instant.now()));
    }

    // What the repository's save needs.

    boolean isStored() {
        return this.stored;
    }

    boolean isEnded() {
        return this.ended;
    }

    Long storedUserId() {
        return this.storedUserId;
    }

    boolean maxInactiveIntervalChanged() {
        return this.maxInactiveIntervalChanged;
    }

    /** The merge patch of what this request changed: stored forms, null for removed keys. */
    Map<String, Object> changes(AttributeCodec codec) {
        Map<String, Object> patch = new LinkedHashMap<>();
        this.touched.forEach((name, value) -> {
            Object before = this.loaded.get(name);
            if (value == null) {
                if (before != null) {
                    patch.put(name, null);
                }
                return;
            }
            Object after = codec.encode(value);
            if (!after.equals(before)) {
                patch.put(name, after);
            }
        });
        return patch;
    }

    /** The data of a session not stored yet, as stored forms. */
    Map<String, Object> data(AttributeCodec codec) {
        Map<String, Object> data = new LinkedHashMap<>(this.loaded);
        this.touched.forEach((name, value) -> {
            if (value == null) {
                data.remove(name);
            }
            else {
                data.put(name, codec.encode(value));
            }
        });
        return data;
    }

    /** The database now holds this session under {@code newId} with these keys and user. */
    void saved(String newId, Map<String, Object> patch, Long userId) {
        this.id = newId;
        this.stored = true;
        patch.forEach((name, value) -> {
            if (value == null) {
                this.loaded.remove(name);
            }
            else {
                this.loaded.put(name, value);
            }
        });
        this.storedUserId = userId;
        this.maxInactiveIntervalChanged = false;
    }

    /** The session ended elsewhere (log-out, revoke, expiry): nothing of it is written again. */
    void markEnded() {
        this.ended = true;
    }

    /** The value an atomic increment left in the database, without marking the key changed. */
    void incremented(String name, long value) {
        this.loaded.put(name, value);
        this.touched.put(name, value);
    }
}
