package source

import (
	"strings"
	"unicode/utf8"
)

// Direct identifiers (SPEC 3.3). Inputs are meant to be de-identified; a file whose header names
// one of these, or whose values look like one, is refused whole unless a map drops the column.

// phiColumns are header names that identify a person directly.
var phiColumns = []string{"name", "first_name", "firstname", "last_name", "lastname", "surname", "full_name",
	"dob", "birth_date", "birthdate", "date_of_birth", "ssn", "social_security", "mrn", "medical_record_number",
	"email", "e_mail", "phone", "telephone", "mobile", "address", "street", "zip", "zipcode", "zip_code", "postcode"}

// isPHIColumn reports whether a header name names a direct identifier: one of phiColumns,
// alone or as a word of a name joined by _, - or spaces ("patient_email", "dob-2").
func isPHIColumn(h string) bool {
	n := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(h)))
	for _, p := range phiColumns {
		if n == p || strings.HasPrefix(n, p+"_") || strings.HasSuffix(n, "_"+p) || strings.Contains(n, "_"+p+"_") {
			return true
		}
	}
	return false
}

func validUTF8(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return utf8.ValidString(s[i:])
		}
	}
	return true
}

// identifierKind returns what a value looks like when it looks like a direct identifier —
// "SSN", "e-mail address" or "phone number" — and "" otherwise. It runs on every field of
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
	if len(s) >= 10 && isPhone(s) {
		return "phone number"
	}
	return ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// hasSSN reports whether s holds ddd-dd-dddd not run into other digits or dashes.
func hasSSN(s string) bool {
	for i := 3; i+8 <= len(s); i++ {
		if s[i] != '-' || s[i+3] != '-' {
			continue
		}
		a := i - 3
		if a > 0 && (isDigit(s[a-1]) || s[a-1] == '-') {
			continue
		}
		if e := i + 8; e < len(s) && (isDigit(s[e]) || s[e] == '-') {
			continue
		}
		if isDigit(s[a]) && isDigit(s[a+1]) && isDigit(s[a+2]) && isDigit(s[i+1]) && isDigit(s[i+2]) &&
			isDigit(s[i+4]) && isDigit(s[i+5]) && isDigit(s[i+6]) && isDigit(s[i+7]) {
			return true
		}
	}
	return false
}

func isEmailLocal(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || strings.IndexByte("._%+-'", c) >= 0
}

func isDomain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '.'
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
					if !(tld[i] >= 'a' && tld[i] <= 'z' || tld[i] >= 'A' && tld[i] <= 'Z') {
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

// isPhone reports whether the whole of s (spaces around it aside) is written like a phone
// number: North American 3-3-4 digit groups with separators — 555-123-4567, (555) 123-4567,
// 555.123.4567, 1-555-123-4567 — or a + followed by 8 to 15 digits in two or more groups
// (+1 555 123 4567, +44 20 7946 0958). A bare run of digits is a number, not a phone.
func isPhone(s string) bool {
	s = strings.TrimSpace(s)
	plus := false
	if len(s) > 0 && s[0] == '+' {
		plus = true
		s = s[1:]
	}
	var groups [8]int
	n, digits, open := 0, 0, 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isDigit(c):
			if n == len(groups) {
				return false
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
				return false
			}
		case c == ')':
			open--
			if open < 0 {
				return false
			}
		case c == ' ' || c == '-' || c == '.':
		default:
			return false
		}
		// at most two separator characters in a row: ") ", " (", "- "
		if i+2 < len(s) && !isDigit(s[i+1]) && !isDigit(s[i+2]) {
			return false
		}
		i++
	}
	if open != 0 || n < 2 {
		return false
	}
	g := groups[:n]
	if plus {
		return digits >= 8 && digits <= 15
	}
	switch {
	case n == 3 && g[0] == 3 && g[1] == 3 && g[2] == 4:
		return true
	case n == 4 && g[0] == 1 && s[0] == '1' && g[1] == 3 && g[2] == 3 && g[3] == 4:
		return true
	}
	return false
}
