package io.github.varelsession.spring;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.sql.DataSource;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.session.DelegatingIndexResolver;
import org.springframework.session.FindByIndexNameSessionRepository;
import org.springframework.session.IndexResolver;
import org.springframework.session.MapSession;
import org.springframework.session.PrincipalNameIndexResolver;
import org.springframework.session.Session;

/**
 * A Spring Session repository on the varel_session PostgreSQL extension.
 *
 * <p>Each request costs one statement to load its session ({@code session_load}, which also
 * slides the idle deadline) and, only when it changed something, one to save it: the changed
 * attributes as one merge patch ({@code session_set}), after the log-in or log-out that a change of
 * principal means ({@code session_set_user}, {@code session_clear_user}, each rotating the token),
 * in the same statement. A session that ended elsewhere meanwhile (logged out, revoked, expired) is
 * never written again, so a slow concurrent request cannot revive it; two requests that change
 * different attributes both keep their changes.
 *
 * <p>New sessions get 256-bit random ids and are adopted by the extension at their first save
 * ({@code session_adopt}); rotated ones take the extension's own tokens. Only hashes of either are
 * stored. A malformed, unknown or expired id is no session.
 *
 * <p>The principal-name index is the extension's {@code user_id}: see {@link PrincipalUserIds}.
 */
public class VarelSessionRepository implements FindByIndexNameSessionRepository<Session> {

    /** Spring Session's default idle lifetime (30 minutes). */
    public static final Duration DEFAULT_MAX_INACTIVE_INTERVAL = MapSession.DEFAULT_MAX_INACTIVE_INTERVAL;

    private static final String LISTED_PREFIX = "listed.";

    /** Where Spring Security keeps the SecurityContext, from which the principal is resolved. */
    private static final String SPRING_SECURITY_CONTEXT = "SPRING_SECURITY_CONTEXT";

    /** How long a listed id is known again ({@link #findById}): the request that listed it. */
    private static final Duration LISTED_ID_LIFETIME = Duration.ofSeconds(60);

    /**
     * What a session id can be: a framework id or a token (22 to 128 characters of these). A
     * cookie that is anything else is no session, without asking the database.
     */
    private static final java.util.regex.Pattern ID = java.util.regex.Pattern.compile("[A-Za-z0-9._,-]{22,128}");

    private static final String LOAD_SQL = "SELECT data::text, user_id, created_at, expires_at"
            + " FROM varel_session.session_load(?)";

    /** The ids this repository makes: 256 random bits in base64url, or the extension's tokens. */
    private static final java.util.regex.Pattern OWN_ID = java.util.regex.Pattern
            .compile("[A-Za-z0-9_-]{43}|[0-9a-fA-F]{64}");

    /** The first request with an id of an imported store (docs/moving.md): its session under a new id. */
    private static final String CLAIM_SQL = "SELECT data::text, user_id, created_at, expires_at, id"
            + " FROM varel_session.session_claim(?, ?)";

    private static final String ADOPT_SQL = "SELECT varel_session.session_adopt(?, make_interval(secs => ?::float8),"
            + " ?::bigint, ?::jsonb)";

    /**
     * One statement: the log-in or log-out first (each rotates the token), then the changed keys
     * and the new idle lifetime on the session the (new) token names. A NULL id from the first
     * step means the session is no longer live, and then nothing is written.
     */
    private static final String SAVE_SQL = "WITH t AS (SELECT CASE ?::text"
            + " WHEN 'login' THEN varel_session.session_set_user(?, ?::bigint)"
            + " WHEN 'logout' THEN varel_session.session_clear_user(?)"
            + " ELSE ?::text END AS id)"
            + " SELECT t.id,"
            + " CASE WHEN t.id IS NULL THEN false"
            + " WHEN ?::jsonb IS NULL THEN true"
            + " ELSE varel_session.session_set(t.id, ?::jsonb) END AS written,"
            + " CASE WHEN t.id IS NOT NULL AND ?::float8 IS NOT NULL"
            + " THEN varel_session.session_set_max_age(t.id, make_interval(secs => ?::float8)) END"
            + " FROM t";

    private static final String INCR_SQL = "SELECT varel_session.session_incr(?, ?, ?)";

    private static final String LIST_SQL = "SELECT handle, created_at, last_seen_at, expires_at,"
            + " host(ip), user_agent, handle = varel_session.session_handle(?::text)"
            + " FROM varel_session.session_user_sessions(?)";

