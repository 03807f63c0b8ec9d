package chronyc

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// helpEntries is the command summary printed by help: pairs of syntax and
// description; an empty syntax with a description continues the previous
// line, a syntax without description is a section title, and an entry with
// both empty is a blank line.
func helpEntries() [][2]string {
	return [][2]string{
		{"System clock:", ""},
		{"tracking", "Display system time information"},
		{"makestep", "Correct clock by stepping immediately"},
		{"makestep <threshold> <updates>", "Configure automatic clock stepping"},
		{"maxupdateskew <skew>", "Modify maximum valid skew to update frequency"},
		{"waitsync [<max-tries> [<max-correction> [<max-skew> [<interval>]]]]", "Wait until synchronised in specified limits"},
		{"", ""},
		{"Time sources:", ""},
		{"sources [-a] [-v]", "Display information about current sources"},
		{"sourcestats [-a] [-v]", "Display statistics about collected measurements"},
		{"selectdata [-a] [-v]", "Display information about source selection"},
		{"selectopts <address|refid> <+|-options>", "Modify selection options"},
		{"reselect", "Force reselecting synchronisation source"},
		{"reselectdist <dist>", "Modify reselection distance"},
		{"offset <address|refid> <offset>", "Modify offset correction"},
		{"", ""},
		{"NTP sources:", ""},
		{"activity", "Check how many NTP sources are online/offline"},
		{"authdata [-a] [-v]", "Display information about authentication"},
		{"ntpdata [<address>]", "Display information about last valid measurement"},
		{"add server <name> [options]", "Add new NTP server"},
		{"add pool <name> [options]", "Add new pool of NTP servers"},
		{"add peer <name> [options]", "Add new NTP peer"},
		{"delete <address>", "Remove server or peer"},
		{"burst <n-good>/<n-max> [[<mask>/]<address>]", "Start rapid set of measurements"},
		{"maxdelay <address> <delay>", "Modify maximum valid sample delay"},
		{"maxdelayratio <address> <ratio>", "Modify maximum valid delay/minimum ratio"},
		{"maxdelaydevratio <address> <ratio>", "Modify maximum valid delay/deviation ratio"},
		{"minpoll <address> <poll>", "Modify minimum polling interval"},
		{"maxpoll <address> <poll>", "Modify maximum polling interval"},
		{"minstratum <address> <stratum>", "Modify minimum stratum"},
		{"offline [[<mask>/]<address>]", "Set sources in subnet to offline status"},
		{"online [[<mask>/]<address>]", "Set sources in subnet to online status"},
		{"onoffline", "Set all sources to online or offline status"},
		{"", "according to network configuration"},
		{"polltarget <address> <target>", "Modify poll target"},
		{"refresh", "Refresh IP addresses"},
		{"reload sources", "Re-read *.sources files"},
		{"sourcename <address>", "Display original name"},
		{"", ""},
		{"Manual time input:", ""},
		{"manual off|on|reset", "Disable/enable/reset settime command"},
		{"manual list", "Show previous settime entries"},
		{"manual delete <index>", "Delete previous settime entry"},
		{"settime <time>", "Set daemon time"},
		{"", "(e.g. Sep 25, 2015 16:30:05 or 16:30:05)"},
		{"", ""},
		{"NTP access:", ""},
		{"accheck <address>", "Check whether address is allowed"},
		{"clients [-p <packets>] [-k] [-r]", "Report on clients that accessed the server"},
		{"serverstats", "Display statistics of the server"},
		{"allow [<subnet>]", "Allow access to subnet as a default"},
		{"allow all [<subnet>]", "Allow access to subnet and all children"},
		{"deny [<subnet>]", "Deny access to subnet as a default"},
		{"deny all [<subnet>]", "Deny access to subnet and all children"},
		{"local [options]", "Serve time even when not synchronised"},
		{"local off", "Don't serve time when not synchronised"},
		{"smoothtime reset|activate", "Reset/activate time smoothing"},
		{"smoothing", "Display current time smoothing state"},
		{"", ""},
		{"Monitoring access:", ""},
		{"cmdaccheck <address>", "Check whether address is allowed"},
		{"cmdallow [<subnet>]", "Allow access to subnet as a default"},
		{"cmdallow all [<subnet>]", "Allow access to subnet and all children"},
		{"cmddeny [<subnet>]", "Deny access to subnet as a default"},
		{"cmddeny all [<subnet>]", "Deny access to subnet and all children"},
		{"", ""},
		{"Real-time clock:", ""},
		{"rtcdata", "Print current RTC performance parameters"},
		{"trimrtc", "Correct RTC relative to system clock"},
		{"writertc", "Save RTC performance parameters to file"},
		{"", ""},
		{"Other daemon commands:", ""},
		{"cyclelogs", "Close and re-open log files"},
		{"dump", "Dump measurements and NTS keys/cookies"},
		{"rekey", "Re-read keys"},
		{"reset sources", "Drop all measurements"},
		{"shutdown", "Stop daemon"},
		{"", ""},
		{"Client commands:", ""},
		{"dns -n|+n", "Disable/enable resolving IP addresses to hostnames"},
		{"dns -4|-6|-46", "Resolve hostnames only to IPv4/IPv6/both addresses"},
		{"timeout <milliseconds>", "Set initial response timeout"},
		{"retries <retries>", "Set maximum number of retries"},
		{"keygen [<id> [<type> [<bits>]]]", "Generate key for key file"},
		{"exit|quit", "Leave the program"},
		{"help", "Generate this help"},
		{"", ""},
	}
}

