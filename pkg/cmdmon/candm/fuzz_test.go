package candm

import (
	"testing"
)

// FuzzParseRequest checks that no datagram makes the codec panic and that
// every answer (an error status, or any report the command can carry) fits
// in the request.
func FuzzParseRequest(f *testing.F) {
	for c := Command(0); c < numCommands+2; c++ {
		f.Add(rawRequest(c, max(RequestLen(c), ReplyHeaderLen)))
	}
	for c, b := range requestSamples {
		pkt, err := Request{Command: c, Body: b}.Encode()
		if err == nil {
			f.Add(pkt)
		}
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		req, v, st := ParseRequest(pkt)
		switch v {
		case Drop:
			return
		case Answer:
			out, err := Reply{Command: req.Command, Sequence: req.Sequence, Status: st}.Encode(len(pkt))
			if err != nil || len(out) > len(pkt) {
				t.Fatalf("error reply %d bytes for %d-byte request: %v", len(out), len(pkt), err)
			}
		case Dispatch:
			for _, body := range replySamples {
				if !carries(req.Command, body) {
					continue
				}
				out, err := Reply{Command: req.Command, Body: body}.Encode(len(pkt))
				if err != nil {
					t.Fatalf("%v: no reply version fits a %d-byte request: %v", req.Command, len(pkt), err)
				}
				if len(out) > len(pkt) {
					t.Fatalf("%v: %d-byte reply to %d-byte request", req.Command, len(out), len(pkt))
				}
			}
		}
	})
}

// carries reports whether body is a reply format of the command.
func carries(c Command, body ReplyBody) bool {
	for _, rc := range ReplyCodes(c) {
		for _, bc := range body.codes() {
			if rc == bc {
				return true
			}
		}
	}
	return false
}
