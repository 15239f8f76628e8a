<?php

declare(strict_types=1);

namespace VarelSession\Laravel;

use Illuminate\Auth\Events\Login;
use Illuminate\Auth\Events\Logout;
use Illuminate\Session\SessionManager;
use Illuminate\Support\ServiceProvider;

/**
 * Registers the `varel` session driver (`SESSION_DRIVER=varel`), and keeps the session's user
 * (the extension's user column) in step with Laravel's Auth: a log-in sets it (Laravel's
 * SessionGuard has given the session a new id by then), a log-out clears it.
 */
class VarelSessionServiceProvider extends ServiceProvider
{
    public function register()
    {
        $this->app->extend('session', fn (SessionManager $manager, $app) => VarelSessionManager::replacing($manager, $app));
    }

    public function boot()
    {
        if ($this->app->runningInConsole()) {
            $this->commands([ImportSessionsCommand::class]);
        }
        $events = $this->app->make('events');
        $events->listen(Login::class, function (Login $login): void {
            $id = $login->user->getAuthIdentifier();
            $store = $this->varelStore();
            if ($store !== null) {
                // The user column is a bigint: other identifiers stay in Laravel's own key only.
                $store->setUserId(filter_var($id, FILTER_VALIDATE_INT) === false ? null : (int) $id);
            }
        });
        $events->listen(Logout::class, function (): void {
            $this->varelStore()?->setUserId(null);
        });
    }

    private function varelStore(): ?VarelStore
    {
        if (!$this->app->resolved('session.store')) {
            return null;
        }
        $store = $this->app->make('session.store');
        return $store instanceof VarelStore ? $store : null;
    }
}