    private final JdbcTemplate jdbc;
    private final AttributeCodec codec;
    private final SecureRandom random = new SecureRandom();
    private final SecretKeySpec listingKey;
    private Duration defaultMaxInactiveInterval = DEFAULT_MAX_INACTIVE_INTERVAL;
    private PrincipalUserIds principalUserIds = PrincipalUserIds.hashed();
    private IndexResolver<Session> indexResolver = new DelegatingIndexResolver<>(
            new PrincipalNameIndexResolver<>());
    private String importedFrom;

    public VarelSessionRepository(DataSource dataSource) {
        this(dataSource, VarelSessionRepository.class.getClassLoader());
    }

    /** {@code classLoader} loads the classes of Java-serialized attributes. */
    public VarelSessionRepository(DataSource dataSource, ClassLoader classLoader) {
        this.jdbc = new JdbcTemplate(Objects.requireNonNull(dataSource, "dataSource must not be null"));
        this.codec = new AttributeCodec(classLoader);
        byte[] key = new byte[32];
        this.random.nextBytes(key);
        this.listingKey = new SecretKeySpec(key, "HmacSHA256");
    }

    /** The idle lifetime of new sessions, and of sessions whose request does not set one. */
    public void setDefaultMaxInactiveInterval(Duration interval) {
        if (interval == null || interval.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("default max inactive interval must be at least one second");
        }
        this.defaultMaxInactiveInterval = interval;
    }

    public void setPrincipalUserIds(PrincipalUserIds principalUserIds) {
        this.principalUserIds = Objects.requireNonNull(principalUserIds, "principalUserIds must not be null");
    }

    /**
     * The classes Java-serialized attributes may hold, in {@link java.io.ObjectInputFilter}'s
     * pattern syntax; by default the JDK's and Spring's ({@code java.**;javax.**;
     * org.springframework.**;!*} with limits on depth and size). Apps that keep their own classes
     * in sessions add their packages: {@code "com.example.**;java.**;org.springframework.**;!*"}.
     */
    public void setDeserializationFilter(String pattern) {
        this.codec.setDeserializationFilter(Objects.requireNonNull(pattern, "pattern must not be null"));
    }

    /**
     * How the principal name is found in a session (Spring Session's default resolver). A save
     * of a stored session asks it only when the request changed the principal-name attribute or
     * Spring Security's context: a resolver that reads other attributes sees its changes take
     * effect when one of those two changes too.
     */
    public void setIndexResolver(IndexResolver<Session> indexResolver) {
        this.indexResolver = Objects.requireNonNull(indexResolver, "indexResolver must not be null");
    }

    /**
     * While sessions imported from another store are taken over ({@code "spring-session-jdbc"}:
     * {@link SpringSessionJdbcImport}), an id of another form than this repository's is looked up
     * among them once: its session continues under a new id (Spring Session's filter sends the new
     * cookie), and the old id is dead. {@code null} (the default) looks up nothing.
     */
    public void setImportedFrom(String store) {
        this.importedFrom = store;
    }

    @Override
    public VarelSession createSession() {
        return new VarelSession(this, generateId(), this.defaultMaxInactiveInterval);
    }

    @Override
    public void save(Session session) {
        if (session instanceof ListedSession listed) {
            saveListed(listed);
            return;
        }
        if (!(session instanceof VarelSession varel)) {
            throw new IllegalArgumentException("not a session of this repository: " + session.getClass().getName());
        }
        if (varel.isEnded()) {
            return;
        }
        if (!varel.isStored()) {
            insert(varel, userIdOf(varel));
        }
        else {
            update(varel);
        }
    }

    private void insert(VarelSession session, Long userId) {
        Map<String, Object> data = session.data(this.codec);
        Boolean adopted = this.jdbc.queryForObject(ADOPT_SQL, Boolean.class, session.getId(),
                (double) session.getMaxInactiveInterval().toSeconds(), userId, this.codec.write(data));
        if (!Boolean.TRUE.equals(adopted)) {
            // 256 random bits do not collide; an id already stored means it was saved before.
            throw new IllegalStateException("a session with this id is stored already");
        }
        session.saved(session.getId(), data, userId);
    }

