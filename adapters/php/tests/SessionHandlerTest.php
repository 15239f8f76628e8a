<?php

declare(strict_types=1);

namespace VarelSession\Tests;

use LogicException;
use PHPUnit\Framework\TestCase;
use VarelSession\SessionHandler;

/**
 * The save handler as PHP's session module drives it (open, validateId, read, write, close),
 * one handler per simulated request, each on its own connection, against the real extension.
 */
final class SessionHandlerTest extends TestCase
{
    /** A stored session with `values`: its id. */
    private function stored(array $values, ?int $userId = null): string
    {
        $handler = TestDatabase::handler();
        $id = $handler->create_sid();
        if ($userId !== null) {
            $handler->setUserOf($id, $userId);
        }
        $this->assertSame('', $handler->read($id));
        $this->assertTrue($handler->write($id, serialize($values)));
        return $id;
    }

    /** `expected` and `actual` hold the same keys with identical values (in any order: jsonb orders keys its own way). */
    private function assertSameData(array $expected, ?array $actual): void
    {
        $this->assertNotNull($actual);
        ksort($expected);
        ksort($actual);
        $this->assertSame($expected, $actual);
    }

    /** What a new request reads of session `id`, unserialized. */
    private function readBy(SessionHandler $handler, string $id): array
    {
        $this->assertTrue($handler->validateId($id), 'the session is live');
        return unserialize($handler->read($id));
    }

    public function testMintedIdsAreTokensStoredOnlyOnceTheSessionHoldsSomething(): void
    {
        $rows = TestDatabase::rows();
        $handler = TestDatabase::handler();
        $id = $handler->create_sid();
        $this->assertMatchesRegularExpression('/^[0-9a-f]{64}$/', $id);
        $this->assertNotSame($id, $handler->create_sid());
        $this->assertSame('', $handler->read($id));
        $handler->write($id, serialize([]));
        $this->assertSame($rows, TestDatabase::rows(), 'an empty session makes no row');

        $handler->write($id, serialize(['theme' => 'dark']));
        $this->assertSame(['theme' => 'dark'], TestDatabase::storedData($id));
        $this->assertSame(0, (int) TestDatabase::scalar(
            'SELECT count(*) FROM varel_session.sessions WHERE data::text LIKE ? OR encode(token_hash, \'hex\') = ?',
            ['%' . $id . '%', $id],
        ), 'the id itself is stored nowhere: only its hash');
        $this->assertSame(['theme' => 'dark'], $this->readBy(TestDatabase::handler(), $id));
    }

    public function testConcurrentRequestsThatChangeDifferentKeysBothLand(): void
    {
        $id = $this->stored(['a' => 1, 'b' => 1, 'gone' => true, 'kept' => 'x']);
        [$first, $second] = [TestDatabase::handler(), TestDatabase::handler()];
        $one = $this->readBy($first, $id);
        $two = $this->readBy($second, $id);
        $one['a'] = 2;
        unset($one['gone']);
        $two['b'] = 2;
        $first->write($id, serialize($one));
        $second->write($id, serialize($two));
        $this->assertSameData(['a' => 2, 'b' => 2, 'kept' => 'x'], $this->readBy(TestDatabase::handler(), $id));
    }

    public function testARequestThatChangesNothingWritesNothing(): void
    {
        $id = $this->stored(['n' => 1.0, 'list' => [1, 2], 'object' => new \ArrayObject([1])]);
        $updatedAt = TestDatabase::scalar('SELECT updated_at FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(?)', [$id]);
        $handler = TestDatabase::handler();
        $values = $this->readBy($handler, $id);
        $other = TestDatabase::handler();
        $changed = $this->readBy($other, $id);
        $changed['n'] = 3;
        $other->write($id, serialize($changed));
        // The first request's unchanged values do not overwrite the second's change.
        $handler->write($id, serialize($values));
        $this->assertSame(3, $this->readBy(TestDatabase::handler(), $id)['n']);
        $this->assertNotSame($updatedAt, TestDatabase::scalar('SELECT updated_at FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(?)', [$id]));
    }

    public function testASessionLoggedOutElsewhereIsNeverRevived(): void
    {
        $id = $this->stored(['cart' => [1]]);
        $request = TestDatabase::handler();
        $values = $this->readBy($request, $id);
        TestDatabase::handler()->destroy($id);
        $values['cart'][] = 2;
        $rows = TestDatabase::rows();
        $this->assertTrue($request->write($id, serialize($values)));
        $this->assertSame($rows, TestDatabase::rows());
        $this->assertNull(TestDatabase::storedData($id));
        $this->assertFalse(TestDatabase::handler()->validateId($id));
    }

    public function testPresentedIdsThatNameNoSessionAreNoSessionAndNeverStored(): void
    {
        $rows = TestDatabase::rows();
        foreach ([bin2hex(random_bytes(32)), 'x', str_repeat('A', 8192), "\0\xff", "\xa3" . str_repeat('a', 63), rtrim(strtr(base64_encode(random_bytes(32)), '+/', '-_'), '=')] as $id) {
            $handler = TestDatabase::handler();
            $this->assertFalse($handler->validateId($id));
            $this->assertSame('', $handler->read($id));
            $this->assertTrue($handler->write($id, serialize(['planted' => 1])));
            $this->assertTrue($handler->destroy($id));
        }
        $this->assertSame($rows, TestDatabase::rows(), 'a presented id made a row');
    }

