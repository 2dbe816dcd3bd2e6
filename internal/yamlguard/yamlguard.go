// Package yamlguard bounds the YAML and JSON that RetryLab decodes from
// untrusted bytes (scenario files, admin uploads, policy files) before a
// parser sees them.
//
// goccy/go-yaml has no limit on nesting, and its memory grows with the
// square of the nesting depth: 20 KB of "[" takes hundreds of megabytes. So
// every decoder first calls [Check], a single linear pass over the bytes
// that measures the nesting of flow collections ([ and {) and of block
// collections (indentation and compact "- " or "? " entries) and refuses
// input nested deeper than a limit, naming the line and column where the
// limit was crossed. JSON is YAML's flow style, so the same scan covers it.
//
// The scan is conservative where YAML is subtle: it knows quoted scalars,
// comments and block scalars (| and >), so brackets inside strings and
// bodies are not counted; a bracket in a plain scalar that follows a space
// may be counted, which can only make the measured depth larger.
package yamlguard

import (
	"fmt"
	"io"
)

// Error is input that is too large or nested too deeply. Line and Column
// are 1-based; both are zero when the problem is the input's size.
type Error struct {
	Line, Column int
	Msg          string
}

// Error returns "line:col: msg", or msg when the error has no position.
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg)
}

// Limits bounds an input. A zero field means no limit.
type Limits struct {
	// MaxBytes is the largest input accepted.
	MaxBytes int
	// MaxDepth is the deepest nesting accepted, as Depth measures it: a
	// top-level block mapping is 1, each collection inside adds 1, and the
	// measure may exceed the true depth by a level or two (a line's
	// indentation and a compact entry's content each count).
	MaxDepth int
}

// Check reports the first way data exceeds l, or nil. It runs in time
// linear in len(data) and allocates at most MaxDepth integers.
func Check(data []byte, l Limits) *Error {
	if l.MaxBytes > 0 && len(data) > l.MaxBytes {
		return &Error{Msg: fmt.Sprintf("%d bytes, larger than the %s limit", len(data), Size(int64(l.MaxBytes)))}
	}
	if l.MaxDepth <= 0 {
		return nil
	}
	s := scanner{data: data, max: l.MaxDepth, line: 1}
	return s.run()
}

// Depth returns the nesting depth Check measures for data, for tests and
// messages.
func Depth(data []byte) int {
	s := scanner{data: data, line: 1}
	s.run()
	return s.deepest
}

