// Package varelgorilla is a gorilla/sessions store on the varel_session PostgreSQL extension:
//
//	store := varelgorilla.New(pool)
//	session, _ := store.Get(r, "session")   // as with any gorilla store
//	session.Values["cart"] = 3
//	err := session.Save(r, w)
//
// The cookie holds the extension's token (256 bits from the server's CSPRNG; only its hash is
// stored), so there is nothing to sign or encrypt and no key to keep. A save writes only the
// keys the request changed, merged on the server into the row's newest version (concurrent
// requests of one browser that change different keys both land), and never revives a session
// that ended meanwhile. LogIn rotates the token and ties the session to a user (UserSessions,
// RevokeUser); Incr counts on the server. Values' keys must be strings, and their values
// JSON-friendly or gob-registered types (see EncodeValue in this module's core).
package varelgorilla

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/sessions"

	"github.com/varel-session/varel_session/adapters/go/internal/core"
)

// Device is one of a user's live sessions (UserSessions).
type Device = core.Device

// Store is a sessions.Store. Its methods are safe for concurrent use.
type Store struct {
	db core.Queryer
	// Options are the cookie's attributes of new sessions (gorilla's defaults, plus HttpOnly,
	// Secure and SameSite=Lax); Options.MaxAge is also the sessions' idle lifetime.
	Options *sessions.Options
}

// New returns a store on db: a *pgxpool.Pool (or a *pgx.Conn, a pgx.Tx).
func New(db core.Queryer) *Store {
	return &Store{db: db, Options: &sessions.Options{
		Path: "/", MaxAge: 86400 * 30, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	}}
}

// stateKey is the Values key of what the store knows of a session; being of an unexported
// type, it is no key of the app's and is never stored.
type stateKey struct{}

type action int

const (
	keep action = iota
	regenerate
	logIn
)

type state struct {
	loaded  map[string]json.RawMessage // the data as loaded (or last saved)
	userID  *int64
	pending action
	logInAs int64
	ended   bool
}

func stateOf(session *sessions.Session) *state {
	if st, ok := session.Values[stateKey{}].(*state); ok {
		return st
	}
	st := &state{loaded: map[string]json.RawMessage{}}
	session.Values[stateKey{}] = st
	return st
}

// Get returns the request's session of that name (the same one for every call in a request).
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session the request's cookie names, in one round trip that also slides its idle
// deadline, or returns a new one (IsNew) when there is none: a malformed, unknown, expired or
// ended token is no session, never an error.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	session := sessions.NewSession(s, name)
	options := *s.Options
	session.Options = &options
	session.IsNew = true
	st := stateOf(session)
	cookie, err := r.Cookie(name)
	if err != nil {
		return session, nil
	}
	loaded, found, err := core.Load(r.Context(), s.db, cookie.Value)
	if err != nil || !found {
		return session, err
	}
	values, err := core.DecodeData(loaded.Data)
	if err != nil {
		return session, err
	}
	if st.loaded, err = core.Raw(loaded.Data); err != nil {
		return session, err
	}
	for key, value := range values {
		session.Values[key] = value
	}
	st.userID = loaded.UserID
	session.ID = cookie.Value
	session.IsNew = false
	return session, nil
}

// UserID is the id of the user logged in to the session, if any.
func UserID(session *sessions.Session) (int64, bool) {
	st := stateOf(session)
	if st.pending == logIn {
		return st.logInAs, true
	}
	if st.userID == nil {
		return 0, false
	}
	return *st.userID, true
}

// LogIn ties the session to the user and rotates its token at the next save (against session
// fixation), in the same statement as the data.
func LogIn(session *sessions.Session, userID int64) {
	st := stateOf(session)
	st.pending, st.logInAs = logIn, userID
}

// Regenerate gives the session a new token at the next save (data and user kept).
func Regenerate(session *sessions.Session) {
	if st := stateOf(session); st.pending == keep {
		st.pending = regenerate
	}
}

// LogOut ends the session at the next save: its data goes, the cookie is removed.
func LogOut(session *sessions.Session) {
	session.Options.MaxAge = -1
}

// Ended is true once a save found the session ended elsewhere (logged out, revoked, expired):
// nothing was written and the cookie was removed.
func Ended(session *sessions.Session) bool {
	return stateOf(session).ended
}

func (s *Store) data(session *sessions.Session) (map[string]any, error) {
	values := make(map[string]any, len(session.Values))
	for key, value := range session.Values {
		if _, internal := key.(stateKey); internal {
			continue
		}
		name, ok := key.(string)
		if !ok {
			return nil, fmt.Errorf("varel_session: session keys must be strings, not %T", key)
		}
		values[name] = value
	}
	return values, nil
}

// Save writes what the request did to the session and sets (or removes) the cookie. A new
// session is stored only once it holds something or a user (a request with a bad cookie that
// writes nothing stores nothing).
func (s *Store) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	ctx := r.Context()
	st := stateOf(session)
	if session.Options.MaxAge < 0 {
		if session.ID != "" {
			if _, err := core.Destroy(ctx, s.db, session.ID); err != nil {
				return err
			}
		}
		s.forget(w, session, false)
		return nil
	}
	values, err := s.data(session)
	if err != nil {
		return err
	}
	if session.ID == "" {
		if len(values) == 0 && st.pending != logIn {
			return nil
		}
		if err := s.create(ctx, session, st, values); err != nil {
			return err
		}
	} else {
		token, err := s.update(ctx, session, st, values)
		if err != nil {
			return err
		}
		if token == "" {
			s.forget(w, session, true)
			return nil
		}
		session.ID = token
	}
	http.SetCookie(w, sessions.NewCookie(session.Name(), session.ID, session.Options))
	return nil
}

