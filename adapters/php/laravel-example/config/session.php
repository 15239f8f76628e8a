<?php

return [
    'driver' => env('SESSION_DRIVER', 'varel'),
    // Minutes of inactivity: the extension's idle lifetime of each new session.
    'lifetime' => 120,
    'expire_on_close' => false,
    'encrypt' => false,
    'connection' => null,
    'lottery' => [2, 100],
    'cookie' => 'laravel_session',
    'path' => '/',
    'domain' => null,
    // Plain HTTP on loopback in this example; behind HTTPS, set it to true.
    'secure' => false,
    'http_only' => true,
    'same_site' => 'lax',
    // The database driver's table (SESSION_DRIVER=database, what an app moves from).
    'table' => 'sessions',
    // While sessions imported from the database driver are taken over (docs/moving.md):
    // VAREL_SESSION_IMPORTED_FROM=laravel.
    'varel' => ['imported_from' => env('VAREL_SESSION_IMPORTED_FROM')],
];
