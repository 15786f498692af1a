package sqlstore

import (
	"database/sql"
	"errors"
	"time"
)

// Column conversions. Times are unix milliseconds in 64-bit integer columns; a nil *time.Time
// is NULL. Other optional fields bind and scan as pointers, which both drivers map to NULL.

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullMS is the column value of an optional time.
func nullMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// timeCol scans a NOT NULL millisecond column into a time.Time. It is a sql.Scanner, which
// database/sql and pgx both call.
type timeCol struct{ dst *time.Time }

func (c timeCol) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	if !n.Valid {
		return errors.New("NULL in a NOT NULL time column")
	}
	*c.dst = fromMS(n.Int64)
	return nil
}

// nullTimeCol scans a nullable millisecond column into a *time.Time.
type nullTimeCol struct{ dst **time.Time }

func (c nullTimeCol) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	if !n.Valid {
		*c.dst = nil
		return nil
	}
	t := fromMS(n.Int64)
	*c.dst = &t
	return nil
}