// ReadAll reads r to its end, or fails with an *Error once more than max
// bytes arrive (max <= 0: no limit). It never holds more than max+1 bytes.
func ReadAll(r io.Reader, max int) ([]byte, error) {
	if max <= 0 {
		return io.ReadAll(r)
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > max {
		return nil, &Error{Msg: fmt.Sprintf("larger than the %s limit", Size(int64(max)))}
	}
	return data, nil
}

// Size renders n bytes for messages: "512 bytes", "4 MiB", "1.5 KiB".
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// scanner measures nesting in one pass.
type scanner struct {
	data    []byte
	max     int // 0: measure only
	i       int
	line    int
	col     int   // 0-based column, in runes, of data[i]
	block   []int // columns of the open block collections, increasing
	flow    int   // open [ and {
	deepest int
}

func (s *scanner) depth() int { return len(s.block) + s.flow }

// deeper records a new level at the current position and reports whether
// it crosses the limit.
func (s *scanner) deeper() *Error {
	d := s.depth()
	s.deepest = max(s.deepest, d)
	if s.max > 0 && d > s.max {
		return &Error{Line: s.line, Column: s.col + 1, Msg: fmt.Sprintf("nested deeper than %d levels", s.max)}
	}
	return nil
}

func (s *scanner) peek(k int) byte {
	if s.i+k < len(s.data) {
		return s.data[s.i+k]
	}
	return 0
}

// advance moves past one byte, keeping line and column.
func (s *scanner) advance() {
	b := s.data[s.i]
	s.i++
	switch {
	case b == '\n':
		s.line, s.col = s.line+1, 0
	case b&0xC0 != 0x80: // not a UTF-8 continuation byte
		s.col++
	}
}

func blank(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == 0 }

// skipLine moves to the start of the next line.
func (s *scanner) skipLine() {
	for s.i < len(s.data) && s.data[s.i] != '\n' {
		s.advance()
	}
	if s.i < len(s.data) {
		s.advance()
	}
}

func (s *scanner) run() *Error {
	for s.i < len(s.data) {
		if err := s.blockLine(); err != nil {
			return err
		}
	}
	return nil
}

// blockLine scans one line that starts in block context (and any flow
// collection or quoted scalar that continues past it).
func (s *scanner) blockLine() *Error {
	indent := 0
	for s.i < len(s.data) && (s.data[s.i] == ' ' || s.data[s.i] == '\t') {
		s.advance()
		indent++
	}
	c := s.peek(0)
	if c == '\n' || c == '\r' || c == '#' || s.i >= len(s.data) {
		s.skipLine()
		return nil
	}
	if indent == 0 && (c == '-' || c == '.') && s.peek(1) == c && s.peek(2) == c && blank(s.peek(3)) {
		s.block = s.block[:0] // a document marker
		s.skipLine()
		return nil
	}
	for len(s.block) > 0 && s.block[len(s.block)-1] > indent {
		s.block = s.block[:len(s.block)-1]
	}
	if len(s.block) == 0 || s.block[len(s.block)-1] < indent {
		s.block = append(s.block, indent)
		if err := s.deeper(); err != nil {
			return err
		}
	}
	// Compact collections: "- - x", "- key: v", "? x".
	marker := indent
	for (s.peek(0) == '-' || s.peek(0) == '?') && blank(s.peek(1)) {
		marker = s.col
		s.advance()
		for s.peek(0) == ' ' || s.peek(0) == '\t' {
			s.advance()
		}
		if c := s.peek(0); c == '\n' || c == '\r' || c == '#' || s.i >= len(s.data) {
			break
		}
		s.block = append(s.block, s.col)
		if err := s.deeper(); err != nil {
			return err
		}
	}
	return s.rest(marker, s.col)
}

// rest scans the remainder of a block line from a position where a value
// may start. marker is the column of the innermost "-" or "?" (or the
// indentation), node the column where the line's innermost node starts.
func (s *scanner) rest(marker, node int) *Error {
	valueStart := true
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '\n':
			s.advance()
			return nil
		case c == ' ' || c == '\t' || c == '\r':
			s.advance()
			if s.peek(0) == '#' {
				s.skipLine()
				return nil
			}
		case valueStart && (c == '[' || c == '{'):
			if err := s.flowCollection(); err != nil {
				return err
			}
			valueStart = false
		case valueStart && (c == '"' || c == '\''):
			s.quoted(c)
			valueStart = false
		case valueStart && (c == '|' || c == '>'):
			parent := node
			if s.col == node {
				parent = marker
			}
			s.skipLine()
			s.blockScalar(parent)
			return nil
		case valueStart && (c == '&' || c == '!'):
			for s.i < len(s.data) && !blank(s.data[s.i]) {
				s.advance()
			}
		case c == ':' && blank(s.peek(1)):
			s.advance()
			valueStart = true
		default:
			s.advance()
			valueStart = false
		}
	}
	return nil
}

// blockScalar skips the lines of a literal or folded scalar: blank lines
// and lines indented deeper than parent.
func (s *scanner) blockScalar(parent int) {
	for s.i < len(s.data) {
		j, indent := s.i, 0
		for j < len(s.data) && s.data[j] == ' ' {
			j++
			indent++
		}
		if j < len(s.data) && s.data[j] != '\n' && s.data[j] != '\r' && indent <= parent {
			return
		}
		s.skipLine()
	}
}

// flowCollection scans from an opening [ or { to its matching close (or
// the end of the input).
func (s *scanner) flowCollection() *Error {
	open := s.flow
	tokenStart := true
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '[' || c == '{':
			s.flow++
			if err := s.deeper(); err != nil {
				return err
			}
			s.advance()
			tokenStart = true
		case c == ']' || c == '}':
			s.advance()
			if s.flow > 0 {
				s.flow--
			}
			if s.flow == open {
				return nil
			}
			tokenStart = false
		case c == ',' || c == ':' || c == '?':
			s.advance()
			tokenStart = true
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s.advance()
			if s.peek(0) == '#' {
				for s.i < len(s.data) && s.data[s.i] != '\n' {
					s.advance()
				}
			}
		case tokenStart && (c == '"' || c == '\''):
			s.quoted(c)
			tokenStart = false
		default:
			s.advance()
			tokenStart = false
		}
	}
	return nil
}

// quoted skips a quoted scalar starting at its opening quote q.
func (s *scanner) quoted(q byte) {
	s.advance()
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case q == '"' && c == '\\':
			s.advance()
			if s.i < len(s.data) {
				s.advance()
			}
		case c == q && q == '\'' && s.peek(1) == '\'':
			s.advance()
			s.advance()
		case c == q:
			s.advance()
			return
		default:
			s.advance()
		}
	}
}
