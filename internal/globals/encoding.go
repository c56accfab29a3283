package globals

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"

	"github.com/dop251/goja"
)

// Text codecs for TextEncoder/TextDecoder, atob/btoa and Buffer's string
// encodings. Decoders produce UTF-16 code units (goja's string form), so
// what JS sees is exactly what Node.js produces, lone surrogates included.

// encodingName is the WHATWG encoding a TextDecoder label names ("" when
// the label names none this runtime supports).
func encodingName(label string) string {
	l := strings.ToLower(strings.Trim(label, "\t\n\f\r "))
	switch l {
	case "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8":
		return "utf-8"
	case "csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16", "utf-16le":
		return "utf-16le"
	case "unicodefffe", "utf-16be":
		return "utf-16be"
	case "ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100",
		"iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252", "x-cp1252":
		return "windows-1252"
	}
	return ""
}

// utf8Decode decodes b as the WHATWG UTF-8 decoder does: each maximal
// invalid subpart becomes one U+FFFD (or, with fatal, ok is false). With
// stream, an incomplete sequence at the end is returned as rest instead.
func utf8Decode(out []uint16, b []byte, stream, fatal bool) (res []uint16, rest []byte, ok bool) {
	const repl = 0xFFFD
	i := 0
	for i < len(b) {
		c := b[i]
		if c < 0x80 {
			out = append(out, uint16(c))
			i++
			continue
		}
		var need int
		var cp rune
		lower, upper := byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need, cp = 1, rune(c&0x1F)
		case c >= 0xE0 && c <= 0xEF:
			if c == 0xE0 {
				lower = 0xA0
			}
			if c == 0xED {
				upper = 0x9F
			}
			need, cp = 2, rune(c&0x0F)
		case c >= 0xF0 && c <= 0xF4:
			if c == 0xF0 {
				lower = 0x90
			}
			if c == 0xF4 {
				upper = 0x8F
			}
			need, cp = 3, rune(c&0x07)
		default:
			if fatal {
				return out, nil, false
			}
			out = append(out, repl)
			i++
			continue
		}
		j := i + 1
		bad := false
		for k := 0; k < need; k++ {
			if j >= len(b) {
				if stream {
					return out, b[i:], true
				}
				bad = true
				break
			}
			d := b[j]
			if d < lower || d > upper {
				bad = true
				break
			}
			lower, upper = 0x80, 0xBF
			cp = cp<<6 | rune(d&0x3F)
			j++
		}
		if bad {
			if fatal {
				return out, nil, false
			}
			out = append(out, repl)
			i = j
			continue
		}
		out = appendRune16(out, cp)
		i = j
	}
	return out, nil, true
}

func appendRune16(out []uint16, r rune) []uint16 {
	if r >= 0x10000 {
		r1, r2 := utf16.EncodeRune(r)
		return append(out, uint16(r1), uint16(r2))
	}
	return append(out, uint16(r))
}

// utf16Decode decodes UTF-16 (little- or big-endian) bytes; a lone
// surrogate becomes U+FFFD (or fails with fatal). With stream, a trailing
// odd byte or high surrogate is returned as rest.
func utf16Decode(out []uint16, b []byte, bigEndian, stream, fatal bool) (res []uint16, rest []byte, ok bool) {
	unit := func(i int) uint16 {
		if bigEndian {
			return uint16(b[i])<<8 | uint16(b[i+1])
		}
		return uint16(b[i+1])<<8 | uint16(b[i])
	}
	i := 0
	for ; i+1 < len(b); i += 2 {
		u := unit(i)
		switch {
		case u >= 0xD800 && u <= 0xDBFF:
			if i+3 < len(b) {
				if v := unit(i + 2); v >= 0xDC00 && v <= 0xDFFF {
					out = append(out, u, v)
					i += 2
					continue
				}
			} else if stream {
				return out, b[i:], true
			}
			if fatal {
				return out, nil, false
			}
			out = append(out, 0xFFFD)
		case u >= 0xDC00 && u <= 0xDFFF:
			if fatal {
				return out, nil, false
			}
			out = append(out, 0xFFFD)
		default:
			out = append(out, u)
		}
	}
	if i < len(b) {
		if stream {
			return out, b[i:], true
		}
		if fatal {
			return out, nil, false
		}
		out = append(out, 0xFFFD)
	}
	return out, nil, true
}

// windows1252High maps bytes 0x80-0x9F as the WHATWG windows-1252 index
// does (the encoding "latin1" and "ascii" name in TextDecoder).
var windows1252High = [32]uint16{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
}

func windows1252Decode(out []uint16, b []byte) []uint16 {
	for _, c := range b {
		if c >= 0x80 && c <= 0x9F {
			out = append(out, windows1252High[c-0x80])
		} else {
			out = append(out, uint16(c))
		}
	}
	return out
}

// textDecoder is a TextDecoder's state (loop goroutine only).
type textDecoder struct {
	enc              string
	fatal, ignoreBOM bool
	pending          []byte
	bomDone          bool // the stream's start (and its BOM) has been handled
}

