package source

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Direct identifiers (SPEC 3.3). Inputs are meant to be de-identified; a file whose header names
// one of these, or whose values look like one, is refused whole unless a map drops the column.
//
// Header names are compared word by word after normalisation (headerWords): compatibility
// forms (full-width letters) and accents folded, zero-width characters removed, any
// character that is not a letter or a digit a separator, and camelCase and letter–digit
// boundaries split. A header names an identifier when a run of one or more consecutive words,
// written together, is one of phiTerms: "DateOfBirth", "D.O.B.", "date_of_birth" and
// "Date of birth" all give "dateofbirth"; "SSN#" gives "ssn", "Medical Record #"
// "medicalrecord". A name word ("name", "nom", "nombre", …) right after a word for a thing
// rather than a person ("site_name", "clinic_name", "instrument_name", "redcap_event_name")
// is not an identifier.

// phiTerms are the header words (joined, lower case, without accents) that name a direct
// identifier: English, and the common Spanish, French, German, Italian, Portuguese and Dutch
// equivalents.
var phiTerms = setOf(
	// names
	"name", "firstname", "lastname", "surname", "fullname", "givenname", "familyname", "middlename",
	"maidenname", "forename", "initials",
	"nombre", "nombres", "apellido", "apellidos", // es
	"nom", "prenom", "nomdefamille", // fr
	"vorname", "nachname", "familienname", "geburtsname", // de
	"nome", "cognome", "sobrenome", // it, pt
	"naam", "voornaam", "achternaam", // nl
	// birth dates
	"dob", "birthdate", "dateofbirth", "birthday",
	"fechadenacimiento", "fechanacimiento", "fechanac", // es
	"datedenaissance", "naissance", "ddn", // fr
	"geburtsdatum", "geburtstag", // de
	"datadinascita", "datadinascimento", "datadenascimento", "nascimento", // it, pt
	"geboortedatum", // nl
	// national and record numbers
	"ssn", "socialsecurity", "socialsecuritynumber", "socialinsurancenumber",
	"mrn", "medicalrecord", "medicalrecordnumber", "medrec", "healthrecordnumber", "hospitalnumber",
	"nhsnumber", "nhsno", "chinumber", "medicarenumber", "medicaidnumber", "insurancenumber",
	"accountnumber", "passport", "passportnumber", "driverslicense", "driverlicense", "licensenumber",
	"dni", "numerodeseguridadsocial", "seguridadsocial", // es
	"securitesociale", "numerodesecuritesociale", "nir", // fr
	"sozialversicherungsnummer", "versichertennummer", "krankenversichertennummer", // de
	"codicefiscale", "cpf", "bsn", // it, pt, nl
	// contact
	"email", "emailaddress", "mailaddress", "phone", "telephone", "phonenumber", "mobile", "cellphone", "fax",
	"correo", "correoelectronico", "telefono", "celular", "movil", // es
	"courriel",                                // fr
	"telefon", "telefonnummer", "handynummer", // de
	"cellulare", "telefone", "telefoon", "telefoonnummer", // it, pt, nl
	// address
	"address", "street", "zip", "zipcode", "postcode", "postalcode",
	"direccion", "domicilio", "codigopostal", // es
	"adresse", "codepostal", // fr
	"anschrift", "strasse", "postleitzahl", "plz", // de
	"indirizzo", "endereco", "adres", // it, pt, nl
)

// nameWords are the phiTerms that can name a thing as well as a person.
var nameWords = setOf("name", "nom", "nombre", "nome", "naam")

// thingWords, right before a name word ("clinic name") or after "name of" ("name of site"),
// make it the name of that thing.
var thingWords = setOf("site", "sites", "clinic", "clinics", "facility", "location", "center", "centre",
	"hospital", "practice", "program", "programme", "study", "trial", "project", "instrument",
	"questionnaire", "form", "survey", "scale", "measure", "test", "event", "arm", "group", "cohort",
	"file", "sheet", "field", "variable", "item", "route", "setting", "session", "visit", "drug",
	"medication", "device", "organisation", "organization", "org", "institution", "unit", "ward",
	"department", "dept", "country", "state", "region", "city", "sponsor", "protocol", "column",
	"sitio", "clinica", "centro", "estudio", "instrumento", // es
	"etude", "centre", "clinique", // fr
	"klinik", "zentrum", "studie", // de
)