// helpColumn is where descriptions start; longer syntaxes get their own line.
const helpColumn = 28

// RenderHelp renders the help text.
func RenderHelp() string {
	var b strings.Builder
	for _, e := range helpEntries() {
		syntax, desc := e[0], e[1]
		if len(syntax) >= helpColumn {
			b.WriteString(syntax + "\n" + strings.Repeat(" ", helpColumn))
		} else {
			fmt.Fprintf(&b, "%-*s", helpColumn, syntax)
		}
		b.WriteString(desc + "\n")
	}
	return b.String()
}

func (s *Session) help(string) bool {
	s.printf("%s", RenderHelp())
	return true
}

// keyBytes returns the key size keygen uses for a type: hash functions take
// the number of bits asked for, ciphers (CMAC) their own key size.
func keyBytes(typ string, bits uint32) (int, bool) {
	switch typ {
	case "MD5", "SHA1", "SHA256", "SHA384", "SHA512", "SHA3-224", "SHA3-256", "SHA3-384", "SHA3-512":
		return int((uint64(bits) + 7) / 8), true
	case "AES128":
		return 16, true
	case "AES256":
		return 32, true
	}
	return 0, false
}

// Key size limits of keygen, in bytes.
const (
	minKeyBytes = 10
	maxKeyBytes = 512
)

// defaultKeyType is keygen's default hash (chrony built with a crypto
// library, as distributions build it).
const defaultKeyType = "SHA1"

// Keygen builds a key file line "ID TYPE HEX:..." from the keygen arguments
// [ID [TYPE [BITS]]], reading the key from rand.
func Keygen(arg string, rand io.Reader) (string, error) {
	words := strings.Fields(arg)
	id, typ, bits := uint32(1), defaultKeyType, uint32(160)
	var ok bool
	if len(words) > 3 {
		return "", argError("Invalid syntax for keygen command")
	}
	if len(words) >= 1 {
		if id, ok = scanUint(words[0]); !ok {
			return "", argError("Invalid syntax for keygen command")
		}
	}
	if len(words) >= 2 {
		typ = words[1]
	}
	if len(words) >= 3 {
		if bits, ok = scanUint(words[2]); !ok {
			return "", argError("Invalid syntax for keygen command")
		}
	}
	n, known := keyBytes(typ, bits)
	if !known {
		return "", argError("Unknown hash function or cipher " + typ)
	}
	n = max(minKeyBytes, min(maxKeyBytes, n))
	key := make([]byte, n)
	if _, err := io.ReadFull(rand, key); err != nil {
		return "", fmt.Errorf("reading random key: %w", err)
	}
	return fmt.Sprintf("%d %s HEX:%s\n", id, typ, strings.ToUpper(hex.EncodeToString(key))), nil
}

func (s *Session) keygen(arg string) bool {
	line, err := Keygen(arg, s.rand)
	if err != nil {
		return s.fail(err)
	}
	s.printf("%s", line)
	return true
}
