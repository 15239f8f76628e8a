<?php

declare(strict_types=1);

namespace VarelSession\Tests;

use PDO;
use PHPUnit\Framework\TestCase;
use VarelSession\Sessions;

/**
 * Moving a live Laravel app from the `database` session driver to varel_session, nobody logged
 * out: the example app (Laravel's Auth, its encrypted cookies) runs on the database driver in a
 * database of its own, users log in, `php artisan varel:import-sessions` runs while it serves
 * and again after the switch, and then, on SESSION_DRIVER=varel with
 * session.varel.imported_from = "laravel", every old cookie logs its user in once, with their
 * data, under a new id.
 */
final class LaravelMovingTest extends TestCase
{
    private const DATABASE = 'varel_moving_laravel';

    private static string $url;

    private static string $appKey;

    /** @var array<string, string> the old cookies, by user */
    private static array $old = [];

    /** @var array<string, string> the import's reports */
    private static array $runs = [];

    public static function setUpBeforeClass(): void
    {
        $admin = TestDatabase::pdo();
        $admin->exec('DROP DATABASE IF EXISTS ' . self::DATABASE);
        $admin->exec('CREATE DATABASE ' . self::DATABASE);
        self::$url = preg_replace('~/varel_adapters(\?|$)~', '/' . self::DATABASE . '$1', TestDatabase::url());
        $pdo = Sessions::connect(self::$url, false);
        $pdo->exec('CREATE EXTENSION varel_session');
        // Laravel's own migration for the database driver (`php artisan session:table`).
        $pdo->exec('CREATE TABLE sessions (id varchar(255) PRIMARY KEY, user_id bigint NULL,
            ip_address varchar(45) NULL, user_agent text NULL, payload text NOT NULL,
            last_activity integer NOT NULL)');
        self::$appKey = 'base64:' . base64_encode(random_bytes(32));

        self::withApp(['SESSION_DRIVER' => 'database'], function (string $base): void {
            foreach ([1, 2, 3, 4] as $user) {
                self::$old[(string) $user] = self::request($base, 'POST', '/login', null, ['user_id' => $user])['cookie'];
                self::request($base, 'GET', '/me', self::$old[(string) $user]); // visits: 1
            }
            self::$runs['first'] = self::artisan('varel:import-sessions');
            // Meanwhile: 2 visits again, 3 logs out, 5 logs in; then the import runs again.
            self::request($base, 'GET', '/me', self::$old['2']);
            self::request($base, 'POST', '/logout', self::$old['3']);
            self::$old['5'] = self::request($base, 'POST', '/login', null, ['user_id' => 5])['cookie'];
            self::$runs['second'] = self::artisan('varel:import-sessions');
        });
    }

