<?php

declare(strict_types=1);

namespace VarelSession;

use PDO;

/**
 * The extension's functions on one PDO connection (pgsql): every SQL statement of the adapter is
 * here. Each call is one round trip; tokens go only into bound parameters, never into SQL text
 * or a message.
 */
final class Sessions
{
    public function __construct(private readonly PDO $pdo)
    {
        $this->pdo->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
    }

    /**
     * A PDO connection from a libpq URL (`postgresql://user:password@host:port/db?host=/socket`),
     * persistent so that each PHP worker keeps its connection between requests.
     */
    public static function connect(string $url, bool $persistent = true): PDO
    {
        $parts = parse_url($url);
        if ($parts === false || !in_array($parts['scheme'] ?? '', ['postgres', 'postgresql'], true)) {
            throw new \InvalidArgumentException('not a postgresql:// URL');
        }
        parse_str($parts['query'] ?? '', $query);
        $dsn = [
            'host' => $query['host'] ?? (isset($parts['host']) ? rawurldecode($parts['host']) : null),
            'port' => $query['port'] ?? ($parts['port'] ?? null),
            'dbname' => isset($parts['path']) && $parts['path'] !== '/' ? rawurldecode(ltrim($parts['path'], '/')) : null,
            'sslmode' => $query['sslmode'] ?? null,
            'application_name' => $query['application_name'] ?? null,
        ];
        $pairs = [];
        foreach ($dsn as $key => $value) {
            if ($value !== null && $value !== '') {
                $pairs[] = $key . '=' . $value;
            }
        }
        return new PDO(
            'pgsql:' . implode(';', $pairs),
            isset($parts['user']) ? rawurldecode($parts['user']) : null,
            isset($parts['pass']) ? rawurldecode($parts['pass']) : null,
            [PDO::ATTR_PERSISTENT => $persistent, PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION],
        );
    }

    /**
     * The live session (sliding its idle deadline as session_load does), or null.
     *
     * @return array{data: string, user_id: ?int}|null
     */
    public function load(string $id): ?array
    {
        $row = $this->row('SELECT data::text AS data, user_id FROM varel_session.session_load(?)', [$id]);
        if ($row === null) {
            return null;
        }
        return ['data' => $row['data'], 'user_id' => $row['user_id'] === null ? null : (int) $row['user_id']];
    }

