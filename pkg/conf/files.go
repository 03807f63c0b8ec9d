package conf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"
)

// maxFileSize bounds one configuration file so that a path such as
// /dev/zero cannot make a load run forever.
const maxFileSize = 64 << 20

// fileSystem is the little file access the parser needs.
type fileSystem interface {
	ReadFile(name string) ([]byte, error)
	// ReadDirNames lists the entry names of a folder.
	ReadDirNames(name string) ([]string, error)
	// Exists reports whether a path exists (without following a final link).
	Exists(name string) bool
}

// osFS is the real file system.
type osFS struct{}

func (osFS) ReadFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Like chronyd's fgets loop, a read error (e.g. on a folder) just ends
	// the file.
	data, _ := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: %w", name, errors.New("file too large"))
	}
	return data, nil
}

func (osFS) ReadDirNames(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

func (osFS) Exists(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}

// hasMeta reports whether a glob pattern has wildcard characters.
func hasMeta(pattern string) bool {
	return strings.ContainsAny(pattern, "*?[\\")
}

// matchComponent matches one path element like glob(3): a leading dot must
// be matched explicitly, and "[!...]" negates a bracket expression.
func matchComponent(pattern, name string) bool {
	if strings.HasPrefix(name, ".") && !strings.HasPrefix(pattern, ".") {
		return false
	}
	ok, err := path.Match(strings.ReplaceAll(pattern, "[!", "[^"), name)
	return err == nil && ok
}

// glob expands a pattern as glob(3) with GLOB_NOMAGIC|GLOB_ERR: a pattern
// without wildcards is returned as is; matches keep the pattern's literal
// parts as written and are sorted; a folder that cannot be read (other than
// "not a folder") fails the search.
func glob(fsys fileSystem, pattern string) ([]string, error) {
	if !hasMeta(pattern) {
		return []string{pattern}, nil
	}
	parts := strings.Split(pattern, "/")
	current := []string{""}
	for i, part := range parts {
		var next []string
		for _, prefix := range current {
			join := prefix
			if i > 0 {
				join += "/"
			}
			if !hasMeta(part) {
				next = append(next, join+part)
				continue
			}
			dir := prefix
			if i == 0 {
				dir = "."
			} else if dir == "" {
				dir = "/"
			}
			names, err := fsys.ReadDirNames(dir)
			if err != nil {
				if errors.Is(err, syscall.ENOTDIR) {
					continue
				}
				return nil, err
			}
			sort.Strings(names)
			for _, n := range names {
				if matchComponent(part, n) {
					next = append(next, join+n)
				}
			}
		}
		current = next
	}
	var out []string
	for _, m := range current {
		if fsys.Exists(m) {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out, nil
}

// searchDirs lists the files with the suffix in the folders, merged by file
// name in lexical order; for a name present in several folders the first
// folder in the list wins. It fails on no folder or more than ten.
func searchDirs(fsys fileSystem, args, suffix string) ([]string, bool) {
	dirs := fields(args)
	if len(dirs) < 1 || len(dirs) > maxConfDirs {
		return nil, false
	}
	chosen := map[string]string{}
	for _, dir := range dirs {
		// chronyd globs DIR/*SUFFIX but then only reads files whose folder
		// is the literal DIR, so a folder given as a pattern reads nothing.
		if hasMeta(dir) {
			continue
		}
		names, err := fsys.ReadDirNames(dir)
		if err != nil {
			continue
		}
		for _, n := range names {
			if !matchComponent("*"+suffix, n) {
				continue
			}
			if _, ok := chosen[n]; !ok {
				chosen[n] = dir + "/" + n
			}
		}
	}
	names := make([]string, 0, len(chosen))
	for n := range chosen {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = chosen[n]
	}
	return out, true
}

func parseInclude(p *parser, args string) error {
	if err := p.checkArgs(args, 1); err != nil {
		return err
	}
	files, err := glob(p.fs, args)
	if err != nil {
		return &Error{Msg: "Could not search for files matching " + args, Err: err}
	}
	for _, f := range files {
		if err := p.readFile(f); err != nil {
			return err
		}
	}
	return nil
}

func parseConfDir(p *parser, args string) error {
	files, ok := searchDirs(p.fs, args, ".conf")
	if !ok {
		return p.parseError()
	}
	for _, f := range files {
		if err := p.readFile(f); err != nil {
			return err
		}
	}
	return nil
}

func parseSourceDir(p *parser, args string) error {
	p.cfg.SourceDirs = append(p.cfg.SourceDirs, args)
	return nil
}

// LoadSourceDirs reads the *.sources files of sourcedir directives (each
// entry is one directive's argument text: folders separated by spaces), as
// chronyd does at start and on "chronyc reload sources". Like chronyd it
// ignores lines that are not valid server, pool or peer directives and stops
// reading a file at a line without a newline. Sources are returned in file
// name order, then line order. Only unreadable files are reported as errors;
// a missing folder is not an error.
func LoadSourceDirs(dirs []string) ([]Source, error) {
	return loadSourceDirs(osFS{}, dirs)
}

func loadSourceDirs(fsys fileSystem, dirs []string) ([]Source, error) {
	var sources []Source
	var errs []error
	for _, d := range dirs {
		files, _ := searchDirs(fsys, d, ".sources")
		for _, f := range files {
			data, err := fsys.ReadFile(f)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, fmt.Errorf("reading source file %s: %w", f, err))
				}
				continue
			}
			sources = append(sources, parseSourceFile(data)...)
		}
	}
	return sources, errors.Join(errs...)
}

// parseSourceFile parses the contents of one *.sources file.
func parseSourceFile(data []byte) []Source {
	var out []Source
	for _, l := range splitRawLines(data) {
		if !l.terminated || l.text == "" {
			break
		}
		line := normalizeLine(l.text)
		if line == "" {
			continue
		}
		kind, args := splitWord(line)
		var k SourceKind
		switch strings.ToLower(kind) {
		case "server":
			k = KindServer
		case "pool":
			k = KindPool
		case "peer":
			k = KindPeer
		default:
			continue
		}
		if src, st := parseSourceLine(k, args); st == sourceOK {
			out = append(out, src)
		}
	}
	return out
}
