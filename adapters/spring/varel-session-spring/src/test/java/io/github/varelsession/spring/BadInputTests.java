package io.github.varelsession.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.springframework.session.Session;

/** A cookie is untrusted input: anything that is not a live session's id is no session. */
class BadInputTests {

    private final VarelSessionRepository repository = new VarelSessionRepository(TestDatabase.dataSource());

    @ParameterizedTest
    @ValueSource(strings = { "", "x", "not a token", "%00", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "0000000000000000000000000000000000000000000000000000000000000000", "é€ unicode ✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓",
            "listed.1.0000000000000001.YWxpY2U.forged", "listed.", "listed.x.y.z.w", "listed.1.2.%%%.4",
            "nul\u0000in the middle of an id", "\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000" })
    void malformedOrUnknownIdsAreNoSession(String id) {
        long rows = TestDatabase.rows();
        assertThat(this.repository.findById(id)).isNull();
        this.repository.deleteById(id);
        assertThat(this.repository.incr(id, "visits", 1)).isNull();
        assertThat(this.repository.handleOf(id)).isNull();
        assertThat(TestDatabase.rows()).isEqualTo(rows);
    }

    @Test
    void aVeryLongIdIsNoSession() {
        assertThat(this.repository.findById("a".repeat(8192))).isNull();
        assertThat(this.repository.findById(null)).isNull();
    }

    @Test
    void aListedIdFromAnotherRepositoryInstanceIsNoSession() {
        VarelSession session = this.repository.createSession();
        session.setAttribute("org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME",
                "listed-elsewhere");
        this.repository.save(session);
        String listedId = this.repository.findByPrincipalName("listed-elsewhere").keySet().iterator().next();
        Session found = this.repository.findById(listedId);
        assertThat(found).isInstanceOf(ListedSession.class);
        // Were it sent as a cookie, it would be an anonymous session, never the user's.
        assertThat(found.<Object>getAttribute(
                "org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME")).isNull();
        assertThat(found.getAttributeNames()).isEmpty();
        VarelSessionRepository other = new VarelSessionRepository(TestDatabase.dataSource());
        assertThat(other.findById(listedId)).isNull();
    }

    @Test
    void theExpiredFlagIsSpringSecuritysOwn() throws ReflectiveOperationException {
        Field field = Class.forName("org.springframework.session.security.SpringSessionBackedSessionInformation")
                .getDeclaredField("EXPIRED_ATTR");
        field.setAccessible(true);
        assertThat(field.get(null)).isEqualTo(ListedSession.EXPIRED_ATTR);
    }
}
