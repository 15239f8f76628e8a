package io.github.varelsession.spring;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpSession;

import org.springframework.util.ClassUtils;
import org.springframework.web.context.request.RequestAttributes;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

/**
 * The id of the session of the request this thread serves, if Spring's RequestContextHolder
 * knows the request (Spring Boot's RequestContextFilter, the DispatcherServlet): a listing names
 * that one session by its id, as Spring Security's concurrent-session control expects.
 */
final class CurrentRequest {

    private static final boolean WEB = ClassUtils.isPresent(
            "org.springframework.web.context.request.RequestContextHolder", CurrentRequest.class.getClassLoader())
            && ClassUtils.isPresent("jakarta.servlet.http.HttpServletRequest", CurrentRequest.class.getClassLoader());

    private CurrentRequest() {
    }

    /** The current request's session id, or null (no request, no session); never creates one. */
    static String sessionId() {
        return WEB ? Web.sessionId() : null;
    }

    /** Loaded only when Spring's web classes are there. */
    private static final class Web {
        static String sessionId() {
            RequestAttributes attributes = RequestContextHolder.getRequestAttributes();
            if (!(attributes instanceof ServletRequestAttributes servlet)) {
                return null;
            }
            HttpServletRequest request = servlet.getRequest();
            HttpSession session = request.getSession(false);
            return session == null ? null : session.getId();
        }
    }
}
