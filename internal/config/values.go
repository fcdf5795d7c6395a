package config

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Value is a parsed config value of one Type, or null. The zero Value is an
// unknown-typed null. Values are immutable; List returns a copy.
type Value struct {
	t    Type
	null bool
	b    bool
	i    int64 // int, short, long
	f    float64
	s    string // string, class, password
	l    []string
}

// Type returns the value's type.
func (v Value) Type() Type { return v.t }

// IsNull reports a null value (a config with no default that was not set).
func (v Value) IsNull() bool { return v.null || v.t == TypeUnknown }

// Bool returns a boolean value (false for null or another type).
func (v Value) Bool() bool { return v.b }

// Int returns an int or short value as int32.
func (v Value) Int() int32 { return int32(v.i) }

// Short returns a short value.
func (v Value) Short() int16 { return int16(v.i) }

// Long returns an int, short or long value as int64.
func (v Value) Long() int64 { return v.i }

// Double returns a double value.
func (v Value) Double() float64 { return v.f }

// Str returns a string, class or password value; for passwords this is the
// secret itself, so never log it.
func (v Value) Str() string { return v.s }

// List returns a copy of a list value (nil for null).
func (v Value) List() []string { return slices.Clone(v.l) }

// Canonical returns the value in Kafka's string form (ConfigDef.convertToString):
// lists comma-joined without spaces, doubles as Java prints them, passwords in
// clear. ok is false for null.
func (v Value) Canonical() (s string, ok bool) {
	if v.IsNull() {
		return "", false
	}
	switch v.t {
	case TypeBoolean:
		return strconv.FormatBool(v.b), true
	case TypeInt, TypeShort, TypeLong:
		return strconv.FormatInt(v.i, 10), true
	case TypeDouble:
		return formatJavaDouble(v.f), true
	case TypeList:
		return strings.Join(v.l, ","), true
	default:
		return v.s, true
	}
}

// String returns the canonical form, "null" for null, and "[hidden]" for
// passwords (as Kafka's Password.toString) so Values are safe to log.
func (v Value) String() string {
	if v.t == TypePassword && !v.IsNull() {
		return "[hidden]"
	}
	s, ok := v.Canonical()
	if !ok {
		return "null"
	}
	return s
}

// Equal reports whether two values have the same type and content.
func (v Value) Equal(o Value) bool {
	if v.t != o.t || v.IsNull() != o.IsNull() {
		return false
	}
	a, _ := v.Canonical()
	b, _ := o.Canonical()
	return a == b
}

// BoolValue, IntValue, ... build Values; they exist for tests and for callers
// that compute a value rather than parse one.
func BoolValue(b bool) Value { return Value{t: TypeBoolean, b: b} }

// IntValue builds an int Value.
func IntValue(i int32) Value { return Value{t: TypeInt, i: int64(i)} }

// LongValue builds a long Value.
func LongValue(i int64) Value { return Value{t: TypeLong, i: i} }

// StringValue builds a string Value.
func StringValue(s string) Value { return Value{t: TypeString, s: s} }

// ListValue builds a list Value from a copy of l.
func ListValue(l []string) Value { return Value{t: TypeList, l: slices.Clone(l)} }

// errNotNumber and friends carry Kafka's ConfigDef.parseType wording.
var (
	errBool = errors.New("Expected value to be either true or false")
)

func errNumber(t Type) error {
	// Kafka: "Not a number of type INT".
	return errors.New("Not a number of type " + strings.ToUpper(t.String()))
}

