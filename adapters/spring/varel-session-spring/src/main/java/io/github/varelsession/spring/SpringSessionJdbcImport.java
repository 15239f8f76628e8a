package io.github.varelsession.spring;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/**
 * Imports the live sessions of Spring Session JDBC ({@code SPRING_SESSION} and
 * {@code SPRING_SESSION_ATTRIBUTES}) into varel_session (docs/moving.md): each attribute
 * deserialized under the repository's {@link java.io.ObjectInputFilter} (a session holding a class
 * the filter refuses is skipped, never deserialized) and stored as the repository stores it, the
 * principal as the session's user ({@link PrincipalUserIds}, the repository's mapping), its creation,
 * idle lifetime and expiry kept, under a hash of the old id. With
 * {@code varel.session.imported-from=spring-session-jdbc} the first request with an old cookie gets
 * its session under a new id.
 *
 * <p>It runs against the live database while the old repository keeps serving, and may run again:
 * a re-run refreshes what changed and ends what the old tables no longer hold (a log-out there).
 * The DataSource must log in as the extension's owner (the application's role gets "permission
 * denied"), and the app's classes must be on the class path, as for the app itself:
 *
 * <pre>java -cp "$APP_CLASSPATH" io.github.varelsession.spring.SpringSessionJdbcImport \
 *     jdbc:postgresql://db.example/app?user=owner [--table SPRING_SESSION] [--accept-until 2027-01-31T00:00:00Z]</pre>
 */
public final class SpringSessionJdbcImport {

    public static final String STORE = "spring-session-jdbc";