var ofWords = setOf("of", "de", "du", "des", "del", "di", "der", "van")

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// isPHIColumn reports whether a header name names a direct identifier (see phiTerms).
func isPHIColumn(h string) bool {
	w := headerWords(h)
	for i := range w {
		joined := ""
		for j := i; j < len(w) && j < i+5; j++ {
			joined += w[j]
			if !phiTerms[joined] {
				continue
			}
			if nameWords[joined] && (i > 0 && thingWords[w[i-1]] ||
				j+2 < len(w) && ofWords[w[j+1]] && thingWords[w[j+2]]) {
				continue // "clinic name", "name of site"
			}
			return true
		}
	}
	return false
}

// headerWords splits a header name into lower-case words without accents (see the package
// comment on identifiers).
func headerWords(h string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(norm.NFKD.String(h))
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Cf, r):
			continue // accents (split off by NFKD), zero-width and other format characters
		case r == 'ß':
			cur = append(cur, 's', 's')
			continue
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		}
		if n := len(cur); n > 0 {
			p := cur[n-1]
			switch {
			case unicode.IsLetter(p) != unicode.IsLetter(r): // letter–digit boundary
				flush()
			case unicode.IsLower(p) && unicode.IsUpper(r): // dateOf
				flush()
			case unicode.IsUpper(p) && unicode.IsUpper(r) && i+1 < len(rs) && unicode.IsLower(rs[i+1]): // SSNNumber
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

func validUTF8(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return utf8.ValidString(s[i:])
		}
	}
	return true
}

// colClass says how a column's values are checked for identifiers. What a value may look
// like depends on the column: a patient id of nine digits is an id, the same nine digits as
// a score, a date or a dose can only be an SSN.
type colClass uint8

const (
	// colSkip: a column the map drops; never read, never stored, not checked.
	colSkip colClass = iota
	// colPatient: the patient id. A bare run of digits is an id; a name or a full date
	// inside it is refused.
	colPatient
	// colID: the clinic id. A bare run of digits is an id.
	colID
	// colData: any other column a record is made from (and header cells). A bare run of 9
	// digits is refused as an SSN, of 10 to 15 digits as a phone number: no score, day,
	// date or dose has that many digits.
	colData
	// colDate: the date column: as colData, but a compact timestamp of 12 or 14 digits
	// (YYYYMMDDhhmm[ss], a map's date_format) is a date.
	colDate
	// colUndeclared: a column left out by other_columns = "drop", and header cells. Only the
	// unambiguous forms are refused: nothing of such a column is stored, and a header may be
	// a code (a SNOMED CT concept id has 6 to 18 digits).
	colUndeclared
)