func (s *Store) lifetime(session *sessions.Session) time.Duration {
	return time.Duration(session.Options.MaxAge) * time.Second
}

// create stores a new session (with its user, when the request logged one in).
func (s *Store) create(ctx context.Context, session *sessions.Session, st *state, values map[string]any) error {
	data, err := core.EncodeData(values)
	if err != nil {
		return err
	}
	var userID *int64
	if st.pending == logIn {
		userID = &st.logInAs
	}
	token, err := core.New(ctx, s.db, s.lifetime(session), userID, data)
	if err != nil {
		return err
	}
	session.ID, session.IsNew = token, false
	return s.stored(st, data, userID)
}

// saveSQL is one statement: a rotation first (a log-in or a regenerate, or none), then the
// changed keys (a merge patch, or all of the data), on the session the (new) token names.
const saveSQL = `WITH t AS (SELECT CASE $1::text
        WHEN 'login' THEN varel_session.session_set_user($2, $3, make_interval(secs => $4))
        WHEN 'regenerate' THEN varel_session.session_regenerate($2)
        ELSE $2::text END AS id)
    SELECT t.id, CASE WHEN t.id IS NULL THEN false
        WHEN $5::jsonb IS NULL THEN true
        WHEN $6 THEN varel_session.session_set_data(t.id, $5::jsonb)
        ELSE varel_session.session_set(t.id, $5::jsonb) END
    FROM t`

// update saves a stored session; it returns its token (new after a rotation), or "" when the
// session ended meanwhile (nothing written, nothing revived).
func (s *Store) update(ctx context.Context, session *sessions.Session, st *state, values map[string]any) (string, error) {
	patch, whole, err := core.Changes(st.loaded, values)
	if err != nil {
		return "", err
	}
	var payload *string
	if whole || len(patch) > 0 {
		write := any(patch)
		if whole {
			write = values
		}
		text, err := core.EncodeValue(write)
		if err != nil {
			return "", err
		}
		payload = new(string)
		*payload = string(text)
	}
	rotation := map[action]string{keep: "keep", regenerate: "regenerate", logIn: "login"}[st.pending]
	if payload == nil && st.pending == keep {
		return session.ID, nil // nothing to write
	}
	var token *string
	var written bool
	err = s.db.QueryRow(ctx, saveSQL, rotation, session.ID, st.logInAs,
		core.Seconds(s.lifetime(session)), payload, whole).Scan(&token, &written)
	if err != nil {
		return "", err
	}
	if token == nil || !written {
		return "", nil
	}
	userID := st.userID
	if st.pending == logIn {
		userID = &st.logInAs
	}
	data, err := core.EncodeData(values)
	if err != nil {
		return "", err
	}
	return *token, s.stored(st, data, userID)
}

// stored records that the database now has this data and user.
func (s *Store) stored(st *state, data []byte, userID *int64) error {
	loaded, err := core.Raw(data)
	if err != nil {
		return err
	}
	st.loaded, st.userID, st.pending = loaded, userID, keep
	return nil
}

// forget removes the cookie and empties the session; ended says it ended elsewhere.
func (s *Store) forget(w http.ResponseWriter, session *sessions.Session, ended bool) {
	options := *session.Options
	options.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(session.Name(), "", &options))
	for key := range session.Values {
		delete(session.Values, key)
	}
	session.ID = ""
	session.Values[stateKey{}] = &state{loaded: map[string]json.RawMessage{}, ended: ended}
}

// Incr adds by to the integer under key in one update on the server (a missing key counts as
// 0) and returns the new value, which session.Values[key] then holds too: concurrent requests
// never lose an increment, as a read then a save would. A session not stored yet is stored
// first. ok is false when the session is not live (ended elsewhere).
func (s *Store) Incr(ctx context.Context, session *sessions.Session, key string, by int64) (value int64, ok bool, err error) {
	st := stateOf(session)
	if session.ID == "" {
		values, err := s.data(session)
		if err != nil {
			return 0, false, err
		}
		if err := s.create(ctx, session, st, values); err != nil {
			return 0, false, err
		}
	}
	value, ok, err = core.Incr(ctx, s.db, session.ID, key, by)
	if err != nil || !ok {
		return 0, false, err
	}
	session.Values[key] = int(value)
	st.loaded[key], _ = core.EncodeValue(int(value))
	return value, true, nil
}

// UserSessions lists the user's live sessions, newest first ("your devices").
func (s *Store) UserSessions(ctx context.Context, userID int64) ([]Device, error) {
	return core.UserSessions(ctx, s.db, userID)
}

// Handle is the handle of the session (to mark "this device" in UserSessions), or "".
func (s *Store) Handle(ctx context.Context, session *sessions.Session) (string, error) {
	if session.ID == "" {
		return "", nil
	}
	return core.Handle(ctx, s.db, session.ID)
}

// RevokeUser ends every live session of the user ("log out everywhere"), or every one but this
// session with keepCurrent ("log out other devices"); it returns how many ended.
func (s *Store) RevokeUser(ctx context.Context, session *sessions.Session, userID int64, keepCurrent bool) (int64, error) {
	except := ""
	if keepCurrent {
		except = session.ID
	}
	return core.RevokeUser(ctx, s.db, userID, except)
}

// Revoke ends one of the user's sessions by its handle ("log out that device").
func (s *Store) Revoke(ctx context.Context, userID int64, handle string) (bool, error) {
	return core.Revoke(ctx, s.db, userID, handle)
}

var _ sessions.Store = (*Store)(nil)
