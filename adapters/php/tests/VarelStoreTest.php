<?php

declare(strict_types=1);

namespace VarelSession\Tests;

use LogicException;
use PHPUnit\Framework\TestCase;
use VarelSession\Laravel\VarelStore;

/** Laravel's Store on the real handler: one store per simulated request, as StartSession drives it. */
final class VarelStoreTest extends TestCase
{
    /** A request's session: setId from the cookie (or none), then start(). */
    private function request(?string $cookie): VarelStore
    {
        $store = new VarelStore('laravel_session', TestDatabase::handler());
        $store->setId($cookie);
        $store->start();
        return $store;
    }

    /** A stored session with `values`: its id. */
    private function stored(array $values): string
    {
        $store = $this->request(null);
        foreach ($values as $key => $value) {
            $store->put($key, $value);
        }
        $store->save();
        $this->assertNotNull(TestDatabase::storedData($store->getId()));
        return $store->getId();
    }

    public function testIdsAreTokensAndBookkeepingAloneIsNotStored(): void
    {
        $rows = TestDatabase::rows();
        $store = $this->request(null);
        $this->assertMatchesRegularExpression('/^[0-9a-f]{64}$/', $store->getId());
        $this->assertTrue($store->has('_token'));
        $store->save();
        $this->assertSame($rows, TestDatabase::rows(), 'a session with only Laravel\'s keys made a row');

        // A rendered form hands out the CSRF token: the session must keep it.
        $store = $this->request(null);
        $token = $store->token();
        $store->save();
        $this->assertSame($token, TestDatabase::storedData($store->getId())['_token']);
        $this->assertSame($token, $this->request($store->getId())->token());
    }

    public function testAPresentedIdThatNamesNoSessionIsReplacedAndNeverStored(): void
    {
        foreach ([bin2hex(random_bytes(32)), 'x', str_repeat('a', 40)] as $presented) {
            $store = $this->request($presented);
            $this->assertNotSame($presented, $store->getId());
            $store->put('planted', 1);
            $store->save();
            $this->assertNull(TestDatabase::storedData($presented));
            $this->assertSame(['planted' => 1], array_intersect_key(TestDatabase::storedData($store->getId()), ['planted' => 1]));
        }
    }

    public function testConcurrentRequestsThatChangeDifferentKeysBothLand(): void
    {
        $id = $this->stored(['a' => 1, 'b' => 1]);
        $first = $this->request($id);
        $second = $this->request($id);
        $first->put('a', 2);
        $first->flash('status', 'saved');
        $second->put('b', 2);
        $second->forget('a');
        $first->save();
        $second->save();
        $next = $this->request($id);
        $this->assertNull($next->get('a'), 'the second request removed a: its removal lands');
        $this->assertSame(2, $next->get('b'));
        $this->assertSame('saved', $next->get('status'));
    }

    public function testIncrementsCountOnTheServer(): void
    {
        $id = $this->stored(['visits' => 0]);
        $stores = [$this->request($id), $this->request($id), $this->request($id)];
        $counts = array_map(fn (VarelStore $store): int => $store->increment('visits'), $stores);
        $this->assertSame([1, 2, 3], $counts, 'each request counted from the others\' count');
        $this->assertSame(2, $stores[2]->decrement('visits'));
        foreach ($stores as $store) {
            $store->save();
        }
        $this->assertSame(2, $this->request($id)->get('visits'));
    }

    public function testASessionLoggedOutElsewhereIsNeverRevived(): void
    {
        $id = $this->stored(['cart' => [1]]);
        $late = $this->request($id);
        $other = $this->request($id);
        $other->invalidate();
        $other->save();
        $late->push('cart', 2);
        $late->save();
        $this->assertNull(TestDatabase::storedData($id));
        $this->assertNotSame($id, $this->request($id)->getId());
    }

    public function testLogInRotatesAndTiesTheUserAndLogOutEverywhereEndsAll(): void
    {
        $user = TestDatabase::userId();
        $id = $this->stored(['cart' => [3]]);
        $store = $this->request($id);
        $store->logIn($user);
        $store->save();
        $this->assertNull(TestDatabase::storedData($id), 'the old id is dead');
        $again = $this->request($store->getId());
        $this->assertSame($user, $again->userId());
        $this->assertSame([3], $again->get('cart'));

        $phone = $this->request(null);
        $phone->logIn($user);
        $phone->save();
        $listing = $this->request($phone->getId())->userSessions();
        $this->assertCount(2, $listing);
        $this->assertSame(1, count(array_filter($listing, fn (array $s): bool => $s['current'])));

        $this->assertSame(2, $this->request($phone->getId())->logOutEverywhere());
        $this->assertNull($this->request($store->getId())->userId());
    }

    public function testAUserChangeWithoutANewIdIsRefused(): void
    {
        $id = $this->stored(['a' => 1]);
        $store = $this->request($id);
        $store->setUserId(TestDatabase::userId());
        $this->expectException(LogicException::class);
        $store->save();
    }
}
