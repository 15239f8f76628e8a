<?php

return [
    'name' => 'varel_session Laravel example',
    'env' => 'production',
    'debug' => false,
    'url' => 'http://127.0.0.1',
    'timezone' => 'UTC',
    'locale' => 'en',
    'fallback_locale' => 'en',
    // A key made for each run by ./run (EncryptCookies needs one).
    'key' => env('APP_KEY'),
    'cipher' => 'AES-256-CBC',
    'providers' => [
        Illuminate\Auth\AuthServiceProvider::class,
        Illuminate\Cookie\CookieServiceProvider::class,
        Illuminate\Database\DatabaseServiceProvider::class,
        Illuminate\Encryption\EncryptionServiceProvider::class,
        Illuminate\Filesystem\FilesystemServiceProvider::class,
        Illuminate\Session\SessionServiceProvider::class,
        Illuminate\View\ViewServiceProvider::class,
        // The one line that puts Laravel's sessions on varel_session (with SESSION_DRIVER=varel).
        VarelSession\Laravel\VarelSessionServiceProvider::class,
        App\ExampleServiceProvider::class,
    ],
    'aliases' => [],
];
