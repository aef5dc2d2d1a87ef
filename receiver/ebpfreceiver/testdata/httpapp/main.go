// Command httpapp is the traced program of the ebpf receiver's tests: a
// net/http server and a keep-alive load client, run as separate processes
// (the receiver never traces its own process).
//
//	httpapp server            serves on 127.0.0.1:0 and prints the address
//	httpapp load -url U -n N -rate R -conns C
//	                          sends N GETs with "X-Seq: i" at R req/s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: httpapp server|load ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		server()
	case "load":
		load(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

func server() {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello\n")
	})
	mux.HandleFunc("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"name":"user"}`, r.PathValue("id"))
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, "slow\n")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	mux.HandleFunc("/seq", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(l.Addr().String())
	os.Stdout.Sync()
	http.Serve(l, mux)
}

func load(args []string) {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	url := fs.String("url", "", "URL to GET")
	n := fs.Int("n", 100, "requests")
	rate := fs.Int("rate", 500, "requests per second")
	conns := fs.Int("conns", 4, "keep-alive connections")
	fs.Parse(args)
	tr := &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var next, ok, failed atomic.Int64
	interval := time.Duration(float64(time.Second) * float64(*conns) / float64(*rate))
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*n / *rate + 30)*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) || ctx.Err() != nil {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
				req.Header.Set("X-Seq", fmt.Sprint(i))
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					ok.Add(1)
				} else {
					failed.Add(1)
				}
				<-t.C
			}
		}()
	}
	wg.Wait()
	fmt.Printf("ok=%d failed=%d\n", ok.Load(), failed.Load())
	if failed.Load() > 0 {
		fmt.Fprintln(os.Stderr, strings.Repeat("!", 3), "some requests failed")
	}
}
