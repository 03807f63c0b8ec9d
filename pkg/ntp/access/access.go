// Package access implements chronyd's address-based access tables, used for
// the allow/deny (NTP and NTS-KE clients) and cmdallow/cmddeny (command
// clients) directives and for chronyc's allow, deny and accheck commands.
//
// The semantics are chronyd's exactly. Rules are kept in a tree with one level
// per four bits of the address. A rule for a prefix whose length is a multiple
// of four sets one record; any other length sets every record of its level
// that the prefix covers, so the order of two rules matters when they modify
// the same records (for example 1.2.3.0/25 and 1.2.3.0/28, which live at the
// same level) and otherwise the most specific one decides. The "all" forms
// additionally erase every rule beneath the prefix. With no rule, nothing is
// allowed.
//
// A Table is safe for concurrent use: readers load an immutable tree through
// an atomic pointer and never wait for writers, which copy the tree.
package access

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Rule is one allow or deny directive (or chronyc command).
type Rule struct {
	// Allow is true for allow, false for deny.
	Allow bool
	// All is true for the "allow all"/"deny all" forms, which also reset
	// every rule for subnets inside Prefix.
	All bool
	// Prefix is the subnet the rule applies to. It is ignored when Any is set.
	Prefix netip.Prefix
	// Any means the bare directive with no subnet: all IPv4 and all IPv6
	// addresses.
	Any bool
}

// String formats the rule as a directive would be written.
func (r Rule) String() string {
	var b strings.Builder
	if r.Allow {
		b.WriteString("allow")
	} else {
		b.WriteString("deny")
	}
	if r.All {
		b.WriteString(" all")
	}
	if !r.Any {
		b.WriteByte(' ')
		b.WriteString(r.Prefix.String())
	}
	return b.String()
}

// ErrHostname is returned (wrapped) by ParseSubnet when the text is neither an
// address nor a subnet, so it may be a host name for the caller to resolve.
var ErrHostname = errors.New("not an address or subnet (host name?)")

// ParseSubnet parses a subnet in any of chronyd's forms: an IPv4 or IPv6
// address (a host prefix), an address with a /bits suffix ("1.2.3.4/16" is
// the subnet 1.2.0.0/16), or one to three decimal numbers with an optional
// /bits suffix, the prefix length otherwise being 8 per number ("1.2" is
// 1.2.0.0/16, "0/0" is every IPv4 address). The returned prefix is masked.
// IPv4-mapped IPv6 addresses are kept as IPv6 here, as chronyd does; Allowed
// looks such client addresses up as IPv4.
func ParseSubnet(s string) (netip.Prefix, error) {
	net, bitsText, hasSlash := strings.Cut(s, "/")
	bits := -1
	if hasSlash {
		n, err := strconv.Atoi(bitsText)
		if err != nil || n < 0 || bitsText == "" || bitsText[0] == '+' {
			return netip.Prefix{}, fmt.Errorf("invalid prefix length in %q", s)
		}
		bits = n
	}
	if addr, err := netip.ParseAddr(net); err == nil && addr.Zone() == "" {
		if bits < 0 {
			bits = addr.BitLen()
		}
		if bits > addr.BitLen() {
			return netip.Prefix{}, fmt.Errorf("prefix length %d too long for %q", bits, s)
		}
		return netip.PrefixFrom(addr, bits).Masked(), nil
	}
	if addr, n, ok := parseShortIPv4(net); ok {
		if bits < 0 {
			bits = 8 * n
		}
		if bits > 32 {
			return netip.Prefix{}, fmt.Errorf("prefix length %d too long for %q", bits, s)
		}
		return netip.PrefixFrom(addr, bits).Masked(), nil
	}
	if hasSlash {
		return netip.Prefix{}, fmt.Errorf("invalid subnet %q", s)
	}
	return netip.Prefix{}, fmt.Errorf("%q: %w", s, ErrHostname)
}

// parseShortIPv4 parses chronyd's shortened IPv4 network notation: one to
// three decimal numbers separated by dots, each at most 255.
func parseShortIPv4(s string) (netip.Addr, int, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return netip.Addr{}, 0, false
	}
	var b [4]byte
	for i, p := range parts {
		if p == "" || len(p) > 10 {
			return netip.Addr{}, 0, false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return netip.Addr{}, 0, false
			}
		}
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil || v > 255 {
			return netip.Addr{}, 0, false
		}
		b[i] = byte(v)
	}
	return netip.AddrFrom4(b), len(parts), true
}

// ParseRule parses the arguments of an allow or deny directive (or chronyc
// command): nothing, a subnet, "all", or "all" followed by a subnet. A host
// name is resolved with resolve (which may be nil to reject host names); as in
// chronyd only the first address is used.
func ParseRule(allow bool, args []string, resolve func(string) (netip.Addr, error)) (Rule, error) {
	r := Rule{Allow: allow}
	if len(args) > 0 && args[0] == "all" {
		r.All = true
		args = args[1:]
	}
	switch len(args) {
	case 0:
		r.Any = true
		return r, nil
	case 1:
	default:
		return Rule{}, fmt.Errorf("too many arguments: %q", strings.Join(args, " "))
	}
	p, err := ParseSubnet(args[0])
	if errors.Is(err, ErrHostname) && resolve != nil {
		addr, rerr := resolve(args[0])
		if rerr != nil {
			return Rule{}, fmt.Errorf("could not resolve %q: %w", args[0], rerr)
		}
		addr = addr.WithZone("")
		p = netip.PrefixFrom(addr, addr.BitLen())
		err = nil
	}
	if err != nil {
		return Rule{}, err
	}
	r.Prefix = p
	return r, nil
}

