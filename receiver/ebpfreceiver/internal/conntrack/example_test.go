package conntrack_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// The receiver creates one Tracker, hands it every socket event from one
// goroutine, calls Tick periodically and Flush at shutdown. Records are only
// valid during the callback: copy what you keep (strings may be kept).
func Example() {
	tr := conntrack.New(conntrack.Config{}, func(r *conntrack.Record) {
		status := 0
		if r.Resp != nil {
			status = r.Resp.StatusCode
		}
		fmt.Printf("%s %s %s route=%s status=%d latency=%v peer=%s\n",
			r.Conn.Role, r.Req.Method, r.Req.Path, r.Req.Route(), status, r.Duration(), r.Conn.Remote)
	})

	id := sockevent.ConnID{PID: 42, FD: 7, Gen: 1}
	tr.OnOpen(&sockevent.Open{ID: id, Role: sockevent.RoleServer,
		Local: netip.MustParseAddrPort("10.0.0.1:8080"), Remote: netip.MustParseAddrPort("10.0.0.2:51000")})
	req := []byte("GET /users/123?full=1 HTTP/1.1\r\nHost: api\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	tr.OnData(&sockevent.Data{ID: id, Dir: sockevent.Ingress, TimeNs: 1_000_000, Pos: 0, Size: uint32(len(req)), Payload: req})
	tr.OnData(&sockevent.Data{ID: id, Dir: sockevent.Egress, TimeNs: 3_500_000, Pos: 0, Size: uint32(len(resp)), Payload: resp})
	tr.OnClose(&sockevent.Close{ID: id, TimeNs: 4_000_000})

	tr.Tick(time.Now())
	st := tr.Stats()
	fmt.Println("records:", st.Records, "http messages:", st.HTTP.Messages)
	// Output:
	// server GET /users/123 route=/users/{id} status=200 latency=2.5ms peer=10.0.0.2:51000
	// records: 1 http messages: 2
}
