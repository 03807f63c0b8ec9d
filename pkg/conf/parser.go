package conf

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// parser holds the state of one configuration load.
type parser struct {
	cfg     *Config
	fs      fileSystem
	file    string // file being read, "" for command-line directives
	line    int
	command string // directive as written, for messages
	level   int    // include depth
	seen    map[string]bool
	table   map[string]directive
}

func newParser(fs fileSystem) *parser {
	return &parser{cfg: NewConfig(), fs: fs, seen: map[string]bool{}, table: directiveTable()}
}

// Load reads the configuration as chronyd does at start: when lines (the
// directives given as trailing command-line arguments) is non-empty, each is
// parsed as one line numbered from 1 with no file name, and the file is not
// read; otherwise path is read. Paths in include, confdir and sourcedir are
// used as written (relative ones against the working directory).
func Load(path string, lines []string) (*Config, error) {
	p := newParser(osFS{})
	if len(lines) > 0 {
		for i, l := range lines {
			if err := p.parseLine("", i+1, l); err != nil {
				return nil, err
			}
		}
		return p.cfg, nil
	}
	if err := p.readFile(path); err != nil {
		return nil, err
	}
	return p.cfg, nil
}

// Parse reads a configuration from r; name is used as the file name in error
// messages. include and confdir directives read the file system.
func Parse(r io.Reader, name string) (*Config, error) {
	return parseWith(r, name, osFS{})
}

func parseWith(r io.Reader, name string, fs fileSystem) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > maxFileSize {
		return nil, &Error{Msg: fmt.Sprintf("File %s too large", name)}
	}
	p := newParser(fs)
	if err := p.parseData(name, data); err != nil {
		return nil, err
	}
	return p.cfg, nil
}

// readFile reads one configuration file (top level, include or confdir).
func (p *parser) readFile(path string) error {
	data, err := p.fs.ReadFile(path)
	if err != nil {
		return &Error{Msg: fmt.Sprintf("Could not open %s : %s", path, strerror(err)), Err: err}
	}
	p.cfg.Files = append(p.cfg.Files, path)
	return p.parseData(path, data)
}

func (p *parser) parseData(name string, data []byte) error {
	p.level++
	defer func() { p.level-- }()
	if p.level > maxIncludeLevel {
		return &Error{Msg: "Maximum include level reached"}
	}
	for i, l := range splitRawLines(data) {
		if err := p.parseLine(name, i+1, l.text); err != nil {
			return err
		}
	}
	return nil
}

// parseLine handles one raw line; file is "" for a command-line directive.
func (p *parser) parseLine(file string, number int, raw string) error {
	if z := strings.IndexByte(raw, 0); z >= 0 {
		raw = raw[:z]
	}
	prevFile, prevLine, prevCmd := p.file, p.line, p.command
	defer func() { p.file, p.line, p.command = prevFile, prevLine, prevCmd }()
	p.file, p.line = file, number
	if len(raw) >= maxLineLength {
		return p.errorf("String too long")
	}
	line := normalizeLine(raw)
	if line == "" {
		return nil
	}
	command, args := splitWord(line)
	p.command = command
	key := strings.ToLower(command)
	if key != "include" && key != "confdir" {
		p.cfg.lines = append(p.cfg.lines, line)
	}
	d, ok := p.table[key]
	if !ok {
		return p.errorf("Invalid directive %s", command)
	}
	if !p.seen[key] {
		p.seen[key] = true
		p.cfg.directives = append(p.cfg.directives, key)
	}
	if err := d.parse(p, args); err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return err
		}
		return &Error{File: p.file, Line: p.line, Msg: err.Error(), Err: err}
	}
	return nil
}

// strerror formats an error from the file system like C's strerror.
func strerror(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	s := err.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
