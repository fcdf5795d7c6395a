package config

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Property is one key/value pair of a .properties file. Line is the 1-based
// line on which its logical line starts.
type Property struct {
	Key   string
	Value string
	Line  int
}

// ParseProperties reads the Java .properties format exactly as
// java.util.Properties.load does (see doc.go for the grammar): comments
// starting with # or !, key=value, key:value and "key value", leading
// whitespace, logical lines continued by an odd number of trailing
// backslashes, and the escapes \t \n \r \f \uXXXX (any other escaped
// character stands for itself). It returns the pairs in file order;
// duplicates are kept, and a later one overrides an earlier one when the
// caller builds a map. The only error is a malformed \uXXXX escape.
//
// Java reads a byte stream as ISO-8859-1; Samsa reads UTF-8, which agrees
// for the ASCII files Kafka configs are in practice, and \uXXXX escapes work
// in both. Invalid UTF-8 in keys or values is replaced by U+FFFD.
func ParseProperties(data []byte) ([]Property, error) {
	lines := naturalLines(string(data))
	var out []Property
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := trimLeadingPropSpace(lines[i])
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue // blank or comment: comments never continue
		}
		if oddTrailingBackslashes(line) {
			// Join continuation lines in one buffer, tracking the run of
			// trailing backslashes so that long chains stay linear.
			buf := []byte(line)
			trail := trailingBackslashes(line)
			for trail%2 == 1 {
				buf = buf[:len(buf)-1]
				trail--
				if i+1 >= len(lines) {
					break // a continuation at end of input just ends the line
				}
				i++
				next := trimLeadingPropSpace(lines[i])
				buf = append(buf, next...)
				if n := trailingBackslashes(next); n == len(next) {
					trail += n
				} else {
					trail = n
				}
			}
			line = string(buf)
		}
		rawKey, rawValue := splitKeyValue(line)
		key, err := unescapeProperty(rawKey)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrMalformed, start, err)
		}
		value, err := unescapeProperty(rawValue)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrMalformed, start, err)
		}
		out = append(out, Property{Key: key, Value: value, Line: start})
	}
	return out, nil
}

// naturalLines splits on \n, \r and \r\n, as Java's LineReader does.
func naturalLines(s string) []string {
	var lines []string
	for len(s) > 0 {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i])
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
	return lines
}

func isPropSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

func trimLeadingPropSpace(s string) string {
	i := 0
	for i < len(s) && isPropSpace(s[i]) {
		i++
	}
	return s[i:]
}

func oddTrailingBackslashes(s string) bool { return trailingBackslashes(s)%2 == 1 }

func trailingBackslashes(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n
}

// splitKeyValue is Properties.load0's scan: the key ends at the first
// unescaped '=', ':' or whitespace; then whitespace, at most one '=' or ':',
// and more whitespace are skipped; the rest is the value (trailing
// whitespace kept).
func splitKeyValue(line string) (key, value string) {
	keyLen, valueStart, hasSep := 0, len(line), false
	backslash := false
	for keyLen < len(line) {
		c := line[keyLen]
		if (c == '=' || c == ':') && !backslash {
			valueStart, hasSep = keyLen+1, true
			break
		}
		if isPropSpace(c) && !backslash {
			valueStart = keyLen + 1
			break
		}
		if c == '\\' {
			backslash = !backslash
		} else {
			backslash = false
		}
		keyLen++
	}
	for valueStart < len(line) {
		c := line[valueStart]
		if !isPropSpace(c) {
			if !hasSep && (c == '=' || c == ':') {
				hasSep = true
			} else {
				break
			}
		}
		valueStart++
	}
	return line[:keyLen], line[valueStart:]
}

// unescapeProperty is Properties.loadConvert: \t \n \r \f, \uXXXX (UTF-16
// code units, surrogate pairs combined), and \c for any other c.
func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return strings.ToValidUTF8(s, "\uFFFD"), nil
	}
	var b strings.Builder
	var pendingHigh rune = -1 // a high surrogate waiting for its low half
	flush := func() {
		if pendingHigh >= 0 {
			b.WriteRune(utf8.RuneError)
			pendingHigh = -1
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			flush()
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			break // a lone trailing backslash escapes nothing
		}
		c = s[i]
		switch c {
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf(`malformed \uxxxx encoding: %q`, s[i-1:])
			}
			var r rune
			for _, h := range []byte(s[i+1 : i+5]) {
				var d byte
				switch {
				case h >= '0' && h <= '9':
					d = h - '0'
				case h >= 'a' && h <= 'f':
					d = h - 'a' + 10
				case h >= 'A' && h <= 'F':
					d = h - 'A' + 10
				default:
					return "", fmt.Errorf(`malformed \uxxxx encoding: %q`, s[i-1:i+5])
				}
				r = r<<4 | rune(d)
			}
			i += 4
			switch {
			case utf16.IsSurrogate(r) && r < 0xDC00: // high half
				flush()
				pendingHigh = r
			case utf16.IsSurrogate(r): // low half
				if pendingHigh >= 0 {
					b.WriteRune(utf16.DecodeRune(pendingHigh, r))
					pendingHigh = -1
				} else {
					b.WriteRune(utf8.RuneError)
				}
			default:
				flush()
				b.WriteRune(r)
			}
			continue
		case 't':
			c = '\t'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 'f':
			c = '\f'
		}
		flush()
		b.WriteByte(c)
	}
	flush()
	return strings.ToValidUTF8(b.String(), "\uFFFD"), nil
}

// FormatProperties writes pairs in the .properties format as Java's
// Properties.store escapes them (without the date comment), one "key=value"
// line each: backslash, tab, newline, carriage return and form feed as
// escapes; '=', ':', '#' and '!' escaped; spaces escaped in keys and at the
// start of values; other characters outside printable ASCII as \uXXXX.
// ParseProperties reads the output back to the same pairs.
func FormatProperties(props []Property) []byte {
	var b strings.Builder
	for _, p := range props {
		escapeProperty(&b, p.Key, true)
		b.WriteByte('=')
		escapeProperty(&b, p.Value, false)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func escapeProperty(b *strings.Builder, s string, isKey bool) {
	for i, r := range s {
		switch r {
		case ' ':
			if isKey || i == 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(' ')
		case '\\':
			b.WriteString(`\\`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\f':
			b.WriteString(`\f`)
		case '=', ':', '#', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			if r < 0x20 || r > 0x7e {
				for _, u := range utf16.Encode([]rune{r}) {
					fmt.Fprintf(b, `\u%04X`, u)
				}
			} else {
				b.WriteRune(r)
			}
		}
	}
}