// identifierIn returns what s looks like in a column of class c when it looks like a direct
// identifier, and "" otherwise. Text with non-ASCII characters is folded first (foldValue),
// so that full-width digits, other scripts' digits, no-break or zero-width spaces and Unicode
// dashes hide nothing.
func identifierIn(s string, c colClass) string {
	if c == colSkip || s == "" {
		return ""
	}
	if !isASCII(s) {
		s = foldValue(s)
	}
	if what := identifierKind(s); what != "" {
		return what
	}
	switch c {
	case colData:
		return digitRun(s)
	case colDate:
		if compactTimestamp(s) {
			return ""
		}
		return digitRun(s)
	case colPatient:
		if hasPersonName(s) {
			return "person's name"
		}
		if hasFullDate(s) {
			return "date"
		}
	}
	return ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldValue makes text with non-ASCII characters comparable with the ASCII patterns: NFKC
// (full-width letters, digits and @ become ASCII), digits of any script become 0–9, Unicode
// spaces a space, dashes and the minus sign '-', and format characters (zero-width spaces and
// joiners, soft hyphens) are removed.
func foldValue(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteByte(byte(r))
		case unicode.Is(unicode.Nd, r):
			b.WriteByte('0' + digitValue(r))
		case unicode.Is(unicode.Zs, r):
			b.WriteByte(' ')
		case unicode.Is(unicode.Pd, r) || r == '\u2212':
			b.WriteByte('-')
		case unicode.Is(unicode.Cf, r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// digitValue is the value of a decimal digit of any script. Unicode assigns each script's
// digits 0–9 to ten consecutive code points, so the value is the number of digits before r
// in its run, modulo 10.
func digitValue(r rune) byte {
	k := 0
	for unicode.Is(unicode.Nd, r-rune(k+1)) {
		k++
	}
	return byte(k % 10)
}

// identifierKind returns what a value looks like when it has an unambiguous form of a direct
// identifier — "SSN", "national id or phone number", "e-mail address" or "phone number" — and
// "" otherwise; see identifierIn for what depends on the column. It runs on every field of
// every row, so it is hand-written and rejects most values after a glance at their length or
// one byte scan. Dates (2025-03-01), integers and decimal numbers never match.
func identifierKind(s string) string {
	if len(s) < 6 {
		return ""
	}
	if strings.IndexByte(s, '@') >= 0 && hasEmail(s) {
		return "e-mail address"
	}
	if len(s) >= 11 && hasSSN(s) {
		return "SSN"
	}
	if len(s) >= 9 {
		return phoneKind(s)
	}
	return ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// hasSSN reports whether s holds ddd-dd-dddd, ddd dd dddd or ddd.dd.dddd (one separator
// throughout) not run into other digits or separators.
func hasSSN(s string) bool {
	for i := 3; i+8 <= len(s); i++ {
		sep := s[i]
		if sep != '-' && sep != ' ' && sep != '.' || s[i+3] != sep {
			continue
		}
		a := i - 3
		if a > 0 && (isDigit(s[a-1]) || s[a-1] == sep) {
			continue
		}
		if e := i + 8; e < len(s) && (isDigit(s[e]) || s[e] == sep) {
			continue
		}
		if isDigit(s[a]) && isDigit(s[a+1]) && isDigit(s[a+2]) && isDigit(s[i+1]) && isDigit(s[i+2]) &&
			isDigit(s[i+4]) && isDigit(s[i+5]) && isDigit(s[i+6]) && isDigit(s[i+7]) {
			return true
		}
	}
	return false
}

// isEmailLocal and isDomain accept the bytes of non-ASCII letters (internationalised
// addresses: josé@exämple.com, user@例え.jp).
func isEmailLocal(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || strings.IndexByte("._%+-'", c) >= 0 || c >= utf8.RuneSelf
}

func isDomain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '.' || c >= utf8.RuneSelf
}

// hasEmail reports whether s holds local@domain.tld: a non-empty local part, a domain of at
// least two labels, and a top-level label of two or more letters.
func hasEmail(s string) bool {
	for at := strings.IndexByte(s, '@'); at >= 0; {
		if at > 0 && isEmailLocal(s[at-1]) {
			e := at + 1
			for e < len(s) && isDomain(s[e]) {
				e++
			}
			d := strings.Trim(s[at+1:e], ".")
			if dot := strings.LastIndexByte(d, '.'); dot > 0 && len(d)-dot-1 >= 2 {
				tld := d[dot+1:]
				letters := true
				for i := 0; i < len(tld); i++ {
					if !(tld[i] >= 'a' && tld[i] <= 'z' || tld[i] >= 'A' && tld[i] <= 'Z' || tld[i] >= utf8.RuneSelf) {
						letters = false
						break
					}
				}
				if letters && d[0] != '-' {
					return true
				}
			}
		}
		next := strings.IndexByte(s[at+1:], '@')
		if next < 0 {
			break
		}
		at += 1 + next
	}
	return false
}

// phoneKind reports whether the whole of s (spaces around it aside) is written like a phone
// number or a national id number in groups:
//
//   - North American 3-3-4 digit groups with separators — 555-123-4567, (555) 123-4567,
//     555.123.4567, 1-555-123-4567;
//   - + followed by 8 to 15 digits, in groups or not (+1 555 123 4567, +15551234567,
//     +44 20 7946 0958);
//   - a national number with its trunk prefix 0, 9 to 12 digits in two or more groups
//     (020 7946 0958, 07700 900123, 06 12 34 56 78, 030-1234567), or with the international
//     prefix 00 (0044 20 7946 0958);
//   - three groups of three digits, one separator throughout (612 345 678, a Spanish mobile;
//     123-456-789, a Canadian SIN): "national id or phone number".
//
// A bare run of digits, and two groups joined by one '.', are numbers.
func phoneKind(s string) string {
	s = strings.TrimSpace(s)
	plus := false
	if len(s) > 0 && s[0] == '+' {
		plus = true
		s = s[1:]
	}
	if s == "" || !(isDigit(s[0]) || s[0] == '(') {
		return ""
	}
	var groups [8]int
	n, digits, open := 0, 0, 0
	var seps [8]byte // the separator before each group after the first
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isDigit(c):
			if n == len(groups) {
				return ""
			}
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			groups[n] = j - i
			digits += j - i
			n++
			i = j
			continue
		case c == '(':
			open++
			if open > 1 {
				return ""
			}
		case c == ')':
			open--
			if open < 0 {
				return ""
			}
		case c == ' ' || c == '-' || c == '.':
			if n < len(seps) && seps[n] == 0 {
				seps[n] = c
			}
		default:
			return ""
		}
		// at most two separator characters in a row: ") ", " (", "- "
		if i+2 < len(s) && !isDigit(s[i+1]) && !isDigit(s[i+2]) {
			return ""
		}
		i++
	}
	if open != 0 || n == 0 {
		return ""
	}
	g := groups[:n]
	if plus {
		if digits >= 8 && digits <= 15 {
			return "phone number"
		}
		return ""
	}
	if n < 2 || n == 2 && seps[1] == '.' {
		return ""
	}
	fd := strings.IndexAny(s, "0123456789") // the first digit: "(020) …" has its trunk 0 inside
	trunk := s[fd] == '0'
	intl := trunk && g[0] >= 2 && s[fd+1] == '0'
	switch {
	case n == 3 && g[0] == 3 && g[1] == 3 && g[2] == 4:
		return "phone number"
	case n == 4 && g[0] == 1 && s[fd] == '1' && g[1] == 3 && g[2] == 3 && g[3] == 4:
		return "phone number"
	case intl && digits >= 11 && digits <= 17:
		return "phone number"
	case trunk && digits >= 9 && digits <= 12:
		return "phone number"
	case n == 3 && g[0] == 3 && g[1] == 3 && g[2] == 3 && seps[1] == seps[2] && seps[1] != 0:
		return "national id or phone number"
	}
	return ""
}

// digitRun returns "SSN" for a bare run of 9 digits and "phone number" for one of 10 to 15
// (spaces around it and a zero fraction aside: "123456789.0" is read as 123456789), "" for
// anything else. It applies to columns that cannot hold such a number (colData).
func digitRun(s string) string {
	s = strings.TrimSpace(s)
	if len(s) < 9 {
		return ""
	}
	s = normNumber(s)
	if len(s) < 9 || len(s) > 15 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return ""
		}
	}
	if len(s) == 9 {
		return "SSN"
	}
	return "phone number"
}