    /** Creates the session under an id this process has just minted; false if it exists. */
    public function adopt(string $id, string $data, ?int $userId, ?int $maxAgeSeconds, ?string $ip, ?string $userAgent): bool
    {
        return $this->bool(
            'SELECT varel_session.session_adopt(?, max_age => ?::integer * interval \'1 second\',
                user_id => ?::bigint, data => ?::jsonb, ip => ?::inet, user_agent => ?)',
            [$id, $maxAgeSeconds, $userId, $data, $ip, $userAgent],
        );
    }

    /** Creates a session and returns its token. */
    public function create(string $data, ?int $userId, ?int $maxAgeSeconds, ?string $ip, ?string $userAgent): string
    {
        return (string) $this->value(
            'SELECT varel_session.session_new(max_age => ?::integer * interval \'1 second\',
                user_id => ?::bigint, data => ?::jsonb, ip => ?::inet, user_agent => ?)',
            [$maxAgeSeconds, $userId, $data, $ip, $userAgent],
        );
    }

    /** Applies a top-level JSON merge patch to the live session; false if there is none. */
    public function patch(string $id, string $patch): bool
    {
        return $this->bool('SELECT varel_session.session_set(?, ?::jsonb)', [$id, $patch]);
    }

    /** Logs the live session in as `userId`: its new token, or null if it ended. */
    public function setUser(string $id, int $userId, ?int $maxAgeSeconds, ?string $ip, ?string $userAgent): ?string
    {
        $token = $this->value(
            'SELECT varel_session.session_set_user(?, ?::bigint, max_age => ?::integer * interval \'1 second\',
                ip => ?::inet, user_agent => ?)',
            [$id, $userId, $maxAgeSeconds, $ip, $userAgent],
        );
        return $token === null ? null : (string) $token;
    }

    /** Clears the live session's user (log-out that keeps the data): its new token, or null. */
    public function clearUser(string $id): ?string
    {
        $token = $this->value('SELECT varel_session.session_clear_user(?)', [$id]);
        return $token === null ? null : (string) $token;
    }

    public function destroy(string $id): bool
    {
        return $this->bool('SELECT varel_session.session_destroy(?)', [$id]);
    }

    /** Adds `by` to the integer under `key` on the server; the new value, or null without a live session. */
    public function incr(string $id, string $key, int $by = 1): ?int
    {
        $value = $this->value('SELECT varel_session.session_incr(?, ?, ?::bigint)', [$id, $key, $by]);
        return $value === null ? null : (int) $value;
    }

    /**
     * The user's live sessions, newest first ("your devices"); never a token.
     *
     * @return list<array{handle: string, created_at: string, updated_at: string, expires_at: string, ip: ?string, user_agent: ?string, last_seen_at: ?string}>
     */
    public function userSessions(int $userId): array
    {
        $statement = $this->statement(
            'SELECT handle, created_at, updated_at, expires_at, ip::text AS ip, user_agent, last_seen_at
             FROM varel_session.session_user_sessions(?::bigint)',
        );
        $statement->execute([$userId]);
        return $statement->fetchAll(PDO::FETCH_ASSOC);
    }

    /** The handle of the live session named by `id`, or null. */
    public function handle(string $id): ?string
    {
        $handle = $this->value('SELECT varel_session.session_handle(?)', [$id]);
        return $handle === null ? null : (string) $handle;
    }

    /** Ends one of the user's sessions by its handle. */
    public function revoke(int $userId, string $handle): bool
    {
        return $this->bool('SELECT varel_session.session_revoke(?::bigint, ?)', [$userId, $handle]);
    }

    /**
     * The session imported from `store` under the old id `oldId` (docs/moving.md), now under a
     * new id, which the old one no longer names; null when there is none (any other id).
     *
     * @return array{id: string, data: string, user_id: ?int}|null
     */
    public function claim(string $store, string $oldId, ?string $ip, ?string $userAgent): ?array
    {
        $row = $this->row(
            'SELECT id, data::text AS data, user_id FROM varel_session.session_claim(?, ?, ?::inet, ?)',
            [$store, $oldId, $ip, $userAgent],
        );
        if ($row === null) {
            return null;
        }
        return ['id' => $row['id'], 'data' => $row['data'], 'user_id' => $row['user_id'] === null ? null : (int) $row['user_id']];
    }

    /** Ends every session of the user except `exceptId`'s; how many ended. */
    public function revokeUser(int $userId, ?string $exceptId = null): int
    {
        return (int) $this->value('SELECT varel_session.session_user_revoke(?::bigint, ?)', [$userId, $exceptId]);
    }

    /** @param list<mixed> $parameters */
    private function row(string $sql, array $parameters): ?array
    {
        $statement = $this->statement($sql);
        $statement->execute($parameters);
        $row = $statement->fetch(PDO::FETCH_ASSOC);
        return $row === false ? null : $row;
    }

    /** @param list<mixed> $parameters */
    private function value(string $sql, array $parameters): mixed
    {
        $statement = $this->statement($sql);
        $statement->execute($parameters);
        $value = $statement->fetchColumn();
        return $value === false ? null : $value;
    }

    /**
     * A statement sent with its parameters in one round trip (libpq's PQexecParams): PDO's
     * server-side prepare would cost a second one per call.
     */
    private function statement(string $sql): \PDOStatement
    {
        return $this->pdo->prepare($sql, [PDO::PGSQL_ATTR_DISABLE_PREPARES => true]);
    }

    /** @param list<mixed> $parameters */
    private function bool(string $sql, array $parameters): bool
    {
        $value = $this->value($sql, $parameters);
        return $value === true || $value === 't' || $value === 1;
    }
}
