<?php

declare(strict_types=1);

namespace VarelSession;

use LogicException;
use SessionHandlerInterface;
use SessionIdInterface;
use SessionUpdateTimestampHandlerInterface;

/**
 * PHP's session save handler on the varel_session extension (`session_set_save_handler`), and
 * what Laravel's driver stands on (Laravel\VarelStore).
 *
 * PHP hands a handler the whole session serialized; this one stores it key by key (Codec) and
 * writes, as a JSON merge patch built on the server from the row's newest version, only the keys
 * whose value differs from what this request read. So two requests of one browser that change
 * different keys both land, and a request that changes nothing writes nothing.
 *
 * Ids: `create_sid` mints the extension's token form (64 hex characters from random_bytes); the
 * first write of a session that holds something adopts it (`session_adopt`). An id a request
 * presented is never stored: unknown, malformed, expired or logged-out ids are "no session"
 * (strict mode makes PHP mint a new one), and a write for a session that ended meanwhile
 * writes nothing, so a log-out elsewhere is never undone.
 */
class SessionHandler implements SessionHandlerInterface, SessionIdInterface, SessionUpdateTimestampHandlerInterface
{
    /** @var array<string, array{snapshot: array<array-key, string>, user_id: ?int}> the live sessions this request read */
    private array $loaded = [];

    /** @var array<string, true> ids looked up and not found */
    private array $missing = [];

    /** @var array<string, true> ids this handler minted and has not stored yet */
    private array $minted = [];

    /** @var array<string, ?int> the user a session is to be stored with (set by logIn and Laravel's store) */
    private array $users = [];

    private readonly Codec $codec;

    /**
     * @param ?int $maxAgeSeconds the idle lifetime of new sessions; null: the extension's
     *        `varel_session.max_age`
     * @param bool|list<class-string> $allowedClasses what stored objects may be (Codec)
     */
    public function __construct(
        private readonly Sessions $sessions,
        private readonly ?int $maxAgeSeconds = null,
        bool|array $allowedClasses = true,
    ) {
        $this->codec = new Codec($allowedClasses);
    }

    public function sessions(): Sessions
    {
        return $this->sessions;
    }

    /**
     * Makes this handler PHP's session handler, with the settings it relies on: strict mode (a
     * presented id that names no session is replaced by a new one), php_serialize (so that the
     * handler can read the data key by key), lazy writes, cookies only, and no PHP-side garbage
     * collection (the extension's session_cleanup does that).
     */
    public function register(): void
    {
        foreach ([
            'session.use_strict_mode' => '1',
            'session.serialize_handler' => 'php_serialize',
            'session.lazy_write' => '1',
            'session.use_cookies' => '1',
            'session.use_only_cookies' => '1',
            'session.use_trans_sid' => '0',
            'session.cookie_httponly' => '1',
            'session.cookie_samesite' => 'Lax',
            'session.gc_probability' => '0',
        ] as $setting => $value) {
            ini_set($setting, $value);
        }
        session_set_save_handler($this, true);
    }

    public function open(string $path, string $name): bool
    {
        return true;
    }

    public function close(): bool
    {
        return true;
    }

    public function create_sid(): string
    {
        $id = bin2hex(random_bytes(32));
        $this->minted[$id] = true;
        return $id;
    }

    /**
     * Whether `id` names a stored session. PHP asks it of a presented id (strict mode replaces
     * one that does not) and of a new id from create_sid, as a collision check
     * (session_create_id, session_regenerate_id): a minted id is not stored yet, so false.
     */
    public function validateId(string $id): bool
    {
        return !isset($this->minted[$id]) && $this->lookup($id) !== null;
    }

    public function read(string $id): string|false
    {
        if (isset($this->minted[$id])) {
            return '';
        }
        $session = $this->lookup($id);
        if ($session === null) {
            return '';
        }
        return serialize(array_map(
            fn (string $json): mixed => $this->codec->decode(json_decode($json, true, 512, JSON_BIGINT_AS_STRING)),
            $session['snapshot'],
        ));
    }

