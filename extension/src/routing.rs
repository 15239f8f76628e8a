//! Routes, for spreading sessions over several servers with a PL/Proxy router (SCALING.md).
//!
//! A token's route is the first four bytes of its stored hash (SHA-256 of its 32 bytes),
//! big-endian, as the router computes it from the token; PL/Proxy sends a call to partition
//! `route & (partitions - 1)`. With `varel_session.route_bits` set to log2 of the partition
//! count, this server mints every token so that it routes back here: a rotation keeps the old
//! token's route bits, and a new session takes the route the router chose
//! (`varel_session.route`, set by `varel_session_shard.session_new_on`). Minting draws tokens
//! until one matches, 2^route_bits draws on average; the match fixes route_bits of the hash, not
//! of the token, so a token keeps 256 - route_bits bits of entropy (SCALING.md, "Entropy").

use crate::gucs;
use crate::token::TokenHash;

/// Most route bits: 4,096 partitions, 4,096 draws per minted token on average.
pub const MAX_ROUTE_BITS: i32 = 12;

/// The route of a stored hash.
pub fn route_of(hash: &TokenHash) -> u32 {
    u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]])
}

/// The route bits a new token's hash must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteTarget {
    mask: u32,
    value: u32,
}

impl RouteTarget {
    fn new(bits: i32, value: u32) -> Option<RouteTarget> {
        (bits > 0).then(|| {
            let mask = (1u32 << bits.min(MAX_ROUTE_BITS)) - 1;
            RouteTarget {
                mask,
                value: value & mask,
            }
        })
    }

    /// How many candidate tokens match on average: 2^route_bits.
    pub fn expected_draws(&self) -> usize {
        self.mask as usize + 1
    }

    /// Whether a token whose stored hash is `hash` routes to the target.
    pub fn matches(&self, hash: &TokenHash) -> bool {
        route_of(hash) & self.mask == self.value
    }
}

/// The target for the next token of the session stored under `old` (a rotation keeps its
/// route); `None` when this server does not route (`varel_session.route_bits` is 0).
pub fn keeping(old: &TokenHash) -> Option<RouteTarget> {
    RouteTarget::new(gucs::ROUTE_BITS.get(), route_of(old))
}

/// The target for a new session's token: the route the router chose, if any.
pub fn for_new_session() -> Option<RouteTarget> {
    match gucs::ROUTE.get() {
        route if route >= 0 => RouteTarget::new(gucs::ROUTE_BITS.get(), route as u32),
        _ => None,
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::*;
    use pgrx::prelude::*;

    /// The route of a token as the router computes it (sharding/router.sql), masked.
    fn sql_route(token_sql: &str, bits: u32) -> i32 {
        Spi::get_one::<i32>(&format!(
            "SELECT get_byte(sha256(decode(({token_sql}), 'hex')), 3) & {}",
            (1 << bits) - 1
        ))
        .unwrap()
        .unwrap()
    }

    #[pg_test]
    fn a_shard_node_mints_tokens_that_route_back_to_it() {
        Spi::run("SET varel_session.route_bits = 2").unwrap();
        for route in 0..4 {
            Spi::run(&format!("SET varel_session.route = {route}")).unwrap();
            for _ in 0..20 {
                let token: String = Spi::get_one("SELECT varel_session.session_new()")
                    .unwrap()
                    .unwrap();
                assert_eq!(sql_route(&format!("'{token}'"), 2), route);
                // A rotation keeps the route, whatever varel_session.route says.
                Spi::run("SET varel_session.route = -1").unwrap();
                let next: String = Spi::get_one(&format!(
                    "SELECT varel_session.session_regenerate('{token}')"
                ))
                .unwrap()
                .unwrap();
                assert_eq!(sql_route(&format!("'{next}'"), 2), route);
                Spi::run(&format!("SET varel_session.route = {route}")).unwrap();
            }
        }
        // Without route bits, tokens go anywhere: all four routes show up.
        Spi::run("SET varel_session.route_bits = 0").unwrap();
        let routes: i64 = Spi::get_one(
            "SELECT count(DISTINCT get_byte(sha256(decode(varel_session.session_new(), 'hex')), 3) & 3)
             FROM generate_series(1, 200)",
        )
        .unwrap()
        .unwrap();
        assert_eq!(routes, 4);
    }

    #[test]
    fn the_route_is_the_hash_s_first_four_bytes_big_endian() {
        let mut hash = [0u8; 32];
        hash[..4].copy_from_slice(&[0x12, 0x34, 0x56, 0x7b]);
        assert_eq!(route_of(&hash), 0x1234_567b);
        let target = RouteTarget::new(2, 3).unwrap();
        assert!(target.matches(&hash), "0x7b & 3 == 3");
        assert!(!RouteTarget::new(2, 2).unwrap().matches(&hash));
        assert!(
            RouteTarget::new(3, 0x7b).unwrap().matches(&hash),
            "0x7b & 7 == 3"
        );
        assert_eq!(RouteTarget::new(0, 5), None, "no route bits, no target");
        // Values are masked: a negative int4 route from the router keeps its low bits.
        assert_eq!(RouteTarget::new(2, -1i32 as u32).unwrap().value, 3);
    }
}
