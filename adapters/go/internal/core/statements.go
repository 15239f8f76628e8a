package core

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// Querier runs one statement and returns its row: a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx,
// so that the stores run on the app's pool or inside its transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Queryer also runs statements that return several rows (the same three types do).
type Queryer interface {
	Querier
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Loaded is a live session as session_load returns it.
type Loaded struct {
	Data              []byte
	UserID            *int64
	AbsoluteExpiresAt time.Time
}

// Load is the one statement of a request that reads its session (sliding the idle deadline);
// found is false for a malformed, unknown, expired or ended token, which is no session.
func Load(ctx context.Context, q Querier, token string) (loaded Loaded, found bool, err error) {
	err = q.QueryRow(ctx,
		"SELECT data::text, user_id, absolute_expires_at FROM varel_session.session_load($1)", token,
	).Scan(&loaded.Data, &loaded.UserID, &loaded.AbsoluteExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Loaded{}, false, nil
	}
	return loaded, err == nil, err
}

// Claim turns the session imported from store under oldID (docs/moving.md) into a session under
// newID, an id the framework has just minted; found is false when there is none (the old id is
// unknown, claimed already or past its deadline), which is no session.
func Claim(ctx context.Context, q Querier, store, oldID, newID string) (loaded Loaded, found bool, err error) {
	err = q.QueryRow(ctx,
		"SELECT data::text, user_id, absolute_expires_at FROM varel_session.session_claim($1, $2, new_id => $3)",
		store, oldID, newID,
	).Scan(&loaded.Data, &loaded.UserID, &loaded.AbsoluteExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Loaded{}, false, nil
	}
	return loaded, err == nil, err
}

// Seconds is a lifetime in whole seconds, at least one (the extension takes positive intervals).
func Seconds(d time.Duration) int64 {
	return max(int64(math.Ceil(d.Seconds())), 1)
}

// Adopt stores a new session under an id the framework has just minted (never one a request
// presented); false when a session with that id is stored already.
func Adopt(ctx context.Context, q Querier, id string, maxAge time.Duration, userID *int64, data []byte) (bool, error) {
	var adopted bool
	err := q.QueryRow(ctx,
		"SELECT varel_session.session_adopt($1, make_interval(secs => $2), $3, $4::jsonb)",
		id, Seconds(maxAge), userID, string(data)).Scan(&adopted)
	return adopted, err
}

// New stores a new session under a token the extension mints, and returns the token.
func New(ctx context.Context, q Querier, maxAge time.Duration, userID *int64, data []byte) (string, error) {
	var token string
	err := q.QueryRow(ctx,
		"SELECT varel_session.session_new(make_interval(secs => $1), $2, $3::jsonb)",
		Seconds(maxAge), userID, string(data)).Scan(&token)
	return token, err
}

// Write sends a save's data: the merge patch of the changed keys, or (whole) all of the data.
// False when there is no live session: nothing is written and nothing revived.
func Write(ctx context.Context, q Querier, token string, patch map[string]any, whole bool, data map[string]any) (bool, error) {
	function, payload := "session_set", any(patch)
	if whole {
		function, payload = "session_set_data", data
	}
	text, err := EncodeValue(payload)
	if err != nil {
		return false, err
	}
	var written *bool
	err = q.QueryRow(ctx, fmt.Sprintf("SELECT varel_session.%s($1, $2::jsonb)", function),
		token, string(text)).Scan(&written)
	return written != nil && *written, err
}

// Destroy ends a session; true when it was live.
func Destroy(ctx context.Context, q Querier, token string) (bool, error) {
	var ended bool
	err := q.QueryRow(ctx, "SELECT varel_session.session_destroy($1)", token).Scan(&ended)
	return ended, err
}

// Incr adds by to the integer under key in one update on the server (concurrent requests never
// lose an increment) and returns the new value; ok is false when the session is not live.
func Incr(ctx context.Context, q Querier, token, key string, by int64) (value int64, ok bool, err error) {
	var result *int64
	err = q.QueryRow(ctx, "SELECT varel_session.session_incr($1, $2, $3)", token, key, by).Scan(&result)
	if err != nil || result == nil {
		return 0, false, err
	}
	return *result, true, nil
}

// UserID reads a user id the app keeps in a session value (any Go integer type).
func UserID(v any) (*int64, error) {
	var id int64
	switch v := v.(type) {
	case nil:
		return nil, nil
	case int:
		id = int64(v)
	case int32:
		id = int64(v)
	case int64:
		id = v
	case uint32:
		id = int64(v)
	case uint64:
		if v > math.MaxInt64 {
			return nil, errors.New("varel_session: the user id is beyond bigint")
		}
		id = int64(v)
	default:
		return nil, fmt.Errorf("varel_session: the user id must be an integer, not %T", v)
	}
	return &id, nil
}
