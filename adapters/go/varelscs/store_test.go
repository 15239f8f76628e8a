package varelscs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/varel-session/varel_session/adapters/go/internal/testdb"
)

var ctx = context.Background()

// token is an id in the form scs mints (32 random bytes, base64url).
func token(t *testing.T) string {
	t.Helper()
	id, err := newToken()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func encode(t *testing.T, values map[string]any) []byte {
	t.Helper()
	b, err := scs.GobCodec{}.Encode(time.Now().Add(time.Hour), values)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	_, values, err := scs.GobCodec{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	delete(values, SnapshotKey)
	return values
}

func find(t *testing.T, store *Store, id string) (map[string]any, bool) {
	t.Helper()
	b, found, err := store.Find(id)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		return nil, false
	}
	return decode(t, b), true
}

// The cases of scs's postgresstore tests (postgresstore_test.go, which every scs store module
// ships in its own form): Find, FindMissing, SaveNew, SaveUpdated, Expiry, Delete. They seed
// and read scs's `sessions` table there; here the same steps go through the store, since the
// extension's table is reachable only through its functions. Left out: Cleanup and
// StopNilCleanup, which test postgresstore's own cleanup goroutine (the extension's cleanup is
// session_cleanup and its pg_cron job, tested with the extension).

func TestFind(t *testing.T) {
	store := New(testdb.Pool(t))
	id := token(t)
	if err := store.Commit(id, encode(t, map[string]any{"encoded": "data"}), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	values, found := find(t, store, id)
	if !found || values["encoded"] != "data" {
		t.Fatalf("got %v %v: expected the committed data", values, found)
	}
}

func TestFindMissing(t *testing.T) {
	store := New(testdb.Pool(t))
	if _, found := find(t, store, "missing_session_token_"+token(t)); found {
		t.Fatal("found a session that was never stored")
	}
}

func TestSaveNew(t *testing.T) {
	pool := testdb.Pool(t)
	store := New(pool)
	id := token(t)
	if err := store.Commit(id, encode(t, map[string]any{"x": 1}), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := testdb.Stored(t, pool, id); n != 1 {
		t.Fatalf("%d rows hold the token's hash, expected 1", n)
	}
	if n := testdb.Mentions(t, pool, id); n != 0 {
		t.Fatal("the token is in the stored data")
	}
	lifetime := testdb.Int(t, pool, "SELECT extract(epoch FROM expires_at - now())::bigint FROM varel_session.session_get($1)", id)
	if lifetime < 55 || lifetime > 60 {
		t.Fatalf("idle lifetime %d s, expected the minute to expiry", lifetime)
	}
}

func TestSaveUpdated(t *testing.T) {
	store := New(testdb.Pool(t))
	id := token(t)
	if err := store.Commit(id, encode(t, map[string]any{"v": "old"}), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	b, _, err := store.Find(id)
	if err != nil {
		t.Fatal(err)
	}
	_, values, _ := scs.GobCodec{}.Decode(b)
	values["v"] = "new"
	if err := store.Commit(id, encode(t, values), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := find(t, store, id); got["v"] != "new" {
		t.Fatalf("got %v, expected the updated value", got)
	}
}

func TestExpiry(t *testing.T) {
	store := New(testdb.Pool(t))
	id := token(t)
	if err := store.Commit(id, encode(t, map[string]any{"x": 1}), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, found := find(t, store, id); !found {
		t.Fatal("not found before its expiry")
	}
	time.Sleep(2100 * time.Millisecond)
	if _, found := find(t, store, id); found {
		t.Fatal("found after its expiry")
	}
}

func TestDelete(t *testing.T) {
	pool := testdb.Pool(t)
	store := New(pool)
	id := token(t)
	if err := store.Commit(id, encode(t, map[string]any{"x": 1}), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(id); err != nil {
		t.Fatal(err)
	}
	if n := testdb.Stored(t, pool, id); n != 0 {
		t.Fatal("the session is still stored after Delete")
	}
	if err := store.Delete(id); err != nil {
		t.Fatalf("a second Delete: %v, expected a no-op", err)
	}
}

// The store's own promises.

func TestMalformedTokensAreNoSession(t *testing.T) {
	pool := testdb.Pool(t)
	store := New(pool)
	before := testdb.Rows(t, pool)
	for _, id := range []string{"", "x", strings.Repeat("0", 64), strings.Repeat("A", 8192),
		"'; DROP TABLE varel_session.sessions; --", "caf\u00e9-" + strings.Repeat("b", 30)} {
		if _, found, err := store.Find(id); found || err != nil {
			t.Fatalf("Find(%.20q): found %v, err %v; expected no session and no error", id, found, err)
		}
		if err := store.Delete(id); err != nil {
			t.Fatalf("Delete(%.20q): %v", id, err)
		}
	}
	if after := testdb.Rows(t, pool); after != before {
		t.Fatalf("rows went from %d to %d", before, after)
	}
}

// Two requests of one browser load the session, change different keys and save: both land.
func TestConcurrentSavesMergeKeys(t *testing.T) {
	store := New(testdb.Pool(t))
	id := token(t)
	if err := store.Commit(id, encode(t, map[string]any{"keep": "me"}), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	first, _, _ := store.Find(id)
	second, _, _ := store.Find(id)
	_, a, _ := scs.GobCodec{}.Decode(first)
	_, b, _ := scs.GobCodec{}.Decode(second)
	a["cart"] = 3
	b["theme"] = "dark"
	delete(b, "keep")
	if err := store.Commit(id, encode(t, a), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := store.Commit(id, encode(t, b), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ := find(t, store, id)
	if got["cart"] != 3 || got["theme"] != "dark" || got["keep"] != nil {
		t.Fatalf("got %v: expected both requests' changes", got)
	}
}

func TestSaveNeverRevivesAnEndedSession(t *testing.T) {
	pool := testdb.Pool(t)
	store := New(pool)
	id := token(t)
	if err := store.Commit(id, encode(t, map[string]any{"x": 1}), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	b, _, _ := store.Find(id)
	testdb.Int(t, pool, "SELECT varel_session.session_destroy($1)::int", id) // logged out elsewhere
	_, values, _ := scs.GobCodec{}.Decode(b)
	values["x"] = 2
	if err := store.Commit(id, encode(t, values), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("a save of an ended session: %v, expected no error", err)
	}
	if n := testdb.Stored(t, pool, id); n != 0 {
		t.Fatal("the save revived the session")
	}

	// RenewToken deletes the loaded token, then the save stores the new one: not when the
	// session had ended before.
	id = token(t)
	if err := store.Commit(id, encode(t, map[string]any{"x": 1}), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	b, _, _ = store.Find(id)
	testdb.Int(t, pool, "SELECT varel_session.session_destroy($1)::int", id)
	if err := store.Delete(id); err != nil {
		t.Fatal(err)
	}
	renewed := token(t)
	if err := store.Commit(renewed, b, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := testdb.Stored(t, pool, renewed); n != 0 {
		t.Fatal("a renewal revived a session that had ended")
	}
}

func TestValuesKeepTheirTypes(t *testing.T) {
	pool := testdb.Pool(t)
	store := New(pool)
	id := token(t)
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	values := map[string]any{"s": "text", "i": 7, "f": 3.0, "b": true, "t": at, "bytes": []byte{1, 2},
		"i64": int64(1) << 40, "nested": map[string]any{"list": []any{1, "two", 2.5}}}
	if err := store.Commit(id, encode(t, values), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ := find(t, store, id)
	for key, want := range values {
		if fmt.Sprintf("%T %v", got[key], got[key]) != fmt.Sprintf("%T %v", want, want) {
			t.Errorf("%s: got %T %v, expected %T %v", key, got[key], got[key], want, want)
		}
	}
	// The plain values are plain JSON, which apps in other languages read.
	readable := testdb.Int(t, pool, `SELECT count(*) FROM varel_session.session_get($1)
		WHERE data->>'s' = 'text' AND data->'i' = '7' AND data->>'f' = '3.0' AND data->'b' = 'true'
		AND data->'nested'->'list'->>1 = 'two'`, id)
	if readable != 1 {
		t.Fatal("the stored data is not the plain JSON expected")
	}
}

// A session a user logged in to elsewhere (here in SQL, as another adapter would) has its user
// under the user key, and its data.
func TestUserKeyIsTheExtensionsUser(t *testing.T) {
	pool := testdb.Pool(t)
	store := New(pool, WithUserKey("user_id"))
	var id string
	if err := pool.QueryRow(ctx, `SELECT varel_session.session_new(user_id => 77, data => '{"theme": "dark"}')`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	got, found := find(t, store, id)
	if !found || got["user_id"] != 77 || got["theme"] != "dark" {
		t.Fatalf("got %v: expected user 77 and the data", got)
	}
}

// An HTTP app on scs's SessionManager with the store.
type app struct {
	*httptest.Server
	pool  *pgxpool.Pool
	store *Store
	sm    *scs.SessionManager
}

func newApp(t *testing.T) *app {
	t.Helper()
	a := &app{pool: testdb.Pool(t)}
	a.store = New(a.pool, WithUserKey("user_id"))
	a.sm = scs.New()
	a.sm.Store = a.store
	a.sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /put", func(w http.ResponseWriter, r *http.Request) {
		a.sm.Put(r.Context(), r.URL.Query().Get("key"), r.URL.Query().Get("value"))
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, a.sm.GetString(r.Context(), r.URL.Query().Get("key")))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user, _ := strconv.Atoi(r.URL.Query().Get("user"))
		if err := a.sm.RenewToken(r.Context()); err != nil {
			t.Error(err)
		}
		a.sm.Put(r.Context(), "user_id", user)
	})
	mux.HandleFunc("POST /set-user", func(w http.ResponseWriter, r *http.Request) {
		a.sm.Put(r.Context(), "user_id", 999) // no RenewToken: a programmer's mistake
	})
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		n, ok, err := a.store.Incr(r.Context(), a.sm, "n", 1)
		if err != nil || !ok {
			http.Error(w, fmt.Sprint(ok, err), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, n)
	})
	a.Server = httptest.NewServer(a.sm.LoadAndSave(mux))
	t.Cleanup(a.Close)
	return a
}

func (a *app) browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func (a *app) call(t *testing.T, client *http.Client, method, path string) (int, string) {
	t.Helper()
	request, _ := http.NewRequest(method, a.URL+path, nil)
	response, err := client.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(response.Body)
	return response.StatusCode, string(body)
}

func (a *app) cookie(client *http.Client) string {
	request, _ := http.NewRequest("GET", a.URL, nil)
	for _, c := range client.Jar.Cookies(request.URL) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

func TestLogInRotatesTheTokenAndSetsTheUser(t *testing.T) {
	a := newApp(t)
	browser := a.browser(t)
	a.call(t, browser, "POST", "/put?key=cart&value=3")
	before := a.cookie(browser)
	a.call(t, browser, "POST", "/login?user=42")
	after := a.cookie(browser)
	if before == "" || after == before {
		t.Fatal("the log-in did not rotate the token")
	}
	if testdb.Stored(t, a.pool, before) != 0 {
		t.Fatal("the old token still names a session")
	}
	if user := testdb.Int(t, a.pool, "SELECT user_id FROM varel_session.session_get($1)", after); user != 42 {
		t.Fatalf("the session's user is %d, expected 42", user)
	}
	if _, body := a.call(t, browser, "GET", "/get?key=cart"); body != "3" {
		t.Fatalf("the data after the log-in: %q, expected it kept", body)
	}
	devices, err := a.store.UserSessions(ctx, 42)
	if err != nil || len(devices) == 0 {
		t.Fatalf("UserSessions: %v %v", devices, err)
	}
	// A user change without RenewToken is refused, and nothing is written.
	if status, _ := a.call(t, browser, "POST", "/set-user"); status != http.StatusInternalServerError {
		t.Fatalf("a user change without RenewToken gave %d, expected the error", status)
	}
	if user := testdb.Int(t, a.pool, "SELECT user_id FROM varel_session.session_get($1)", after); user != 42 {
		t.Fatal("the refused user change was written")
	}
}

func TestConcurrentIncrementsAreNeverLost(t *testing.T) {
	a := newApp(t)
	browser := a.browser(t)
	a.call(t, browser, "POST", "/incr") // stores the session, n = 1
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, body := a.call(t, browser, "POST", "/incr"); status != http.StatusOK {
				t.Errorf("incr: %d %s", status, body)
			}
		}()
	}
	wg.Wait()
	if n := testdb.Int(t, a.pool, "SELECT (data->>'n')::bigint FROM varel_session.session_get($1)", a.cookie(browser)); n != 33 {
		t.Fatalf("n = %d after 33 increments", n)
	}
}

func TestARequestThatWritesNothingStoresNothing(t *testing.T) {
	a := newApp(t)
	before := testdb.Rows(t, a.pool)
	browser := a.browser(t)
	request, _ := http.NewRequest("GET", a.URL+"/get?key=x", nil)
	request.AddCookie(&http.Cookie{Name: "session", Value: "forged-" + token(t)})
	response, err := browser.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusOK {
		t.Fatalf("a forged cookie gave %d", response.StatusCode)
	}
	if after := testdb.Rows(t, a.pool); after != before {
		t.Fatal("a request with a forged cookie stored a row")
	}
}

func TestCSRFTokensAreBoundToTheToken(t *testing.T) {
	store := New(testdb.Pool(t))
	sm := scs.New()
	sm.Store = store
	id := token(t)
	if err := store.Commit(id, encode(t, map[string]any{"k": "v"}), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	loaded, err := sm.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	csrf, err := store.CSRFToken(loaded, sm)
	if err != nil || len(csrf) != 64 {
		t.Fatalf("CSRFToken: %q %v", csrf, err)
	}
	for candidate, want := range map[string]bool{csrf: true, csrf[:63]: false, "": false, strings.ToUpper(csrf): false} {
		if ok, err := store.VerifyCSRF(loaded, sm, candidate); err != nil || ok != want {
			t.Fatalf("VerifyCSRF(%q) = %v %v, expected %v", candidate, ok, err, want)
		}
	}
	// Another session's token is refused; a request without a session verifies nothing.
	other := token(t)
	if err := store.Commit(other, encode(t, map[string]any{}), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	otherCtx, _ := sm.Load(ctx, other)
	if ok, _ := store.VerifyCSRF(otherCtx, sm, csrf); ok {
		t.Fatal("another session's CSRF token was accepted")
	}
	empty, _ := sm.Load(ctx, "")
	if ok, _ := store.VerifyCSRF(empty, sm, csrf); ok {
		t.Fatal("a request without a session verified a CSRF token")
	}
	// Ended: no token, nothing verifies.
	if err := store.Delete(id); err != nil {
		t.Fatal(err)
	}
	if gone, _ := store.CSRFToken(loaded, sm); gone != "" {
		t.Fatalf("an ended session's CSRF token: %q", gone)
	}
	if ok, _ := store.VerifyCSRF(loaded, sm, csrf); ok {
		t.Fatal("an ended session's CSRF token was accepted")
	}
}
