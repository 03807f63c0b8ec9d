package conf

import (
	"bytes"
	"strings"
)

// normalizeLine collapses white space to single spaces, trims both ends and
// empties comment lines (first non-blank character one of # % ! ;), as
// chronyd does before matching a directive.
func normalizeLine(line string) string {
	var b strings.Builder
	space, first := true, true
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == 0 {
			break
		}
		if isSpace(c) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		if first && strings.IndexByte("!;#%", c) >= 0 {
			break
		}
		b.WriteByte(c)
		space, first = false, false
	}
	return strings.TrimSuffix(b.String(), " ")
}

// splitWord returns the first word of s (after any white space) and the text
// of the following words, starting at the next word.
func splitWord(s string) (word, rest string) {
	i := skipSpace(s)
	j := i
	for j < len(s) && !isSpace(s[j]) {
		j++
	}
	word = s[i:j]
	k := j + skipSpace(s[j:])
	return word, s[k:]
}

// countArgs counts the words of a normalized argument string.
func countArgs(s string) int {
	s = strings.TrimPrefix(s, " ")
	if s == "" {
		return 0
	}
	return strings.Count(s, " ") + 1
}

// fields splits a string on white space, like UTI_SplitString.
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) })
}

// rawLine is one line as chronyd's fgets loop reads it.
type rawLine struct {
	text string // up to the first NUL byte, newline included
	// terminated reports whether that text ends with a newline.
	terminated bool
}

// splitRawLines cuts file contents the way fgets with chronyd's buffer does:
// at each newline, or after maxLineLength bytes for longer lines (each piece
// then counts as a line).
func splitRawLines(data []byte) []rawLine {
	var out []rawLine
	for len(data) > 0 {
		n := bytes.IndexByte(data, '\n') + 1
		if n == 0 || n > maxLineLength {
			n = min(len(data), maxLineLength)
		}
		chunk := data[:n]
		data = data[n:]
		if z := bytes.IndexByte(chunk, 0); z >= 0 {
			chunk = chunk[:z]
		}
		terminated := len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
		out = append(out, rawLine{text: string(chunk), terminated: terminated})
	}
	return out
}
