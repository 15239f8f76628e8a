package io.github.varelsession.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.authority.AuthorityUtils;
import org.springframework.security.core.context.SecurityContext;
import org.springframework.security.core.context.SecurityContextImpl;
import org.springframework.session.FindByIndexNameSessionRepository;
import org.springframework.session.Session;

/**
 * The cases of Spring Session's JDBC repository integration tests
 * (AbstractJdbcIndexedSessionRepositoryITests), on this repository. Left out: the ones about
 * JDBC internals this repository does not have (table names, a custom SQL, the cleanup cron of
 * the JDBC module, transaction managers, the attribute table's primary key); the extension's own
 * cleanup is tested in its regress suite.
 */
class VarelSessionRepositoryTests {

    private static final String SPRING_SECURITY_CONTEXT = "SPRING_SECURITY_CONTEXT";

    private VarelSessionRepository repository;
    private SecurityContext context;
    private SecurityContext changedContext;

    @BeforeEach
    void setUp() {
        this.repository = new VarelSessionRepository(TestDatabase.dataSource());
        this.context = securityContext("user-" + UUID.randomUUID());
        this.changedContext = securityContext("changed-" + UUID.randomUUID());
    }

    private static SecurityContext securityContext(String name) {
        SecurityContext context = new SecurityContextImpl();
        context.setAuthentication(UsernamePasswordAuthenticationToken.authenticated(name, "na",
                AuthorityUtils.createAuthorityList("ROLE_USER")));
        return context;
    }

    private VarelSession saved(VarelSession session) {
        this.repository.save(session);
        return session;
    }

    private VarelSession find(String id) {
        return (VarelSession) this.repository.findById(id);
    }

    @Test
    void saveWhenNoAttributesThenCanBeFound() {
        VarelSession session = saved(this.repository.createSession());
        assertThat(find(session.getId())).isNotNull();
        assertThat(find(session.getId()).getMaxInactiveInterval())
                .isEqualTo(VarelSessionRepository.DEFAULT_MAX_INACTIVE_INTERVAL);
    }

    @Test
    void saves() {
        String username = "saves-" + System.currentTimeMillis();
        VarelSession toSave = this.repository.createSession();
        String expectedAttributeName = "a";
        String expectedAttributeValue = "b";
        toSave.setAttribute(expectedAttributeName, expectedAttributeValue);
        SecurityContext toSaveContext = securityContext(username);
        toSave.setAttribute(SPRING_SECURITY_CONTEXT, toSaveContext);

        this.repository.save(toSave);

        VarelSession session = find(toSave.getId());
        assertThat(session.getId()).isEqualTo(toSave.getId());
        assertThat(session.getAttributeNames()).isEqualTo(toSave.getAttributeNames());
        assertThat(session.<String>getAttribute(expectedAttributeName)).isEqualTo(expectedAttributeValue);
        assertThat(session.<SecurityContext>getAttribute(SPRING_SECURITY_CONTEXT).getAuthentication().getName())
                .isEqualTo(username);

        this.repository.deleteById(toSave.getId());
        assertThat(this.repository.findById(toSave.getId())).isNull();
    }

    @Test
    void saveWithLargeAttribute() {
        String expectedAttributeName = "largeAttribute";
        byte[] expectedAttributeValue = new byte[20 * 1024];
        new java.util.Random(20).nextBytes(expectedAttributeValue);
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(expectedAttributeName, expectedAttributeValue);
        this.repository.save(toSave);

        VarelSession session = find(toSave.getId());
        assertThat(session.<byte[]>getAttribute(expectedAttributeName)).isEqualTo(expectedAttributeValue);

        this.repository.deleteById(toSave.getId());
    }

    @Test
    void putAllOnSingleAttrDoesNotRemoveOld() {
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute("a", "b");
        this.repository.save(toSave);
        toSave = find(toSave.getId());

        toSave.setAttribute("1", "2");
        this.repository.save(toSave);
        toSave = find(toSave.getId());

        VarelSession session = find(toSave.getId());
        assertThat(session.getAttributeNames()).hasSize(2);
        assertThat(session.<String>getAttribute("a")).isEqualTo("b");
        assertThat(session.<String>getAttribute("1")).isEqualTo("2");

        this.repository.deleteById(toSave.getId());
    }

