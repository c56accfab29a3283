package sqlite

import (
	"database/sql/driver"
	"fmt"
	"io"

	"github.com/scriptd/scriptd/storagefw"
)

// The calls beyond Zeek on one connection: batches, compare_and_swap,
// increment and scan. Writes run on the writer inside its BEGIN IMMEDIATE
// transaction (so a read-then-write there is atomic against every other
// writer of the file, Zeek included); reads run on a reader or the writer.

// liveAt4SQL is liveSQL with now bound as ?4.
const liveAt4SQL = "(expire_time is null or expire_time <= 0 or expire_time > ?4)"

// prepareScans prepares the scan statements: ?1 the lowest key (inclusive),
// ?2 the key bound (exclusive; scanRange only), ?3 now, ?4 the limit. Keys
// are BLOBs, compared with memcmp: a key range is a byte range.
func (c *conn) prepareScans(table string) (err error) {
	t := quoteIdent(table)
	const live = "(expire_time is null or expire_time <= 0 or expire_time > ?3)"
	if c.scanRange, err = c.prepare("select key_str, value_str from " + t +
		" where key_str >= ?1 and key_str < ?2 and " + live + " order by key_str limit ?4"); err != nil {
		return err
	}
	c.scanFrom, err = c.prepare("select key_str, value_str from " + t +
		" where key_str >= ?1 and " + live + " order by key_str limit ?4")
	return err
}

// do executes one request of any kind.
func (c *conn) do(op *storagefw.Request) storagefw.Reply {
	switch op.Kind {
	case storagefw.GetRequest:
		return c.doGet(op)
	case storagefw.PutRequest:
		return c.doPut(op)
	case storagefw.EraseRequest:
		return c.doErase(op)
	case storagefw.GetManyRequest:
		return c.doBatch(op, func(e *storagefw.BatchEntry) storagefw.Reply {
			return c.getAt(e.Key, op.Now)
		})
	case storagefw.PutManyRequest:
		return c.doBatch(op, func(e *storagefw.BatchEntry) storagefw.Reply {
			return c.putEntry(e.Key, e.Value, e.Overwrite, e.ExpireAt, op.Now)
		})
	case storagefw.EraseManyRequest:
		return c.doBatch(op, func(e *storagefw.BatchEntry) storagefw.Reply {
			return c.eraseAt(e.Key, op.Now)
		})
	case storagefw.CompareAndSwapRequest:
		return c.doCAS(op)
	case storagefw.IncrementRequest:
		return c.doIncrement(op)
	case storagefw.ScanRequest:
		return c.doScan(op)
	}
	return storagefw.Reply{Code: storagefw.OperationFailed, Error: fmt.Sprintf("sqlite: unsupported operation %v", op.Kind)}
}

// doBatch runs each entry in order. An error that rolled the transaction
// back ends the batch with that error (the caller fails what the
// transaction held); other per-entry errors stay the entry's.
func (c *conn) doBatch(op *storagefw.Request, one func(e *storagefw.BatchEntry) storagefw.Reply) storagefw.Reply {
	out := make([]storagefw.Reply, len(op.Entries))
	inTx := !c.c.AutoCommit()
	for i := range op.Entries {
		out[i] = one(&op.Entries[i])
		if out[i].Error != "" && inTx && c.c.AutoCommit() {
			return storagefw.Reply{Code: storagefw.OperationFailed, Error: out[i].Error}
		}
	}
	return storagefw.Reply{Code: storagefw.Success, Entries: out}
}

// getAt reads key as of now (a get without a Request).
func (c *conn) getAt(key []byte, now float64) storagefw.Reply {
	return c.doGet(&storagefw.Request{Kind: storagefw.GetRequest, Key: key, Now: now})
}

func (c *conn) putEntry(key, value []byte, overwrite bool, expireAt, now float64) storagefw.Reply {
	return c.doPut(&storagefw.Request{Kind: storagefw.PutRequest, Key: key, Value: value, Overwrite: overwrite, ExpireAt: expireAt, Now: now})
}

func (c *conn) eraseAt(key []byte, now float64) storagefw.Reply {
	return c.doErase(&storagefw.Request{Kind: storagefw.EraseRequest, Key: key, Now: now})
}

// conflict is compare_and_swap's answer when its statement changed
// nothing: KEY_EXISTS with the stored bytes, or KEY_NOT_FOUND.
func (c *conn) conflict(op *storagefw.Request) storagefw.Reply {
	r := c.getAt(op.Key, op.Now)
	if r.Code == storagefw.Success {
		return storagefw.Reply{Code: storagefw.KeyExists, Value: r.Value}
	}
	return r
}

