package varelscs

// Moving from scs's postgresstore (docs/moving.md): ImportPostgresStore copies its sessions
// into the extension, and ClaimImported gives the first request with an old cookie its session
// under a new token.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/scs/v2"

	"github.com/varel-session/varel_session/adapters/go/internal/core"
)

// PostgresStoreName is the name imports from scs's postgresstore go by.
const PostgresStoreName = "scs-postgresstore"

// WithImportedFrom names the store sessions were imported from (PostgresStoreName), for
// ClaimImported.
func WithImportedFrom(store string) Option {
	return func(s *Store) { s.importedFrom = store }
}

// ClaimImported is middleware for inside sm.LoadAndSave, while sessions imported from another
// store are taken over (WithImportedFrom):
//
//	http.ListenAndServe(addr, sessionManager.LoadAndSave(store.ClaimImported(sessionManager)(mux)))
//
// A request whose cookie names no session here is looked up among the imported sessions once;
// its session (data and user) then continues under a new token, which scs sends, and the old
// token is dead. Requests whose cookie names a session here cost nothing more.
func (s *Store) ClaimImported(sm *scs.SessionManager) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := s.claim(r.Context(), sm, r); err != nil {
				sm.ErrorFunc(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (s *Store) claim(ctx context.Context, sm *scs.SessionManager, r *http.Request) error {
	cookie, err := r.Cookie(sm.Cookie.Name)
	// scs gives a request whose cookie named no session a new one, without a token yet.
	if s.importedFrom == "" || err != nil || sm.Token(ctx) != "" || len(cookie.Value) > 1024 ||
		!utf8.ValidString(cookie.Value) || cookie.Value == "" {
		return nil
	}
	// Claimed under a token minted here as scs mints its own; the save moves the session to the
	// one scs then mints for it (CommitCtx).
	claimedUnder, err := newToken()
	if err != nil {
		return err
	}
	loaded, found, err := core.Claim(ctx, s.db, s.importedFrom, cookie.Value, claimedUnder)
	if err != nil || !found {
		return err
	}
	values, err := s.values(loaded)
	if err != nil {
		return err
	}
	for key, value := range values {
		sm.Put(ctx, key, value)
	}
	sm.Put(ctx, SnapshotKey, (&snapshot{Token: digest(claimedUnder), Data: loaded.Data, UserID: loaded.UserID,
		Claimed: claimedUnder}).String())
	return nil
}

// newToken is a token as scs's generateToken makes them: 32 bytes from crypto/rand, base64url.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ImportOptions describe the old store: its table and codec, and where its sessions keep the
// user's id.
type ImportOptions struct {
	Table       string    // postgresstore's TableName; "sessions" by default
	Codec       scs.Codec // the old SessionManager's Codec; scs.GobCodec by default
	UserKey     string    // the session value holding the user's id (an integer), if any
	AcceptUntil time.Time // old cookies are accepted until then; zero: each session's expiry
}

// ImportResult is what a run did: sessions imported, skipped (data the codec cannot decode:
// a type the program did not gob.Register, say), and ended (no longer in the old table).
type ImportResult struct {
	Imported, Skipped, Ended int64
}

func (r ImportResult) String() string {
	return fmt.Sprintf("imported %d, skipped %d (data the codec cannot decode), ended %d (gone from the old table)",
		r.Imported, r.Skipped, r.Ended)
}

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// ImportPostgresStore copies the live sessions of scs's postgresstore into the extension
// (docs/moving.md), each session's values stored as this store stores them, under a hash of
// its old token. It runs against the live database while the old store keeps serving, and may
// run again: a re-run refreshes what changed and ends what the old table no longer holds (a
// log-out there). owner must connect as the extension's owner (the application's role gets
// "permission denied"); values of the program's own types decode only in a program that
// gob.Registers them, as the app does.
func ImportPostgresStore(ctx context.Context, owner core.Queryer, options ImportOptions) (ImportResult, error) {
	var result ImportResult
	table, codec := options.Table, options.Codec
	if table == "" {
		table = "sessions"
	}
	if !tableName.MatchString(table) {
		return result, fmt.Errorf("varel_session: %q is not a plain table name", table)
	}
	if codec == nil {
		codec = scs.GobCodec{}
	}
	var acceptUntil *time.Time
	if !options.AcceptUntil.IsZero() {
		acceptUntil = &options.AcceptUntil
	}
	var started time.Time
	if err := owner.QueryRow(ctx, "SELECT statement_timestamp()").Scan(&started); err != nil {
		return result, err
	}
	for last := ""; ; {
		batch, err := readBatch(ctx, owner, table, last)
		if err != nil || len(batch) == 0 {
			if err != nil {
				return result, err
			}
			break
		}
		last = batch[len(batch)-1].token
		for _, old := range batch {
			_, values, err := codec.Decode(old.data)
			if err != nil {
				result.Skipped++
				continue
			}
			var userID *int64
			if options.UserKey != "" {
				if userID, err = core.UserID(values[options.UserKey]); err != nil {
					result.Skipped++
					continue
				}
				delete(values, options.UserKey)
			}
			data, err := core.EncodeData(values)
			if err != nil {
				result.Skipped++
				continue
			}
			var stored bool
			if err := owner.QueryRow(ctx, "SELECT varel_session.session_import($1, $2, $3::jsonb, $4, $5, $6, "+
				"make_interval(secs => $7))", PostgresStoreName, old.token, string(data), old.expiry, userID,
				acceptUntil, core.Seconds(time.Until(old.expiry))).Scan(&stored); err != nil {
				return result, err
			}
			if stored {
				result.Imported++
			}
		}
	}
	err := owner.QueryRow(ctx, "SELECT varel_session.session_import_prune($1, $2)", PostgresStoreName,
		started).Scan(&result.Ended)
	return result, err
}

type oldSession struct {
	token  string
	data   []byte
	expiry time.Time
}

func readBatch(ctx context.Context, owner core.Queryer, table, after string) ([]oldSession, error) {
	rows, err := owner.Query(ctx, "SELECT token, data, expiry FROM "+table+
		" WHERE token > $1 AND expiry > now() ORDER BY token LIMIT 500", after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var batch []oldSession
	for rows.Next() {
		var old oldSession
		if err := rows.Scan(&old.token, &old.data, &old.expiry); err != nil {
			return nil, err
		}
		batch = append(batch, old)
	}
	return batch, rows.Err()
}
