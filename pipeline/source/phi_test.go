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
		// SSNs with spaces or dots; E.164 and national phone formats (issue 7).
		{"123 45 6789", "SSN"},
		{"123.45.6789", "SSN"},
		{"SSN 123.45.6789", "SSN"},
		{"+15551234567", "phone number"},
		{"+491711234567", "phone number"},
		{"020 7946 0958", "phone number"},
		{"(020) 7946 0958", "phone number"},
		{"07700 900123", "phone number"},
		{"06 12 34 56 78", "phone number"},
		{"06.12.34.56.78", "phone number"},
		{"030-1234567", "phone number"},
		{"0044 20 7946 0958", "phone number"},
		{"612 345 678", "national id or phone number"},
		{"612.345.678", "national id or phone number"},
		// non-ASCII e-mail addresses (identifierIn folds full-width forms first)
		{"josé@exämple.com", "e-mail address"},
		{"用户@例子.中国", "e-mail address"},
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
		{"123 45 67890", ""},
		{"123-45.6789", ""}, // two different separators
		{"0.123456789", ""}, // a decimal number, not a phone number with its trunk 0
		{"12345678.90", ""},
		{"+1234567", ""}, // 7 digits
		{"01.02.2024", ""},
		{"2024.01.31", ""},
		{"612 345-678", ""},
		{"10000000000000000000000", ""},
	}
	for _, tt := range tests {
		if got := identifierKind(tt.in); got != tt.want {
			t.Errorf("identifierKind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestIdentifierIn: what a value may look like depends on its column: a bare run of digits is
// an id in the patient and clinic id columns and can only be an SSN or a phone number
// anywhere else (no score, day, date or dose has nine digits); names and full dates are
// refused inside patient ids; text with non-ASCII characters is folded before it is
// matched.
func TestIdentifierIn(t *testing.T) {
	tests := []struct {
		in    string
		class colClass
		want  string
	}{
		// Must be refused.
		{"123456789", colData, "SSN"},
		{" 123456789 ", colData, "SSN"},
		{"123456789.0", colData, "SSN"}, // an SSN stored as a float
		{"5551234567", colData, "phone number"},
		{"15551234567", colData, "phone number"},
		{"+15551234567", colPatient, "phone number"},
		{"123 45 6789", colPatient, "SSN"},
		{"123-45-6789", colID, "SSN"},
		{"123-45-6789", colUndeclared, "SSN"},
		{"１２３-４５-６７８９", colData, "SSN"},           // full-width digits
		{"१२३-४५-६७८९", colData, "SSN"},           // Devanagari digits
		{"١٢٣-٤٥-٦٧٨٩", colData, "SSN"},           // Arabic-Indic digits
		{"123 45 6789", colData, "SSN"},           // no-break spaces
		{"123–" + "45–" + "6789", colData, "SSN"}, // en dashes
		{"123​-45-6789", colData, "SSN"},          // a zero-width space
		{"１２３４５６７８９", colData, "SSN"},             // full-width, bare
		{"ｊａｎｅ＠ｅｘａｍｐｌｅ．ｏｒｇ", colData, "e-mail address"},
		{"jane​@example.org", colData, "e-mail address"},
		{"josé@exämple.com", colPatient, "e-mail address"},
		{"＋４４ ２０ ７９４６ ０９５８", colData, "phone number"},
		{"smith_john_01", colPatient, "person's name"},
		{"JohnSmith-7", colPatient, "person's name"},
		{"JSMITH01", colPatient, "person's name"},
		{"garcia.maria", colPatient, "person's name"},
		{"P-1980-05-12", colPatient, "date"},
		{"p01/02/1980x", colPatient, "date"},
		{"KAP-12.05.1980", colPatient, "date"},
		{"19800512-31.12.1979", colPatient, "date"},
		// Must pass.
		{"100000123", colPatient, ""}, // a numeric patient id of nine digits
		{"5551234567", colPatient, ""},
		{"123456789012345", colPatient, ""},
		{"123456789", colID, ""},
		{"123456789", colUndeclared, ""}, // not stored: only unambiguous forms are refused
		{"5551234567", colUndeclared, ""},
		{"p000001", colPatient, ""},
		{"ex-1", colPatient, ""},
		{"r001", colPatient, ""},
		{"93705.0", colPatient, ""},
		{"KAP-ANN-0001", colPatient, ""}, // three letters: not matched
		{"TRIAL-2024-001", colPatient, ""},
		{"20000123", colPatient, ""}, // eight digits are not taken for a date
		{"S01-P0042", colPatient, ""},
		{"Austin", colID, ""}, // names are looked for in patient ids only
		{"jordan-clinic", colID, ""},
		{"2025-03-01", colData, ""},
		{"03/01/2025", colData, ""},
		{"12345678", colData, ""},
		{"1234567890123456", colData, ""},
		{"10000000000000000000000", colData, ""},
		{"1e22", colData, ""},
		{"0.123456789", colData, ""},
		{"12.300000000000001", colData, ""},
		{"-14", colData, ""},
		{"PHQ-9", colData, ""},
		{"baseline_arm_1", colData, ""},
		{"123456789", colSkip, ""},
		{"715252007", colUndeclared, ""}, // a SNOMED CT code as a header
		{"20250131103000", colDate, ""},  // a compact timestamp (date_format = "20060102150405")
		{"202501311030", colDate, ""},
		{"123456789", colDate, "SSN"},
		{"20251331103000", colDate, "phone number"}, // no month 13: not a timestamp
		{"20250131103000", colData, "phone number"},
		{"jane@example.org", colSkip, ""},
		{"Zürich", colID, ""},
		{"São Paulo", colData, ""},
	}
	for _, tt := range tests {
		if got := identifierIn(tt.in, tt.class); got != tt.want {
			t.Errorf("identifierIn(%q, %d) = %q, want %q", tt.in, tt.class, got, tt.want)
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
		// spellings that got past the guard (issue 7)
		"DateOfBirth": true, "D.O.B.": true, "PatientName": true, "SSN#": true, "Medical Record #": true,
		"NHS Number": true, "patientDOB": true, "SocialSecurityNumber": true, "SSNNumber": true,
		"First\u00a0Name": true, "first\tname": true, "e\u200bmail": true, "E-Mail": true, "ＤＯＢ": true,
		"date of birth": true, "Birth Date": true, "ip_address": true, "zip5": true, "Postal Code": true,
		"Mobile Phone": true, "fax": true, "patient initials": true, "passport_no": true,
		// other languages
		"fecha de nacimiento": true, "nom": true, "Nom": true, "Prénom": true, "geburtsdatum": true,
		"Geburtsdatum": true, "Straße": true, "telefonnummer": true, "nombre": true, "apellidos": true,
		"correo electrónico": true, "date de naissance": true, "codice fiscale": true, "cognome": true,
		"data de nascimento": true, "geboortedatum": true, "achternaam": true, "Teléfono": true,
		// names of things, not people
		"site_name": false, "clinic_name": false, "instrument_name": false, "Site Name": false,
		"ClinicName": false, "name of site": false, "program_name": false, "study name": false,
		// headers of the sample maps and the canonical format
		"record_id": false, "phq9_1": false, "44250-9": false, "DPQ010": false, "SEQN": false,
		"visit_date": false, "birth_year": false, "nominal": false, "obs_date": false, "pid": false,
		"age": false, "total": false, "route": false, "program": false, "setting": false, "site": false,
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
