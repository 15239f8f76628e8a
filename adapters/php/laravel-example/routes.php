<?php

// The example app of the shared contract (tests/examples/contract.py) on Laravel: handlers use
// Laravel's own session ($request->session()) and Auth, kept by the varel_session extension.

declare(strict_types=1);

use Illuminate\Cookie\Middleware\AddQueuedCookiesToResponse;
use Illuminate\Cookie\Middleware\EncryptCookies;
use Illuminate\Http\Request;
use Illuminate\Session\Middleware\StartSession;
use Illuminate\Support\Facades\Auth;
use Illuminate\Support\Facades\Route;

$unauthorized = fn () => response()->json(['error' => 'not logged in'], 401);

// Laravel's `web` group without the CSRF check: these are JSON endpoints.
Route::middleware([EncryptCookies::class, AddQueuedCookiesToResponse::class, StartSession::class])->group(function () use ($unauthorized) {
    Route::post('/login', function (Request $request) {
        $userId = filter_var($request->json('user_id'), FILTER_VALIDATE_INT);
        if ($userId === false) {
            return response()->json(['error' => 'user_id must be an integer'], 400);
        }
        // Laravel's log-in gives the session a new id (against session fixation); the driver
        // ties the session to the user.
        Auth::loginUsingId($userId);
        return response()->json(['user_id' => $userId]);
    });

    Route::get('/me', function (Request $request) use ($unauthorized) {
        if (!Auth::check()) {
            return $unauthorized();
        }
        // Laravel's increment, counted on the server: concurrent requests never lose a visit.
        $visits = $request->session()->increment('visits');
        return response()->json(['user_id' => (int) Auth::id(), 'visits' => $visits]);
    });

    Route::get('/sessions', function (Request $request) use ($unauthorized) {
        if (!Auth::check()) {
            return $unauthorized();
        }
        return response()->json(array_map(fn (array $session): array => [
            'handle' => $session['handle'],
            'created_at' => $session['created_at'],
            'ip' => $session['ip'],
            'user_agent' => $session['user_agent'],
            'current' => $session['current'],
        ], $request->session()->userSessions()));
    });

    Route::post('/logout', function (Request $request) {
        Auth::guard('web')->logout();
        $request->session()->invalidate();
        $request->session()->regenerateToken();
        return response()->noContent();
    });

    Route::post('/logout-all', function (Request $request) use ($unauthorized) {
        if (!Auth::check()) {
            return $unauthorized();
        }
        $ended = $request->session()->logOutEverywhere();
        Auth::guard('web')->logout();
        return response()->json(['ended' => $ended]);
    });
});
