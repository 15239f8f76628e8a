<?php

// The example app of the shared contract (tests/examples/contract.py) in plain PHP: the
// handlers use PHP's own session functions and $_SESSION, kept by the varel_session extension.
//
//     DATABASE_URL=postgresql://postgres@127.0.0.1:54321/varel PORT=3000 adapters/php/example/run

declare(strict_types=1);

require __DIR__ . '/../src/autoload.php';

use VarelSession\SessionHandler;
use VarelSession\Sessions;

$sessions = new Sessions(Sessions::connect(getenv('DATABASE_URL') ?: 'postgresql:///varel'));
$handler = new SessionHandler($sessions);
$handler->register();
// Plain HTTP on loopback in this example; behind HTTPS, leave session.cookie_secure on.
ini_set('session.cookie_secure', '0');

function reply(int $status, mixed $body = null): void
{
    http_response_code($status);
    if ($body !== null) {
        header('Content-Type: application/json');
        echo json_encode($body);
    }
}

function unauthorized(): void
{
    reply(401, ['error' => 'not logged in']);
}

$route = $_SERVER['REQUEST_METHOD'] . ' ' . parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
switch ($route) {
    case 'POST /login':
        $body = json_decode(file_get_contents('php://input') ?: '', true);
        $userId = is_array($body) ? filter_var($body['user_id'] ?? null, FILTER_VALIDATE_INT) : false;
        if ($userId === false) {
            reply(400, ['error' => 'user_id must be an integer']);
            break;
        }
        $handler->resume() || session_start();
        // Rotates the token (against session fixation) and ties the session to the user.
        $handler->logIn($userId);
        reply(200, ['user_id' => $userId]);
        break;

    case 'GET /me':
        if (!$handler->resume() || $handler->userId() === null) {
            unauthorized();
            break;
        }
        // Counted on the server in one update: concurrent requests never lose a visit.
        $visits = $handler->incr('visits');
        $visits === null ? unauthorized() : reply(200, ['user_id' => $handler->userId(), 'visits' => $visits]);
        break;

    case 'GET /sessions':
        if (!$handler->resume() || ($userId = $handler->userId()) === null) {
            unauthorized();
            break;
        }
        $current = $handler->currentHandle();
        reply(200, array_map(fn (array $session): array => [
            'handle' => $session['handle'],
            'created_at' => $session['created_at'],
            'ip' => $session['ip'],
            'user_agent' => $session['user_agent'],
            'current' => $session['handle'] === $current,
        ], $sessions->userSessions($userId)));
        break;

    case 'POST /logout':
        if ($handler->resume()) {
            $handler->logOut();
        }
        reply(204);
        break;

    case 'POST /logout-all':
        if (!$handler->resume() || ($userId = $handler->userId()) === null) {
            unauthorized();
            break;
        }
        $ended = $sessions->revokeUser($userId);
        $handler->logOut();
        reply(200, ['ended' => $ended]);
        break;

    default:
        reply(404, ['error' => 'not found']);
}
