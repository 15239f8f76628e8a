<?php

// The adapter's classes without Composer (Composer users get them from composer.json's PSR-4
// entry instead).
spl_autoload_register(static function (string $class): void {
    $prefix = 'VarelSession\\';
    if (str_starts_with($class, $prefix)) {
        $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
