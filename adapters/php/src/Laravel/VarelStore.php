<?php

declare(strict_types=1);

namespace VarelSession\Laravel;

use Illuminate\Session\Store;
use VarelSession\SessionHandler;

/**
 * Laravel's session Store on the varel_session handler: Laravel's API unchanged, with what the
 * extension promises.
 *
 * - Ids are the extension's tokens. An id a request presented that names no live session is
 *   replaced by a new one (Laravel's own store would keep it and store the session under the
 *   browser's choice), and it is never stored.
 * - A new session is stored only once it holds something: Laravel's bookkeeping alone (its CSRF
 *   token, the previous URL, empty flash lists) is not stored unless the CSRF token was handed
 *   out (a form was rendered), so requests of bots and bad cookies make no rows.
 * - The session's user is the extension's user column (its "your devices" listing and
 *   log-out-everywhere): Laravel's Auth log-in and log-out events set it (see the service
 *   provider), or logIn() and logOut() below.
 * - increment() and decrement() count on the server once the session is stored: concurrent
 *   requests never lose a count.
 */
class VarelStore extends Store
{
    /** Laravel's own keys, which alone do not make a new session worth storing. */
    private const BOOKKEEPING = ['_token', '_previous', '_flash'];

    private ?int $userId = null;

    private bool $tokenHandedOut = false;

    /** The store sessions were imported from (`session.varel.imported_from`, docs/moving.md). */
    private ?string $importedFrom = null;

    /** The old store's id the request presented, claimed when the session is read. */
    private ?string $oldId = null;

    public function isValidId($id)
    {
        return is_string($id) && strlen($id) === 64 && ctype_xdigit($id);
    }

    /**
     * While sessions imported from another store are taken over (Laravel's `database` driver:
     * "laravel"), a presented id of another form than the extension's is looked up among them
     * once: its session continues under a new id, and the old id is dead.
     */
    public function importFrom(?string $store): void
    {
        $this->importedFrom = $store;
    }

    public function setId($id)
    {
        $this->oldId = $this->importedFrom !== null && is_string($id) && $id !== '' && !$this->isValidId($id)
            ? $id
            : null;
        parent::setId($id);
    }

    protected function generateSessionId()
    {
        $handler = $this->varelHandler();
        if ($handler !== null) {
            return $handler->create_sid();
        }
        return bin2hex(random_bytes(32));
    }

    protected function readFromHandler()
    {
        $handler = $this->varelHandler();
        if ($handler !== null && $this->oldId !== null && $this->importedFrom !== null) {
            // One query: the claim returns the data, which read() below takes from the handler.
            $claimed = $handler->claim($this->importedFrom, $this->oldId);
            $this->oldId = null;
            if ($claimed !== null) {
                $this->id = $claimed;
            }
        }
        $data = parent::readFromHandler();
        if ($handler !== null) {
            if (!$handler->isStored($this->getId()) && !$handler->isMinted($this->getId())) {
                // A presented id that names no session: a new one.
                $this->id = $this->generateSessionId();
            }
            $this->userId = $handler->userOf($this->getId());
        }
        return $data;
    }

    public function save()
    {
        $handler = $this->varelHandler();
        if ($handler !== null) {
            $handler->setUserOf($this->getId(), $this->userId);
            if ($handler->isMinted($this->getId()) && !$this->worthStoring()) {
                $this->ageFlashData();
                $this->started = false;
                return;
            }
        }
        parent::save();
    }

    public function token()
    {
        $this->tokenHandedOut = true;
        return parent::token();
    }

    public function increment($key, $amount = 1)
    {
        $handler = $this->varelHandler();
        if ($handler === null || !$handler->isStored($this->getId())) {
            return parent::increment($key, $amount);
        }
        $value = $handler->incrementIn($this->getId(), $this->attributes, (string) $key, (int) $amount);
        if ($value === null) {
            // The session ended while this request ran (logged out elsewhere): nothing counts.
            return 0;
        }
        return $value;
    }

    /** The session's user (the extension's user column), or null. */
    public function userId(): ?int
    {
        return $this->userId;
    }

    /**
     * Sets the session's user for the save. A log-in must come with a new id (Laravel's Auth
     * migrates the session; logIn() below does): a stored session's user changed without one
     * is refused at the save.
     */
    public function setUserId(?int $userId): void
    {
        $this->userId = $userId;
    }

    /** Logs the session in as `userId` with a new id (against session fixation) and a new CSRF token. */
    public function logIn(int $userId): void
    {
        $this->migrate(true);
        $this->regenerateToken();
        $this->userId = $userId;
    }

    /** Ends the session: its data goes, a new empty one (not stored until it holds something) follows. */
    public function logOut(): void
    {
        $this->userId = null;
        $this->invalidate();
        $this->regenerateToken();
        $this->tokenHandedOut = false;
    }

    /**
     * The user's live sessions, newest first, each marked `current` if it is this one; never
     * a token.
     *
     * @return list<array<string, mixed>>
     */
    public function userSessions(): array
    {
        $handler = $this->varelHandler();
        if ($handler === null || $this->userId === null) {
            return [];
        }
        $current = $handler->isStored($this->getId()) ? $handler->sessions()->handle($this->getId()) : null;
        return array_map(
            fn (array $session): array => $session + ['current' => $session['handle'] === $current],
            $handler->sessions()->userSessions($this->userId),
        );
    }

    /** Ends every session of this session's user, this one included; how many ended. */
    public function logOutEverywhere(): int
    {
        $handler = $this->varelHandler();
        $ended = $handler !== null && $this->userId !== null
            ? $handler->sessions()->revokeUser($this->userId)
            : 0;
        $this->logOut();
        return $ended;
    }

    private function worthStoring(): bool
    {
        if ($this->userId !== null || $this->tokenHandedOut) {
            return true;
        }
        foreach ($this->attributes as $key => $_) {
            if (!in_array($key, self::BOOKKEEPING, true)) {
                return true;
            }
        }
        return false;
    }

    private function varelHandler(): ?SessionHandler
    {
        return $this->handler instanceof SessionHandler ? $this->handler : null;
    }
}
