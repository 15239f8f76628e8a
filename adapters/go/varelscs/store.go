// Package varelscs is a session store for scs (github.com/alexedwards/scs/v2) on the
// varel_session PostgreSQL extension: one setting,
//
//	sessionManager.Store = varelscs.New(pool)
//
// and handlers keep scs's API (Put, Get, RenewToken, Destroy, ...). What changes underneath:
//
//   - Only a hash of each token is stored. scs mints its tokens (32 bytes from crypto/rand),
//     and the store adopts each as a framework id when it first saves the session.
//   - A save writes only the keys the request changed, merged on the server into the row's
//     newest version, so concurrent requests of one browser that change different keys both
//     land (scs's own stores write the whole session, and the last request wins). The data is
//     JSON that apps in other languages read (see EncodeValue in this module's core).
//   - A save never revives a session that ended meanwhile (logged out elsewhere, revoked,
//     expired): nothing is written, and the next request has no session.
//   - Incr counts on the server: concurrent requests never lose an increment.
//   - With WithUserKey, the session value the app keeps its user id under is the extension's
//     user: "your devices" (UserSessions) and "log out everywhere" (RevokeUser) work.
//
// To do that, a loaded session carries what it was loaded as under one more key,
// SnapshotKey, which scs's Keys lists and which is never stored.
package varelscs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/varel-session/varel_session/adapters/go/internal/core"
)

// SnapshotKey is the session value under which a loaded session carries what it was loaded as
// (so that the save can tell what the request changed). Never stored; leave it alone.
const SnapshotKey = "varel_session.loaded"

// ErrUserChangedWithoutRenewal is what a save returns when the user id under the user key
// changed but the token did not: log users in and out with RenewToken (against session
// fixation), then Put or Remove the user key.
var ErrUserChangedWithoutRenewal = errors.New(
	"varel_session: the session's user changed without RenewToken; call RenewToken when a user logs in or out")

// Device is one of a user's live sessions (UserSessions).
type Device = core.Device

// Store is an scs.Store and scs.CtxStore. Its methods are safe for concurrent use.
type Store struct {
	db           core.Queryer
	codec        scs.Codec
	userKey      string
	importedFrom string

	mu sync.Mutex
	// The loaded tokens (as snapshot digests) whose Delete ended a live session, and when:
	// RenewToken deletes the old token before the save stores the session under the new one,
	// which it does only when the old one was still live then (nothing revived).
	ended map[string]time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithCodec names the scs.Codec the SessionManager uses, when it is not scs's default
// (scs.GobCodec).
func WithCodec(codec scs.Codec) Option {
	return func(s *Store) { s.codec = codec }
}

// WithUserKey names the session value holding the logged-in user's id (an integer): it is kept
// as the extension's user of the session rather than in its data, and a session a user logged
// in to elsewhere (another adapter, another language) has it too.
func WithUserKey(key string) Option {
	return func(s *Store) { s.userKey = key }
}

// New returns a store on db: a *pgxpool.Pool (or a *pgx.Conn, a pgx.Tx).
func New(db core.Queryer, options ...Option) *Store {
	s := &Store{db: db, codec: scs.GobCodec{}, ended: map[string]time.Time{}}
	for _, option := range options {
		option(s)
	}
	return s
}

// snapshot is what a session was loaded as: under which token (a digest), its data and user.
type snapshot struct {
	Token  string          `json:"t"`
	Data   json.RawMessage `json:"d"`
	UserID *int64          `json:"u"`
	// The token a session claimed from an imported store was created under (moving.go), which
	// the save moves it from to the token scs commits it under. Like all of the snapshot, it
	// lives in the request's memory only and is never stored.
	Claimed string `json:"c,omitempty"`
}

func digest(token string) string {
	sum := sha256.Sum256([]byte("varel_session scs snapshot:" + token))
	return hex.EncodeToString(sum[:16])
}

func (snap *snapshot) String() string {
	text, _ := json.Marshal(snap)
	return string(text)
}

func parseSnapshot(v any) *snapshot {
	text, ok := v.(string)
	if !ok {
		return nil
	}
	var snap snapshot
	if json.Unmarshal([]byte(text), &snap) != nil || snap.Token == "" {
		return nil
	}
	return &snap
}

// Find implements scs.Store.
func (s *Store) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// FindCtx implements scs.CtxStore: the live session the token names, in one round trip that
// also slides its idle deadline. A malformed, unknown, expired or ended token is not found.
func (s *Store) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	loaded, found, err := core.Load(ctx, s.db, token)
	if err != nil || !found {
		return nil, false, err
	}
	values, err := s.values(loaded)
	if err != nil {
		return nil, false, err
	}
	values[SnapshotKey] = (&snapshot{Token: digest(token), Data: loaded.Data, UserID: loaded.UserID}).String()
	b, err := s.codec.Encode(loaded.AbsoluteExpiresAt, values)
	return b, err == nil, err
}