// parseValue converts raw to a value of type t exactly as Kafka's
// ConfigDef.parseType does for a String input: the input is trimmed (Java's
// String.trim, which strips every char <= U+0020) and then parsed.
func parseValue(t Type, raw string) (Value, error) {
	s := javaTrim(raw)
	v := Value{t: t}
	switch t {
	case TypeBoolean:
		switch {
		case strings.EqualFold(s, "true"):
			v.b = true
		case strings.EqualFold(s, "false"):
		default:
			return Value{}, errBool
		}
	case TypeString, TypeClass, TypePassword:
		v.s = s
	case TypeInt, TypeShort, TypeLong:
		bits := map[Type]int{TypeInt: 32, TypeShort: 16, TypeLong: 64}[t]
		if !isJavaInteger(s) {
			return Value{}, errNumber(t)
		}
		n, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			return Value{}, errNumber(t)
		}
		v.i = n
	case TypeDouble:
		f, err := parseJavaDouble(s)
		if err != nil {
			return Value{}, errNumber(t)
		}
		v.f = f
	case TypeList:
		v.l = splitList(s)
	default:
		return Value{}, errors.New("unknown type")
	}
	return v, nil
}

// javaTrim is Java's String.trim: it removes leading and trailing chars whose
// code is <= U+0020 (space and every ASCII control character).
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// isJavaInteger accepts what Integer.parseInt/Long.parseLong accept: an
// optional sign followed by ASCII digits (strconv would also take "_").
func isJavaInteger(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseJavaDouble accepts Java's Double.parseDouble syntax for decimal input:
// an optional sign, digits with an optional point and exponent, an optional
// trailing type suffix (d, D, f, F), or NaN / Infinity.
func parseJavaDouble(s string) (float64, error) {
	body := s
	if body != "" && (body[0] == '+' || body[0] == '-') {
		body = body[1:]
	}
	switch body {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		if s[0] == '-' {
			return math.Inf(-1), nil
		}
		return math.Inf(1), nil
	}
	if n := len(s); n > 0 && strings.ContainsRune("dDfF", rune(s[n-1])) {
		s = s[:n-1]
	}
	digits, dot, exp := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && !exp:
			dot = true
		case (c == 'e' || c == 'E') && !exp && digits > 0:
			exp = true
			if i+1 < len(s) && (s[i+1] == '+' || s[i+1] == '-') {
				i++
			}
			if i+1 >= len(s) {
				return 0, errors.New("bad exponent")
			}
		case (c == '+' || c == '-') && i == 0:
		default:
			return 0, errors.New("not a number")
		}
	}
	if digits == 0 {
		return 0, errors.New("not a number")
	}
	f, err := strconv.ParseFloat(s, 64)
	if errors.Is(err, strconv.ErrRange) {
		// Java rounds out-of-range input to Infinity or zero instead of failing.
		return f, nil
	}
	return f, err
}

// formatJavaDouble prints f as Java's Double.toString does: plain decimal with
// at least one fractional digit for 1e-3 <= |f| < 1e7, otherwise computerized
// scientific notation ("1.0E7", "1.7976931348623157E308", "1.0E-4").
func formatJavaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // e.g. "1.7976931348623157E+308", "1E-04"
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(exp, "+-0")
	if exp == "" {
		exp = "0"
	}
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}

// splitList splits a trimmed list value as Kafka does: empty means the empty
// list; otherwise split on commas with any surrounding whitespace
// (Pattern "\s*,\s*" with limit -1, so empty elements are kept).
func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.TrimFunc(p, isJavaRegexSpace)
	}
	return parts
}

// isJavaRegexSpace matches Java's regex \s: [ \t\n\x0B\f\r].
func isJavaRegexSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

// MsDuration converts a millisecond count to a time.Duration, saturating at
// the largest Duration so Kafka's "Long.MAX_VALUE means never" settings do
// not overflow. Negative values (Kafka's -1 "unlimited") come back negative.
func MsDuration(ms int64) time.Duration {
	const maxMs = math.MaxInt64 / int64(time.Millisecond)
	switch {
	case ms > maxMs:
		return time.Duration(math.MaxInt64)
	case ms < -maxMs:
		return time.Duration(math.MinInt64)
	}
	return time.Duration(ms) * time.Millisecond
}
