// The example app of the shared contract (tests/examples/contract.py) on net/http with scs:
// handlers use scs's SessionManager, whose store is the varel_session extension.
//
//	DATABASE_URL=postgresql://postgres@127.0.0.1:54321/varel PORT=3000 adapters/go/example/run
package main

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/varel-session/varel_session/adapters/go/varelscs"
)

const userKey = "user_id"

type app struct {
	sessions *scs.SessionManager
	store    *varelscs.Store
}

func main() {
	pool, err := pgxpool.New(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	store := varelscs.New(pool, varelscs.WithUserKey(userKey))
	sessions := scs.New()
	sessions.Store = store
	sessions.Lifetime = 24 * time.Hour
	// Plain HTTP on loopback in this example; behind HTTPS, leave Secure on.
	sessions.Cookie.Secure = false
	sessions.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		log.Printf("%s %s: %v", r.Method, r.URL.Path, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
	a := &app{sessions: sessions, store: store}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("GET /me", a.me)
	mux.HandleFunc("GET /sessions", a.list)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("POST /logout-all", a.logoutAll)

	addr := "127.0.0.1:" + envOr("PORT", "3000")
	log.Printf("listening on http://%s", addr)
	log.Fatal(http.ListenAndServe(addr, sessions.LoadAndSave(mux)))
}

func envOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (a *app) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.sessions.ErrorFunc(w, r, err)
}

// user is the logged-in user's id, or false (a 401 has been sent).
func (a *app) user(w http.ResponseWriter, r *http.Request) (int, bool) {
	if id, ok := a.sessions.Get(r.Context(), userKey).(int); ok {
		return id, true
	}
	reply(w, http.StatusUnauthorized, map[string]string{"error": "not logged in"})
	return 0, false
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UserID *int `json:"user_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.UserID == nil {
		reply(w, http.StatusBadRequest, map[string]string{"error": "user_id required"})
		return
	}
	// A new token for a log-in (against session fixation); the old one stops working now.
	if err := a.sessions.RenewToken(r.Context()); err != nil {
		a.fail(w, r, err)
		return
	}
	a.sessions.Put(r.Context(), userKey, *body.UserID)
	reply(w, http.StatusOK, map[string]int{"user_id": *body.UserID})
}

func (a *app) me(w http.ResponseWriter, r *http.Request) {
	id, ok := a.user(w, r)
	if !ok {
		return
	}
	// Counted on the server in one update: concurrent requests never lose a visit.
	visits, live, err := a.store.Incr(r.Context(), a.sessions, "visits", 1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !live {
		reply(w, http.StatusUnauthorized, map[string]string{"error": "not logged in"})
		return
	}
	reply(w, http.StatusOK, map[string]int64{"user_id": int64(id), "visits": visits})
}

func (a *app) list(w http.ResponseWriter, r *http.Request) {
	id, ok := a.user(w, r)
	if !ok {
		return
	}
	current, err := a.store.Handle(r.Context(), a.sessions)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	devices, err := a.store.UserSessions(r.Context(), int64(id))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	type listed struct {
		varelscs.Device
		Current bool `json:"current"`
	}
	out := make([]listed, 0, len(devices))
	for _, device := range devices {
		out = append(out, listed{Device: device, Current: device.Handle == current})
	}
	reply(w, http.StatusOK, out)
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.sessions.Destroy(r.Context()); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *app) logoutAll(w http.ResponseWriter, r *http.Request) {
	id, ok := a.user(w, r)
	if !ok {
		return
	}
	ended, err := a.store.RevokeUser(r.Context(), a.sessions, int64(id), false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// The session is gone already; Destroy removes the cookie.
	if err := a.sessions.Destroy(r.Context()); err != nil {
		a.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, map[string]int64{"ended": ended})
}
