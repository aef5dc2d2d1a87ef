package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what the loadgen subprocess prints as JSON.
type loadResult struct {
	Sent     int     `json:"sent"`
	OK       int     `json:"ok"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	P50Micro float64 `json:"p50_us"`
	P99Micro float64 `json:"p99_us"`
}

// runLoadgen sends n HTTP/1.1 GET requests at a fixed rate over conns
// keep-alive connections (with -close, conns workers each opening a
// connection per request), each request carrying "X-Seq: <i>", and prints a
// loadResult. It runs in its own process so that the tracer (which never
// traces the process it runs in) sees its traffic.
func runLoadgen(args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "server host:port")
	path := fs.String("path", "/index.html", "request path")
	rate := fs.Int("rate", 1000, "requests per second (total)")
	n := fs.Int("n", 5000, "requests to send")
	conns := fs.Int("conns", 8, "keep-alive connections")
	closeEach := fs.Bool("close", false, "a new connection per request (Connection: close), not keep-alive")
	if err := fs.Parse(args); err != nil {
		return err
	}
	connHeader := ""
	if *closeEach {
		connHeader = "Connection: close\r\n"
	}
	var next atomic.Int64
	var okN, errN atomic.Int64
	lat := make([][]time.Duration, *conns)
	interval := time.Duration(float64(time.Second) * float64(*conns) / float64(*rate))
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*n / *rate + 30)*time.Second)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var c net.Conn
			var br *bufio.Reader
			tick := time.NewTicker(interval)
			defer tick.Stop()
			// Stagger the workers across one interval.
			time.Sleep(interval * time.Duration(w) / time.Duration(*conns))
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) || ctx.Err() != nil {
					if c != nil {
						c.Close()
					}
					return
				}
				if c == nil {
					var err error
					c, err = net.Dial("tcp", *addr)
					if err != nil {
						errN.Add(1)
						time.Sleep(10 * time.Millisecond)
						continue
					}
					br = bufio.NewReaderSize(c, 64<<10)
				}
				t0 := time.Now()
				_, err := fmt.Fprintf(c, "GET %s?seq=%d HTTP/1.1\r\nHost: %s\r\nX-Seq: %d\r\nUser-Agent: ebpfbench\r\n%s\r\n", *path, i, *addr, i, connHeader)
				if err == nil {
					err = readResponse(br)
				}
				if err != nil {
					errN.Add(1)
					c.Close()
					c = nil
				} else {
					okN.Add(1)
					lat[w] = append(lat[w], time.Since(t0))
					if *closeEach {
						c.Close()
						c = nil
					}
				}
				select {
				case <-tick.C:
				case <-ctx.Done():
				}
			}
		}(w)
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	res := loadResult{Sent: *n, OK: int(okN.Load()), Errors: int(errN.Load()), Seconds: time.Since(start).Seconds()}
	if len(all) > 0 {
		res.P50Micro = float64(all[len(all)/2].Microseconds())
		res.P99Micro = float64(all[len(all)*99/100].Microseconds())
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// readResponse reads one HTTP/1.1 response with a Content-Length body.
func readResponse(br *bufio.Reader) error {
	cl := -1
	first := true
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if first {
			first = false
			if len(line) < 12 || string(line[:5]) != "HTTP/" {
				return fmt.Errorf("bad status line %q", line)
			}
			continue
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > 16 && (line[0] == 'C' || line[0] == 'c') {
			const h = "content-length:"
			if len(line) > len(h) && asciiLowerEq(line[:len(h)], h) {
				v := string(trimSpace(line[len(h):]))
				cl, err = strconv.Atoi(v)
				if err != nil {
					return err
				}
			}
		}
	}
	if cl < 0 {
		return fmt.Errorf("response without Content-Length")
	}
	_, err := io.CopyN(io.Discard, br, int64(cl))
	return err
}

func asciiLowerEq(b []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
