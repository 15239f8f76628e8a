<?php

declare(strict_types=1);

namespace VarelSession\Laravel;

use Illuminate\Session\SessionManager;
use LogicException;
use VarelSession\SessionHandler;
use VarelSession\Sessions;

/**
 * Laravel's SessionManager with the `varel` driver. A driver added with `Session::extend` gets
 * Laravel's plain Store; this one needs its own (VarelStore), hence a manager of its own, which
 * the service provider puts in the place of Laravel's (keeping every driver others extended).
 */
class VarelSessionManager extends SessionManager
{
    /** Takes over the drivers other providers added to Laravel's manager. */
    public static function replacing(SessionManager $manager, $container): self
    {
        $replacement = new self($container);
        $replacement->customCreators = $manager->customCreators;
        return $replacement;
    }

    protected function createVarelDriver(): VarelStore
    {
        if ($this->config->get('session.encrypt')) {
            throw new LogicException('session.encrypt is not supported by the varel driver: it stores the session key by key, which it cannot do with an encrypted blob');
        }
        $connection = $this->container->make('db')->connection($this->config->get('session.connection'));
        if ($connection->getDriverName() !== 'pgsql') {
            throw new LogicException('the varel session driver needs a pgsql database connection');
        }
        $lifetime = $this->config->get('session.lifetime');
        $handler = new SessionHandler(
            new Sessions($connection->getPdo()),
            $lifetime === null ? null : (int) $lifetime * 60,
            $this->config->get('session.varel.allowed_classes', true),
        );
        $store = new VarelStore($this->config->get('session.cookie'), $handler);
        $store->importFrom($this->config->get('session.varel.imported_from'));
        return $store;
    }
}