// decode decodes input (following what earlier stream calls left), as
// TextDecoder.prototype.decode does. ok is false on invalid input with
// fatal; the decoder is then reset.
func (d *textDecoder) decode(input []byte, stream bool) (units []uint16, ok bool) {
	data := input
	if len(d.pending) > 0 {
		data = append(append([]byte(nil), d.pending...), input...)
	}
	d.pending = nil
	var rest []byte
	units = make([]uint16, 0, len(data))
	ok = true
	switch d.enc {
	case "utf-16le", "utf-16be":
		units, rest, ok = utf16Decode(units, data, d.enc == "utf-16be", stream, d.fatal)
	case "windows-1252":
		units = windows1252Decode(units, data)
	default:
		units, rest, ok = utf8Decode(units, data, stream, d.fatal)
	}
	if !ok {
		d.bomDone = false
		return nil, false
	}
	if !d.bomDone && len(units) > 0 {
		d.bomDone = true
		if !d.ignoreBOM && units[0] == 0xFEFF && d.enc != "windows-1252" {
			units = units[1:]
		}
	}
	if stream {
		d.pending = append([]byte(nil), rest...)
	} else {
		d.bomDone = false
	}
	return units, true
}

// forgivingBase64Decode is atob's decoding (the HTML standard's forgiving
// base64): ASCII whitespace is ignored, padding is optional, anything else
// outside the alphabet is an error.
func forgivingBase64Decode(s string) ([]byte, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\t', '\n', '\f', '\r', ' ':
		default:
			b.WriteByte(c)
		}
	}
	t := b.String()
	if len(t)%4 == 0 {
		t = strings.TrimSuffix(t, "=")
		t = strings.TrimSuffix(t, "=")
	}
	if len(t)%4 == 1 {
		return nil, false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return nil, false
		}
	}
	out, err := base64.RawStdEncoding.DecodeString(t)
	if err != nil {
		return nil, false
	}
	return out, true
}

// latin1Units returns s's UTF-16 code units as bytes, or false if one is
// above 0xFF (btoa's rule).
func latin1Units(s goja.String) ([]byte, bool) {
	n := s.Length()
	out := make([]byte, n)
	for i := 0; i < n; i++ {
		c := s.CharAt(i)
		if c > 0xFF {
			return nil, false
		}
		out[i] = byte(c)
	}
	return out, true
}

// bytesToLatin1 makes the string whose code units are b's bytes.
func bytesToLatin1(b []byte) goja.String {
	units := make([]uint16, len(b))
	for i, c := range b {
		units[i] = uint16(c)
	}
	return goja.StringFromUTF16(units)
}

// Buffer string encodings (Node.js's names, normalized by the JS side to
// utf8, hex, base64, base64url, latin1, ascii, utf16le).

// bufferEncode converts s to bytes in enc, as Buffer.from(s, enc) does.
func bufferEncode(s goja.String, enc string) []byte {
	switch enc {
	case "hex":
		str := s.String()
		out := make([]byte, 0, len(str)/2)
		for i := 0; i+1 < len(str); i += 2 {
			hi, ok1 := unhex(str[i])
			lo, ok2 := unhex(str[i+1])
			if !ok1 || !ok2 {
				break
			}
			out = append(out, hi<<4|lo)
		}
		return out
	case "base64", "base64url":
		str := s.String()
		var b strings.Builder
		for i := 0; i < len(str); i++ {
			c := str[i]
			switch {
			case c == '=':
				i = len(str)
			case c == '-':
				b.WriteByte('+')
			case c == '_':
				b.WriteByte('/')
			case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/':
				b.WriteByte(c)
			}
		}
		t := b.String()
		if len(t)%4 == 1 {
			t = t[:len(t)-1]
		}
		out, _ := base64.RawStdEncoding.DecodeString(t)
		return out
	case "latin1", "ascii":
		n := s.Length()
		out := make([]byte, n)
		for i := 0; i < n; i++ {
			out[i] = byte(s.CharAt(i))
		}
		return out
	case "utf16le":
		n := s.Length()
		out := make([]byte, 2*n)
		for i := 0; i < n; i++ {
			c := s.CharAt(i)
			out[2*i], out[2*i+1] = byte(c), byte(c>>8)
		}
		return out
	}
	return []byte(s.String()) // utf8: lone surrogates become U+FFFD
}

// bufferDecode converts b to a string in enc, as buf.toString(enc) does.
func bufferDecode(b []byte, enc string) goja.Value {
	switch enc {
	case "hex":
		const digits = "0123456789abcdef"
		out := make([]byte, 2*len(b))
		for i, c := range b {
			out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
		}
		return goja.StringFromUTF16(asciiUnits(out))
	case "base64":
		return goja.StringFromUTF16(asciiUnits([]byte(base64.StdEncoding.EncodeToString(b))))
	case "base64url":
		return goja.StringFromUTF16(asciiUnits([]byte(base64.RawURLEncoding.EncodeToString(b))))
	case "latin1":
		return bytesToLatin1(b)
	case "ascii":
		units := make([]uint16, len(b))
		for i, c := range b {
			units[i] = uint16(c & 0x7F)
		}
		return goja.StringFromUTF16(units)
	case "utf16le":
		units := make([]uint16, len(b)/2)
		for i := range units {
			units[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
		return goja.StringFromUTF16(units)
	}
	units, _, _ := utf8Decode(make([]uint16, 0, len(b)), b, false, false)
	return goja.StringFromUTF16(units)
}

func asciiUnits(b []byte) []uint16 {
	u := make([]uint16, len(b))
	for i, c := range b {
		u[i] = uint16(c)
	}
	return u
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