    @Test
    void updateLastAccessedTime() {
        VarelSession toSave = saved(this.repository.createSession());
        Instant lastAccessedTime = Instant.now().minusSeconds(5);
        toSave.setLastAccessedTime(lastAccessedTime);
        this.repository.save(toSave);
        // The database records each use itself: loading the session is one, and slides the
        // idle deadline (an adaptation: the JDBC module writes the time the filter set).
        VarelSession session = find(toSave.getId());
        assertThat(session.getLastAccessedTime()).isAfter(lastAccessedTime);
        assertThat(session.isExpired()).isFalse();
    }

    @Test
    void findByPrincipalName() {
        String principalName = "findByPrincipalName" + UUID.randomUUID();
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, principalName);
        this.repository.save(toSave);

        Map<String, Session> findByPrincipalName = this.repository.findByPrincipalName(principalName);
        assertThat(findByPrincipalName).hasSize(1);
        ListedSession listed = (ListedSession) findByPrincipalName.values().iterator().next();
        assertThat(listed.getHandle()).isEqualTo(this.repository.handleOf(toSave.getId()));
        assertThat(listed.<String>getAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME))
                .isEqualTo(principalName);
        assertThat(findByPrincipalName.keySet()).containsOnly(listed.getId());

        this.repository.deleteById(toSave.getId());
        assertThat(this.repository.findByPrincipalName(principalName)).isEmpty();
    }

    @Test
    void findByPrincipalNameExpireRemovesIndex() {
        String principalName = "findByPrincipalNameExpireRemovesIndex" + UUID.randomUUID();
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, principalName);
        toSave.setMaxInactiveInterval(Duration.ofSeconds(1));
        this.repository.save(toSave);
        TestDatabase.expire(toSave.getId());

        assertThat(this.repository.findByPrincipalName(principalName)).isEmpty();
        assertThat(this.repository.findById(toSave.getId())).isNull();
    }

    @Test
    void findByPrincipalNameNoPrincipalNameChange() {
        String principalName = "findByPrincipalNameNoPrincipalNameChange" + UUID.randomUUID();
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, principalName);
        this.repository.save(toSave);
        toSave.setAttribute("other", "value");
        this.repository.save(toSave);

        Map<String, Session> findByPrincipalName = this.repository.findByPrincipalName(principalName);
        assertThat(findByPrincipalName).hasSize(1);
    }

    @Test
    void findByPrincipalNameNoPrincipalNameChangeReload() {
        String principalName = "findByPrincipalNameNoPrincipalNameChangeReload" + UUID.randomUUID();
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, principalName);
        this.repository.save(toSave);
        toSave = find(toSave.getId());
        toSave.setAttribute("other", "value");
        this.repository.save(toSave);

        assertThat(this.repository.findByPrincipalName(principalName)).hasSize(1);
        assertThat(find(toSave.getId()).<String>getAttribute("other")).isEqualTo("value");
    }

    @Test
    void findByDeletedPrincipalName() {
        String principalName = "findByDeletedPrincipalName" + UUID.randomUUID();
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, principalName);
        this.repository.save(toSave);
        toSave.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, null);
        this.repository.save(toSave);

        assertThat(this.repository.findByPrincipalName(principalName)).isEmpty();
        assertThat(TestDatabase.userId(toSave.getId())).isNull();
        assertThat(find(toSave.getId())).isNotNull(); // logged out, session kept (token rotated)
    }

    @Test
    void findByChangedPrincipalName() {
        String principalName = "findByChangedPrincipalName" + UUID.randomUUID();
        String principalNameChanged = "findByChangedPrincipalName" + UUID.randomUUID();
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, principalName);
        this.repository.save(toSave);
        toSave.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, principalNameChanged);
        this.repository.save(toSave);

        assertThat(this.repository.findByPrincipalName(principalName)).isEmpty();
        assertThat(this.repository.findByPrincipalName(principalNameChanged)).hasSize(1);
    }

    @Test
    void findByDeletedPrincipalNameReload() {
        String principalName = "findByDeletedPrincipalName" + UUID.randomUUID();
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, principalName);
        this.repository.save(toSave);
        VarelSession getSession = find(toSave.getId());
        getSession.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, null);
        this.repository.save(getSession);

        assertThat(this.repository.findByPrincipalName(principalName)).isEmpty();
    }

    @Test
    void findByChangedPrincipalNameReload() {
        String principalName = "findByChangedPrincipalName" + UUID.randomUUID();
        String principalNameChanged = "findByChangedPrincipalName" + UUID.randomUUID();
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, principalName);
        this.repository.save(toSave);
        VarelSession getSession = find(toSave.getId());
        getSession.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, principalNameChanged);
        this.repository.save(getSession);

        assertThat(this.repository.findByPrincipalName(principalName)).isEmpty();
        assertThat(this.repository.findByPrincipalName(principalNameChanged)).hasSize(1);
    }

    @Test
    void findBySecurityPrincipalName() {
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(SPRING_SECURITY_CONTEXT, this.context);
        this.repository.save(toSave);

        Map<String, Session> findByPrincipalName = this.repository.findByPrincipalName(principalName());
        assertThat(findByPrincipalName).hasSize(1);
        assertThat(TestDatabase.userId(toSave.getId()))
                .isEqualTo(PrincipalUserIds.hashed().userIdOf(principalName()));

        this.repository.deleteById(toSave.getId());
        assertThat(this.repository.findByPrincipalName(principalName())).isEmpty();
    }

    @Test
    void findBySecurityPrincipalNoSecurityPrincipalNameChange() {
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(SPRING_SECURITY_CONTEXT, this.context);
        this.repository.save(toSave);
        String id = toSave.getId();
        toSave.setAttribute("other", "value");
        this.repository.save(toSave);

        assertThat(toSave.getId()).isEqualTo(id); // no log-in again, no rotation
        assertThat(this.repository.findByPrincipalName(principalName())).hasSize(1);
    }

    @Test
    void findBySecurityPrincipalNoSecurityPrincipalNameChangeReload() {
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(SPRING_SECURITY_CONTEXT, this.context);
        this.repository.save(toSave);
        toSave = find(toSave.getId());
        String id = toSave.getId();
        toSave.setAttribute(SPRING_SECURITY_CONTEXT, this.context); // what Spring Security does
        toSave.setAttribute("other", "value");
        this.repository.save(toSave);

        assertThat(toSave.getId()).isEqualTo(id);
        assertThat(this.repository.findByPrincipalName(principalName())).hasSize(1);
    }

    @Test
    void findByDeletedSecurityPrincipalName() {
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(SPRING_SECURITY_CONTEXT, this.context);
        this.repository.save(toSave);
        toSave.setAttribute(SPRING_SECURITY_CONTEXT, null);
        this.repository.save(toSave);

        assertThat(this.repository.findByPrincipalName(principalName())).isEmpty();
    }

    @Test
    void findByChangedSecurityPrincipalName() {
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(SPRING_SECURITY_CONTEXT, this.context);
        this.repository.save(toSave);
        toSave.setAttribute(SPRING_SECURITY_CONTEXT, this.changedContext);
        this.repository.save(toSave);

        assertThat(this.repository.findByPrincipalName(principalName())).isEmpty();
        assertThat(this.repository.findByPrincipalName(changedPrincipalName())).hasSize(1);
    }

    @Test
    void findByChangedSecurityPrincipalNameReload() {
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(SPRING_SECURITY_CONTEXT, this.context);
        this.repository.save(toSave);
        VarelSession getSession = find(toSave.getId());
        getSession.setAttribute(SPRING_SECURITY_CONTEXT, this.changedContext);
        this.repository.save(getSession);

        assertThat(this.repository.findByPrincipalName(principalName())).isEmpty();
        assertThat(this.repository.findByPrincipalName(changedPrincipalName())).hasSize(1);
    }

    @Test
    void findByOtherIndexNameFindsNothing() {
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(SPRING_SECURITY_CONTEXT, this.context);
        this.repository.save(toSave);
        assertThat(this.repository.findByIndexNameAndIndexValue("other", principalName())).isEmpty();
    }

    @Test
    void cleanupInactiveSessionsUsingRepositoryDefinedInterval() {
        VarelSession session = this.repository.createSession();
        session.setMaxInactiveInterval(Duration.ofSeconds(1));
        this.repository.save(session);
        assertThat(this.repository.findById(session.getId())).isNotNull();
        TestDatabase.expire(session.getId());
        assertThat(this.repository.findById(session.getId())).isNull();
        TestDatabase.jdbc().queryForObject("SELECT varel_session.session_cleanup()", Long.class);
        assertThat(TestDatabase.stored(session.getId())).isZero();
    }

    @Test
    void setMaxInactiveIntervalIsWrittenAtSave() {
        VarelSession session = saved(this.repository.createSession());
        VarelSession loaded = find(session.getId());
        loaded.setMaxInactiveInterval(Duration.ofHours(10));
        this.repository.save(loaded);
        Long seconds = TestDatabase.jdbc().queryForObject("SELECT extract(epoch FROM expires_at - now())::bigint"
                + " FROM varel_session.session_get(?)", Long.class, session.getId());
        assertThat(seconds).isBetween(10L * 3600 - 60, 10L * 3600);
        assertThatIllegalArgumentException().isThrownBy(() -> loaded.setMaxInactiveInterval(Duration.ZERO));
    }

    @Test
    void changeSessionIdWhenOnlyChangeId() {
        String attrName = "changeSessionId";
        String attrValue = "changeSessionId-value";
        VarelSession toSave = this.repository.createSession();
        toSave.setAttribute(attrName, attrValue);
        this.repository.save(toSave);

        VarelSession findById = find(toSave.getId());
        assertThat(findById.<String>getAttribute(attrName)).isEqualTo(attrValue);

        String originalFindById = findById.getId();
        String changeSessionId = findById.changeSessionId();
        this.repository.save(findById);

        assertThat(this.repository.findById(originalFindById)).isNull();
        VarelSession findByChangeSessionId = find(changeSessionId);
        assertThat(findByChangeSessionId.<String>getAttribute(attrName)).isEqualTo(attrValue);
    }

    @Test
    void changeSessionIdWhenChangeTwice() {
        VarelSession toSave = saved(this.repository.createSession());
        String originalId = toSave.getId();
        String changeId1 = toSave.changeSessionId();
        String changeId2 = toSave.changeSessionId();
        this.repository.save(toSave);

        assertThat(this.repository.findById(originalId)).isNull();
        assertThat(this.repository.findById(changeId1)).isNull();
        assertThat(this.repository.findById(changeId2)).isNotNull();
    }

    @Test
    void changeSessionIdWhenSetAttributeOnChangedSession() {
        String attrName = "changeSessionId";
        String attrValue = "changeSessionId-value";
        VarelSession toSave = saved(this.repository.createSession());
        VarelSession findById = find(toSave.getId());
        findById.setAttribute(attrName, attrValue);
        String originalFindById = findById.getId();
        String changeSessionId = findById.changeSessionId();
        this.repository.save(findById);

        assertThat(this.repository.findById(originalFindById)).isNull();
        VarelSession findByChangeSessionId = find(changeSessionId);
        assertThat(findByChangeSessionId.<String>getAttribute(attrName)).isEqualTo(attrValue);
    }

    @Test
    void changeSessionIdWhenHasNotSaved() {
        VarelSession toSave = this.repository.createSession();
        String originalId = toSave.getId();
        toSave.changeSessionId();
        this.repository.save(toSave);

        assertThat(this.repository.findById(toSave.getId())).isNotNull();
        assertThat(this.repository.findById(originalId)).isNull();
    }

    @Test
    void changeSessionIdSaveTwice() {
        VarelSession toSave = saved(this.repository.createSession());
        String originalId = toSave.getId();
        toSave.changeSessionId();
        this.repository.save(toSave);
        this.repository.save(toSave);

        assertThat(this.repository.findById(toSave.getId())).isNotNull();
        assertThat(this.repository.findById(originalId)).isNull();
    }

    @Test
    void saveUpdatedAddAndModifyAttribute() {
        VarelSession session = saved(this.repository.createSession());
        session.setAttribute("testName", "testValue1");
        session.setAttribute("testName", "testValue2");
        this.repository.save(session);
        assertThat(find(session.getId()).<String>getAttribute("testName")).isEqualTo("testValue2");
    }

    @Test
    void saveUpdatedAddAndRemoveAttribute() {
        VarelSession session = saved(this.repository.createSession());
        session.setAttribute("testName", "testValue");
        session.removeAttribute("testName");
        this.repository.save(session);
        assertThat(find(session.getId()).<String>getAttribute("testName")).isNull();
    }

    @Test
    void saveUpdatedModifyAndRemoveAttribute() {
        VarelSession session = this.repository.createSession();
        session.setAttribute("testName", "testValue1");
        this.repository.save(session);
        session.setAttribute("testName", "testValue2");
        session.removeAttribute("testName");
        this.repository.save(session);
        assertThat(find(session.getId()).<String>getAttribute("testName")).isNull();
    }

    @Test
    void saveUpdatedRemoveAndAddAttribute() {
        VarelSession session = this.repository.createSession();
        session.setAttribute("testName", "testValue1");
        this.repository.save(session);
        session.removeAttribute("testName");
        session.setAttribute("testName", "testValue2");
        this.repository.save(session);
        assertThat(find(session.getId()).<String>getAttribute("testName")).isEqualTo("testValue2");
    }

    @Test
    void saveUpdatedAddAttributeWithoutReload() {
        VarelSession session = this.repository.createSession();
        session.setAttribute("a", 1L);
        this.repository.save(session);
        VarelSession loaded = find(session.getId());
        loaded.setAttribute("b", 2L);
        this.repository.save(loaded);
        assertThat(TestDatabase.data(session.getId())).isEqualTo("{\"a\": 1, \"b\": 2}");
    }

    @Test
    void mutatedInPlaceValueIsWritten() {
        VarelSession session = this.repository.createSession();
        session.setAttribute("cart", new java.util.ArrayList<>(List.of("apple")));
        this.repository.save(session);
        VarelSession loaded = find(session.getId());
        loaded.<List<String>>getAttribute("cart").add("pear");
        this.repository.save(loaded);
        assertThat(find(session.getId()).<List<String>>getAttribute("cart")).containsExactly("apple", "pear");
    }

    @Test
    void valuesKeepTheirTypes() {
        VarelSession session = this.repository.createSession();
        session.setAttribute("string", "s");
        session.setAttribute("long", 7L);
        session.setAttribute("int", 7);
        session.setAttribute("double", 1.5);
        session.setAttribute("bool", true);
        session.setAttribute("map", Map.of("k", List.of(1L, "two")));
        session.setAttribute("instant", Instant.ofEpochSecond(1_700_000_000L));
        this.repository.save(session);
        VarelSession loaded = find(session.getId());
        assertThat(loaded.<Object>getAttribute("string")).isEqualTo("s");
        assertThat(loaded.<Object>getAttribute("long")).isEqualTo(7L);
        assertThat(loaded.<Object>getAttribute("int")).isEqualTo(7);
        assertThat(loaded.<Object>getAttribute("double")).isEqualTo(1.5);
        assertThat(loaded.<Object>getAttribute("bool")).isEqualTo(true);
        assertThat(loaded.<Object>getAttribute("map")).isEqualTo(Map.of("k", List.of(1L, "two")));
        assertThat(loaded.<Object>getAttribute("instant")).isEqualTo(Instant.ofEpochSecond(1_700_000_000L));
        // JSON values stay readable by other apps and by SQL.
        assertThat(TestDatabase.jdbc().queryForObject("SELECT data->'map'->'k'->>1 FROM varel_session.session_get(?)",
                String.class, session.getId())).isEqualTo("two");
    }

    @Test
    void notSerializableAttributeIsAProgrammersMistake() {
        VarelSession session = this.repository.createSession();
        session.setAttribute("thread", new Object());
        assertThatIllegalArgumentException().isThrownBy(() -> this.repository.save(session))
                .withMessageContaining("neither a JSON value nor Serializable");
    }

    @Test
    void readOnlyRequestWritesNothing() {
        VarelSession session = this.repository.createSession();
        session.setAttribute("a", "b");
        session.setAttribute(SPRING_SECURITY_CONTEXT, this.context);
        this.repository.save(session);
        String updatedAt = TestDatabase.jdbc().queryForObject(
                "SELECT updated_at::text FROM varel_session.session_get(?)", String.class, session.getId());
        VarelSession loaded = find(session.getId());
        loaded.getAttribute("a");
        loaded.getAttribute(SPRING_SECURITY_CONTEXT);
        this.repository.save(loaded);
        assertThat(loaded.getId()).isEqualTo(session.getId());
        assertThat(TestDatabase.jdbc().queryForObject("SELECT updated_at::text FROM varel_session.session_get(?)",
                String.class, session.getId())).isEqualTo(updatedAt);
    }

    @Test
    void getAttributeNamesAndRemove() {
        VarelSession session = this.repository.createSession();
        session.setAttribute("attribute1", "value1");
        session.setAttribute("attribute2", "value2");
        for (String attributeName : session.getAttributeNames()) {
            session.removeAttribute(attributeName);
        }
        assertThat(session.getAttributeNames()).isEmpty();
    }

    @Test
    void onlyHashesAreStored() {
        VarelSession session = this.repository.createSession();
        session.setAttribute("a", "b");
        this.repository.save(session);
        assertThat(session.getId()).hasSize(43);
        assertThat(TestDatabase.stored(session.getId())).isEqualTo(1);
        assertThat(TestDatabase.mentions(session.getId())).isZero();
        assertThat(TestDatabase.jdbc().queryForObject("SELECT count(*) FROM varel_session.sessions"
                + " WHERE strpos(encode(token_hash, 'escape'), ?) > 0", Long.class, session.getId())).isZero();
    }

    /** A class of the app's own, outside the default deserialization filter. */
    static final class Cart implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        final List<String> items;

        Cart(List<String> items) {
            this.items = items;
        }
    }

    @Test
    void serializedClassesOutsideTheFilterAreRefused() {
        VarelSession session = this.repository.createSession();
        session.setAttribute("cart", new Cart(List.of("apple")));
        this.repository.save(session);
        VarelSession loaded = find(session.getId());
        org.assertj.core.api.Assertions.assertThatIllegalStateException()
                .isThrownBy(() -> loaded.getAttribute("cart"))
                .withMessageContaining("could not be deserialized");

        VarelSessionRepository allowing = new VarelSessionRepository(TestDatabase.dataSource());
        allowing.setDeserializationFilter("io.github.varelsession.spring.**;java.**;!*");
        Cart cart = ((VarelSession) allowing.findById(session.getId())).getAttribute("cart");
        assertThat(cart.items).containsExactly("apple");
    }

    @Test
    void otherAppsJsonIsNotRewrittenByAReadOnlyRequest() {
        VarelSession session = saved(this.repository.createSession());
        TestDatabase.jdbc().queryForObject("SELECT varel_session.session_set(?, ?::jsonb)", Boolean.class,
                session.getId(), "{\"prefs\": {\"a\": null, \"big\": 123456789012345678901234567890, \"l\": [1, null]}}");
        String before = TestDatabase.jdbc().queryForObject(
                "SELECT updated_at::text FROM varel_session.session_get(?)", String.class, session.getId());
        VarelSession loaded = find(session.getId());
        Map<String, Object> prefs = loaded.getAttribute("prefs");
        assertThat(prefs.get("big")).isEqualTo(new java.math.BigInteger("123456789012345678901234567890"));
        assertThat(prefs).containsEntry("a", null);
        this.repository.save(loaded);
        assertThat(TestDatabase.jdbc().queryForObject("SELECT updated_at::text FROM varel_session.session_get(?)",
                String.class, session.getId())).isEqualTo(before);
    }

    @Test
    void aUserSetByAnotherAppIsKeptBySavesThatDoNotTouchThePrincipal() {
        VarelSession session = saved(this.repository.createSession());
        String token = TestDatabase.jdbc().queryForObject("SELECT varel_session.session_set_user(?, 4242)",
                String.class, session.getId());
        VarelSession loaded = find(token);
        loaded.setAttribute("theme", "dark");
        this.repository.save(loaded);
        assertThat(loaded.getId()).isEqualTo(token);
        assertThat(TestDatabase.userId(token)).isEqualTo(4242L);
    }

    @Test
    void timeoutsReadAsSpringBootWritesThem() {
        org.springframework.mock.env.MockEnvironment environment = new org.springframework.mock.env.MockEnvironment()
                .withProperty("seconds", "1800").withProperty("unit", "30m").withProperty("iso", "PT2H")
                .withProperty("tiny", "500ms").withProperty("junk", "soon");
        assertThat(VarelHttpSessionConfiguration.duration(environment, "seconds")).isEqualTo(Duration.ofMinutes(30));
        assertThat(VarelHttpSessionConfiguration.duration(environment, "unit")).isEqualTo(Duration.ofMinutes(30));
        assertThat(VarelHttpSessionConfiguration.duration(environment, "iso")).isEqualTo(Duration.ofHours(2));
        assertThat(VarelHttpSessionConfiguration.duration(environment, "missing")).isNull();
        assertThatIllegalArgumentException().isThrownBy(() -> VarelHttpSessionConfiguration.duration(environment, "tiny"));
        assertThatIllegalArgumentException().isThrownBy(() -> VarelHttpSessionConfiguration.duration(environment, "junk"));
    }

    private String principalName() {
        return this.context.getAuthentication().getName();
    }

    private String changedPrincipalName() {
        return this.changedContext.getAuthentication().getName();
    }
}
