<?php

declare(strict_types=1);

namespace App;

use Illuminate\Auth\GenericUser;
use Illuminate\Contracts\Auth\Authenticatable;
use Illuminate\Contracts\Auth\UserProvider;
use Illuminate\Support\Facades\Auth;
use Illuminate\Support\ServiceProvider;

/** The example's users (every id is one, nothing to check) and its routes. */
class ExampleServiceProvider extends ServiceProvider
{
    public function boot()
    {
        Auth::provider('example', fn () => new class () implements UserProvider {
            public function retrieveById($identifier)
            {
                return new GenericUser(['id' => (int) $identifier, 'remember_token' => null]);
            }

            public function retrieveByToken($identifier, $token)
            {
                return null;
            }

            public function updateRememberToken(Authenticatable $user, $token)
            {
            }

            public function retrieveByCredentials(array $credentials)
            {
                return null;
            }

            public function validateCredentials(Authenticatable $user, array $credentials)
            {
                return false;
            }
        });
        require __DIR__ . '/../routes.php';
    }
}
