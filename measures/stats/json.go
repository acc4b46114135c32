package stats

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// marshalFinite encodes v like encoding/json, except that NaN and ±Inf
// floats are written as null. Results use NaN for quantities that are
// undefined (a correlation when a variance is zero, a median never
// reached), and JSON has no NaN, so the output says null where the
// specification says "null where undefined".
//
// It supports what the result types of this package use: structs with
// json tags (name and omitempty), slices, pointers, strings, bools,
// integers and floats.
func marshalFinite(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := encodeFinite(&buf, reflect.ValueOf(v)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func encodeFinite(buf *bytes.Buffer, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Invalid:
		buf.WriteString("null")
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			buf.WriteString("null")
			return nil
		}
		b, err := json.Marshal(f)
		if err != nil {
			return err
		}
		buf.Write(b)
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			buf.WriteString("null")
			return nil
		}
		return encodeFinite(buf, v.Elem())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			buf.WriteString("null")
			return nil
		}
		buf.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encodeFinite(buf, v.Index(i)); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case reflect.Struct:
		buf.WriteByte('{')
		first := true
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			name := sf.Name
			omitEmpty := false
			if tag, ok := sf.Tag.Lookup("json"); ok {
				if tag == "-" {
					continue
				}
				parts := strings.Split(tag, ",")
				if parts[0] != "" {
					name = parts[0]
				}
				for _, o := range parts[1:] {
					if o == "omitempty" {
						omitEmpty = true
					}
				}
			}
			fv := v.Field(i)
			if omitEmpty && fv.IsZero() {
				continue
			}
			if omitEmpty && (fv.Kind() == reflect.Slice) && fv.Len() == 0 {
				continue
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			buf.WriteString(strconv.Quote(name))
			buf.WriteByte(':')
			if err := encodeFinite(buf, fv); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		b, err := json.Marshal(v.Interface())
		if err != nil {
			return fmt.Errorf("stats: encode %s: %w", v.Type(), err)
		}
		buf.Write(b)
	}
	return nil
}
