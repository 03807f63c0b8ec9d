package candm_test

import (
	"fmt"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// A client builds a request padded as chronyc 4.8 pads it and decodes the
// reply; a server parses the request and encodes a reply that fits in it.
func Example() {
	pkt, err := candm.Request{Command: candm.ReqTracking, Sequence: 42}.Encode()
	if err != nil {
		panic(err)
	}
	fmt.Println("request bytes:", len(pkt))

	req, verdict, _ := candm.ParseRequest(pkt)
	if verdict != candm.Dispatch {
		panic("rejected")
	}
	out, err := candm.Reply{Command: req.Command, Sequence: req.Sequence,
		Body: candm.Tracking{RefID: 0x7F7F0101, Stratum: 10}}.Encode(len(pkt))
	if err != nil {
		panic(err)
	}

	reply, err := candm.DecodeReply(out)
	if err != nil {
		panic(err)
	}
	tr := reply.Body.(candm.Tracking)
	fmt.Printf("reply bytes: %d, status %v, refid %08X, stratum %d\n",
		len(out), reply.Status, tr.RefID, tr.Stratum)
	// Output:
	// request bytes: 104
	// reply bytes: 104, status 200 OK, refid 7F7F0101, stratum 10
}
