package io.github.varelsession.spring;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * How a Spring Security principal name becomes the extension's {@code user_id} (a bigint), which
 * lists a user's sessions ("your devices") and ends them all ("log out everywhere").
 *
 * <p>{@link #hashed()}, the default, takes 63 bits of SHA-256 of the name: any name works, and two
 * of n distinct names share an id with a probability of about n²/2⁶⁴ (one in 18 million for a
 * million users). Apps whose principal names are numeric ids should use {@link #numeric()}.
 */
@FunctionalInterface
public interface PrincipalUserIds {

    /** The user id of this principal name (not null, not empty). */
    long userIdOf(String principalName);

    /** 63 bits of SHA-256 of the name, never negative. */
    static PrincipalUserIds hashed() {
        return name -> {
            try {
                MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
                sha256.update("varel_session spring principal:".getBytes(StandardCharsets.UTF_8));
                byte[] digest = sha256.digest(name.getBytes(StandardCharsets.UTF_8));
                long id = 0;
                for (int i = 0; i < 8; i++) {
                    id = (id << 8) | (digest[i] & 0xff);
                }
                return id & Long.MAX_VALUE;
            }
            catch (NoSuchAlgorithmException ex) {
                throw new IllegalStateException("SHA-256 is not available", ex);
            }
        };
    }

    /** The name read as a decimal number: for apps whose principals are their users' ids. */
    static PrincipalUserIds numeric() {
        return name -> {
            try {
                return Long.parseLong(name);
            }
            catch (NumberFormatException ex) {
                throw new IllegalArgumentException("principal name is not a numeric user id", ex);
            }
        };
    }
}
