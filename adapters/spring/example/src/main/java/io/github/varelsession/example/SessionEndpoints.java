package io.github.varelsession.example;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpSession;

import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.session.FindByIndexNameSessionRepository;
import org.springframework.session.Session;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import io.github.varelsession.spring.ListedSession;
import io.github.varelsession.spring.VarelSessionRepository;

/**
 * The endpoints of client/examples/app.rs with Spring's own HttpSession: Spring Session's filter
 * loads and saves it through VarelSessionRepository. The user is the session's principal name
 * (Spring Session's index attribute; with Spring Security, its SecurityContext does the same).
 */
@RestController
public class SessionEndpoints {

    private static final String PRINCIPAL = FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME;

    private final VarelSessionRepository repository;

    public SessionEndpoints(VarelSessionRepository repository) {
        this.repository = repository;
    }

    record LogIn(Long user_id) {
    }

    @PostMapping("/login")
    public ResponseEntity<Object> logIn(@RequestBody(required = false) LogIn body, HttpServletRequest request) {
        if (body == null || body.user_id() == null) {
            return ResponseEntity.badRequest().body(Map.of("error", "user_id required"));
        }
        HttpSession session = request.getSession(true);
        request.changeSessionId(); // a new token at every log-in: the old one stops working
        session.setAttribute(PRINCIPAL, body.user_id().toString());
        return ResponseEntity.ok(Map.of("user_id", body.user_id()));
    }

    @GetMapping("/me")
    public ResponseEntity<Object> me(HttpServletRequest request) {
        HttpSession session = request.getSession(false);
        String user = userOf(session);
        Long visits = user == null ? null : this.repository.incr(session.getId(), "visits", 1);
        if (visits == null) {
            return notLoggedIn();
        }
        return ResponseEntity.ok(Map.of("user_id", Long.parseLong(user), "visits", visits));
    }

    @GetMapping("/sessions")
    public ResponseEntity<Object> sessions(HttpServletRequest request) {
        HttpSession session = request.getSession(false);
        String user = userOf(session);
        if (user == null) {
            return notLoggedIn();
        }
        List<Map<String, Object>> listing = new ArrayList<>();
        for (Session listed : this.repository.findByPrincipalName(user).values()) {
            ListedSession device = (ListedSession) listed;
            listing.add(Map.of("handle", device.getHandle(), "current", device.isCurrent(),
                    "created_at", device.getCreationTime().toString(), "last_seen_at",
                    device.getLastAccessedTime().toString()));
        }
        return ResponseEntity.ok(listing);
    }

    @PostMapping("/logout")
    public ResponseEntity<Void> logOut(HttpServletRequest request) {
        HttpSession session = request.getSession(false);
        if (session != null) {
            session.invalidate();
        }
        return ResponseEntity.noContent().build();
    }

    @PostMapping("/logout-all")
    public ResponseEntity<Object> logOutAll(HttpServletRequest request) {
        HttpSession session = request.getSession(false);
        String user = userOf(session);
        if (user == null) {
            return notLoggedIn();
        }
        long ended = this.repository.revokeAll(user, null);
        session.invalidate();
        return ResponseEntity.ok(Map.of("ended", ended));
    }

    /** The session's user: its principal name, set at log-in. */
    private static String userOf(HttpSession session) {
        return session == null ? null : (String) session.getAttribute(PRINCIPAL);
    }

    private static ResponseEntity<Object> notLoggedIn() {
        return ResponseEntity.status(HttpStatus.UNAUTHORIZED).body(Map.of("error", "not logged in"));
    }
}