// doCAS is compare_and_swap: one conditional statement on the stored
// bytes; when it changes nothing, a read in the same transaction says why.
func (c *conn) doCAS(op *storagefw.Request) storagefw.Reply {
	key := nonNil(op.Key)
	var n int64
	var err error
	switch {
	case op.ExpectAbsent && op.Erase:
		// "Erase it if it is absent": succeeds exactly when nothing live is
		// stored (an expired row is removed).
		r := c.getAt(op.Key, op.Now)
		switch r.Code {
		case storagefw.Success:
			return storagefw.Reply{Code: storagefw.KeyExists, Value: r.Value}
		case storagefw.KeyNotFound:
			if _, err := c.exec(c.eraseAny, key); err != nil {
				return failure("compare_and_swap", err)
			}
			return storagefw.Reply{Code: storagefw.Success}
		}
		return r
	case op.ExpectAbsent:
		exp := op.ExpireAt
		if op.KeepExpiry {
			exp = 0 // a new entry: nothing to keep
		}
		n, err = c.exec(c.putNoOverwrite, key, nonNil(op.Value), exp, op.Now)
	case op.Erase:
		n, err = c.exec(c.casDelete, key, nil, nonNil(op.Expected), op.Now)
	case op.KeepExpiry:
		n, err = c.exec(c.casUpdateKeep, key, nonNil(op.Value), nonNil(op.Expected), op.Now)
	default:
		n, err = c.exec(c.casUpdate, key, nonNil(op.Value), nonNil(op.Expected), op.Now, op.ExpireAt)
	}
	switch {
	case err != nil:
		return failure("compare_and_swap", err)
	case n > 0:
		return storagefw.Reply{Code: storagefw.Success}
	}
	return c.conflict(op)
}

// doIncrement reads the entry, computes the sum (storagefw.Request.Increment)
// and writes it, all inside the write transaction.
func (c *conn) doIncrement(op *storagefw.Request) storagefw.Reply {
	r := c.getAt(op.Key, op.Now)
	var found bool
	switch r.Code {
	case storagefw.Success:
		found = true
	case storagefw.KeyNotFound:
	default:
		return r
	}
	next, res := op.Increment(r.Value, found)
	if res.Code != storagefw.Success {
		return storagefw.Reply{Code: res.Code, Error: res.Error}
	}
	var err error
	if op.KeepExpiry && found {
		_, err = c.exec(c.setValueKeep, nonNil(op.Key), next)
	} else {
		exp := op.ExpireAt
		if op.KeepExpiry {
			exp = 0
		}
		_, err = c.exec(c.put, nonNil(op.Key), next, exp)
	}
	if err != nil {
		return failure("increment", err)
	}
	return storagefw.Reply{Code: storagefw.Success, Value: next}
}

// prefixEnd is the smallest byte string greater than every string that
// starts with p, or nil when there is none (p empty or all 0xff).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// doScan lists up to op.Limit live entries with keys starting with
// op.Prefix, in key order, after op.Cursor (the last key of the previous
// page). The cursor of the reply is the last key listed, unless fewer
// entries than the limit were left.
func (c *conn) doScan(op *storagefw.Request) storagefw.Reply {
	lo := nonNil(op.Prefix)
	if op.Cursor != nil {
		// Continue just after the cursor (key + 0x00 is the next possible key).
		next := append(append(make([]byte, 0, len(op.Cursor)+1), op.Cursor...), 0)
		if string(next) > string(lo) {
			lo = next
		}
	}
	hi := prefixEnd(op.Prefix)
	limit := int64(max(op.Limit, 1))
	var rows driver.Rows
	var err error
	if hi != nil {
		rows, err = c.scanRange.QueryContext(bg, []driver.NamedValue{
			{Ordinal: 1, Value: lo}, {Ordinal: 2, Value: hi}, {Ordinal: 3, Value: op.Now}, {Ordinal: 4, Value: limit}})
	} else {
		rows, err = c.scanFrom.QueryContext(bg, []driver.NamedValue{
			{Ordinal: 1, Value: lo}, {Ordinal: 3, Value: op.Now}, {Ordinal: 4, Value: limit}})
	}
	if err != nil {
		return failure("scan", err)
	}
	defer rows.Close()
	var entries []storagefw.Reply
	dest := make([]driver.Value, 2)
	for {
		err := rows.Next(dest)
		if err == io.EOF {
			break
		}
		if err != nil {
			return failure("scan", err)
		}
		k, ok := dest[0].([]byte)
		if !ok {
			continue // not Zeek's layout (a key stored as text or a number)
		}
		entries = append(entries, storagefw.Reply{Code: storagefw.Success, Key: k, Value: bytesOf(dest[1])})
	}
	r := storagefw.Reply{Code: storagefw.Success, Entries: entries}
	if int64(len(entries)) >= limit {
		r.Cursor = entries[len(entries)-1].Key
	}
	return r
}

// bytesOf returns a column value as bytes.
func bytesOf(v driver.Value) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	case nil:
		return []byte{}
	}
	return fmt.Append(nil, v)
}