    private void update(VarelSession session) {
        Map<String, Object> patch = session.changes(this.codec);
        // The principal changes only when this request changed what names it: a session whose
        // user another app or SQL set is not logged out by a save that did not touch it.
        boolean principalChanged = patch.containsKey(PRINCIPAL_NAME_INDEX_NAME)
                || patch.containsKey(SPRING_SECURITY_CONTEXT);
        Long userId = principalChanged ? userIdOf(session) : session.storedUserId();
        String action = Objects.equals(userId, session.storedUserId()) ? "keep" : userId != null ? "login" : "logout";
        Double maxAge = session.maxInactiveIntervalChanged()
                ? (double) session.getMaxInactiveInterval().toSeconds() : null;
        if (patch.isEmpty() && action.equals("keep") && maxAge == null) {
            return; // nothing changed: nothing to write
        }
        String payload = patch.isEmpty() ? null : this.codec.write(patch);
        String id = session.getId();
        this.jdbc.query(SAVE_SQL, (ResultSet rs) -> {
            rs.next();
            String newId = rs.getString(1);
            if (newId == null || !rs.getBoolean(2)) {
                session.markEnded();
            }
            else {
                session.saved(newId, patch, userId);
            }
            return null;
        }, action, id, userId, id, id, payload, payload, maxAge, maxAge);
    }

    private Long userIdOf(Session session) {
        String name = this.indexResolver.resolveIndexesFor(session).get(PRINCIPAL_NAME_INDEX_NAME);
        return name == null || name.isEmpty() ? null : this.principalUserIds.userIdOf(name);
    }

    @Override
    public Session findById(String id) {
        if (id != null && id.startsWith(LISTED_PREFIX)) {
            return findListed(id);
        }
        if (!isId(id)) {
            return null;
        }
        // One statement either way: ids of this repository's own form never look at imports.
        boolean claim = this.importedFrom != null && !OWN_ID.matcher(id).matches();
        return this.jdbc.query(claim ? CLAIM_SQL : LOAD_SQL, (ResultSet rs) -> {
            if (!rs.next()) {
                return null;
            }
            Long userId = rs.getObject(2, Long.class);
            return new VarelSession(this, claim ? rs.getString(5) : id, this.codec.parseData(rs.getString(1)),
                    userId, instant(rs, 3), instant(rs, 4), this.defaultMaxInactiveInterval);
        }, claim ? new Object[] {this.importedFrom, id} : new Object[] {id});
    }

    @Override
    public void deleteById(String id) {
        if (!isId(id) || id.startsWith(LISTED_PREFIX)) {
            return;
        }
        this.jdbc.queryForObject("SELECT varel_session.session_destroy(?)", Boolean.class, id);
    }

    /**
     * The principal's live sessions, newest first, keyed by their listed ids; other index names
     * find nothing.
     */
    @Override
    public Map<String, Session> findByIndexNameAndIndexValue(String indexName, String indexValue) {
        Map<String, Session> sessions = new LinkedHashMap<>();
        if (!PRINCIPAL_NAME_INDEX_NAME.equals(indexName) || indexValue == null || indexValue.isEmpty()) {
            return sessions;
        }
        for (ListedSession listed : list(indexValue, CurrentRequest.sessionId())) {
            sessions.put(listed.getId(), listed);
        }
        return sessions;
    }

    // Helpers beyond Spring Session's interfaces.

    /**
     * Adds {@code by} to the whole number under {@code key} atomically, in the database (a missing
     * key counts as 0), and returns the new value; null when the session is not stored or not live.
     * Concurrent increments are never lost, which a read, add and save of the attribute cannot
     * promise. A session not saved yet is saved first.
     */
    public Long incr(Session session, String key, long by) {
        if (!(session instanceof VarelSession varel) || varel.isEnded()) {
            return null;
        }
        if (!varel.isStored()) {
            save(varel);
        }
        Long value = this.jdbc.queryForObject(INCR_SQL, Long.class,
                varel.getId(), key, by);
        if (value == null) {
            varel.markEnded();
        }
        else {
            varel.incremented(key, value);
        }
        return value;
    }

    /** Same, by session id: for a request's {@code HttpSession.getId()}. */
    public Long incr(String sessionId, String key, long by) {
        if (!isId(sessionId)) {
            return null;
        }
        return this.jdbc.queryForObject(INCR_SQL, Long.class,
                sessionId, key, by);
    }

