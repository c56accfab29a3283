package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/scriptd/scriptd/storagefw"
)

// conn is one SQLite connection with its own prepared statements. A conn is
// used by one goroutine at a time (it is opened with SQLITE_OPEN_NOMUTEX);
// statements are never shared between conns, so several Backends on one
// file, or on different tables of one file, never touch each other's handles
// (the bug Zeek fixed in PR #5419).
type conn struct {
	c *sqlite3.SQLiteConn

	get *sqlite3.SQLiteStmt // every conn
	// scans: with and without an upper bound (every conn)
	scanRange, scanFrom *sqlite3.SQLiteStmt
	// Writer only (nil on readers):
	put, putNoOverwrite, eraseLive, eraseAny, expire, markExpire *sqlite3.SQLiteStmt
	casUpdate, casUpdateKeep, casDelete, setValueKeep            *sqlite3.SQLiteStmt

	// rep counts the data read and written (the Backend's Reporter).
	rep storagefw.Reporter

	args [5]driver.NamedValue // scratch for binding
	dest [2]driver.Value      // scratch for reading a row
}

var bg = context.Background() // Done() == nil: go-sqlite3 takes its no-goroutine fast path

// dsnFor builds the go-sqlite3 DSN for path. File paths become "file:" URIs
// (so characters like '?' or '%' in a path are escaped, not interpreted);
// ":memory:" and "" keep their SQLite meaning.
func dsnFor(path string, readOnly bool, busy time.Duration) string {
	q := url.Values{}
	q.Set("_mutex", "no")
	q.Set("_busy_timeout", strconv.FormatInt(busy.Milliseconds(), 10))
	if readOnly {
		q.Set("mode", "ro")
	}
	switch path {
	case ":memory:":
		return ":memory:?" + q.Encode() // go-sqlite3 strips the parameters
	case "":
		return "file:?" + q.Encode() // a private, temporary on-disk database
	}
	if filepath.IsAbs(path) {
		path = filepath.Clean(path) // "//x" would read as a URI authority
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

func openConn(path string, readOnly bool, busy time.Duration) (*conn, error) {
	dc, err := (&sqlite3.SQLiteDriver{}).Open(dsnFor(path, readOnly, busy))
	if err != nil {
		return nil, err
	}
	return &conn{c: dc.(*sqlite3.SQLiteConn)}, nil
}

// quoteIdent quotes a table name as an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// createTableSQL is Zeek's table layout (src/storage/backend/sqlite/SQLite.cc),
// with the table name quoted.
func createTableSQL(table string) string {
	return "create table if not exists " + quoteIdent(table) +
		" (key_str blob primary key, value_str blob not null, expire_time real);"
}

// Zeek's expiration bookkeeping table: one row per backend table, holding the
// network time of the last sweep. scriptd keeps it up to date so Zeek nodes
// sharing the file see our sweeps.
const (
	createExpiryRunsSQL = "create table if not exists zeek_storage_expiry_runs (ukey primary key, last_run double);"
	insertExpiryRunSQL  = "insert or ignore into zeek_storage_expiry_runs (ukey, last_run) values (?, 0)"
)

// The liveness test shared by every statement: an entry is live when it has
// no expiry (0, or NULL/negative written by someone else) or expires after now.
const liveSQL = "(expire_time is null or expire_time <= 0 or expire_time > ?2)"

func (c *conn) prepare(q string) (*sqlite3.SQLiteStmt, error) {
	s, err := c.c.Prepare(q)
	if err != nil {
		return nil, fmt.Errorf("preparing %q: %w", q, err)
	}
	return s.(*sqlite3.SQLiteStmt), nil
}

// prepareReader prepares the statements a read connection needs.
func (c *conn) prepareReader(table string) (err error) {
	if c.get, err = c.prepare("select value_str, expire_time from " + quoteIdent(table) + " where key_str = ?1"); err != nil {
		return err
	}
	return c.prepareScans(table)
}

// prepareWriter prepares every statement of the writer connection.
func (c *conn) prepareWriter(table string) error {
	t := quoteIdent(table)
	stmts := []struct {
		p **sqlite3.SQLiteStmt
		q string
	}{
		{&c.get, "select value_str, expire_time from " + t + " where key_str = ?1"},
		{&c.put, "insert into " + t + " (key_str, value_str, expire_time) values (?1, ?2, ?3) " +
			"on conflict(key_str) do update set value_str = excluded.value_str, expire_time = excluded.expire_time"},
		// Overwrite only an expired entry; changes() == 0 means a live one exists.
		{&c.putNoOverwrite, "insert into " + t + " (key_str, value_str, expire_time) values (?1, ?2, ?3) " +
			"on conflict(key_str) do update set value_str = excluded.value_str, expire_time = excluded.expire_time " +
			"where expire_time > 0 and expire_time <= ?4"},
		{&c.eraseLive, "delete from " + t + " where key_str = ?1 and " + liveSQL},
		{&c.eraseAny, "delete from " + t + " where key_str = ?1"},
		// Zeek's expiry statement.
		{&c.expire, "delete from " + t + " where expire_time > 0 and expire_time != 0 and expire_time <= ?1"},
		{&c.markExpire, "update zeek_storage_expiry_runs set last_run = ?1 where ukey = ?2"},
		// compare_and_swap on the stored bytes: ?1 key, ?2 new value, ?3
		// expected value, ?4 now, ?5 new expiry. (cast: a value someone
		// stored as text compares by its bytes too.)
		{&c.casUpdate, "update " + t + " set value_str = ?2, expire_time = ?5 where key_str = ?1 and cast(value_str as blob) = ?3 and " + liveAt4SQL},
		{&c.casUpdateKeep, "update " + t + " set value_str = ?2 where key_str = ?1 and cast(value_str as blob) = ?3 and " + liveAt4SQL},
		{&c.casDelete, "delete from " + t + " where key_str = ?1 and cast(value_str as blob) = ?3 and " + liveAt4SQL},
		// increment keeping the entry's expiry
		{&c.setValueKeep, "update " + t + " set value_str = ?2 where key_str = ?1"},
	}
	for _, s := range stmts {
		var err error
		if *s.p, err = c.prepare(s.q); err != nil {
			return err
		}
	}
	return c.prepareScans(table)
}

// close finalizes the statements and closes the connection.
func (c *conn) close() error {
	var errs []error
	for _, s := range []*sqlite3.SQLiteStmt{c.get, c.put, c.putNoOverwrite, c.eraseLive, c.eraseAny, c.expire, c.markExpire} {
		if s != nil {
			if err := s.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, s := range []*sqlite3.SQLiteStmt{c.scanRange, c.scanFrom, c.casUpdate, c.casUpdateKeep, c.casDelete, c.setValueKeep} {
		if s != nil {
			if err := s.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := c.c.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// execNoArgs runs a statement without parameters (BEGIN, COMMIT, ...).
func (c *conn) execNoArgs(q string) error {
	_, err := c.c.Exec(q, nil)
	return err
}

// query runs q and returns every row's first column as text (for pragmas).
func (c *conn) query(q string) ([]string, error) {
	rows, err := c.c.Query(q, nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	var out []string
	for {
		if err := rows.Next(dest); err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		if len(dest) > 0 {
			out = append(out, fmt.Sprint(textOf(dest[0])))
		}
	}
}

func textOf(v driver.Value) any {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}

func (c *conn) bind(vals ...driver.Value) []driver.NamedValue {
	for i, v := range vals {
		c.args[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return c.args[:len(vals)]
}

func (c *conn) exec(s *sqlite3.SQLiteStmt, vals ...driver.Value) (int64, error) {
	res, err := s.ExecContext(bg, c.bind(vals...))
	clear(c.args[:])
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// nonNil makes sure a key or value binds as a (possibly empty) blob, never NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// live reports whether an expire_time column value denotes a live entry at now.
func live(exp driver.Value, now float64) bool {
	switch e := exp.(type) {
	case float64:
		return e <= 0 || e > now
	case int64:
		return e <= 0 || float64(e) > now
	case nil:
		return true
	}
	return true // text or blob: not Zeek's layout; never expire it
}

// doGet reads op's key. The returned value is a fresh copy.
func (c *conn) doGet(op *storagefw.Request) storagefw.Reply {
	rows, err := c.get.QueryContext(bg, c.bind(nonNil(op.Key)))
	clear(c.args[:])
	if err != nil {
		return failure("get", err)
	}
	err = rows.Next(c.dest[:])
	val, exp := c.dest[0], c.dest[1]
	clear(c.dest[:])
	if cerr := rows.Close(); err == nil && cerr != nil && cerr != io.EOF {
		err = cerr
	}
	switch {
	case err == io.EOF:
		return storagefw.Reply{Code: storagefw.KeyNotFound}
	case err != nil:
		return failure("get", err)
	case !live(exp, op.Now):
		return storagefw.Reply{Code: storagefw.KeyNotFound}
	}
	var v []byte
	switch x := val.(type) {
	case []byte:
		v = x
	case string: // stored as text by someone else
		v = []byte(x)
	case nil:
		v = []byte{}
	default:
		v = fmt.Append(nil, x)
	}
	// Zeek's SQLite::DoGet counts the stored value's bytes of every row it
	// finds (sqlite3_column_bytes).
	c.rep.DataRead(len(v))
	return storagefw.Reply{Code: storagefw.Success, Value: v}
}

// doPut writes op. Overwrite replaces value and expiry; otherwise only an
// absent or expired entry is replaced and a live one gives KEY_EXISTS.
func (c *conn) doPut(op *storagefw.Request) storagefw.Reply {
	var n int64
	var err error
	if op.Overwrite {
		n, err = c.exec(c.put, nonNil(op.Key), nonNil(op.Value), op.ExpireAt)
	} else {
		n, err = c.exec(c.putNoOverwrite, nonNil(op.Key), nonNil(op.Value), op.ExpireAt, op.Now)
	}
	// Zeek's SQLite::DoPut counts the serialized value's bytes once the
	// statement has run, whatever it reported (KEY_EXISTS and errors too).
	c.rep.DataWritten(len(op.Value))
	switch {
	case err != nil:
		return failure("put", err)
	case n == 0:
		return storagefw.Reply{Code: storagefw.KeyExists}
	}
	return storagefw.Reply{Code: storagefw.Success}
}

// doErase removes op's key. An expired entry is removed too but reported as
// KEY_NOT_FOUND, like a missing one.
func (c *conn) doErase(op *storagefw.Request) storagefw.Reply {
	n, err := c.exec(c.eraseLive, nonNil(op.Key), op.Now)
	if err != nil {
		return failure("erase", err)
	}
	if n > 0 {
		return storagefw.Reply{Code: storagefw.Success}
	}
	if _, err := c.exec(c.eraseAny, nonNil(op.Key)); err != nil {
		return failure("erase", err)
	}
	return storagefw.Reply{Code: storagefw.KeyNotFound}
}

// doSweep deletes the entries expired at now and records the run in Zeek's
// zeek_storage_expiry_runs table.
func (c *conn) doSweep(now float64, table string) (int, error) {
	n, err := c.exec(c.expire, now)
	if err != nil {
		return 0, fmt.Errorf("expiring entries: %w", err)
	}
	if _, err := c.exec(c.markExpire, now, table); err != nil {
		return 0, fmt.Errorf("updating zeek_storage_expiry_runs: %w", err)
	}
	return int(n), nil
}

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED.
func isBusy(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked
	}
	return false
}

// failure maps an SQLite error to a Reply: busy/locked (after busy_timeout)
// is TIMEOUT, as in Zeek; anything else is OPERATION_FAILED. The error text
// is SQLite's.
func failure(what string, err error) storagefw.Reply {
	code := storagefw.OperationFailed
	if isBusy(err) {
		code = storagefw.Timeout
	}
	return storagefw.Reply{Code: code, Error: fmt.Sprintf("sqlite %s failed: %v", what, err)}
}