// compactTimestamp reports whether s is YYYYMMDDhhmm or YYYYMMDDhhmmss with a year 1900–2099,
// a month 01–12 and a day 01–31.
func compactTimestamp(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) != 12 && len(s) != 14 || !(strings.HasPrefix(s, "19") || strings.HasPrefix(s, "20")) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	m, d := (s[4]-'0')*10+s[5]-'0', (s[6]-'0')*10+s[7]-'0'
	return m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// hasPersonName reports whether a patient id holds a common given name or surname as a word
// of four letters or more (words split at non-letters and camelCase: "smith_john",
// "JohnSmith-01"), or a surname with one initial before or after it ("JSMITH", "smithj").
func hasPersonName(s string) bool {
	for i := 0; i < len(s); {
		if !isLetter(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isLetter(s[j]) && !(isLower(s[j-1]) && isUpper(s[j])) {
			j++
		}
		if j-i >= 4 {
			w := strings.ToLower(s[i:j])
			if givenNames[w] || surnames[w] || j-i >= 5 && (surnames[w[1:]] || surnames[w[:len(w)-1]]) {
				return true
			}
		}
		i = j
	}
	return false
}

func isLetter(c byte) bool { return isLower(c) || isUpper(c) }
func isLower(c byte) bool  { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool  { return c >= 'A' && c <= 'Z' }

// hasFullDate reports whether s holds a full calendar date with a four-digit year from 1900
// to 2099, its parts separated by one of - / . throughout: YYYY-MM-DD, DD/MM/YYYY,
// MM/DD/YYYY, DD.MM.YYYY and the like, not run into other digits. Eight digits without
// separators are not taken for a date (numeric ids such as 20000123 are common).
func hasFullDate(s string) bool {
	if len(s) < 8 {
		return false
	}
	type group struct{ start, end, v int } // digits s[start:end], their value (up to 6 digits)
	var a, b group                         // the two groups before the current one
	n := 0                                 // groups seen
	valid := func(y, m, d int) bool {
		if y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 {
			return false
		}
		return d <= [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	}
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		c := group{start: i}
		for i < len(s) && isDigit(s[i]) {
			if i-c.start < 6 {
				c.v = c.v*10 + int(s[i]-'0')
			}
			i++
		}
		c.end = i
		if n++; n >= 3 {
			sep := s[a.end]
			if (sep == '-' || sep == '/' || sep == '.') && b.start == a.end+1 && c.start == b.end+1 && s[b.end] == sep {
				na, nb, nc := a.end-a.start, b.end-b.start, c.end-c.start
				switch {
				case na == 4 && nb <= 2 && nc <= 2 && valid(a.v, b.v, c.v): // YYYY-MM-DD
					return true
				case na <= 2 && nb <= 2 && nc == 4 && (valid(c.v, b.v, a.v) || valid(c.v, a.v, b.v)): // DD/MM/YYYY, MM/DD/YYYY
					return true
				}
			}
		}
		a, b = b, c
	}
	return false
}
