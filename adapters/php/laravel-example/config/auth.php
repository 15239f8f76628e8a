<?php

return [
    'defaults' => ['guard' => 'web', 'passwords' => 'users'],
    'guards' => [
        'web' => ['driver' => 'session', 'provider' => 'users'],
    ],
    // The example has no users table: every user id names a user (App\ExampleServiceProvider).
    'providers' => [
        'users' => ['driver' => 'example'],
    ],
];
