"""The session backend contract, as Django's own session tests check it
(tests/sessions_tests/tests.py, SessionTestsMixin), against the extension."""

import hashlib
import json
import unittest
from datetime import timedelta

from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.db import connection
from django.utils import timezone

from varel_session_django.backend import SessionStore


def sql(query, params=()):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone() if cursor.description else None


def stored_data(key):
    """The data the database holds for the live session `key`, or None."""
    row = sql("SELECT data::text FROM varel_session.session_get(%s)", [key])
    return None if row is None else json.loads(row[0])


class BackendContract(unittest.TestCase):
    def setUp(self):
        self.session = SessionStore()

    def tearDown(self):
        self.session.delete()

    # Flags and the dictionary interface.

    def test_new_session_is_neither_modified_nor_accessed(self):
        self.assertIs(self.session.modified, False)
        self.assertIs(self.session.accessed, False)

    def test_get_empty(self):
        self.assertIsNone(self.session.get("cat"))
        self.assertIs(self.session.accessed, True)
        self.assertIs(self.session.modified, False)

    def test_store_and_pop(self):
        self.session["some key"] = 1
        self.assertIs(self.session.modified, True)
        self.assertEqual(self.session.pop("some key"), 1)
        self.assertIsNone(self.session.get("some key"))
        self.assertEqual(self.session.pop("missing", "default"), "default")
        with self.assertRaises(KeyError):
            self.session.pop("missing")

    def test_pop_of_missing_key_leaves_it_unmodified(self):
        self.session.pop("missing", None)
        self.assertIs(self.session.modified, False)

    def test_setdefault_update_keys_values_items_clear(self):
        self.assertEqual(self.session.setdefault("foo", "bar"), "bar")
        self.assertEqual(self.session.setdefault("foo", "baz"), "bar")
        self.session.update({"x": 1})
        self.assertEqual(sorted(self.session.keys()), ["foo", "x"])
        self.assertEqual(sorted(self.session.items()), [("foo", "bar"), ("x", 1)])
        self.assertIn("x", self.session)
        self.session.save()
        self.session.clear()
        self.assertEqual(list(self.session.items()), [])
        self.session.save()
        self.assertEqual(stored_data(self.session.session_key), {})

    # Saving, loading, existence.

    def test_save_creates_a_server_chosen_key_and_stores_the_data(self):
        self.session["cat"] = "dog"
        self.session.save()
        key = self.session.session_key
        self.assertRegex(key, "^[0-9a-f]{64}$")
        self.assertTrue(self.session.exists(key))
        self.assertEqual(stored_data(key), {"cat": "dog"})
        # Only the hash is stored.
        self.assertEqual(sql("SELECT count(*) FROM varel_session.sessions WHERE "
                             "encode(token_hash, 'hex') = %s", [key])[0], 0)

    def test_load_in_another_store(self):
        self.session["a"] = [1, {"b": None}]
        self.session.save()
        other = SessionStore(self.session.session_key)
        self.assertEqual(other["a"], [1, {"b": None}])

    def test_save_does_not_clear_data(self):
        self.session["a"] = "b"
        self.session.save()
        self.assertEqual(self.session["a"], "b")

    def test_save_writes_only_what_changed(self):
        self.session["mine"] = 1
        self.session["shared"] = 1
        self.session.save()
        key = self.session.session_key
        first, second = SessionStore(key), SessionStore(key)
        first["mine"], second["theirs"] = 2, 3
        first.save()
        second.save()
        self.assertEqual(stored_data(key), {"mine": 2, "shared": 1, "theirs": 3})
        # A nested change flagged by hand, and a removal, are saved too.
        third = SessionStore(key)
        third["mine"] = {"list": [1]}
        third.save()
        fourth = SessionStore(key)
        fourth["mine"]["list"].append(2)
        fourth.modified = True
        del fourth["shared"]
        fourth.save()
        self.assertEqual(stored_data(key), {"mine": {"list": [1, 2]}, "theirs": 3})

    def test_none_values_are_kept(self):
        self.session["gone"] = 1
        self.session.save()
        self.session["gone"] = None
        self.session.save()
        self.assertEqual(stored_data(self.session.session_key), {"gone": None})

    def test_exists_is_false_for_unknown_malformed_and_empty_keys(self):
        for key in ["0" * 64, "not a key", "", None]:
            self.assertFalse(self.session.exists(key), key)

    def test_a_key_with_a_nul_is_no_session(self):
        session = SessionStore("a" * 20 + "\x00" + "b" * 20)
        self.assertEqual(dict(session.items()), {})
        self.assertIsNone(session.session_key)

    def test_must_create_refuses_an_existing_key(self):
        self.session.save()
        with self.assertRaises(CreateError):
            self.session.save(must_create=True)

    def test_delete(self):
        self.session.save()
        key = self.session.session_key
        self.session.delete(key)
        self.assertFalse(self.session.exists(key))

    def test_delete_without_a_key_deletes_the_current_session(self):
        self.session.save()
        key = self.session.session_key
        self.session.delete()
        self.assertFalse(self.session.exists(key))

    def test_flush(self):
        self.session["foo"] = "bar"
        self.session.save()
        key = self.session.session_key
        self.session.flush()
        self.assertFalse(self.session.exists(key))
        self.assertIsNone(self.session.session_key)
        self.assertIs(self.session.modified, True)
        self.assertIs(self.session.accessed, True)
        self.assertEqual(list(self.session.items()), [])

    def test_cycle_key_keeps_the_data_and_ends_the_old_key(self):
        self.session["a"], self.session["b"] = "c", "d"
        self.session.save()
        old = self.session.session_key
        self.session.cycle_key()
        self.assertNotEqual(self.session.session_key, old)
        self.assertFalse(self.session.exists(old))
        self.assertEqual(stored_data(self.session.session_key), {"a": "c", "b": "d"})
        self.assertEqual(dict(self.session.items()), {"a": "c", "b": "d"})

    def test_cycle_key_of_an_unsaved_session_saves_it(self):
        self.session["a"] = 1
        self.session.cycle_key()
        self.assertEqual(stored_data(self.session.session_key), {"a": 1})

    def test_cycle_key_with_no_session_cache(self):
        self.session["a"] = "b"
        self.session.save()
        fresh = SessionStore(self.session.session_key)
        fresh.cycle_key()
        self.assertEqual(fresh["a"], "b")

    # Keys the client sends.

    def test_invalid_key_never_creates_a_record(self):
        for key in ["1", "someunknownkey", "0" * 64, "z" * 64]:
            session = SessionStore(key)
            session.load()
            self.assertIsNone(session.session_key)
            session["cat"] = "dog"
            session.save()
            self.assertNotEqual(session.session_key, key)
            self.assertFalse(session.exists(key))
            session.delete()

    def test_empty_and_short_keys_are_no_key(self):
        self.assertIsNone(SessionStore("").session_key)
        self.assertIsNone(SessionStore("1234567").session_key)

    def test_save_does_not_resurrect_a_session_logged_out_elsewhere(self):
        self.session["a"] = 1
        self.session.save(must_create=True)
        key = self.session.session_key
        SessionStore(key).delete()
        self.session["a"] = 2
        with self.assertRaises(UpdateError):
            self.session.save()
        self.assertEqual(self.session.load(), {})
        self.assertFalse(self.session.exists(key))

    # Expiry.

    def test_default_expiry(self):
        self.assertEqual(self.session.get_expiry_age(), 1209600)
        self.session.save()
        age = sql("SELECT extract(epoch FROM expires_at - now()) FROM "
                  "varel_session.session_get(%s)", [self.session.session_key])[0]
        self.assertAlmostEqual(float(age), 1209600, delta=5)

    def test_custom_expiry_on_new_and_existing_sessions(self):
        self.session.set_expiry(600)
        self.session.save()
        key = self.session.session_key
        self.assertAlmostEqual(self.expires_in(key), 600, delta=5)
        existing = SessionStore(key)
        existing.set_expiry(timedelta(hours=2))
        existing.save()
        self.assertAlmostEqual(self.expires_in(key), 7200, delta=5)
        existing.set_expiry(None)
        existing.save()
        self.assertAlmostEqual(self.expires_in(key), 1209600, delta=5)
        self.assertNotIn("_session_expiry", stored_data(key))

    def test_custom_expiry_datetime(self):
        self.session.set_expiry(timezone.now() + timedelta(seconds=900))
        self.assertAlmostEqual(self.session.get_expiry_age(), 900, delta=2)
        self.session.save()
        self.assertAlmostEqual(self.expires_in(self.session.session_key), 900, delta=5)

    def test_expiry_at_browser_close(self):
        self.session.set_expiry(0)
        self.assertIs(self.session.get_expire_at_browser_close(), True)
        # The server still ends it SESSION_COOKIE_AGE after its last use.
        self.session.save()
        self.assertAlmostEqual(self.expires_in(self.session.session_key), 1209600, delta=5)

    def test_expiry_in_the_past_ends_the_session(self):
        self.session["foo"] = "bar"
        self.session.set_expiry(-2)
        self.session.save()
        new = SessionStore(self.session.session_key)
        self.assertNotIn("foo", new)
        existing = SessionStore()
        existing["foo"] = "bar"
        existing.save()
        existing.set_expiry(-2)
        existing.save()
        self.assertFalse(existing.exists(existing.session_key))

    def test_clear_expired(self):
        self.session.save()
        live = self.session.session_key
        sql("SELECT varel_session.session_new(max_age => interval '1 second')")
        sql("UPDATE varel_session.sessions SET expires_at = now() - interval '1 hour' "
            "WHERE user_id IS NULL AND expires_at < now() + interval '1 minute'")
        expired_before = sql("SELECT count(*) FROM varel_session.sessions WHERE expires_at <= now()")[0]
        self.assertGreater(expired_before, 0)
        SessionStore.clear_expired()
        self.assertEqual(sql("SELECT count(*) FROM varel_session.sessions WHERE expires_at <= now()")[0], 0)
        self.assertTrue(self.session.exists(live))

    # What the extension adds.

    def test_incr_is_atomic_and_kept_in_the_session(self):
        self.assertEqual(self.session.incr("visits"), 1)
        self.assertEqual(self.session.incr("visits", 5), 6)
        self.assertEqual(self.session["visits"], 6)
        self.session["other"] = 1
        self.session.save()
        self.assertEqual(stored_data(self.session.session_key), {"visits": 6, "other": 1})

    def test_csrf_tokens_are_the_extensions_and_change_with_the_key(self):
        # No session yet: nothing verifies, and asking for a token creates one.
        self.assertFalse(self.session.verify_csrf("0" * 64))
        token = self.session.csrf_token()
        key = self.session.session_key
        self.assertIsNotNone(key)
        self.assertRegex(token, r"^[0-9a-f]{64}$")
        derived = hashlib.sha256(f"varel_session csrf token:{key}".encode()).hexdigest()
        self.assertEqual(token, derived)
        self.assertEqual(self.session.csrf_token(), token)
        self.assertTrue(self.session.verify_csrf(token))
        for wrong in (token[:63], token.upper(), "", None, "0" * 64):
            self.assertFalse(self.session.verify_csrf(wrong), wrong)
        # Another store loading the same key verifies the same token.
        self.assertTrue(SessionStore(key).verify_csrf(token))
        # A new key (here cycle_key, as at log-in) makes a new token; the old form is refused.
        self.session.cycle_key()
        self.assertNotEqual(self.session.csrf_token(), token)
        self.assertFalse(self.session.verify_csrf(token))
        # Ended elsewhere: no token, interrupted as a save would be; nothing verifies.
        other = SessionStore()
        other.csrf_token()
        sql("SELECT varel_session.session_destroy(%s)", [other.session_key])
        with self.assertRaises(SessionInterrupted):
            other.csrf_token()
        self.assertFalse(other.verify_csrf(token))

    def test_log_in_ties_the_session_to_the_user_and_rotates_the_key(self):
        self.session["cart"] = [1]
        self.session.save()
        anonymous = self.session.session_key
        self.session["_auth_user_id"] = "4242"
        self.session.save()
        self.assertNotEqual(self.session.session_key, anonymous)
        self.assertFalse(self.session.exists(anonymous))
        devices = sql("SELECT count(*) FROM varel_session.session_user_sessions(4242)")[0]
        self.assertEqual(devices, 1)
        # Log out everywhere: the next save of this session is refused, not recreated.
        sql("SELECT varel_session.session_user_revoke(4242)")
        self.session["cart"] = [1, 2]
        with self.assertRaises(UpdateError):
            self.session.save()

    def test_non_integer_user_ids_are_kept_in_the_data_only(self):
        self.session["_auth_user_id"] = "9b2e1c3a-uuid"
        self.session.save()
        key = self.session.session_key
        self.assertEqual(stored_data(key)["_auth_user_id"], "9b2e1c3a-uuid")
        self.assertIsNone(sql("SELECT user_id FROM varel_session.session_get(%s)", [key])[0])

    # Found in review: each of these once went wrong.

    def test_clear_before_the_session_was_loaded_clears_the_stored_data(self):
        self.session["_auth_user_id"] = "12"
        self.session["cart"] = [1]
        self.session.save()
        fresh = SessionStore(self.session.session_key)
        fresh.clear()
        fresh.save()
        self.assertEqual(stored_data(fresh.session_key), {})

    def test_incr_with_a_key_that_names_no_session_starts_a_new_one(self):
        session = SessionStore("0" * 64)
        self.assertEqual(session.incr("visits"), 1)
        self.assertNotEqual(session.session_key, "0" * 64)
        self.assertEqual(stored_data(session.session_key), {"visits": 1})
        session.delete()

    def test_incr_on_a_session_ended_meanwhile_is_interrupted(self):
        self.session.save()
        loaded = SessionStore(self.session.session_key)
        loaded.get("x")
        self.session.delete()
        with self.assertRaises(SessionInterrupted):
            loaded.incr("visits")

    def test_cycle_key_marks_the_session_modified(self):
        self.session["a"] = 1
        self.session.save()
        fresh = SessionStore(self.session.session_key)
        fresh.get("a")
        fresh.modified = False
        fresh.cycle_key()
        self.assertIs(fresh.modified, True)

    def test_cycle_key_of_a_session_ended_elsewhere_does_not_bring_it_back(self):
        self.session["_auth_user_id"] = "4343"
        self.session["secret"] = "s"
        self.session.save()
        key = self.session.session_key
        loaded = SessionStore(key)
        loaded.get("secret")
        sql("SELECT varel_session.session_user_revoke(4343)")
        loaded.cycle_key()
        self.assertIs(loaded.modified, True)
        self.assertEqual(dict(loaded.items()), {}, "nothing of the revoked session carries over")
        self.assertEqual(sql("SELECT count(*) FROM varel_session.session_user_sessions(4343)")[0], 0)
        loaded.save()
        self.assertEqual(stored_data(loaded.session_key), {})
        self.assertEqual(sql("SELECT count(*) FROM varel_session.session_user_sessions(4343)")[0], 0)
        loaded.delete()

    def test_acycle_key_keeps_the_session(self):
        import asyncio

        self.session["a"] = 1
        self.session.save()
        handle = sql("SELECT varel_session.session_handle(%s)", [self.session.session_key])[0]
        asyncio.run(self.session.acycle_key())
        self.assertEqual(
            sql("SELECT varel_session.session_handle(%s)", [self.session.session_key])[0], handle
        )

    def test_removing_the_user_id_without_flush_unties_the_session(self):
        self.session["_auth_user_id"] = "4444"
        self.session.save()
        del self.session["_auth_user_id"]
        self.session.save()
        self.assertEqual(sql("SELECT count(*) FROM varel_session.session_user_sessions(4444)")[0], 0)
        self.assertIsNone(
            sql("SELECT user_id FROM varel_session.session_get(%s)", [self.session.session_key])[0]
        )

    def test_only_plainly_written_integer_ids_tie_the_session(self):
        for value in ["007", " 7", "1_000", "7.0"]:
            session = SessionStore()
            session["_auth_user_id"] = value
            session.save()
            self.assertIsNone(
                sql("SELECT user_id FROM varel_session.session_get(%s)", [session.session_key])[0],
                value,
            )
            session.delete()

    def expires_in(self, key):
        row = sql("SELECT extract(epoch FROM expires_at - now()) FROM varel_session.session_get(%s)", [key])
        return float(row[0])
