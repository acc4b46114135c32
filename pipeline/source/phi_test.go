package source

import (
	"strings"
	"testing"
)

func TestIdentifierKind(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"123-45-6789", "SSN"},
		{" 123-45-6789 ", "SSN"},
		{"ssn 123-45-6789 on file", "SSN"},
		{"1123-45-6789", ""},
		{"123-45-67890", ""},
		{"123-456-789", "national id or phone number"}, // a Canadian SIN
		{"jane.doe@example.org", "e-mail address"},
		{"write to j_doe+kap@mail.example.co.uk please", "e-mail address"},
		{"x@y", ""},
		{"user@localhost", ""},
		{"@example.com", ""},
		{"a@b.c1", ""},
		{"(555) 123-4567", "phone number"},
		{"(555)123-4567", "phone number"},
		{"555-123-4567", "phone number"},
		{"555.123.4567", "phone number"},
		{"555 123 4567", "phone number"},
		{"1-555-123-4567", "phone number"},
		{"+1 555 123 4567", "phone number"},
		{"+1 (555) 123-4567", "phone number"},
		{"+44 20 7946 0958", "phone number"},
		// Not identifiers: dates, numbers, ids.
		{"2025-03-01", ""},
		{"2025-03-01 10:00:00", ""},
		{"2025-03-01T10:00:00Z", ""},
		{"03/01/2025", ""},
		{"5551234567", ""},
		{"123456789012", ""},
		{"93705.0", ""},
		{"-12.5", ""},
		{"3.14159265", ""},
		{"1234567.890", ""},
		{"-5", ""},
		{"+12", ""},
		{"+1234", ""},
		{"p-555-123-4567", ""},
		{"ex-1", ""},
		{"45352", ""},
		{"12-34-5678", ""},
		{"((555)) 123-4567", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := identifierKind(tt.in); got != tt.want {
			t.Errorf("identifierKind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPHIColumn(t *testing.T) {
	for h, want := range map[string]bool{
		"name": true, "First Name": true, "patient_email": true, "DOB": true, "date-of-birth": true,
		"home_phone_number": true, "zip": true, "MRN": true, "ssn": true,
		"patient_id": false, "instrument": false, "clinic_id": false, "date": false, "day": false,
		"session_type": false, "dose_mg": false, "redcap_event_name": false, // an event's name
		"zipper": false, "phoneme": false,
	} {
		if got := isPHIColumn(h); got != want {
			t.Errorf("isPHIColumn(%q) = %t, want %t", h, got, want)
		}
	}
}

// TestPHIFiles checks that files with identifiers are refused whole, naming the column and
// never the value, unless a map drops the column.
func TestPHIFiles(t *testing.T) {
	const hdr = "patient_id,clinic_id,instrument,date,total\n"
	const ok = "p1,north,PHQ9,2025-03-01,7\n"
	tests := []struct {
		name   string
		in     string
		line   int
		column string
		secret string // must not appear in the error
	}{
		{"header", "patient_id,email,instrument,date,total\n", 1, "email", ""},
		{"SSN value", hdr + ok + "p2,123-45-6789,PHQ9,2025-03-01,7\n", 3, "clinic_id (SSN)", "6789"},
		{"e-mail value", hdr + ok + ok + "jane@example.org,north,PHQ9,2025-03-01,7\n", 4, "patient_id (e-mail address)", "jane"},
		{"phone value", hdr + "p1,(555) 123-4567,PHQ9,2025-03-01,7\n", 2, "clinic_id (phone number)", "4567"},
		{"two columns", hdr + "555-123-4567,a@b.org,PHQ9,2025-03-01,7\n", 2, "patient_id (phone number), clinic_id (e-mail address)", "4567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rows, err := readAll(t, writeFile(t, "a.csv", tt.in), nil)
			fe := fileError(t, err)
			if fe.Line != tt.line || fe.Column != tt.column || !strings.Contains(fe.Reason, "refused") {
				t.Errorf("line %d column %q reason %q; want line %d column %q, refused", fe.Line, fe.Column, fe.Reason, tt.line, tt.column)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error echoes the value: %q", err)
			}
			if len(rows) != tt.line-2 && tt.line > 1 {
				t.Errorf("%d records before the refusal, want %d", len(rows), tt.line-2)
			}
		})
	}
	t.Run("dates and numbers pass", func(t *testing.T) {
		_, rows, err := readAll(t, writeFile(t, "a.csv", hdr+"5551234567,12.5,PHQ9,2025-03-01,7\n"), nil)
		if err != nil || len(rows) != 1 {
			t.Errorf("got %d records, error %v; want 1 record", len(rows), err)
		}
	})
	t.Run("dropped by the map", func(t *testing.T) {
		m, err := parseMap("m.toml", "drop = [\"Email\", \"phone\"]\n[columns]\npatient_id = \"id\"\nday = \"d\"\ninstrument = \"i\"\n")
		if err != nil {
			t.Fatal(err)
		}
		in := "id,d,i,email,phone\np1,0,PHQ9,jane@example.org,555-123-4567\n"
		_, rows, err := readAll(t, writeFile(t, "a.csv", in), m)
		if err != nil {
			t.Fatal(err)
		}
		equalRows(t, rows, []row{{2, "p1|PHQ9|0"}})
	})
	t.Run("not dropped by the map", func(t *testing.T) {
		m, err := parseMap("m.toml", "other_columns = \"drop\"\n[columns]\npatient_id = \"id\"\nday = \"d\"\ninstrument = \"i\"\n")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = readAll(t, writeFile(t, "a.csv", "id,d,i,Phone\np1,0,PHQ9,x\n"), m)
		if fe := fileError(t, err); fe.Column != "Phone" {
			t.Errorf("column %q, want Phone", fe.Column)
		}
		_, _, err = readAll(t, writeFile(t, "a.csv", "id,d,i,note\np1,0,PHQ9,call 555-123-4567\n"), m)
		if err != nil { // phone numbers are matched as whole values, not inside free text
			t.Errorf("free text with a phone number: %v", err)
		}
		_, _, err = readAll(t, writeFile(t, "a.csv", "id,d,i,note\np1,0,PHQ9,ssn 123-45-6789\n"), m)
		if fe := fileError(t, err); fe.Column != "note (SSN)" || fe.Line != 2 {
			t.Errorf("line %d column %q, want 2 and note (SSN)", fe.Line, fe.Column)
		}
	})
}