    public function testIncrementsAreAtomicAndTheRequestsWriteKeepsThem(): void
    {
        $id = $this->stored(['visits' => 0, 'other' => 'a']);
        [$first, $second] = [TestDatabase::handler(), TestDatabase::handler()];
        $one = $this->readBy($first, $id);
        $two = $this->readBy($second, $id);
        $this->assertSame(1, $first->incrementIn($id, $one, 'visits'));
        $this->assertSame(2, $second->incrementIn($id, $two, 'visits'));
        $this->assertSame(1, $one['visits']);
        $one['other'] = 'b';
        $first->write($id, serialize($one));
        $second->write($id, serialize($two));
        $this->assertSameData(['visits' => 2, 'other' => 'b'], $this->readBy(TestDatabase::handler(), $id));

        $ended = TestDatabase::handler();
        $values = $this->readBy($ended, $id);
        TestDatabase::handler()->destroy($id);
        $this->assertNull($ended->incrementIn($id, $values, 'visits'));
    }

    public function testAnIncrementOfANewSessionStoresIt(): void
    {
        $handler = TestDatabase::handler();
        $id = $handler->create_sid();
        $values = [];
        $this->assertSame(5, $handler->incrementIn($id, $values, 'n', 5));
        $this->assertSame(['n' => 5], TestDatabase::storedData($id));
    }

    public function testLogInRotatesTheTokenAndKeepsTheData(): void
    {
        $user = TestDatabase::userId();
        $id = $this->stored(['cart' => [7]]);
        $handler = TestDatabase::handler();
        $values = $this->readBy($handler, $id);
        $values['step'] = 2;
        $token = $handler->logInAs($id, $values, $user);
        $this->assertNotSame($id, $token);
        $this->assertFalse(TestDatabase::handler()->validateId($id), 'the old id is dead');
        $reader = TestDatabase::handler();
        $this->assertSameData(['cart' => [7], 'step' => 2], $this->readBy($reader, $token));
        $this->assertSame($user, $reader->userOf($token));
        $this->assertCount(1, $handler->sessions()->userSessions($user));

        // A session never stored is created with the user.
        $fresh = TestDatabase::handler();
        $minted = $fresh->create_sid();
        $second = $fresh->logInAs($minted, ['x' => 1], $user);
        $this->assertNull(TestDatabase::storedData($minted));
        $this->assertSame(['x' => 1], TestDatabase::storedData($second));
        $this->assertCount(2, $handler->sessions()->userSessions($user));
        $this->assertSame(2, $handler->sessions()->revokeUser($user));
    }

    public function testAUserChangeWithoutRotationIsRefusedAndALogOutEndsTheToken(): void
    {
        $user = TestDatabase::userId();
        $id = $this->stored(['a' => 1], $user);
        $handler = TestDatabase::handler();
        $values = $this->readBy($handler, $id);
        $handler->setUserOf($id, $user + 1);
        try {
            $handler->write($id, serialize($values));
            $this->fail('a user change without a new id was written');
        } catch (LogicException $refused) {
            $this->assertStringContainsString('rotation', $refused->getMessage());
        }

        $handler = TestDatabase::handler();
        $values = $this->readBy($handler, $id);
        $this->assertSame($user, $handler->userOf($id));
        $handler->setUserOf($id, null);
        $values['bye'] = true;
        $handler->write($id, serialize($values));
        $this->assertFalse(TestDatabase::handler()->validateId($id), 'the logged-out token is dead');
        $this->assertCount(0, $handler->sessions()->userSessions($user));
    }

    public function testDataThatIsNotPhpSerializeIsAProgrammersError(): void
    {
        $handler = TestDatabase::handler();
        $id = $handler->create_sid();
        $this->expectException(LogicException::class);
        $this->expectExceptionMessage('php_serialize');
        $handler->write($id, 'theme|s:4:"dark";');
    }

    public function testPhpsSessionFunctionsRunOnTheHandler(): void
    {
        // A real session_start()/$_SESSION/session_write_close() cycle, in a PHP process of its
        // own (sessions are per process), twice: the second run sees the first's data.
        $script = __DIR__ . '/fixtures/session_cycle.php';
        $first = $this->runPhp($script, '');
        [$id, $visits] = explode(' ', $first);
        $this->assertMatchesRegularExpression('/^[0-9a-f]{64}$/', $id);
        $this->assertSame('1', $visits);
        $this->assertSame($id . ' 2', $this->runPhp($script, $id));
        $this->assertSameData(['seen' => ['first', 'again'], 'visits' => 2], TestDatabase::storedData($id));
    }

    public function testSessionRegenerateIdMovesTheDataToANewToken(): void
    {
        $id = $this->stored(['cart' => [1]]);
        [$new, $created] = explode(' ', $this->runPhp(__DIR__ . '/fixtures/regenerate.php', $id));
        $this->assertMatchesRegularExpression('/^[0-9a-f]{64}$/', $new);
        $this->assertMatchesRegularExpression("/^'[0-9a-f]{64}'\$/", $created, 'session_create_id() gives a new id');
        $this->assertNull(TestDatabase::storedData(trim($created, "'")), 'an id session_create_id() gave is not stored');
        $this->assertNotSame($id, $new);
        $this->assertNull(TestDatabase::storedData($id), 'the old id is dead');
        $this->assertSameData(['cart' => [1], 'rotated' => true], TestDatabase::storedData($new));
    }

    private function runPhp(string $script, string $id): string
    {
        $command = [PHP_BINARY, '-d', 'display_errors=stderr', $script, $id];
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, ['VAREL_ADAPTERS_DATABASE_URL' => TestDatabase::url()]);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        $this->assertSame(0, proc_close($process), $err);
        return trim($out);
    }
}
