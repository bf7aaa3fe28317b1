package storage

import (
	"fmt"
	"math"

	"github.com/ncruces/go-sqlite3"
)

// The alarm is row 1 of workerd's metadata table
//
//	_cf_METADATA(key INTEGER PRIMARY KEY, value BLOB)
//
// holding the time in nanoseconds since the Unix epoch, or NULL for none
// (src/workerd/util/sqlite-metadata.{h,c++}); kiln's API speaks
// milliseconds, as JavaScript does.
const (
	sqlCreateMeta = "CREATE TABLE IF NOT EXISTS _cf_METADATA (key INTEGER PRIMARY KEY, value BLOB)"
	sqlGetAlarm   = "SELECT value FROM _cf_METADATA WHERE key = 1"
	sqlSetAlarm   = "INSERT INTO _cf_METADATA VALUES (1, ?) ON CONFLICT DO UPDATE SET value = excluded.value"
	maxAlarmMs    = math.MaxInt64 / 1_000_000 // the latest time nanoseconds can hold (year 2262)
)

// GetAlarm returns the alarm time in milliseconds since the epoch, and
// whether an alarm is set. It sees the turn's uncommitted writes.
func (db *DB) GetAlarm() (ms int64, ok bool, err error) {
	defer catch(&err)
	if db.closed {
		return 0, false, errClosed()
	}
	if db.alarmKnown {
		return db.alarm, db.alarmSet, nil
	}
	if db.conn == nil {
		return 0, false, nil
	}
	exists, err := db.tableExists(&db.metaTable, "_cf_METADATA")
	if err != nil {
		return 0, false, err
	}
	var ns int64
	set := false
	if exists {
		_, err := db.queryRow(sqlGetAlarm, func(s *sqlite3.Stmt) {
			if s.ColumnType(0) != sqlite3.NULL {
				ns, set = s.ColumnInt64(0), true
			}
		})
		if err != nil {
			return 0, false, internal("read alarm", err)
		}
	}
	db.alarmKnown, db.alarmSet, db.alarm = true, set, ns/1e6
	return db.alarm, set, nil
}

// SetAlarm sets the alarm to ms (milliseconds since the epoch), in the
// turn's transaction. Setting the time the alarm already has writes
// nothing.
func (db *DB) SetAlarm(ms int64) (err error) {
	defer catch(&err)
	if ms <= 0 {
		return newError(ClassTypeError, ErrAlarmRange, "setAlarm() cannot be called with an alarm time <= 0")
	}
	if ms > maxAlarmMs {
		return newError(ClassRangeError, ErrAlarmRange,
			fmt.Sprintf("setAlarm() cannot be called with an alarm time after %d (year 2262).", int64(maxAlarmMs)))
	}
	return db.writeAlarm(ms, true)
}

// DeleteAlarm removes the alarm, in the turn's transaction. Without an
// alarm it writes nothing.
func (db *DB) DeleteAlarm() (err error) {
	defer catch(&err)
	return db.writeAlarm(0, false)
}

func (db *DB) writeAlarm(ms int64, set bool) error {
	cur, curSet, err := db.GetAlarm()
	if err != nil {
		return err
	}
	if curSet == set && (!set || cur == ms) {
		return nil // unchanged: no write (case 158)
	}
	if err := db.beginWrite(); err != nil {
		return err
	}
	if db.metaTable != tablePresent {
		if err := db.exec(sqlCreateMeta); err != nil {
			return db.lostTransaction(internal("create _cf_METADATA", err))
		}
		db.metaTable = tablePresent
	}
	var v any // NULL: no alarm
	if set {
		v = ms * 1e6
	}
	if err := db.exec(sqlSetAlarm, v); err != nil {
		return db.lostTransaction(internal("write alarm", err))
	}
	db.alarmKnown, db.alarmSet, db.alarm = true, set, ms
	db.wrote = true
	return nil
}