    private static final Pattern TABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,50}");

    // A session that never expires (a negative MAX_INACTIVE_INTERVAL) gets varel_session's idle
    // lifetime (a NULL max_age), and an EXPIRY_TIME beyond what a timestamp holds is the last
    // second of 9999.
    private static final String IMPORT_SQL = "SELECT varel_session.session_import(?, ?, ?::jsonb,"
            + " to_timestamp(least(?::float8 / 1000, 253402300799)), ?::bigint, ?::timestamptz,"
            + " make_interval(secs => nullif(greatest(?::float8, 0), 0)), to_timestamp(?::float8 / 1000))";

    private final JdbcTemplate jdbc;
    private final AttributeCodec codec;
    private String table = "SPRING_SESSION";
    private PrincipalUserIds principalUserIds = PrincipalUserIds.hashed();

    /** {@code owner}: a DataSource that logs in as the extension's owner. */
    public SpringSessionJdbcImport(DataSource owner, ClassLoader classLoader) {
        this.jdbc = new JdbcTemplate(Objects.requireNonNull(owner, "owner must not be null"));
        this.codec = new AttributeCodec(classLoader);
    }

    /** Spring Session JDBC's table name ({@code spring.session.jdbc.table-name}); its attributes' is NAME_ATTRIBUTES. */
    public void setTableName(String table) {
        if (!TABLE.matcher(table).matches()) {
            throw new IllegalArgumentException("not a plain table name: " + table);
        }
        this.table = table;
    }

    /** The same mapping as the repository's ({@code varel.session.principal-user-ids}). */
    public void setPrincipalUserIds(PrincipalUserIds principalUserIds) {
        this.principalUserIds = Objects.requireNonNull(principalUserIds, "principalUserIds must not be null");
    }

    /** The same filter as the repository's ({@code varel.session.deserialization-filter}). */
    public void setDeserializationFilter(String pattern) {
        this.codec.setDeserializationFilter(pattern);
    }

    /** What a run did: sessions imported, skipped (an attribute the filter refuses), ended. */
    public record Result(int imported, int skipped, long ended) {
        @Override
        public String toString() {
            return "imported " + imported + ", skipped " + skipped + " (attributes the filter refuses), ended "
                    + ended + " (gone from the old tables)";
        }
    }

    /** {@code acceptUntil}: old cookies are accepted until then; null: each session's own expiry. */
    public Result run(Instant acceptUntil) {
        OffsetDateTime started = this.jdbc.queryForObject("SELECT statement_timestamp()", OffsetDateTime.class);
        OffsetDateTime deadline = acceptUntil == null ? null : acceptUntil.atOffset(ZoneOffset.UTC);
        int imported = 0;
        int skipped = 0;
        String last = "";
        for (;;) {
            List<Map<String, Object>> sessions = this.jdbc.queryForList("SELECT PRIMARY_ID, SESSION_ID,"
                    + " CREATION_TIME, MAX_INACTIVE_INTERVAL, EXPIRY_TIME, PRINCIPAL_NAME FROM " + this.table
                    + " WHERE SESSION_ID > ? AND EXPIRY_TIME > ? ORDER BY SESSION_ID LIMIT 500", last,
                    System.currentTimeMillis());
            if (sessions.isEmpty()) {
                break;
            }
            for (Map<String, Object> session : sessions) {
                last = (String) session.get("session_id");
                Map<String, Object> data = attributes(session.get("primary_id"));
                if (data == null) {
                    skipped++;
                    continue;
                }
                String principal = (String) session.get("principal_name");
                Long userId = principal == null || principal.isEmpty() ? null
                        : this.principalUserIds.userIdOf(principal);
                Boolean stored = this.jdbc.queryForObject(IMPORT_SQL, Boolean.class, STORE, last,
                        this.codec.write(data), ((Number) session.get("expiry_time")).doubleValue(), userId,
                        deadline, ((Number) session.get("max_inactive_interval")).doubleValue(),
                        ((Number) session.get("creation_time")).doubleValue());
                if (Boolean.TRUE.equals(stored)) {
                    imported++;
                }
            }
        }
        Long ended = this.jdbc.queryForObject("SELECT varel_session.session_import_prune(?, ?)", Long.class, STORE,
                started);
        return new Result(imported, skipped, ended == null ? 0 : ended);
    }

    /** The session's attributes in the repository's stored form, or null if the filter refuses one. */
    private Map<String, Object> attributes(Object primaryId) {
        Map<String, Object> data = new LinkedHashMap<>();
        List<Object[]> rows = new ArrayList<>();
        this.jdbc.query("SELECT ATTRIBUTE_NAME, ATTRIBUTE_BYTES FROM " + this.table + "_ATTRIBUTES"
                + " WHERE SESSION_PRIMARY_ID = ?", rs -> {
                    rows.add(new Object[] {rs.getString(1), rs.getBytes(2)});
                }, primaryId);
        for (Object[] row : rows) {
            // Spring Session JDBC's converter is Java serialization, what {"$java": ...} holds.
            Object serialized = Map.of(AttributeCodec.JAVA_KEY, Base64.getEncoder().encodeToString((byte[]) row[1]));
            try {
                data.put((String) row[0], this.codec.encode(this.codec.decode(serialized)));
            }
            catch (IllegalStateException refused) {
                return null;
            }
        }
        return data;
    }

    /** The command line: {@code URL [--table NAME] [--accept-until ISO-8601] [--principal-user-ids hashed|numeric]}. */
    public static void main(String[] args) {
        if (args.length == 0 || args.length % 2 == 0) {
            System.err.println("usage: SpringSessionJdbcImport JDBC_URL [--table NAME] [--accept-until ISO-8601]"
                    + " [--principal-user-ids hashed|numeric] [--deserialization-filter PATTERN]");
            System.exit(2);
        }
        SpringSessionJdbcImport importer = new SpringSessionJdbcImport(new DriverManagerDataSource(args[0]),
                Thread.currentThread().getContextClassLoader());
        Instant acceptUntil = null;
        for (int i = 1; i < args.length; i += 2) {
            switch (args[i]) {
                case "--table" -> importer.setTableName(args[i + 1]);
                case "--accept-until" -> acceptUntil = Instant.parse(args[i + 1]);
                case "--principal-user-ids" -> importer.setPrincipalUserIds(
                        "numeric".equals(args[i + 1]) ? PrincipalUserIds.numeric() : PrincipalUserIds.hashed());
                case "--deserialization-filter" -> importer.setDeserializationFilter(args[i + 1]);
                default -> {
                    System.err.println("unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        System.out.println(importer.run(acceptUntil));
    }
}
