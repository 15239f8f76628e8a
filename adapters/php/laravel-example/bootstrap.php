<?php

declare(strict_types=1);

// A Laravel application from Debian's php-laravel-framework (no Composer): its classes, the
// adapter's and the example's, then Laravel's own HTTP kernel.

require '/usr/share/php/Illuminate/autoload.php';
require __DIR__ . '/../src/autoload.php';
spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'App\\')) {
        require __DIR__ . '/app/' . str_replace('\\', '/', substr($class, 4)) . '.php';
    }
});

$app = new Illuminate\Foundation\Application(__DIR__);
// Laravel's caches and storage go under the run's own directory (./run makes it).
$app->useStoragePath(getenv('EXAMPLE_STATE') . '/storage');
$app->singleton(Illuminate\Contracts\Http\Kernel::class, Illuminate\Foundation\Http\Kernel::class);
$app->singleton(Illuminate\Contracts\Console\Kernel::class, Illuminate\Foundation\Console\Kernel::class);
$app->singleton(Illuminate\Contracts\Debug\ExceptionHandler::class, Illuminate\Foundation\Exceptions\Handler::class);

return $app;
