# frozen_string_literal: true

require "pg"

module VarelSession
  # A small thread-safe pool of PG::Connection for the store (a PG::Connection serves one thread
  # at a time). Connections are opened when first needed, up to `size`; a thread that finds all of
  # them busy waits up to `timeout` seconds. A connection that broke (the server restarted, a
  # failover) or was interrupted in the middle of a statement (Thread#kill, a request timeout) is
  # closed and replaced on its next use, so the pool recovers by itself. After a fork (Puma's
  # workers) the child opens connections of its own and leaves the parent's alone.
  #
  # Any object with `with { |connection| ... }` can stand in for it (the connection_pool gem's
  # ConnectionPool, say): pass it as the store's `pool:` option.
  class ConnectionPool
    class TimeoutError < StandardError; end

    # url: a libpq connection string or URL (postgresql://user@host:port/db).
    def initialize(url, size: 5, timeout: 5)
      raise ArgumentError, "pool size must be at least 1" unless size.is_a?(Integer) && size >= 1

      @url = url
      @size = size
      @timeout = timeout
      @idle = []
      @opened = 0
      @pid = Process.pid
      @lock = Mutex.new
      @available = ConditionVariable.new
    end

    # Yields a connection that no other thread uses until the block returns.
    def with
      # An interrupt (Thread#kill, Timeout) is held off while the connection changes hands, so
      # that none is lost from the count; inside the block it may come at any time.
      Thread.handle_interrupt(Object => :never) do
        connection = checkout
        begin
          Thread.handle_interrupt(Object => :immediate) { yield connection }
        ensure
          checkin(connection)
        end
      end
    end

    # Closes the idle connections (the busy ones close when they come back).
    def close
      @lock.synchronize do
        @idle.each(&:close)
        @opened -= @idle.size
        @idle.clear
      end
    end

    private

    def checkout
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + @timeout
      @lock.synchronize do
        forget_parents_connections
        loop do
          return @idle.pop unless @idle.empty?

          if @opened < @size
            @opened += 1
            break
          end
          left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
          raise TimeoutError, "no database connection free after #{@timeout} s (pool size #{@size})" if left <= 0

          @available.wait(@lock, left)
        end
      end
      open_connection
    end

    def open_connection
      opened = false
      connection = Thread.handle_interrupt(Object => :immediate) { PG.connect(@url) }
      opened = true
      connection
    ensure
      unless opened
        @lock.synchronize do
          @opened -= 1
          @available.signal
        end
      end
    end

    # Back into the pool if it is idle and healthy, else closed: a statement interrupted midway
    # leaves its connection busy, and the next user would wait for it.
    def checkin(connection)
      @lock.synchronize do
        if @pid == Process.pid && !connection.finished? && connection.status == PG::CONNECTION_OK &&
           connection.transaction_status == PG::PQTRANS_IDLE
          @idle.push(connection)
        else
          connection.close if @pid == Process.pid && !connection.finished?
          @opened -= 1 if @pid == Process.pid
        end
        @available.signal
      end
    end

    # In a child after a fork: the connections are the parent's (closing them would end the
    # parent's sessions with the server), so they are only dropped.
    def forget_parents_connections
      return if @pid == Process.pid

      @pid = Process.pid
      @idle.clear
      @opened = 0
    end
  end
end