// state of a tree record.
type state uint8

const (
	asParent state = iota
	deny
	allow
)

// nibbleBits is the number of address bits consumed per tree level.
const nibbleBits = 4

// node is one record of the tree; children, when present, has 16 entries
// indexed by the next four bits of the address.
type node struct {
	state    state
	children []node
}

// clone deep-copies the node.
func (n node) clone() node {
	c := node{state: n.state}
	if n.children != nil {
		c.children = make([]node, len(n.children))
		for i := range n.children {
			c.children[i] = n.children[i].clone()
		}
	}
	return c
}

// tree is an immutable (once published) pair of roots.
type tree struct {
	v4, v6 node
}

// Table is an access table. The zero value is not usable; call NewTable.
type Table struct {
	mu  sync.Mutex // serialises writers
	cur atomic.Pointer[tree]
}

// NewTable returns a table that denies every address.
func NewTable() *Table {
	t := &Table{}
	t.cur.Store(&tree{v4: node{state: deny}, v6: node{state: deny}})
	return t
}

// Apply adds a rule to the table. Readers see either the table before or
// after the change, never a partial one.
func (t *Table) Apply(r Rule) error {
	if !r.Any && !r.Prefix.IsValid() {
		return fmt.Errorf("invalid subnet in %q", r.String())
	}
	st := deny
	if r.Allow {
		st = allow
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.cur.Load()
	next := &tree{v4: old.v4.clone(), v6: old.v6.clone()}
	if r.Any {
		setSubnet(&next.v4, nil, 0, st, r.All)
		setSubnet(&next.v6, nil, 0, st, r.All)
	} else {
		p := r.Prefix.Masked()
		raw := p.Addr().AsSlice()
		if p.Addr().Is4() {
			setSubnet(&next.v4, raw, p.Bits(), st, r.All)
		} else {
			setSubnet(&next.v6, raw, p.Bits(), st, r.All)
		}
	}
	t.cur.Store(next)
	return nil
}

// nibble returns the four bits of addr starting at bit offset pos.
func nibble(addr []byte, pos int) int {
	b := addr[pos/8]
	if pos%8 == 0 {
		return int(b >> 4)
	}
	return int(b & 0x0f)
}

// open gives n an empty level of children if it has none.
func open(n *node) {
	if n.children == nil {
		n.children = make([]node, 1<<nibbleBits)
	}
}

// setSubnet records st for the first bits of addr below root, following
// chronyd's tree rules.
func setSubnet(root *node, addr []byte, bits int, st state, resetChildren bool) {
	n := root
	pos := 0
	for bits-pos >= nibbleBits {
		open(n)
		n = &n.children[nibble(addr, pos)]
		pos += nibbleBits
	}
	rest := bits - pos
	if rest == 0 {
		if resetChildren {
			n.children = nil
		}
		n.state = st
		return
	}
	// A length that is not a multiple of four covers several records of
	// the next level.
	count := 1 << (nibbleBits - rest)
	first := nibble(addr, pos) &^ (count - 1)
	open(n)
	for i := first; i < first+count; i++ {
		if resetChildren {
			n.children[i].children = nil
		}
		n.children[i].state = st
	}
}

// Allowed reports whether the table admits the address. IPv4-mapped IPv6
// addresses are looked up as IPv4; an invalid address is denied.
func (t *Table) Allowed(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	tr := t.cur.Load()
	root := &tr.v6
	if a.Is4() {
		root = &tr.v4
	}
	var buf [16]byte
	raw := buf[:a.BitLen()/8]
	if a.Is4() {
		b := a.As4()
		copy(raw, b[:])
	} else {
		b := a.As16()
		copy(raw, b[:])
	}
	st := deny
	n := root
	pos := 0
	for {
		if n.state != asParent {
			st = n.state
		}
		if n.children == nil || pos >= len(raw)*8 {
			break
		}
		n = &n.children[nibble(raw, pos)]
		pos += nibbleBits
	}
	return st == allow
}

// AnyAllowed reports whether at least one address of the family (IPv4 when
// ipv4 is true, otherwise IPv6) is allowed.
func (t *Table) AnyAllowed(ipv4 bool) bool {
	tr := t.cur.Load()
	if ipv4 {
		return anyAllowed(&tr.v4, deny)
	}
	return anyAllowed(&tr.v6, deny)
}

func anyAllowed(n *node, parent state) bool {
	st := n.state
	if st == asParent {
		st = parent
	}
	if n.children == nil {
		return st == allow
	}
	for i := range n.children {
		if anyAllowed(&n.children[i], st) {
			return true
		}
	}
	return false
}
