package core

import (
	"context"
	"net/netip"
	"time"
)

// Device is one of a user's live sessions, as a "your devices" page shows it: named by its
// handle, which is stable across rotations and lets nobody derive the token.
type Device struct {
	Handle            string      `json:"handle"`
	CreatedAt         time.Time   `json:"created_at"`
	UpdatedAt         time.Time   `json:"updated_at"`
	ExpiresAt         time.Time   `json:"expires_at"`
	AbsoluteExpiresAt time.Time   `json:"absolute_expires_at"`
	IP                *netip.Addr `json:"ip"`
	UserAgent         *string     `json:"user_agent"`
	LastSeenAt        *time.Time  `json:"last_seen_at"`
}

// UserSessions lists the user's live sessions, newest first.
func UserSessions(ctx context.Context, q Queryer, userID int64) ([]Device, error) {
	rows, err := q.Query(ctx, "SELECT handle, created_at, updated_at, expires_at, absolute_expires_at, "+
		"ip, user_agent, last_seen_at FROM varel_session.session_user_sessions($1)", userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	devices := []Device{}
	for rows.Next() {
		var d Device
		if err := rows.Scan(&d.Handle, &d.CreatedAt, &d.UpdatedAt, &d.ExpiresAt,
			&d.AbsoluteExpiresAt, &d.IP, &d.UserAgent, &d.LastSeenAt); err != nil {
			return nil, err
		}
		devices = append(devices, d)
	}
	return devices, rows.Err()
}

// Handle is the handle of the session the token names ("this device"), or "" without one.
func Handle(ctx context.Context, q Querier, token string) (string, error) {
	var handle *string
	if err := q.QueryRow(ctx, "SELECT varel_session.session_handle($1)", token).Scan(&handle); err != nil || handle == nil {
		return "", err
	}
	return *handle, nil
}

// CSRFToken is the CSRF token of the session the token names (the extension's
// session_csrf_token: derived from the token, stored nowhere, changed with it), or "" without
// a live session.
func CSRFToken(ctx context.Context, q Querier, token string) (string, error) {
	var csrf *string
	if err := q.QueryRow(ctx, "SELECT varel_session.session_csrf_token($1)", token).Scan(&csrf); err != nil || csrf == nil {
		return "", err
	}
	return *csrf, nil
}

// VerifyCSRF is whether candidate is the CSRF token of the live session the token names,
// compared in constant time by the extension (session_csrf_verify).
func VerifyCSRF(ctx context.Context, q Querier, token, candidate string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, "SELECT varel_session.session_csrf_verify($1, $2)", token, candidate).Scan(&ok)
	return ok, err
}

// RevokeUser ends every live session of the user except the one exceptToken names (none with
// ""), and returns how many ended: "log out everywhere", "log out other devices".
func RevokeUser(ctx context.Context, q Querier, userID int64, exceptToken string) (int64, error) {
	var except *string
	if exceptToken != "" {
		except = &exceptToken
	}
	var ended int64
	err := q.QueryRow(ctx, "SELECT varel_session.session_user_revoke($1, $2)", userID, except).Scan(&ended)
	return ended, err
}

// Revoke ends one of the user's sessions by its handle ("log out that device").
func Revoke(ctx context.Context, q Querier, userID int64, handle string) (bool, error) {
	var ended bool
	err := q.QueryRow(ctx, "SELECT varel_session.session_revoke($1, $2)", userID, handle).Scan(&ended)
	return ended, err
}
