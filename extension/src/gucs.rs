//! The `varel_session.*` settings.
//!
//! All are `SUSET`: they are security policy (how long a stolen token stays useful, how much a
//! session may hold), so an administrator sets them in `postgresql.conf` or with
//! `ALTER DATABASE/ROLE ... SET`, and an application role cannot loosen them with `SET`.
//! Applications choose a lifetime per session with `session_new(max_age => ...)`.

use pgrx::pg_sys;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::CString;

/// Idle lifetime of a session created without an explicit `max_age`, in seconds (24 h).
pub static MAX_AGE: GucSetting<i32> = GucSetting::<i32>::new(24 * 60 * 60);

/// Hard cap on a session's life from creation (or from the last log-in), in seconds (30 days);
/// 0 means no cap.
pub static ABSOLUTE_TIMEOUT: GucSetting<i32> = GucSetting::<i32>::new(30 * 24 * 60 * 60);

/// Largest `data` a session may hold after a write, in bytes of its jsonb form (64 kB).
pub static MAX_DATA_BYTES: GucSetting<i32> = GucSetting::<i32>::new(64 * 1024);

/// The largest `max_data_bytes` allowed: jsonb stores a string's length, and an object's total
/// size, in 28 bits (`JENTRY_OFFLENMASK`), so a key or value of 256 MB or more cannot be stored
/// and an object that large cannot be built. Below this limit every size check the functions
/// make (a key plus its value, a patch, the resulting data) is reached before jsonb's own; sealed
/// data, a string larger than the data it seals, is checked against the limit itself (`seal`).
pub const MAX_DATA_BYTES_LIMIT: i32 = pg_sys::JENTRY_OFFLENMASK as i32;

/// Most live sessions one user may have; logging in beyond it ends the oldest. 0 = unlimited.
pub static MAX_SESSIONS_PER_USER: GucSetting<i32> = GucSetting::<i32>::new(0);

/// Whether a log-in's assurance level caps its session's deadlines as NIST SP 800-63B-4 asks
/// (`auth_context::Limits`). Off by default.
pub static AAL_TIMEOUTS: GucSetting<bool> = GucSetting::<bool>::new(false);

/// Whether writes seal session data under a key derived from its token (`seal`). Off by
/// default.
pub static SEAL_DATA: GucSetting<bool> = GucSetting::<bool>::new(false);

/// Whether session events are sent (`NOTIFY`, see `events`). Off by default.
pub static EVENTS: GucSetting<bool> = GucSetting::<bool>::new(false);

/// The channel session events are sent on.
pub static EVENTS_CHANNEL: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"varel_session_events"));

/// log2 of the partition count of a PL/Proxy router this server is a node of; 0 (the default)
/// when it is not one. Tokens minted here then route back here (see `routing`).
pub static ROUTE_BITS: GucSetting<i32> = GucSetting::<i32>::new(0);

/// The route a new session's token is minted for, set per transaction by the router's call
/// (`varel_session_shard.session_new_on`); -1: any.
pub static ROUTE: GucSetting<i32> = GucSetting::<i32>::new(-1);

pub fn register() {
    GucRegistry::define_int_guc(
        c"varel_session.max_age",
        c"Idle lifetime of a session created without an explicit max_age.",
        c"Each use through session_load or session_touch slides the idle deadline to now() plus \
          the session's max_age.",
        &MAX_AGE,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"varel_session.absolute_timeout",
        c"Hard cap on a session's life from its creation or last log-in; 0 means no cap.",
        c"No session outlives this, however often it is used.",
        &ABSOLUTE_TIMEOUT,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"varel_session.max_data_bytes",
        c"Largest session data allowed after a write, in bytes.",
        c"Writes that would make a session's data larger fail with SQLSTATE 54000.",
        &MAX_DATA_BYTES,
        16,
        MAX_DATA_BYTES_LIMIT,
        GucContext::Suset,
        GucFlags::UNIT_BYTE,
    );
    GucRegistry::define_int_guc(
        c"varel_session.max_sessions_per_user",
        c"Most live sessions a user may have; 0 means unlimited.",
        c"When a session gains a user beyond the cap, that user's oldest sessions end.",
        &MAX_SESSIONS_PER_USER,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"varel_session.route_bits",
        c"log2 of the partition count of the PL/Proxy router this server is a shard node of; 0 when it is not one.",
        c"Tokens minted here then route back here: a rotation keeps the old token's route bits (SCALING.md).",
        &ROUTE_BITS,
        0,
        crate::routing::MAX_ROUTE_BITS,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"varel_session.route",
        c"The route a new session's token is minted for on a shard node; -1 means any.",
        c"Set for one transaction by varel_session_shard.session_new_on, the router's way to create a session.",
        &ROUTE,
        -1,
        (1 << crate::routing::MAX_ROUTE_BITS) - 1,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"varel_session.aal_timeouts",
        c"Caps the deadlines of a log-in by its assurance level, as NIST SP 800-63B-4 asks.",
        c"AAL1: 30 days overall; AAL2: 24 hours overall, 1 hour idle; AAL3: 12 hours overall, 15 minutes idle. Stricter lifetimes of the session's own are kept.",
        &AAL_TIMEOUTS,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"varel_session.seal_data",
        c"Seals session data under a key derived from its token, which only its holder presents.",
        c"Dumps, backups, replicas and queries of the table then show neither tokens nor data. A session is sealed at its next write of its data or rotation of its token; reads open sealed data whatever this setting.",
        &SEAL_DATA,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"varel_session.events",
        c"Sends a NOTIFY for every session event (created, rotated, logged in and out, destroyed, revoked, evicted, cleanup).",
        c"The payload is JSON with the event, the session's handle, the user id and the time; never a token or its hash.",
        &EVENTS,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"varel_session.events_channel",
        c"The NOTIFY channel session events are sent on.",
        c"LISTEN on it to react to sessions ending, for example to close a user's websockets.",
        &EVENTS_CHANNEL,
        GucContext::Suset,
        GucFlags::default(),
    );
}