    public function write(string $id, string $data): bool
    {
        $values = $this->unserialized($data);
        $encoded = array_map(fn (mixed $value): string => $this->codec->encode($value), $values);
        if (isset($this->loaded[$id])) {
            $this->update($id, $encoded);
        } elseif (isset($this->minted[$id])) {
            $user = $this->users[$id] ?? null;
            if ($encoded !== [] || $user !== null) {
                [$ip, $userAgent] = self::client();
                $this->sessions->adopt($id, Codec::jsonObject($encoded), $user, $this->maxAgeSeconds, $ip, $userAgent);
                $this->loaded[$id] = ['snapshot' => $encoded, 'user_id' => $user];
                unset($this->minted[$id]);
            }
        }
        // Otherwise the id names no live session: one a request presented, or one that ended
        // while this request ran. Nothing is stored, so nothing ended is revived.
        return true;
    }

    public function updateTimestamp(string $id, string $data): bool
    {
        // session_load slid the idle deadline already when the session was read.
        return true;
    }

    public function destroy(string $id): bool
    {
        if (!isset($this->minted[$id]) && self::isPlausible($id)) {
            $this->sessions->destroy($id);
        }
        $this->forget($id);
        return true;
    }

    public function gc(int $max_lifetime): int|false
    {
        return 0;
    }

    /** The user of the live session `id` as this request read it, or null. */
    /**
     * Claims the session imported from `store` under the old id `oldId` (an id of the old
     * store's, docs/moving.md): its new id, whose data read() then returns without another
     * query, or null (no such session; bytes that are not UTF-8 are not sent).
     */
    public function claim(string $store, string $oldId): ?string
    {
        if ($oldId === '' || strlen($oldId) > 1024 || !mb_check_encoding($oldId, 'UTF-8') || str_contains($oldId, "\0")) {
            return null;
        }
        [$ip, $userAgent] = self::client();
        $row = $this->sessions->claim($store, $oldId, $ip, $userAgent);
        if ($row === null) {
            return null;
        }
        $this->remember($row['id'], $row);
        return $row['id'];
    }

    public function userOf(string $id): ?int
    {
        return $this->loaded[$id]['user_id'] ?? null;
    }

    /** Whether `id` names a session this request read or stored. */
    public function isStored(string $id): bool
    {
        return isset($this->loaded[$id]);
    }

    /** Whether this handler minted `id` (and has not stored it). */
    public function isMinted(string $id): bool
    {
        return isset($this->minted[$id]);
    }

    /** Makes `id` one this handler minted: for frameworks that mint their own ids (Laravel). */
    public function mint(string $id): void
    {
        unset($this->missing[$id]);
        $this->minted[$id] = true;
    }

    /** The user the next write stores session `id` with (Laravel's log-in, below). */
    public function setUserOf(string $id, ?int $userId): void
    {
        $this->users[$id] = $userId;
    }

    /**
     * Adds `by` to the integer under `key` of session `id` on the server (a missing key counts
     * as 0): concurrent requests never lose an increment. Returns the new value, or null if the
     * session ended. The request's copy (`$values`, usually `$_SESSION`) and what the handler
     * read are both set to it, so the request's write does not write the key again.
     *
     * @param array<array-key, mixed> $values
     */
    public function incrementIn(string $id, array &$values, string $key, int $by = 1): ?int
    {
        if (isset($this->minted[$id])) {
            $values[$key] = $by + (is_int($values[$key] ?? null) ? $values[$key] : 0);
            $this->write($id, serialize($values));
            return $values[$key];
        }
        if (!isset($this->loaded[$id])) {
            return null;
        }
        $value = $this->sessions->incr($id, $key, $by);
        if ($value === null) {
            $this->forget($id);
            return null;
        }
        $values[$key] = $value;
        $this->loaded[$id]['snapshot'][$key] = $this->codec->encode($value);
        return $value;
    }

