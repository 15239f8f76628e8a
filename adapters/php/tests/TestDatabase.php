<?php

declare(strict_types=1);

namespace VarelSession\Tests;

use PDO;
use VarelSession\SessionHandler;
use VarelSession\Sessions;

/** The test cluster's adapters database, as the superuser, and what the tests ask of it. */
final class TestDatabase
{
    private static ?PDO $pdo = null;

    public static function url(): string
    {
        $url = getenv('VAREL_ADAPTERS_DATABASE_URL');
        if (!is_string($url) || $url === '') {
            throw new \RuntimeException('VAREL_ADAPTERS_DATABASE_URL is not set: run `make test-env`, then `. target/test.env`');
        }
        return $url;
    }

    public static function pdo(): PDO
    {
        return self::$pdo ??= Sessions::connect(self::url(), false);
    }

    /** A handler on its own connection: one per simulated request. */
    public static function handler(?int $maxAgeSeconds = null, bool|array $allowedClasses = true): SessionHandler
    {
        return new SessionHandler(new Sessions(Sessions::connect(self::url(), false)), $maxAgeSeconds, $allowedClasses);
    }

    public static function scalar(string $sql, array $parameters = []): mixed
    {
        $statement = self::pdo()->prepare($sql);
        $statement->execute($parameters);
        return $statement->fetchColumn();
    }

    /** How many rows the sessions table has. */
    public static function rows(): int
    {
        return (int) self::scalar('SELECT count(*) FROM varel_session.sessions');
    }

    /** The stored data of `id`'s session (JSON decoded), or null if no row has its hash. */
    public static function storedData(string $id): ?array
    {
        $data = self::scalar(
            'SELECT data::text FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(?)',
            [$id],
        );
        return $data === false ? null : json_decode($data, true);
    }

    /** A random user id, so that tests sharing the database do not see each other's users. */
    public static function userId(): int
    {
        return random_int(1_000_000_000, PHP_INT_MAX >> 2);
    }
}
