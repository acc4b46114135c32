package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime/debug"
	"slices"
	"time"
)

// The analysis snapshot lets report write a workbook from the analysis analyze stored,
// instead of analysing again (the workbook is the same: it is made from the same Analysis
// value). analyze stores, in the transaction that writes the analysis tables, the whole
// Analysis in a lossless binary form (encodeValue: NaN, +Inf, nil and the fields the JSON
// leaves out, such as the Safety list, come back as they were) with the key of what it
// depends on. A report
// reuses it only when the key it would analyse under is the same: the as-of day, the
// configuration in force, the build of kapstat and the ingested files (every ingest_runs row
// and retraction), so that a new ingest, a retraction, another config or another as-of day
// always analyses again.

const snapshotDDL = `CREATE OR REPLACE TABLE analysis_snapshot (run_at TIMESTAMP, as_of VARCHAR, build VARCHAR,
	config VARCHAR, inputs VARCHAR, body BLOB)`

// maxSnapshot bounds the stored analysis a report decodes. A million-patient analysis takes
// 77 MB (bench/run.sh), nearly all of it the trajectory classes' per-patient assignments; the
// Safety list is 3 MB of it.
const maxSnapshot = 1 << 30

// queryer is a database or a transaction.
type queryer interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// snapshotKey is what an analysis depends on besides the rows the inputs gave.
type snapshotKey struct {
	AsOf   string // YYYY-MM-DD, or "" when every window counts as closed
	Build  string
	Config string
	Inputs string
}

// build names this kapstat: its version and, when the binary records it, the commit it was
// built from (a development build's analysis is not reused by another build).
func build() string {
	b := "kapstat " + Version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" || (s.Key == "vcs.modified" && s.Value == "true") {
				b += " " + s.Key + "=" + s.Value
			}
		}
	}
	return b
}

// inputsKey is a hash of every ingest run's file rows and of the retractions, the warehouse's
// record of what it holds: it changes with every ingest that loads anything, every
// --replace and every retract.
func (w *Warehouse) inputsKey(ctx context.Context, q queryer) (string, error) {
	h := sha256.New()
	for _, query := range []string{
		`SELECT run_id, file_id, path, sha256, kind, rows_read, accepted, duplicates, quarantined FROM ingest_runs ORDER BY file_id`,
		`SELECT count(*), coalesce(max(run_id), 0) FROM ingest_retractions`,
		`SELECT value FROM kapstat_meta WHERE key = 'schema_version'`,
	} {
		rows, err := q.QueryContext(ctx, query)
		if err != nil {
			return "", err
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return "", err
			}
			fmt.Fprintf(h, "%q\n", vals)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return "", err
		}
		h.Write([]byte("--\n"))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// key is the snapshot key of an analysis with this configuration and as-of day.
func (w *Warehouse) key(ctx context.Context, q queryer, cfg Config, asOf *string) (snapshotKey, error) {
	c, err := json.Marshal(cfg)
	if err != nil {
		return snapshotKey{}, err
	}
	k := snapshotKey{Build: build(), Config: string(c)}
	if asOf != nil {
		k.AsOf = *asOf
	}
	k.Inputs, err = w.inputsKey(ctx, q)
	return k, err
}

// encodeSnapshot is the stored form of an analysis: every exported field of every value, in
// declaration order, with nil told apart from empty and floats stored as their bits (see
// encodeValue). encoding/gob was tried first and loses both distinctions (an empty slice
// comes back nil, a nil element of a slice is refused), which the workbook can show.
func encodeSnapshot(a *Analysis) ([]byte, error) {
	var buf []byte
	buf, err := encodeValue(buf, reflect.ValueOf(a).Elem())
	if err != nil {
		return nil, fmt.Errorf("store analysis: %w", err)
	}
	return buf, nil
}

// decodeSnapshot reads a stored analysis. A warehouse is not trusted: lengths are checked
// against the bytes left, nesting is bounded, and a body that does not decode to its last
// byte is an error (report then analyses again).
func decodeSnapshot(b []byte) (*Analysis, error) {
	a := &Analysis{}
	d := &decoder{b: b}
	if err := d.value(reflect.ValueOf(a).Elem(), 0); err != nil {
		return nil, fmt.Errorf("stored analysis unreadable: %w", err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("stored analysis unreadable: %d bytes left over", len(d.b))
	}
	return a, nil
}

// encodeValue appends v: booleans as a byte, integers as varints, floats as their IEEE bits,
// strings and slices as a length and their contents, structs as their fields in order;
// pointers, slices and maps start with 0 (nil) or 1; map entries are sorted by their encoded
// keys, so the same analysis gives the same bytes. A type this cannot store faithfully (an
// unexported field, an interface, a channel, a function) is an error, never a silent loss.
func encodeValue(buf []byte, v reflect.Value) ([]byte, error) {
	var err error
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return binary.AppendVarint(buf, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return binary.AppendUvarint(buf, v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(v.Float())), nil
	case reflect.String:
		buf = binary.AppendUvarint(buf, uint64(v.Len()))
		return append(buf, v.String()...), nil
	case reflect.Pointer:
		if v.IsNil() {
			return append(buf, 0), nil
		}
		return encodeValue(append(buf, 1), v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return append(buf, 0), nil
		}
		buf = binary.AppendUvarint(append(buf, 1), uint64(v.Len()))
		fallthrough
	case reflect.Array:
		for i := range v.Len() {
			if buf, err = encodeValue(buf, v.Index(i)); err != nil {
				return nil, err
			}
		}
		return buf, nil
	case reflect.Map:
		if v.IsNil() {
			return append(buf, 0), nil
		}
		type entry struct{ k, v []byte }
		entries := make([]entry, 0, v.Len())
		it := v.MapRange()
		for it.Next() {
			k, err := encodeValue(nil, it.Key())
			if err != nil {
				return nil, err
			}
			e, err := encodeValue(nil, it.Value())
			if err != nil {
				return nil, err
			}
			entries = append(entries, entry{k, e})
		}
		slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.k, b.k) })
		buf = binary.AppendUvarint(append(buf, 1), uint64(len(entries)))
		for _, e := range entries {
			buf = append(append(buf, e.k...), e.v...)
		}
		return buf, nil
	case reflect.Struct:
		t := v.Type()
		for i := range v.NumField() {
			if !t.Field(i).IsExported() {
				return nil, fmt.Errorf("%s.%s: an unexported field cannot be stored", t, t.Field(i).Name)
			}
			if buf, err = encodeValue(buf, v.Field(i)); err != nil {
				return nil, err
			}
		}
		return buf, nil
	}
	return nil, fmt.Errorf("%s: a %s cannot be stored", v.Type(), v.Kind())
}