    /**
     * Logs session `id` in as `userId` with the data `$values`, rotating its token (against
     * session fixation): the new token. A session not stored yet is created with the user.
     *
     * @param array<array-key, mixed> $values
     */
    public function logInAs(string $id, array $values, int $userId, ?int $maxAgeSeconds = null): string
    {
        [$ip, $userAgent] = self::client();
        $encoded = array_map(fn (mixed $value): string => $this->codec->encode($value), $values);
        $token = null;
        if (isset($this->loaded[$id])) {
            $this->update($id, $encoded);
            $token = $this->sessions->setUser($id, $userId, $maxAgeSeconds ?? $this->maxAgeSeconds, $ip, $userAgent);
        }
        // A session not stored yet, or one that ended while this request ran: a new one.
        $token ??= $this->sessions->create(Codec::jsonObject($encoded), $userId, $maxAgeSeconds ?? $this->maxAgeSeconds, $ip, $userAgent);
        $this->forget($id);
        $this->loaded[$token] = ['snapshot' => $encoded, 'user_id' => $userId];
        return $token;
    }

    // --- Plain PHP: the current session (session_id() and $_SESSION) ---

    /**
     * Starts the session only if the request carries its cookie: whether it names a live
     * session. A request without one starts nothing, so it gets no cookie.
     */
    public function resume(): bool
    {
        if (session_status() !== PHP_SESSION_ACTIVE) {
            if (!is_string($_COOKIE[session_name()] ?? null)) {
                return false;
            }
            session_start();
        }
        return $this->isStored(session_id());
    }

    /** The current session's user, or null. */
    public function userId(): ?int
    {
        return session_status() === PHP_SESSION_ACTIVE ? $this->userOf(session_id()) : null;
    }

    /** `incrementIn` on the current session and `$_SESSION`. */
    public function incr(string $key, int $by = 1): ?int
    {
        $this->requireActive();
        return $this->incrementIn(session_id(), $_SESSION, $key, $by);
    }

    /**
     * Logs the current session in as `userId`: the token rotates (PHP sends the new cookie) and
     * `$_SESSION` is kept.
     */
    public function logIn(int $userId, ?int $maxAgeSeconds = null): void
    {
        $this->requireActive();
        $id = session_id();
        $token = $this->logInAs($id, $_SESSION, $userId, $maxAgeSeconds);
        // logInAs wrote what changed: PHP closes the old session without a write of its own,
        // then starts the new one, read from what logInAs kept (no round trip), and sends its
        // cookie.
        session_abort();
        session_id($token);
        session_start();
    }

    /** Ends the current session and removes its cookie. */
    public function logOut(): void
    {
        if (session_status() !== PHP_SESSION_ACTIVE) {
            return;
        }
        $_SESSION = [];
        session_destroy();
        $cookie = session_get_cookie_params();
        setcookie(session_name(), '', [
            'expires' => 1,
            'path' => $cookie['path'],
            'domain' => $cookie['domain'],
            'secure' => $cookie['secure'],
            'httponly' => $cookie['httponly'],
            'samesite' => $cookie['samesite'],
        ]);
    }

    /** The current session's handle (to mark "this device" in a listing), or null. */
    public function currentHandle(): ?string
    {
        return session_status() === PHP_SESSION_ACTIVE && isset($this->loaded[session_id()])
            ? $this->sessions->handle(session_id())
            : null;
    }

    // --- Internals ---

    /** @return array{snapshot: array<array-key, string>, user_id: ?int}|null */
    private function lookup(string $id): ?array
    {
        if (isset($this->loaded[$id])) {
            return $this->loaded[$id];
        }
        if (isset($this->missing[$id])) {
            return null;
        }
        // An id of no form the extension or a framework could have made (bytes that are not
        // UTF-8 among them, which the server would refuse with an error) is not looked up.
        $row = self::isPlausible($id) ? $this->sessions->load($id) : null;
        if ($row === null) {
            $this->missing[$id] = true;
            return null;
        }
        return $this->remember($id, $row);
    }

