package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"
)

// runWorkServer serves every request with -work of CPU work and an 800-byte
// body, over HTTP/1.1 (Go net/http), and prints "listening <addr>" once it
// accepts. The fixed-rate runs use it: ../shared/PERFORMANCE.md asks for the
// latency figures "with a server that does some work per request", where
// nginx serving a static file does none. The work is a calibrated number of
// loop iterations, not a wall-clock wait: time the server loses to the
// collector (preemption, a shared core) must show in its latency.
func runWorkServer(args []string) error {
	fs := flag.NewFlagSet("workserver", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	work := fs.Duration("work", 100*time.Microsecond, "CPU work per request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	iters := calibrate(*work)
	body := []byte(strings.Repeat("w", 799) + "\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		spinSink.Add(spin(iters))
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "800")
		_, _ = w.Write(body)
	})
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", l.Addr())
	return http.Serve(l, h)
}

// spinSink keeps spin's results, so that no call can be optimised away.
var spinSink atomic.Uint64

// spin runs n rounds of xorshift: CPU work the compiler cannot drop (its
// callers keep the result in spinSink).
//
//go:noinline
func spin(n int) uint64 {
	x := uint64(88172645463325252)
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// calibrate returns the spin rounds that take d on this machine: the
// fastest of several trials, so that a trial preempted by something else
// does not inflate the work.
func calibrate(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	const n = 1 << 20
	best := time.Duration(1 << 62)
	for range 20 {
		t0 := time.Now()
		spinSink.Add(spin(n))
		if e := time.Since(t0); e < best {
			best = e
		}
	}
	return int(float64(n) * float64(d) / float64(max(best, 1)))
}

// startWorkServer runs this binary as a workserver in its own process (the
// tracer never traces the process it runs in) and returns its address.
func startWorkServer(work time.Duration) (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "workserver", "-work", work.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		stop()
		return "", nil, fmt.Errorf("workserver did not start: %q %v", line, err)
	}
	return addr, stop, nil
}
