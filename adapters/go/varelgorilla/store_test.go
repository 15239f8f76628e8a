package varelgorilla

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/sessions"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/varel-session/varel_session/adapters/go/internal/testdb"
)

var ctx = context.Background()

// request is a request that presents the cookie (none with "").
func request(cookie string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	return r
}

// load is a fresh request's session (gorilla caches a request's sessions).
func load(t *testing.T, store *Store, cookie string) (*sessions.Session, *http.Request) {
	t.Helper()
	r := request(cookie)
	session, err := store.Get(r, "session")
	if err != nil {
		t.Fatal(err)
	}
	return session, r
}

// save saves the session and returns the cookie the response set ("" if it removed it).
func save(t *testing.T, session *sessions.Session, r *http.Request) string {
	t.Helper()
	w := httptest.NewRecorder()
	if err := session.Save(r, w); err != nil {
		t.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == "session" && c.MaxAge >= 0 {
			return c.Value
		}
	}
	return ""
}

func stored(t *testing.T, pool *pgxpool.Pool, values map[string]any) string {
	t.Helper()
	session, r := load(t, New(pool), "")
	for key, value := range values {
		session.Values[key] = value
	}
	return save(t, session, r)
}

func TestANewSessionIsStoredAsAHashOnceItHoldsSomething(t *testing.T) {
	pool := testdb.Pool(t)
	store := New(pool)
	before := testdb.Rows(t, pool)
	session, r := load(t, store, "")
	if !session.IsNew || save(t, session, r) != "" || testdb.Rows(t, pool) != before {
		t.Fatal("an empty new session was stored")
	}
	token := stored(t, pool, map[string]any{"cart": 3})
	if testdb.Stored(t, pool, token) != 1 || testdb.Mentions(t, pool, token) != 0 {
		t.Fatal("the session is not stored under its token's hash alone")
	}
	session, _ = load(t, store, token)
	if session.IsNew || session.Values["cart"] != 3 {
		t.Fatalf("loaded %v, expected cart 3", session.Values)
	}
}

func TestBadCookiesAreNoSession(t *testing.T) {
	pool := testdb.Pool(t)
	store := New(pool)
	before := testdb.Rows(t, pool)
	for _, cookie := range []string{"x", strings.Repeat("0", 64), strings.Repeat("A", 8192),
		"'; DROP TABLE varel_session.sessions; --"} {
		session, r := load(t, store, cookie)
		if !session.IsNew || len(session.Values) != 1 { // only the store's own entry
			t.Fatalf("a bad cookie gave a session: %v", session.Values)
		}
		save(t, session, r)
	}
	if testdb.Rows(t, pool) != before {
		t.Fatal("bad cookies stored rows")
	}
}

func TestConcurrentSavesMergeKeys(t *testing.T) {
	pool := testdb.Pool(t)
	store := New(pool)
	token := stored(t, pool, map[string]any{"keep": "me", "drop": 1})
	a, ra := load(t, store, token)
	b, rb := load(t, store, token)
	a.Values["cart"] = 3
	b.Values["theme"] = "dark"
	delete(b.Values, "drop")
	save(t, a, ra)
	save(t, b, rb)
	got, _ := load(t, store, token)
	if got.Values["cart"] != 3 || got.Values["theme"] != "dark" || got.Values["keep"] != "me" || got.Values["drop"] != nil {
		t.Fatalf("got %v: expected both requests' changes", got.Values)
	}
}

func TestLogInRotatesAndLogOutEnds(t *testing.T) {
	pool := testdb.Pool(t)
	store := New(pool)
	token := stored(t, pool, map[string]any{"cart": 3})
	session, r := load(t, store, token)
	LogIn(session, 42)
	session.Values["step"] = 2
	after := save(t, session, r)
	if after == "" || after == token || testdb.Stored(t, pool, token) != 0 {
		t.Fatal("the log-in did not rotate the token")
	}
	if user := testdb.Int(t, pool, "SELECT user_id FROM varel_session.session_get($1)", after); user != 42 {
		t.Fatalf("user %d, expected 42", user)
	}
	session, r = load(t, store, after)
	if id, ok := UserID(session); !ok || id != 42 || session.Values["cart"] != 3 || session.Values["step"] != 2 {
		t.Fatalf("after the log-in: user %d %v, %v", id, ok, session.Values)
	}
	if devices, err := store.UserSessions(ctx, 42); err != nil || len(devices) == 0 {
		t.Fatalf("UserSessions: %v %v", devices, err)
	}
	Regenerate(session)
	regenerated := save(t, session, r)
	if regenerated == after || testdb.Stored(t, pool, after) != 0 || testdb.Stored(t, pool, regenerated) != 1 {
		t.Fatal("Regenerate did not rotate the token")
	}
	session, r = load(t, store, regenerated)
	LogOut(session)
	if save(t, session, r) != "" || testdb.Stored(t, pool, regenerated) != 0 {
		t.Fatal("LogOut did not end the session and remove the cookie")
	}
}

func TestASaveNeverRevivesAnEndedSession(t *testing.T) {
	pool := testdb.Pool(t)
	store := New(pool)
	token := stored(t, pool, map[string]any{"x": 1})
	session, r := load(t, store, token)
	testdb.Int(t, pool, "SELECT varel_session.session_destroy($1)::int", token) // elsewhere
	session.Values["x"] = 2
	if save(t, session, r) != "" || !Ended(session) || testdb.Stored(t, pool, token) != 0 {
		t.Fatal("the save revived the session, or kept its cookie")
	}
	// A log-in on a session that ended meanwhile stores nothing either.
	token = stored(t, pool, map[string]any{"x": 1})
	session, r = load(t, store, token)
	testdb.Int(t, pool, "SELECT varel_session.session_destroy($1)::int", token)
	LogIn(session, 7)
	if save(t, session, r) != "" {
		t.Fatal("a log-in revived an ended session")
	}
}

func TestConcurrentIncrementsAreNeverLost(t *testing.T) {
	pool := testdb.Pool(t)
	store := New(pool)
	session, r := load(t, store, "")
	if n, ok, err := store.Incr(ctx, session, "n", 1); err != nil || !ok || n != 1 {
		t.Fatalf("the first Incr: %d %v %v", n, ok, err)
	}
	token := save(t, session, r)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := request(token)
			session, err := store.Get(r, "session")
			if err == nil {
				_, _, err = store.Incr(r.Context(), session, "n", 1)
			}
			if err == nil {
				err = session.Save(r, httptest.NewRecorder())
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := testdb.Int(t, pool, "SELECT (data->>'n')::bigint FROM varel_session.session_get($1)", token); n != 33 {
		t.Fatalf("n = %d after 33 increments", n)
	}
}

func TestKeysMustBeStrings(t *testing.T) {
	store := New(testdb.Pool(t))
	session, r := load(t, store, "")
	session.Values[1] = "one"
	if err := session.Save(r, httptest.NewRecorder()); err == nil {
		t.Fatal("a non-string key was accepted")
	}
}
