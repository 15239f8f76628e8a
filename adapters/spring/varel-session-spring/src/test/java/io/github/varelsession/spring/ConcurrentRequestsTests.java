package io.github.varelsession.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.springframework.session.FindByIndexNameSessionRepository;

/**
 * What Spring Session JDBC loses under concurrency (spring-session #1027, #1083, #1550, #1583,
 * #2109) and this repository keeps: each request is a load, then a save of what it changed.
 */
class ConcurrentRequestsTests {

    private final VarelSessionRepository repository = new VarelSessionRepository(TestDatabase.dataSource());

    private VarelSession stored() {
        VarelSession session = this.repository.createSession();
        session.setAttribute("keep", "me");
        this.repository.save(session);
        return session;
    }

    private VarelSession load(String id) {
        return (VarelSession) this.repository.findById(id);
    }

    @Test
    void twoRequestsChangingDifferentAttributesKeepBoth() {
        String id = stored().getId();
        VarelSession first = load(id);
        VarelSession second = load(id);
        first.setAttribute("cart", "apple");
        second.setAttribute("theme", "dark");
        second.removeAttribute("keep");
        this.repository.save(first);
        this.repository.save(second);
        assertThat(TestDatabase.data(id)).isEqualTo("{\"cart\": \"apple\", \"theme\": \"dark\"}");
    }

    @Test
    void aRequestThatOnlyReadsDoesNotUndoAnotherOnesWrite() {
        String id = stored().getId();
        VarelSession reader = load(id);
        VarelSession writer = load(id);
        assertThat(reader.<String>getAttribute("keep")).isEqualTo("me");
        writer.setAttribute("keep", "changed");
        this.repository.save(writer);
        this.repository.save(reader);
        assertThat(load(id).<String>getAttribute("keep")).isEqualTo("changed");
    }

    @Test
    void aSessionDestroyedElsewhereIsNotRevived() {
        String id = stored().getId();
        VarelSession slow = load(id);
        this.repository.deleteById(id); // a log-out in another request
        slow.setAttribute("cart", "apple");
        long rows = TestDatabase.rows();
        this.repository.save(slow);
        assertThat(this.repository.findById(id)).isNull();
        assertThat(slow.isExpired()).isTrue();
        assertThat(TestDatabase.rows()).isEqualTo(rows);
        assertThat(TestDatabase.stored(id)).isZero();
    }

    @Test
    void aSessionRevokedElsewhereIsNotRevivedByALogIn() {
        VarelSession session = stored();
        session.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, "revived?");
        this.repository.save(session);
        VarelSession slow = load(session.getId());
        this.repository.revokeAll("revived?", null);
        slow.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, "someone else");
        slow.setAttribute("cart", "apple");
        this.repository.save(slow);
        assertThat(this.repository.findByPrincipalName("someone else")).isEmpty();
        assertThat(this.repository.findById(slow.getId())).isNull();
    }

    @Test
    void aRotationElsewhereLeavesTheSlowRequestWithNoSession() {
        String id = stored().getId();
        VarelSession slow = load(id);
        VarelSession rotating = load(id);
        String next = rotating.changeSessionId();
        slow.setAttribute("cart", "apple");
        this.repository.save(slow);
        assertThat(this.repository.findById(id)).isNull();
        assertThat(load(next).<String>getAttribute("cart")).isNull();
    }

    @Test
    void concurrentIncrementsAreNeverLost() throws Exception {
        String id = stored().getId();
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<Long>> results = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                results.add(pool.submit(() -> {
                    VarelSession request = load(id);
                    request.setAttribute("seen", "yes");
                    Long value = this.repository.incr(request, "visits", 1);
                    this.repository.save(request);
                    return value;
                }));
            }
            List<Long> values = new ArrayList<>();
            for (Future<Long> result : results) {
                values.add(result.get());
            }
            assertThat(values).doesNotHaveDuplicates().hasSize(64);
        }
        finally {
            pool.shutdown();
        }
        assertThat(load(id).<Long>getAttribute("visits")).isEqualTo(64L);
        assertThat(this.repository.incr(id, "visits", 1)).isEqualTo(65L);
    }
}
