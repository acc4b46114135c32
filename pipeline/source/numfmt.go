package source

import (
	"math"
	"strconv"
	"strings"
)

// numFormat is a custom XLSX number format made of digit placeholders and literal text — the
// kind that shows 123456789 as 123-45-6789 (Excel's "Social Security Number" format
// 000-00-0000) or 5551234567 as (555) 123-4567 (the "Phone Number" format
// [<=9999999]###-####;(###) ###-####). Only such formats are kept: kapstat reads cells raw,
// and renders these only to check what a reader of the workbook would see.
type numFormat struct {
	sections []fmtSection
}

type fmtSection struct {
	cond    string // "", "<", "<=", ">", ">=", "=", "<>"
	condVal float64
	parts   []fmtPart
	text    bool // a text section (@): not for numbers
}

// fmtPart is literal text, or a digit placeholder (0, # or ?) when ph is set.
type fmtPart struct {
	lit string
	ph  byte
}

// compileNumFormat returns the format of code when every section is placeholders and
// literals (no decimal point, thousands separator, percent, exponent or date part), and nil
// otherwise.
func compileNumFormat(code string) *numFormat {
	if code == "" || strings.EqualFold(code, "General") {
		return nil
	}
	var nf numFormat
	for _, sec := range splitSections(code) {
		s, ok := compileSection(sec)
		if !ok {
			return nil
		}
		nf.sections = append(nf.sections, s)
	}
	placeholders := false
	for _, s := range nf.sections {
		for _, p := range s.parts {
			placeholders = placeholders || p.ph != 0
		}
	}
	if !placeholders {
		return nil
	}
	return &nf
}

// splitSections splits a format code at the semicolons outside quotes and escapes.
func splitSections(code string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '\\':
			i++
		case c == ';':
			out = append(out, code[start:i])
			start = i + 1
		}
	}
	return append(out, code[start:])
}

func compileSection(sec string) (fmtSection, bool) {
	var s fmtSection
	lit := func(t string) {
		if n := len(s.parts); n > 0 && s.parts[n-1].ph == 0 {
			s.parts[n-1].lit += t
			return
		}
		s.parts = append(s.parts, fmtPart{lit: t})
	}
	for i := 0; i < len(sec); i++ {
		c := sec[i]
		switch {
		case c == '"':
			j := strings.IndexByte(sec[i+1:], '"')
			if j < 0 {
				return s, false
			}
			lit(sec[i+1 : i+1+j])
			i += j + 1
		case c == '\\' && i+1 < len(sec):
			lit(sec[i+1 : i+2])
			i++
		case c == '_' && i+1 < len(sec): // a space as wide as the next character
			lit(" ")
			i++
		case c == '*' && i+1 < len(sec): // fill with the next character: nothing here
			i++
		case c == '[':
			j := strings.IndexByte(sec[i:], ']')
			if j < 0 {
				return s, false
			}
			inner := sec[i+1 : i+j]
			i += j
			if op, val, ok := condition(inner); ok {
				s.cond, s.condVal = op, val
				continue
			}
			if h := strings.ToLower(inner); h != "" && strings.Trim(h, "hms") == "" {
				return s, false // elapsed time
			}
			// a colour or a locale: no text
		case c == '0' || c == '#' || c == '?':
			s.parts = append(s.parts, fmtPart{ph: c})
		case c == '@':
			s.text = true
		case strings.IndexByte(" -+()/:$!^&'~{}<>=", c) >= 0:
			lit(string(c))
		default: // . , % E and date letters: not the kind of format checked here
			return s, false
		}
	}
	return s, true
}

func condition(inner string) (string, float64, bool) {
	for _, op := range []string{"<=", ">=", "<>", "<", ">", "="} {
		if strings.HasPrefix(inner, op) {
			v, err := strconv.ParseFloat(strings.TrimSpace(inner[len(op):]), 64)
			return op, v, err == nil
		}
	}
	return "", 0, false
}

func (s *fmtSection) matches(v float64) bool {
	switch s.cond {
	case "<":
		return v < s.condVal
	case "<=":
		return v <= s.condVal
	case ">":
		return v > s.condVal
	case ">=":
		return v >= s.condVal
	case "=":
		return v == s.condVal
	case "<>":
		return v != s.condVal
	}
	return true
}

// display returns the text the format shows for the raw cell value v, when v is an integer
// (the numbers shown as identifiers are), and false otherwise. The section is chosen as
// Excel does: by the conditions when there are any, else positive; negative; zero.
func (nf *numFormat) display(v string) (string, bool) {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x != math.Trunc(x) || math.Abs(x) >= 1e15 {
		return "", false
	}
	var num []*fmtSection
	for i := range nf.sections {
		if !nf.sections[i].text {
			num = append(num, &nf.sections[i])
		}
	}
	if len(num) == 0 {
		return "", false
	}
	var sec *fmtSection
	sign := x < 0
	conditional := false
	for _, s := range num {
		if s.cond != "" {
			conditional = true
			if sec == nil && s.matches(x) {
				sec = s
			}
		}
	}
	switch {
	case conditional:
		for _, s := range num {
			if sec == nil && s.cond == "" {
				sec = s
			}
		}
		if sec == nil {
			return "", false
		}
	case x < 0 && len(num) >= 2:
		sec, sign = num[1], false
	case x == 0 && len(num) >= 3:
		sec = num[2]
	default:
		sec = num[0]
	}
	digits := ""
	if x != 0 {
		digits = strconv.FormatInt(int64(math.Abs(x)), 10)
	}
	k := 0
	for _, p := range sec.parts {
		if p.ph != 0 {
			k++
		}
	}
	// Digits fill the placeholders from the right; digits beyond them go with the first.
	out := make([]string, len(sec.parts))
	d := len(digits)
	for i := len(sec.parts) - 1; i >= 0; i-- {
		p := sec.parts[i]
		if p.ph == 0 {
			out[i] = p.lit
			continue
		}
		k--
		switch {
		case k == 0 && d > 0:
			out[i], d = digits[:d], 0
		case d > 0:
			out[i] = digits[d-1 : d]
			d--
		case p.ph == '0':
			out[i] = "0"
		case p.ph == '?':
			out[i] = " "
		}
	}
	text := strings.Join(out, "")
	if sign {
		text = "-" + text
	}
	return text, true
}