// decoder reads what encodeValue wrote.
type decoder struct{ b []byte }

var errShort = errors.New("truncated")

func (d *decoder) uvarint() (uint64, error) {
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		return 0, errShort
	}
	d.b = d.b[n:]
	return x, nil
}

// length reads a length, which cannot exceed the bytes left (every element takes one).
func (d *decoder) length() (int, error) {
	n, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(len(d.b)) {
		return 0, fmt.Errorf("length %d with %d bytes left", n, len(d.b))
	}
	return int(n), nil
}

// presentLength reads the 0/1 byte before a slice or map and, when present, its length.
func (d *decoder) presentLength() (n int, ok bool, err error) {
	if ok, err = d.present(); err != nil || !ok {
		return 0, ok, err
	}
	n, err = d.length()
	return n, err == nil, err
}

// present reads the 0/1 byte before a pointer, slice or map.
func (d *decoder) present() (bool, error) {
	if len(d.b) == 0 {
		return false, errShort
	}
	c := d.b[0]
	d.b = d.b[1:]
	if c > 1 {
		return false, fmt.Errorf("bad presence byte %d", c)
	}
	return c == 1, nil
}

func (d *decoder) value(v reflect.Value, depth int) error {
	if depth > 64 {
		return errors.New("nested too deeply")
	}
	switch v.Kind() {
	case reflect.Bool:
		b, err := d.present()
		v.SetBool(b)
		return err
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, n := binary.Varint(d.b)
		if n <= 0 {
			return errShort
		}
		d.b = d.b[n:]
		if v.OverflowInt(x) {
			return fmt.Errorf("%d overflows %s", x, v.Type())
		}
		v.SetInt(x)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x, err := d.uvarint()
		if err != nil {
			return err
		}
		if v.OverflowUint(x) {
			return fmt.Errorf("%d overflows %s", x, v.Type())
		}
		v.SetUint(x)
		return nil
	case reflect.Float32, reflect.Float64:
		if len(d.b) < 8 {
			return errShort
		}
		v.SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(d.b)))
		d.b = d.b[8:]
		return nil
	case reflect.String:
		n, err := d.length()
		if err != nil {
			return err
		}
		v.SetString(string(d.b[:n]))
		d.b = d.b[n:]
		return nil
	case reflect.Pointer:
		ok, err := d.present()
		if err != nil || !ok {
			return err
		}
		p := reflect.New(v.Type().Elem())
		if err := d.value(p.Elem(), depth+1); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Slice:
		n, ok, err := d.presentLength()
		if err != nil || !ok {
			return err
		}
		// Grown as elements decode, so that a length a damaged body claims costs no memory
		// before the bytes are there.
		s := reflect.MakeSlice(v.Type(), 0, min(n, 1024))
		e := reflect.New(v.Type().Elem()).Elem()
		for range n {
			e.SetZero()
			if err := d.value(e, depth+1); err != nil {
				return err
			}
			s = reflect.Append(s, e)
		}
		v.Set(s)
		return nil
	case reflect.Array:
		for i := range v.Len() {
			if err := d.value(v.Index(i), depth+1); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		n, ok, err := d.presentLength()
		if err != nil || !ok {
			return err
		}
		m := reflect.MakeMapWithSize(v.Type(), min(n, 1024))
		for range n {
			k := reflect.New(v.Type().Key()).Elem()
			e := reflect.New(v.Type().Elem()).Elem()
			if err := d.value(k, depth+1); err != nil {
				return err
			}
			if err := d.value(e, depth+1); err != nil {
				return err
			}
			m.SetMapIndex(k, e)
		}
		v.Set(m)
		return nil
	case reflect.Struct:
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				return fmt.Errorf("%s: unexported field", v.Type())
			}
			if err := d.value(v.Field(i), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%s: a %s cannot be read", v.Type(), v.Kind())
}