    /**
     * Ends all of the principal's sessions but the one with id {@code exceptId} (null: all), at
     * once ("log out everywhere", "log out other devices"); returns how many ended.
     */
    public long revokeAll(String principalName, String exceptId) {
        Long count = this.jdbc.queryForObject("SELECT varel_session.session_user_revoke(?, ?)", Long.class,
                this.principalUserIds.userIdOf(principalName), exceptId);
        return count == null ? 0 : count;
    }

    /** The handle of the session with this id (what listings and events name it by), or null. */
    public String handleOf(String sessionId) {
        if (!isId(sessionId)) {
            return null;
        }
        List<String> handles = this.jdbc.queryForList("SELECT varel_session.session_handle(?)", String.class,
                sessionId);
        return handles.isEmpty() ? null : handles.get(0);
    }

    // For VarelSession and the listings.

    AttributeCodec codec() {
        return this.codec;
    }

    /** A new session id: 256 bits from a CSPRNG, base64url (a framework id to the extension). */
    String generateId() {
        byte[] bytes = new byte[32];
        this.random.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** Rotates a stored session's token; null when the session is no longer live. */
    String regenerate(String id) {
        return this.jdbc.queryForObject("SELECT varel_session.session_regenerate(?)", String.class, id);
    }

    /**
     * The principal's sessions; the one of the current request (if it is one of them) is named by
     * its id, the others by listed ids.
     */
    private List<ListedSession> list(String principalName, String currentId) {
        long userId = this.principalUserIds.userIdOf(principalName);
        String current = isId(currentId) ? currentId : null;
        long expiresAt = Instant.now().plus(LISTED_ID_LIFETIME).getEpochSecond();
        return this.jdbc.query(LIST_SQL, (rs, row) -> {
            String handle = rs.getString(1);
            boolean isCurrent = rs.getBoolean(7);
            String id = isCurrent ? current : listedId(userId, handle, principalName, expiresAt);
            return new ListedSession(id, userId, handle, principalName, instant(rs, 2), instant(rs, 3),
                    instant(rs, 4), address(rs.getString(5)), rs.getString(6), isCurrent);
        }, current, userId);
    }

    private Session findListed(String id) {
        String[] parts = id.split("\\.", -1);
        if (parts.length != 6) {
            return null;
        }
        String principalName;
        long userId;
        long expiresAt;
        try {
            userId = Long.parseLong(parts[1]);
            principalName = new String(Base64.getUrlDecoder().decode(parts[3]), StandardCharsets.UTF_8);
            expiresAt = Long.parseLong(parts[4]);
        }
        catch (IllegalArgumentException ex) {
            return null;
        }
        byte[] expected = listedId(userId, parts[2], principalName, expiresAt).getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(expected, id.getBytes(StandardCharsets.UTF_8))
                || Instant.now().getEpochSecond() > expiresAt) {
            return null;
        }
        for (ListedSession listed : list(principalName, null)) {
            if (listed.getHandle().equals(parts[2])) {
                // Only what expiring it needs: were this id ever sent as a cookie, the request
                // would find an anonymous session, not the user's.
                return listed.forExpiry();
            }
        }
        return null;
    }

    /** Expiring a listed session (Spring Security's concurrent-session control) revokes it. */
    private void saveListed(ListedSession listed) {
        if (listed.expireRequested()) {
            this.jdbc.queryForObject("SELECT varel_session.session_revoke(?, ?)", Boolean.class, listed.userId(),
                    listed.getHandle());
        }
    }

    private String listedId(long userId, String handle, String principalName, long expiresAt) {
        String body = LISTED_PREFIX + userId + "." + handle + "."
                + Base64.getUrlEncoder().withoutPadding().encodeToString(principalName.getBytes(StandardCharsets.UTF_8))
                + "." + expiresAt;
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(this.listingKey);
            byte[] tag = mac.doFinal(body.getBytes(StandardCharsets.UTF_8));
            return body + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(tag);
        }
        catch (GeneralSecurityException ex) {
            throw new IllegalStateException("HmacSHA256 is not available", ex);
        }
    }

    private static boolean isId(String id) {
        return id != null && ID.matcher(id).matches();
    }

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        OffsetDateTime at = rs.getObject(column, OffsetDateTime.class);
        return at == null ? null : at.toInstant();
    }

    private static InetAddress address(String host) {
        if (host == null) {
            return null;
        }
        try {
            return InetAddress.getByName(host); // a literal address: no lookup
        }
        catch (UnknownHostException ex) {
            return null;
        }
    }
}
