package io.github.varelsession.spring;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;

import org.springframework.session.FindByIndexNameSessionRepository;
import org.springframework.session.Session;

/**
 * One of a user's sessions as {@link VarelSessionRepository#findByPrincipalName} lists it: named by
 * its handle (the extension never shows another session's token), with when it was created and
 * last used and the client of its log-in, for a "your devices" page.
 *
 * <p>It is read-only but for one change: setting Spring Security's expired flag (what
 * {@code SpringSessionBackedSessionInformation.expireNow()} does when concurrent-session control
 * ends the oldest session) and saving it revokes that session in the database, at once.
 *
 * <p>Its {@link #getId() id} is {@code listed.<user id>.<handle>.<principal>.<until>.<mac>},
 * signed with a key of this repository instance and known again by {@code findById} for a minute
 * (Spring Security looks it up before it expires it); a forged or old one is no session. The
 * session of the request that lists (if it is one of them) has its own id instead, as Spring
 * Security's concurrent-session control expects.
 */
public final class ListedSession implements Session {

    /** SpringSessionBackedSessionInformation.EXPIRED_ATTR (a package-private constant there). */
    static final String EXPIRED_ATTR = "org.springframework.session.security.SpringSessionBackedSessionInformation.EXPIRED";

    private final String id;
    private final long userId;
    private final String handle;
    private final String principalName;
    private final Instant createdAt;
    private final Instant lastUsedAt;
    private final Instant expiresAt;
    private final InetAddress ip;
    private final String userAgent;
    private final boolean current;
    private final boolean forExpiry;
    private boolean expireRequested;

    ListedSession(String id, long userId, String handle, String principalName, Instant createdAt,
            Instant lastUsedAt, Instant expiresAt, InetAddress ip, String userAgent, boolean current) {
        this(id, userId, handle, principalName, createdAt, lastUsedAt, expiresAt, ip, userAgent, current, false);
    }

    private ListedSession(String id, long userId, String handle, String principalName, Instant createdAt,
            Instant lastUsedAt, Instant expiresAt, InetAddress ip, String userAgent, boolean current,
            boolean forExpiry) {
        this.current = current;
        this.forExpiry = forExpiry;
        this.id = id;
        this.userId = userId;
        this.handle = handle;
        this.principalName = principalName;
        this.createdAt = createdAt;
        this.lastUsedAt = lastUsedAt;
        this.expiresAt = expiresAt;
        this.ip = ip;
        this.userAgent = userAgent;
    }

    /** The same session as {@code findById} returns it: no principal, only its expiry. */
    ListedSession forExpiry() {
        return new ListedSession(this.id, this.userId, this.handle, this.principalName, this.createdAt,
                this.lastUsedAt, this.expiresAt, null, null, false, true);
    }

    /**
     * Whether this is the session of the request that listed (then {@link #getId()} is its id);
     * known when Spring's RequestContextHolder holds the request.
     */
    public boolean isCurrent() {
        return this.current;
    }

    /** The session's handle: what session_revoke and the extension's events name it by. */
    public String getHandle() {
        return this.handle;
    }

    /** When its idle deadline passes (null when the lookup by id did not read it). */
    public Instant getExpiresAt() {
        return this.expiresAt;
    }

    /** The client address recorded at its log-in, if the app passed one. */
    public InetAddress getIp() {
        return this.ip;
    }

    /** The user agent recorded at its log-in, if the app passed one. */
    public String getUserAgent() {
        return this.userAgent;
    }

    long userId() {
        return this.userId;
    }

    boolean expireRequested() {
        return this.expireRequested;
    }

    @Override
    public String getId() {
        return this.id;
    }

    @Override
    public String changeSessionId() {
        throw new UnsupportedOperationException("a listed session cannot change its id");
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T getAttribute(String name) {
        if (FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME.equals(name) && !this.forExpiry) {
            return (T) this.principalName;
        }
        if (EXPIRED_ATTR.equals(name) && this.expireRequested) {
            return (T) Boolean.TRUE;
        }
        return null;
    }

    @Override
    public Set<String> getAttributeNames() {
        return this.forExpiry ? Set.of() : Set.of(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME);
    }

    @Override
    public void setAttribute(String name, Object value) {
        if (EXPIRED_ATTR.equals(name) && Boolean.TRUE.equals(value)) {
            this.expireRequested = true;
            return;
        }
        throw new UnsupportedOperationException(
                "a listed session is read-only; it can only be expired (which revokes it)");
    }

    @Override
    public void removeAttribute(String name) {
        throw new UnsupportedOperationException("a listed session is read-only");
    }

    @Override
    public Instant getCreationTime() {
        return this.createdAt;
    }

    @Override
    public void setLastAccessedTime(Instant lastAccessedTime) {
        // A listing is not a use of the session.
    }

    @Override
    public Instant getLastAccessedTime() {
        return this.lastUsedAt;
    }

    @Override
    public void setMaxInactiveInterval(Duration interval) {
        throw new UnsupportedOperationException("a listed session is read-only");
    }

    @Override
    public Duration getMaxInactiveInterval() {
        return this.expiresAt == null || this.lastUsedAt == null ? Duration.ZERO
                : Duration.between(this.lastUsedAt, this.expiresAt);
    }

    @Override
    public boolean isExpired() {
        return this.expiresAt != null && !this.expiresAt.isAfter(Instant.now());
    }
}