// StoredAnalysis returns the analysis analyze stored when it is the one Analyze would compute
// with opt now: same as-of day (opt.AsOf, else today for dated data, as Analyze decides),
// configuration, kapstat build and ingested files. Otherwise it returns nil and why, in words
// for the user ("the stored analysis is as of 2026-09-30, not 2026-12-03").
func (w *Warehouse) StoredAnalysis(ctx context.Context, opt AnalyzeOptions) (*Analysis, string, error) {
	var exists bool
	if err := w.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM duckdb_tables()
		WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'analysis_snapshot')`).Scan(&exists); err != nil {
		return nil, "", err
	}
	if !exists {
		return nil, "no analysis stored by kapstat analyze", nil
	}
	as, err := w.resolveAsOf(ctx, opt)
	if err != nil {
		return nil, "", err
	}
	if as.quarterRefused {
		return nil, "the warehouse holds day offsets", nil
	}
	want, err := w.key(ctx, w.db, opt.Config, as.asOf)
	if err != nil {
		return nil, "", err
	}
	// The key first: the body (77 MB at a million patients) is read only when it will be used.
	var got snapshotKey
	var runAt time.Time
	err = w.db.QueryRowContext(ctx, `SELECT run_at, as_of, build, config, inputs FROM analysis_snapshot
		WHERE octet_length(body) <= ? ORDER BY run_at DESC LIMIT 1`, maxSnapshot).Scan(&runAt, &got.AsOf, &got.Build, &got.Config, &got.Inputs)
	if err == sql.ErrNoRows {
		return nil, "no analysis stored by kapstat analyze", nil
	}
	if err != nil {
		return nil, "", err
	}
	show := func(s string) string {
		if s == "" {
			return "with every window closed"
		}
		return "as of " + s
	}
	switch {
	case got.AsOf != want.AsOf:
		return nil, fmt.Sprintf("the stored analysis is %s, this report %s", show(got.AsOf), show(want.AsOf)), nil
	case got.Config != want.Config:
		return nil, "the stored analysis was made with another configuration", nil
	case got.Build != want.Build:
		return nil, fmt.Sprintf("the stored analysis was made by %s, this is %s", got.Build, want.Build), nil
	case got.Inputs != want.Inputs:
		return nil, "files were ingested or retracted since the stored analysis", nil
	}
	var body []byte
	if err := w.db.QueryRowContext(ctx, `SELECT body FROM analysis_snapshot WHERE run_at = ? AND octet_length(body) <= ?
		LIMIT 1`, runAt, maxSnapshot).Scan(&body); err != nil {
		return nil, "", err
	}
	a, err := decodeSnapshot(body)
	if err != nil {
		return nil, err.Error(), nil
	}
	return a, "", nil
}
