package io.github.varelsession.spring;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputFilter;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.springframework.core.ConfigurableObjectInputStream;

import tools.jackson.databind.json.JsonMapper;

/**
 * How session attributes are kept in the extension's JSON object, one top-level key per
 * attribute, so that other apps (and SQL) can read them and a save can patch single keys.
 *
 * <p>Strings, booleans, {@code Long}s, {@code BigInteger}s and {@code Double}s are stored as JSON
 * values, and maps with string keys and lists made only of such values (and nulls) as JSON
 * objects and arrays (read back as {@code LinkedHashMap} and {@code ArrayList}): whatever JSON
 * another app wrote reads back to the same JSON, so reading it never rewrites it. Any other {@link Serializable} value (an
 * {@code Integer}, Spring Security's {@code SecurityContext}, an app's own class) is stored as
 * {@code {"$java": "<base64 of its Java serialization>"}}, so that it comes back with its type,
 * as with Spring Session JDBC's default converter. JSON written by other apps comes back as
 * {@code String}, {@code Boolean}, {@code Long} (or {@code BigInteger}), {@code Double},
 * {@code Map} and {@code List}.
 *
 * <p>Values are compared in this stored form to find what a request changed, so a value that was
 * read and then mutated in place is written too.
 */
final class AttributeCodec {

    static final String JAVA_KEY = "$java";

    /**
     * The classes a serialized attribute may hold unless the app says otherwise: the JDK's and
     * Spring's (Spring Security's SecurityContext). Session data is shared with other apps and
     * SQL, so a {@code $java} value is not trusted to name any class on the class path.
     */
    static final String DEFAULT_DESERIALIZATION_FILTER =
            "maxdepth=64;maxrefs=100000;maxbytes=1048576;java.**;javax.**;org.springframework.**;!*";

    private final JsonMapper json = JsonMapper.builder().build();
    private final ClassLoader classLoader;
    private volatile ObjectInputFilter filter = ObjectInputFilter.Config.createFilter(DEFAULT_DESERIALIZATION_FILTER);

    AttributeCodec(ClassLoader classLoader) {
        this.classLoader = classLoader;
    }

    /** The classes serialized attributes may hold, in ObjectInputFilter's pattern syntax. */
    void setDeserializationFilter(String pattern) {
        this.filter = ObjectInputFilter.Config.createFilter(pattern);
    }

    /** The session's data (a JSON object's text) as stored values, numbers normalized. */
    Map<String, Object> parseData(String data) {
        Object parsed = normalize(this.json.readValue(data, Object.class));
        if (!(parsed instanceof Map<?, ?> map)) {
            throw new IllegalStateException("session data is not a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> object = (Map<String, Object>) map;
        return object;
    }

    /** A JSON text of stored values (nulls included: they remove keys in a merge patch). */
    String write(Map<String, Object> stored) {
        return this.json.writeValueAsString(stored);
    }

    /** The stored form of an attribute's value. */
    Object encode(Object value) {
        if (isJsonValue(value)) {
            return value instanceof Map<?, ?> || value instanceof List<?> ? normalize(value) : value;
        }
        if (!(value instanceof Serializable)) {
            throw new IllegalArgumentException("session attribute of type " + value.getClass().getName()
                    + " is neither a JSON value nor Serializable");
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        }
        catch (IOException ex) {
            throw new IllegalArgumentException("session attribute of type " + value.getClass().getName()
                    + " could not be serialized", ex);
        }
        return Map.of(JAVA_KEY, Base64.getEncoder().encodeToString(bytes.toByteArray()));
    }

    /** The attribute's value from its stored form. */
    Object decode(Object stored) {
        if (stored instanceof Map<?, ?> map && map.size() == 1 && map.get(JAVA_KEY) instanceof String base64) {
            byte[] bytes = Base64.getDecoder().decode(base64);
            try (ConfigurableObjectInputStream in = new ConfigurableObjectInputStream(
                    new ByteArrayInputStream(bytes), this.classLoader)) {
                in.setObjectInputFilter(this.filter);
                return in.readObject();
            }
            catch (IOException | ClassNotFoundException ex) {
                throw new IllegalStateException("a session attribute could not be deserialized", ex);
            }
        }
        return copy(stored);
    }

    /** Values that JSON keeps with their Java type (after {@link #normalize}). */
    private static boolean isJsonValue(Object value) {
        if (value instanceof String || value instanceof Boolean || value instanceof Long
                || value instanceof Double || value instanceof java.math.BigInteger) {
            return true;
        }
        if (value instanceof Map<?, ?> map) {
            if (map.size() == 1 && map.containsKey(JAVA_KEY)) {
                return false; // would read back as a serialized value
            }
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                if (!(entry.getKey() instanceof String)
                        || (entry.getValue() != null && !isJsonValue(entry.getValue()))) {
                    return false;
                }
            }
            return true;
        }
        if (value instanceof List<?> list) {
            for (Object item : list) {
                if (item != null && !isJsonValue(item)) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }

    /** Jackson's numbers as this codec keeps them, containers as fresh LinkedHashMap/ArrayList. */
    private static Object normalize(Object value) {
        if (value instanceof Integer || value instanceof Short || value instanceof Byte) {
            return ((Number) value).longValue();
        }
        if (value instanceof Float || value instanceof java.math.BigDecimal) {
            return ((Number) value).doubleValue();
        }
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> out = new LinkedHashMap<>();
            map.forEach((k, v) -> out.put((String) k, normalize(v)));
            return out;
        }
        if (value instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            list.forEach(v -> out.add(normalize(v)));
            return out;
        }
        return value;
    }

    /** A copy of a stored container, so that the app's mutations do not touch what was loaded. */
    private static Object copy(Object stored) {
        return stored instanceof Map<?, ?> || stored instanceof List<?> ? normalize(stored) : stored;
    }
}