    /**
     * What this request read of the live session `id`, for the write to compare with.
     *
     * @param array{data: string, user_id: ?int} $row
     * @return array{snapshot: array<array-key, string>, user_id: ?int}
     */
    private function remember(string $id, array $row): array
    {
        $data = json_decode($row['data'], true, 512, JSON_BIGINT_AS_STRING);
        $snapshot = [];
        foreach (is_array($data) ? $data : [] as $key => $stored) {
            // Encoded again from the value the request gets, so that an unchanged value
            // compares equal at the write whatever JSON spelling the row had.
            $snapshot[$key] = $this->codec->encode($this->codec->decode($stored));
        }
        return $this->loaded[$id] = ['snapshot' => $snapshot, 'user_id' => $row['user_id']];
    }

    /**
     * Writes what differs between what the request read of the live session `id` and
     * `$encoded`, and the change of its user if there is one.
     *
     * @param array<array-key, string> $encoded
     */
    private function update(string $id, array $encoded): void
    {
        $snapshot = $this->loaded[$id]['snapshot'];
        $patch = [];
        foreach ($encoded as $key => $json) {
            if (($snapshot[$key] ?? null) !== $json) {
                $patch[$key] = $json;
            }
        }
        foreach ($snapshot as $key => $_) {
            if (!array_key_exists($key, $encoded)) {
                $patch[$key] = 'null';
            }
        }
        if ($patch !== [] && !$this->sessions->patch($id, Codec::jsonObject($patch))) {
            $this->forget($id);
            return;
        }
        $this->loaded[$id]['snapshot'] = $encoded;
        if (array_key_exists($id, $this->users) && $this->users[$id] !== $this->loaded[$id]['user_id']) {
            if ($this->users[$id] !== null) {
                throw new LogicException('a stored session\'s user changed without a new id: log users in with a rotation (logIn, or Laravel\'s Auth)');
            }
            // A log-out that kept the id: the session loses its user and its token, so the
            // browser's cookie names no session any more.
            $this->sessions->clearUser($id);
            $this->forget($id);
        }
    }

    /** @return array<array-key, mixed> */
    private function unserialized(string $data): array
    {
        if ($data === '') {
            return [];
        }
        // The data is what PHP (or Laravel) serialized in this request, so any class is allowed.
        $values = @unserialize($data);
        if (!is_array($values)) {
            throw new LogicException('the session data is not in php_serialize form: set session.serialize_handler = php_serialize (SessionHandler::register does)');
        }
        return $values;
    }

    /** @return array{?string, ?string} the client's address and user agent, as PHP got them */
    private static function client(): array
    {
        $ip = $_SERVER['REMOTE_ADDR'] ?? null;
        $userAgent = $_SERVER['HTTP_USER_AGENT'] ?? null;
        return [
            is_string($ip) && filter_var($ip, FILTER_VALIDATE_IP) !== false ? $ip : null,
            is_string($userAgent) ? mb_strcut($userAgent, 0, 512, 'UTF-8') : null,
        ];
    }

    /**
     * Whether `id` has a form the extension or a framework could have made; any other id names
     * no session and is not sent to the database.
     */
    private static function isPlausible(string $id): bool
    {
        return preg_match('/\A[A-Za-z0-9\-_,.]{22,128}\z/', $id) === 1;
    }

    private function forget(string $id): void
    {
        unset($this->loaded[$id], $this->minted[$id], $this->users[$id]);
        $this->missing[$id] = true;
    }

    private function requireActive(): void
    {
        if (session_status() !== PHP_SESSION_ACTIVE) {
            throw new LogicException('no active session: call session_start() first');
        }
    }
}
