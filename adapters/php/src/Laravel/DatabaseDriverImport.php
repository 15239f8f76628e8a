<?php

declare(strict_types=1);

namespace VarelSession\Laravel;

use PDO;
use VarelSession\Codec;

/**
 * Imports the live sessions of Laravel's `database` session driver (its `sessions` table) into
 * varel_session (docs/moving.md): each session's attributes, stored key by key as the varel
 * driver stores them, its user (the table's user_id) and its expiry (last_activity plus
 * session.lifetime), under a hash of the old id. With `session.varel.imported_from` set to
 * "laravel", the first request with an old cookie gets its session under a new id.
 *
 * It runs against the live database while the old driver keeps serving, and may run again: a
 * re-run refreshes what changed and ends what the old table no longer holds (a log-out there).
 * The PDO connection must be the extension owner's (the application's role gets "permission
 * denied"). Payloads are unserialized with no classes allowed: an object (Laravel's flashed
 * ViewErrorBag, say) is kept as the bytes it was stored as, and only the app, reading it with
 * its own allowed classes (session.varel.allowed_classes), ever makes it an object again.
 */
final class DatabaseDriverImport
{
    public const STORE = 'laravel';

    private const IMPORT_BATCH = <<<'SQL'
        SELECT count(*) FILTER (WHERE varel_session.session_import(
                   ?, r.value->>'id', r.value->'data', to_timestamp((r.value->>'expires')::float8),
                   (r.value->>'user_id')::bigint, ?::timestamptz, ?::integer * interval '1 second'))
        FROM jsonb_array_elements(?::jsonb) AS r
        SQL;

    private readonly Codec $codec;

    /**
     * @param int $lifetimeMinutes session.lifetime
     * @param ?callable(string): string $decrypt Laravel's decrypter, for session.encrypt
     */
    public function __construct(
        private readonly PDO $pdo,
        private readonly int $lifetimeMinutes,
        private readonly string $table = 'sessions',
        private readonly mixed $decrypt = null,
    ) {
        $this->pdo->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
        $this->codec = new Codec(false);
    }

    /**
     * @param ?string $acceptUntil old cookies are accepted until then (a timestamp PostgreSQL
     *        reads; null: each session's own expiry)
     * @return array{imported: int, skipped: int, ended: int} skipped: payloads that do not decode
     */
    public function run(?string $acceptUntil = null, int $batchSize = 500): array
    {
        $counts = ['imported' => 0, 'skipped' => 0, 'ended' => 0];
        $started = $this->pdo->query('SELECT statement_timestamp()')->fetchColumn();
        $table = '"' . str_replace('"', '""', $this->table) . '"';
        $read = $this->pdo->prepare(
            "SELECT id, user_id, payload, last_activity FROM $table
             WHERE id > ? AND last_activity > extract(epoch FROM now()) - ? ORDER BY id LIMIT ?",
        );
        $import = $this->pdo->prepare(self::IMPORT_BATCH);
        $seconds = $this->lifetimeMinutes * 60;
        $last = '';
        do {
            $read->execute([$last, $seconds, $batchSize]);
            $rows = $read->fetchAll(PDO::FETCH_ASSOC);
            $batch = [];
            foreach ($rows as $row) {
                $last = $row['id'];
                $attributes = $this->attributes((string) $row['payload']);
                if ($attributes === null) {
                    $counts['skipped']++;
                    continue;
                }
                $encoded = array_map(fn (mixed $value): string => $this->codec->encode($value), $attributes);
                $batch[] = '{"id":' . json_encode($row['id']) . ',"data":' . Codec::jsonObject($encoded)
                    . ',"expires":' . ((int) $row['last_activity'] + $seconds)
                    . ',"user_id":' . json_encode($this->userId($row['user_id'])) . '}';
            }
            if ($batch !== []) {
                $import->execute([self::STORE, $acceptUntil, $seconds, '[' . implode(',', $batch) . ']']);
                $counts['imported'] += (int) $import->fetchColumn();
            }
        } while (count($rows) === $batchSize);
        $prune = $this->pdo->prepare('SELECT varel_session.session_import_prune(?, ?)');
        $prune->execute([self::STORE, $started]);
        $counts['ended'] = (int) $prune->fetchColumn();
        return $counts;
    }

    /** The user column's id when it is an integer (varel_session's user ids are bigints), else null. */
    private function userId(mixed $id): ?int
    {
        $int = filter_var($id, FILTER_VALIDATE_INT);
        return $int === false ? null : $int;
    }

    /** @return ?array<array-key, mixed> the session's attributes, or null if the payload does not decode */
    private function attributes(string $payload): ?array
    {
        $bytes = base64_decode($payload, true);
        if ($bytes === false) {
            return null;
        }
        if ($this->decrypt !== null) {
            try {
                $bytes = ($this->decrypt)($bytes);
            } catch (\RuntimeException) {
                // Laravel's DecryptException: written under another key, or not encrypted.
                return null;
            }
        }
        $attributes = @unserialize($bytes, ['allowed_classes' => false]);
        return is_array($attributes) && $attributes !== [] ? $attributes : null;
    }
}
