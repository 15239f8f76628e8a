package varelscs

// Moving a live scs app from postgresstore to varel_session, nobody logged out: the app runs
// on scs's postgresstore (database/sql, pgx's driver) in a database of its own, users log in
// (RenewToken, then their id and a cart), ImportPostgresStore runs while it serves and again
// after the switch, and then, on this store with ClaimImported, every old cookie logs its user
// in once, with their cart, under a new token.

import (
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/varel-session/varel_session/adapters/go/internal/testdb"
)

// movingApp is the app: a log-in (a new token, then the user's id and a cart), the cart, a
// log-out.
func movingApp(sm *scs.SessionManager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		user := r.URL.Query().Get("user")
		sm.Put(r.Context(), "userID", int(user[0]-'0'))
		sm.Put(r.Context(), "cart", []string{"item-of-" + user})
	})
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) {
		cart, _ := sm.Get(r.Context(), "cart").([]string)
		sm.Put(r.Context(), "cart", append(cart, r.URL.Query().Get("item")))
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		_ = sm.Destroy(r.Context())
	})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		cart, _ := sm.Get(r.Context(), "cart").([]string)
		_ = json.NewEncoder(w).Encode(map[string]any{"user": sm.GetInt(r.Context(), "userID"), "cart": cart})
	})
	return mux
}

type me struct {
	User int      `json:"user"`
	Cart []string `json:"cart"`
}

// get sends one request with the cookie; the body and the cookie the response set.
func get(t *testing.T, base, path, cookie string) (me, string) {
	t.Helper()
	request, _ := http.NewRequest("GET", base+path, nil)
	if cookie != "" {
		request.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(response.Body)
	if response.StatusCode != 200 {
		t.Fatalf("%s: %d %s", path, response.StatusCode, body)
	}
	var got me
	if path == "/me" {
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
	}
	set := ""
	for _, c := range response.Cookies() {
		if c.Name == "session" {
			set = c.Value
		}
	}
	return got, set
}

func TestMovingFromPostgresStore(t *testing.T) {
	admin := testdb.Pool(t)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS varel_moving_scs"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE varel_moving_scs"); err != nil {
		t.Fatal(err)
	}
	url := regexp.MustCompile(`/varel_adapters(\?|$)`).ReplaceAllString(os.Getenv("VAREL_ADAPTERS_DATABASE_URL"), "/varel_moving_scs$1")
	owner, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	// postgresstore's own schema (its README).
	if _, err := owner.Exec(ctx, `CREATE EXTENSION varel_session;
		CREATE TABLE sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL);
		CREATE INDEX sessions_expiry_idx ON sessions (expiry);`); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	oldSM := scs.New()
	oldSM.Store = postgresstore.NewWithCleanupInterval(db, 0)
	oldApp := httptest.NewServer(oldSM.LoadAndSave(movingApp(oldSM)))
	old := map[string]string{}
	for _, user := range []string{"1", "2", "3", "4"} {
		_, old[user] = get(t, oldApp.URL, "/login?user="+user, "")
	}
	options := ImportOptions{UserKey: "userID"}
	first, err := ImportPostgresStore(ctx, owner, options)
	if err != nil {
		t.Fatal(err)
	}
	// Meanwhile: 2 adds to the cart, 3 logs out, 5 logs in; then the import runs again.
	get(t, oldApp.URL, "/add?item=after-first-import", old["2"])
	get(t, oldApp.URL, "/logout", old["3"])
	_, old["5"] = get(t, oldApp.URL, "/login?user=5", "")
	second, err := ImportPostgresStore(ctx, owner, options)
	if err != nil {
		t.Fatal(err)
	}
	oldApp.Close()
	if first.String() != "imported 4, skipped 0 (data the codec cannot decode), ended 0 (gone from the old table)" ||
		second.String() != "imported 4, skipped 0 (data the codec cannot decode), ended 1 (gone from the old table)" {
		t.Fatalf("the runs: %v; %v", first, second)
	}
	for _, cookie := range old {
		if n := testdb.Int(t, owner, `SELECT count(*) FROM varel_session.imported_sessions
			WHERE position(convert_to($1, 'UTF8') IN id_hash) > 0 OR strpos(data::text, $1) > 0`, cookie); n != 0 {
			t.Fatal("an old token is stored in clear")
		}
	}

	sm := scs.New()
	sm.Store = New(owner, WithUserKey("userID"), WithImportedFrom(PostgresStoreName))
	app := httptest.NewServer(sm.LoadAndSave(sm.Store.(*Store).ClaimImported(sm)(movingApp(sm))))
	defer app.Close()
	carts := map[string][]string{"1": {"item-of-1"}, "2": {"item-of-2", "after-first-import"}, "4": {"item-of-4"}, "5": {"item-of-5"}}
	for user, cart := range carts {
		want := me{User: int(user[0] - '0'), Cart: cart}
		got, renewed := get(t, app.URL, "/me", old[user])
		if got.User != want.User || strings.Join(got.Cart, ",") != strings.Join(cart, ",") {
			t.Fatalf("user %s: %+v", user, got)
		}
		if renewed == "" || renewed == old[user] {
			t.Fatalf("user %s: no new cookie", user)
		}
		if again, _ := get(t, app.URL, "/me", renewed); again.User != want.User || len(again.Cart) != len(cart) {
			t.Fatalf("user %s, new cookie: %+v", user, again)
		}
		if stale, _ := get(t, app.URL, "/me", old[user]); stale.User != 0 {
			t.Fatalf("user %s: the old cookie worked twice", user)
		}
	}
	// 3 logged out on the old store before the switch, and stays logged out.
	if got, _ := get(t, app.URL, "/me", old["3"]); got.User != 0 {
		t.Fatalf("3: %+v", got)
	}
	if n := testdb.Int(t, owner, "SELECT count(*) FROM varel_session.session_user_sessions(1)"); n != 1 {
		t.Fatalf("user 1 has %d sessions", n)
	}

	// Two requests with one old cookie make one session.
	oldApp = httptest.NewServer(oldSM.LoadAndSave(movingApp(oldSM)))
	_, twice := get(t, oldApp.URL, "/login?user=6", "")
	oldApp.Close()
	if _, err := ImportPostgresStore(ctx, owner, options); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	users := make([]int, 2)
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, _ := get(t, app.URL, "/me", twice)
			users[i] = got.User
		}()
	}
	wg.Wait()
	if users[0]+users[1] != 6 || users[0]*users[1] != 0 {
		t.Fatalf("two requests with one old cookie: %v", users)
	}

	// A bad cookie is no session and no row.
	before := testdb.Int(t, owner, "SELECT count(*) FROM varel_session.sessions")
	for _, cookie := range []string{"not-an-old-token", strings.Repeat("x", 2000), twice} {
		if got, _ := get(t, app.URL, "/me", cookie); got.User != 0 {
			t.Fatalf("%q: %+v", cookie, got)
		}
	}
	if after := testdb.Int(t, owner, "SELECT count(*) FROM varel_session.sessions"); after != before {
		t.Fatalf("bad cookies made %d rows", after-before)
	}
}
