<?php

declare(strict_types=1);

namespace VarelSession;

/**
 * How PHP session values are kept in the extension's `data` (a JSON object), one top-level key
 * per session key, so that a save can patch only the keys it changed and apps in other
 * languages read the same session.
 *
 * A value that is plain JSON (bool, int, finite float, UTF-8 string without NUL, and arrays of
 * those, nested, with null inside them) is stored as that JSON. Anything else (objects, a
 * top-level null, INF/NAN, bytes that are not UTF-8, a NUL, which jsonb cannot hold, arrays
 * holding any of these) is stored as `{"$php": "<base64 of serialize(value)>"}` and comes back
 * as the same PHP value. A top-level null is wrapped because JSON null in a merge patch means
 * "remove the key". A plain array whose only key is `$php` is wrapped too, so that it cannot be
 * taken for a wrapped value.
 */
final class Codec
{
    public const WRAPPED = '$php';

    /**
     * @param bool|list<class-string> $allowedClasses the classes a wrapped value may hold, as
     *        unserialize()'s `allowed_classes`: PHP's own session module allows every class, so
     *        true is the default; a list narrows it.
     */
    public function __construct(private readonly bool|array $allowedClasses = true)
    {
    }

    /** The JSON text a value is stored as. */
    public function encode(mixed $value): string
    {
        if ($value !== null && self::isPlain($value) && !self::looksWrapped($value)) {
            $json = json_encode($value, JSON_PRESERVE_ZERO_FRACTION | JSON_UNESCAPED_SLASHES
                | JSON_UNESCAPED_UNICODE);
            if ($json !== false) {
                return $json;
            }
        }
        return json_encode([self::WRAPPED => base64_encode(serialize($value))], JSON_UNESCAPED_SLASHES);
    }

    /** The PHP value of one key's stored JSON (already decoded into arrays). */
    public function decode(mixed $stored): mixed
    {
        if (self::looksWrapped($stored) && is_string($stored[self::WRAPPED])) {
            $bytes = base64_decode($stored[self::WRAPPED], true);
            if ($bytes === false) {
                return null;
            }
            if ($bytes === serialize(false)) {
                return false;
            }
            $value = @unserialize($bytes, ['allowed_classes' => $this->allowedClasses]);
            return $value === false ? null : $value;
        }
        return $stored;
    }

    /**
     * The session's values from the extension's `data` (JSON text).
     *
     * @return array<array-key, mixed>
     */
    public function decodeData(string $json): array
    {
        $data = json_decode($json, true, 512, JSON_BIGINT_AS_STRING);
        if (!is_array($data)) {
            return [];
        }
        return array_map(fn (mixed $stored): mixed => $this->decode($stored), $data);
    }

    /**
     * A JSON object from JSON texts by key (each an encode() result), the form session data is
     * stored in.
     *
     * @param array<array-key, string> $encoded
     */
    public static function jsonObject(array $encoded): string
    {
        if ($encoded === []) {
            return '{}';
        }
        $members = [];
        foreach ($encoded as $key => $json) {
            $members[] = json_encode((string) $key, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE) . ':' . $json;
        }
        return '{' . implode(',', $members) . '}';
    }

    private static function isPlain(mixed $value): bool
    {
        if (is_bool($value) || is_int($value)) {
            return true;
        }
        if (is_float($value)) {
            return is_finite($value);
        }
        if (is_string($value)) {
            return self::isText($value);
        }
        if (is_array($value)) {
            foreach ($value as $key => $item) {
                if ((is_string($key) && !self::isText($key))
                    || ($item !== null && !self::isPlain($item))) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }

    /** UTF-8 without NUL: what a jsonb string can hold (PostgreSQL refuses \u0000 in jsonb). */
    private static function isText(string $value): bool
    {
        return mb_check_encoding($value, 'UTF-8') && !str_contains($value, "\0");
    }

    private static function looksWrapped(mixed $value): bool
    {
        return is_array($value) && count($value) === 1 && array_key_exists(self::WRAPPED, $value);
    }
}
