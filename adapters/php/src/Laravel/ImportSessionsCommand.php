<?php

declare(strict_types=1);

namespace VarelSession\Laravel;

use Illuminate\Console\Command;

/**
 * `php artisan varel:import-sessions`: the live sessions of Laravel's `database` driver into
 * varel_session (DatabaseDriverImport). Run it on a connection that logs in as the extension's
 * owner (--connection), before and again after switching SESSION_DRIVER to varel.
 */
class ImportSessionsCommand extends Command
{
    protected $signature = 'varel:import-sessions
        {--connection= : the database connection, as the extension\'s owner (default: session.connection)}
        {--table= : the database driver\'s table (default: session.table)}
        {--accept-until= : old cookies are accepted until then (default: each session\'s expiry)}';

    protected $description = 'Copies the database session driver\'s live sessions into varel_session, where each old cookie works once more';

    public function handle(): int
    {
        $config = $this->laravel->make('config');
        $connection = $this->laravel->make('db')->connection(
            $this->option('connection') ?? $config->get('session.connection'),
        );
        $encrypter = $config->get('session.encrypt') ? $this->laravel->make('encrypter') : null;
        $import = new DatabaseDriverImport(
            $connection->getPdo(),
            (int) $config->get('session.lifetime', 120),
            $this->option('table') ?? $config->get('session.table', 'sessions'),
            $encrypter === null ? null : fn (string $payload): string => $encrypter->decrypt($payload),
        );
        $counts = $import->run($this->option('accept-until'));
        $this->line(sprintf(
            'imported %d, skipped %d (payloads that do not decode), ended %d (gone from the old table)',
            $counts['imported'],
            $counts['skipped'],
            $counts['ended'],
        ));
        return 0;
    }
}