// values is a loaded session's data as scs's values, its user under the user key.
func (s *Store) values(loaded core.Loaded) (map[string]any, error) {
	values, err := core.DecodeData(loaded.Data)
	if err != nil {
		return nil, err
	}
	if s.userKey != "" {
		delete(values, s.userKey)
		if loaded.UserID != nil {
			values[s.userKey] = int(*loaded.UserID)
		}
	}
	return values, nil
}

// Commit implements scs.Store.
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// CommitCtx implements scs.CtxStore. A session loaded under this token gets the keys the
// request changed (nothing when it ended meanwhile); a new session, or one whose token
// RenewToken replaced, is stored under the token with an idle lifetime up to expiry.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	_, values, err := s.codec.Decode(b)
	if err != nil {
		return err
	}
	snap := parseSnapshot(values[SnapshotKey])
	delete(values, SnapshotKey)
	var userID *int64
	if s.userKey != "" {
		if userID, err = core.UserID(values[s.userKey]); err != nil {
			return err
		}
		delete(values, s.userKey)
	}
	switch {
	case snap != nil && snap.Claimed != "":
		// Claimed from an imported store this request (ClaimImported): the session moves from
		// the token it was claimed under to scs's, if it is still live (nothing revived).
		ended, err := core.Destroy(ctx, s.db, snap.Claimed)
		if err != nil || !ended {
			return err
		}
		return s.adopt(ctx, token, expiry, userID, values)
	case snap != nil && snap.Token == digest(token):
		// The session this request loaded, under the same token: write what changed.
		if !sameUser(userID, snap.UserID) {
			return ErrUserChangedWithoutRenewal
		}
		loaded, err := core.Raw(snap.Data)
		if err != nil {
			return err
		}
		patch, whole, err := core.Changes(loaded, values)
		if err != nil || (!whole && len(patch) == 0) {
			return err
		}
		// False when the session ended meanwhile: nothing written, nothing revived.
		_, err = core.Write(ctx, s.db, token, patch, whole, values)
		return err
	case snap != nil:
		// RenewToken deleted the token the session was loaded under; store the session under
		// the new one only if it was still live when deleted.
		if !s.takeEnded(snap.Token) {
			return nil
		}
		return s.adopt(ctx, token, expiry, userID, values)
	default:
		// A new session (or one scs's Clear emptied, which removed the snapshot too).
		data, err := core.EncodeData(values)
		if err != nil {
			return err
		}
		adopted, err := core.Adopt(ctx, s.db, token, time.Until(expiry), userID, data)
		if err != nil || adopted {
			return err
		}
		_, err = core.Write(ctx, s.db, token, nil, true, values)
		return err
	}
}

func (s *Store) adopt(ctx context.Context, token string, expiry time.Time, userID *int64, values map[string]any) error {
	data, err := core.EncodeData(values)
	if err != nil {
		return err
	}
	adopted, err := core.Adopt(ctx, s.db, token, time.Until(expiry), userID, data)
	if err == nil && !adopted {
		// scs mints 256-bit tokens: a stored one again means the token did not come from it.
		err = errors.New("varel_session: a renewed token is stored already")
	}
	return err
}

func sameUser(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// Delete implements scs.Store.
func (s *Store) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// DeleteCtx implements scs.CtxStore: ends the session (Destroy, RenewToken).
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	ended, err := core.Destroy(ctx, s.db, token)
	if ended {
		s.markEnded(digest(token))
	}
	return err
}

const endedKept = 10 * time.Minute

func (s *Store) markEnded(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for k, at := range s.ended {
		if now.Sub(at) > endedKept {
			delete(s.ended, k)
		}
	}
	s.ended[key] = now
}

func (s *Store) takeEnded(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ended[key]
	delete(s.ended, key)
	return ok
}