    public function testTheImportReportsWhatItDid(): void
    {
        self::assertSame('imported 4, skipped 0 (payloads that do not decode), ended 0 (gone from the old table)', self::$runs['first']);
        // 3's session went at the log-out; the database driver stored the new, anonymous one
        // Laravel made for the rest of that request (it holds a CSRF token).
        self::assertSame('imported 5, skipped 0 (payloads that do not decode), ended 1 (gone from the old table)', self::$runs['second']);
        $pdo = Sessions::connect(self::$url, false);
        $users = $pdo->query('SELECT array_to_string(array_agg(user_id ORDER BY user_id), \',\')
            FROM varel_session.imported_sessions WHERE ended_at IS NULL AND user_id IS NOT NULL')->fetchColumn();
        self::assertSame('1,2,4,5', $users);
    }

    public function testEveryUserIsStillLoggedInOnceWithTheirData(): void
    {
        self::withApp(['SESSION_DRIVER' => 'varel', 'VAREL_SESSION_IMPORTED_FROM' => 'laravel'], function (string $base): void {
            foreach (['1' => 2, '2' => 3, '4' => 2, '5' => 1] as $user => $visits) {
                $first = self::request($base, 'GET', '/me', self::$old[$user]);
                self::assertSame(200, $first['status'], "user $user");
                self::assertSame(['user_id' => (int) $user, 'visits' => $visits], $first['body']);
                self::assertNotSame(self::$old[$user], $first['cookie']);
                // The new cookie goes on working; the old one, presented again, is no session.
                self::assertSame(['user_id' => (int) $user, 'visits' => $visits + 1], self::request($base, 'GET', '/me', $first['cookie'])['body']);
                self::assertSame(401, self::request($base, 'GET', '/me', self::$old[$user])['status']);
            }
            // 3 logged out on the old driver before the switch, and stays logged out.
            self::assertSame(401, self::request($base, 'GET', '/me', self::$old['3'])['status']);
            // The new session is 1's in "your devices".
            $pdo = Sessions::connect(self::$url, false);
            self::assertSame(1, (int) $pdo->query('SELECT count(*) FROM varel_session.session_user_sessions(1)')->fetchColumn());
        });
    }

    /** Runs `$test` against the example app started with `$env`, on a port of its own. */
    private static function withApp(array $env, callable $test): void
    {
        $port = self::freePort();
        $environment = getenv() + ['DATABASE_URL' => self::$url, 'PORT' => (string) $port, 'APP_KEY' => self::$appKey, 'PHP_CLI_SERVER_WORKERS' => '2'];
        foreach ($env as $name => $value) {
            $environment[$name] = $value;
        }
        $process = proc_open(['setsid', __DIR__ . '/../laravel-example/run'], [1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes, null, $environment);
        $pid = proc_get_status($process)['pid'];
        try {
            $deadline = microtime(true) + 20;
            while (@fsockopen('127.0.0.1', $port) === false) {
                if (microtime(true) > $deadline) {
                    throw new \RuntimeException('the Laravel example did not start');
                }
                usleep(100_000);
            }
            $test("http://127.0.0.1:$port");
        } finally {
            posix_kill(-$pid, SIGTERM);
            proc_close($process);
        }
    }

    /** php artisan COMMAND in the example app, on the moving database; its output's first line. */
    private static function artisan(string $command): string
    {
        $state = sys_get_temp_dir() . '/varel-laravel-artisan-' . getmypid();
        @mkdir("$state/storage/framework", 0777, true);
        $env = 'DATABASE_URL=' . escapeshellarg(self::$url) . ' APP_KEY=' . escapeshellarg(self::$appKey)
            . ' EXAMPLE_STATE=' . escapeshellarg($state) . ' SESSION_DRIVER=database'
            . " APP_PACKAGES_CACHE=$state/packages.php APP_SERVICES_CACHE=$state/services.php"
            . " APP_CONFIG_CACHE=$state/config.php APP_ROUTES_CACHE=$state/routes.php APP_EVENTS_CACHE=$state/events.php";
        exec("env $env php " . escapeshellarg(__DIR__ . '/../laravel-example/artisan') . " $command 2>&1", $output, $status);
        self::assertSame(0, $status, implode("\n", $output));
        return trim($output[0] ?? '');
    }

    /**
     * One request with the cookie `laravel_session=$cookie`.
     *
     * @return array{status: int, body: mixed, cookie: ?string}
     */
    private static function request(string $base, string $method, string $path, ?string $cookie, ?array $json = null): array
    {
        $headers = ['Accept: application/json'];
        if ($cookie !== null) {
            $headers[] = "Cookie: laravel_session=$cookie";
        }
        if ($json !== null) {
            $headers[] = 'Content-Type: application/json';
        }
        $context = stream_context_create(['http' => [
            'method' => $method, 'header' => $headers, 'ignore_errors' => true,
            'content' => $json === null ? '' : json_encode($json),
        ]]);
        $body = file_get_contents($base . $path, false, $context);
        $status = (int) explode(' ', $http_response_header[0])[1];
        $set = null;
        foreach ($http_response_header as $header) {
            if (preg_match('/^Set-Cookie: laravel_session=([^;]*)/i', $header, $m) === 1) {
                $set = urldecode($m[1]);
            }
        }
        return ['status' => $status, 'body' => json_decode((string) $body, true), 'cookie' => $set];
    }

    private static function freePort(): int
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        $port = (int) substr(strrchr(stream_socket_get_name($socket, false), ':'), 1);
        fclose($socket);
        return $port;
    }
}
