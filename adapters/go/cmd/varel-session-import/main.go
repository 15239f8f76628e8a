// Command varel-session-import copies the live sessions of scs's postgresstore into
// varel_session (docs/moving.md):
//
//	DATABASE_URL=postgres://owner@db/app varel-session-import scs-postgresstore [-table sessions] [-user-key userID] [-accept-until 2027-01-31T00:00:00Z]
//
// DATABASE_URL must log in as the extension's owner. Sessions holding values of a program's own
// types decode only in that program (gob.Register): call varelscs.ImportPostgresStore from it
// instead; here they are skipped and counted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/varel-session/varel_session/adapters/go/varelscs"
)

func main() {
	flags := flag.NewFlagSet("varel-session-import", flag.ExitOnError)
	table := flags.String("table", "sessions", "postgresstore's table")
	userKey := flags.String("user-key", "", "the session value holding the user's id (an integer)")
	acceptUntil := flags.String("accept-until", "", "old cookies are accepted until then (RFC 3339; default: each session's expiry)")
	if len(os.Args) < 2 || os.Args[1] != varelscs.PostgresStoreName {
		fmt.Fprintln(os.Stderr, "usage: varel-session-import scs-postgresstore [-table sessions] [-user-key KEY] [-accept-until RFC3339]")
		os.Exit(2)
	}
	_ = flags.Parse(os.Args[2:])
	options := varelscs.ImportOptions{Table: *table, UserKey: *userKey}
	if *acceptUntil != "" {
		at, err := time.Parse(time.RFC3339, *acceptUntil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "varel-session-import: -accept-until:", err)
			os.Exit(2)
		}
		options.AcceptUntil = at
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err == nil {
		defer pool.Close()
		var result varelscs.ImportResult
		if result, err = varelscs.ImportPostgresStore(ctx, pool, options); err == nil {
			fmt.Println(result)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "varel-session-import:", err)
	os.Exit(1)
}