// Incr adds by to the integer under key in one update on the server (a missing key counts as
// 0) and returns the new value, which the session's key then holds too: concurrent requests
// never lose an increment, as Get then Put would. A session not stored yet is stored first.
// ok is false when the session is not live (ended elsewhere).
func (s *Store) Incr(ctx context.Context, sm *scs.SessionManager, key string, by int64) (value int64, ok bool, err error) {
	token := sm.Token(ctx)
	snap := parseSnapshot(sm.Get(ctx, SnapshotKey))
	if token == "" || snap == nil || snap.Token != digest(token) {
		// Not stored under its token yet: store it now, as the response would.
		if _, _, err := sm.Commit(ctx); err != nil {
			return 0, false, err
		}
		token = sm.Token(ctx)
		if snap, err = s.snapshotNow(ctx, sm, token); err != nil {
			return 0, false, err
		}
	}
	value, ok, err = core.Incr(ctx, s.db, token, key, by)
	if err != nil || !ok {
		return 0, false, err
	}
	// The session holds the new value, and knows it is stored: the save does not write it.
	data, err := core.Raw(snap.Data)
	if err != nil {
		return 0, false, err
	}
	data[key], _ = core.EncodeValue(int(value))
	if snap.Data, err = json.Marshal(data); err != nil {
		return 0, false, err
	}
	sm.Put(ctx, key, int(value))
	sm.Put(ctx, SnapshotKey, snap.String())
	return value, true, nil
}

// snapshotNow is the snapshot of the session as the request holds it, just stored.
func (s *Store) snapshotNow(ctx context.Context, sm *scs.SessionManager, token string) (*snapshot, error) {
	values := map[string]any{}
	for _, key := range sm.Keys(ctx) {
		if key != SnapshotKey && key != s.userKey {
			values[key] = sm.Get(ctx, key)
		}
	}
	var userID *int64
	if s.userKey != "" {
		var err error
		if userID, err = core.UserID(sm.Get(ctx, s.userKey)); err != nil {
			return nil, err
		}
	}
	data, err := core.EncodeData(values)
	if err != nil {
		return nil, err
	}
	return &snapshot{Token: digest(token), Data: data, UserID: userID}, nil
}

// UserSessions lists the user's live sessions, newest first ("your devices").
func (s *Store) UserSessions(ctx context.Context, userID int64) ([]Device, error) {
	return core.UserSessions(ctx, s.db, userID)
}

// Handle is the handle of the request's session (to mark "this device" in UserSessions), or "".
func (s *Store) Handle(ctx context.Context, sm *scs.SessionManager) (string, error) {
	if token := sm.Token(ctx); token != "" {
		return core.Handle(ctx, s.db, token)
	}
	return "", nil
}

// CSRFToken is the CSRF token of the request's session for its forms (the extension's
// session_csrf_token): derived from the token, stored nowhere, and changed by RenewToken (at
// log-in). "" while the request has no stored session (scs stores a new one when the response
// goes out), and after RenewToken in the same request: render forms on the next request.
func (s *Store) CSRFToken(ctx context.Context, sm *scs.SessionManager) (string, error) {
	if token := sm.Token(ctx); token != "" {
		return core.CSRFToken(ctx, s.db, token)
	}
	return "", nil
}

// VerifyCSRF is whether candidate (what the form or header sent) is the CSRF token of the
// request's session, compared in constant time by the extension; false without a stored
// session (refuse the request then).
func (s *Store) VerifyCSRF(ctx context.Context, sm *scs.SessionManager, candidate string) (bool, error) {
	if token := sm.Token(ctx); token != "" {
		return core.VerifyCSRF(ctx, s.db, token, candidate)
	}
	return false, nil
}

// RevokeUser ends every live session of the user ("log out everywhere"), or every one but the
// request's own with keepCurrent ("log out other devices"); it returns how many ended.
func (s *Store) RevokeUser(ctx context.Context, sm *scs.SessionManager, userID int64, keepCurrent bool) (int64, error) {
	except := ""
	if keepCurrent {
		except = sm.Token(ctx)
	}
	return core.RevokeUser(ctx, s.db, userID, except)
}

// Revoke ends one of the user's sessions by its handle ("log out that device").
func (s *Store) Revoke(ctx context.Context, userID int64, handle string) (bool, error) {
	return core.Revoke(ctx, s.db, userID, handle)
}

var (
	_ scs.Store    = (*Store)(nil)
	_ scs.CtxStore = (*Store)(nil)
)
